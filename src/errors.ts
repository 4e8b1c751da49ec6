/**
 * Error classes whose type decides the process exit code (see `exitCodeFor`).
 * @module
 */

/** Bad command-line input: exit code 2, printed with "Try --help". */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The user answered "no" to a prompt (or input ended): exit code 2. */
export class DeclinedError extends Error {
  override name = "DeclinedError";
  constructor(message = "Cancelled") {
    super(message);
  }
}

/** A runtime failure that should be reported as one line: exit code 1. */
export class PiwError extends Error {
  override name = "PiwError";
}

/** The exit code piw uses for an error escaping a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof DeclinedError) return 2;
  return 1;
}
