/**
 * The few assertions the protocol tests use, on top of `node:assert` (piw takes no `jsr:`
 * imports).
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Assert that `condition` holds. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Assert deep strict equality (prototypes and own properties included). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/**
 * Assert that `fn` throws an instance of `type` whose message contains every one of `parts`;
 * returns the error.
 */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  ...parts: string[]
): E {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === undefined) {
    throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be thrown` });
  }
  if (!(error instanceof type)) {
    throw new nodeAssert.AssertionError({ message: `expected ${type.name}, got ${error}` });
  }
  for (const part of parts) {
    if (!error.message.includes(part)) {
      throw new nodeAssert.AssertionError({
        message: `expected ${JSON.stringify(error.message)} to include ${JSON.stringify(part)}`,
      });
    }
  }
  return error;
}
