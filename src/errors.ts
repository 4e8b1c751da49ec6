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

/**
 * Why a file could not be used, in a few words ("no such file", "it is a directory"), rather
 * than Deno's "Is a directory (os error 21): readfile '/tmp'", which repeats the path.
 */
export function fileErrorReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (error instanceof Deno.errors.NotADirectory) return "a part of the path is not a directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return (error as Error).message.replace(/ \(os error \d+\).*$/, "").toLowerCase();
}
