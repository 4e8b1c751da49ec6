/**
 * The assertions the database and initdb tests use, on `node:assert` (piw takes no `jsr:`).
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Assert that `condition` holds. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Assert deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Assert that `text` contains `part`. */
export function assertIncludes(text: string, part: string): void {
  if (!text.includes(part)) {
    throw new nodeAssert.AssertionError({
      message: `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
    });
  }
}

/** Assert that `fn` rejects with an instance of `type`; resolves to the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof type)) {
      throw new nodeAssert.AssertionError({
        message: `expected ${type.name}, got ${error instanceof Error ? error.stack : error}`,
      });
    }
    if (includes !== undefined) assertIncludes(error.message, includes);
    return error;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name}, nothing was thrown` });
}
