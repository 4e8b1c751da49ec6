/**
 * The few assertions the CLI tests use, on top of `node:assert` (piw takes no `jsr:` imports).
 * @module
 */
import assert from "node:assert/strict";

/** Assert deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Assert that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new assert.AssertionError({
      message: message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
    });
  }
}

/** Assert that `text` does not contain `part`. */
export function assertNotIncludes(text: string, part: string): void {
  if (text.includes(part)) {
    throw new assert.AssertionError({
      message: `expected ${JSON.stringify(text)} not to include ${JSON.stringify(part)}`,
    });
  }
}

/** Assert that `fn` throws an instance of `type`; returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: new (...args: never[]) => E,
): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw new assert.AssertionError({ message: `expected ${type.name}, got ${error}` });
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** Assert that `promise` rejects with an instance of `type`; returns the error. */
export async function assertRejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof type) return error;
    throw new assert.AssertionError({ message: `expected ${type.name}, got ${error}` });
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be thrown` });
}
