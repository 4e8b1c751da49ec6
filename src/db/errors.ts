/**
 * The error the database layer throws for failures reported by PostgreSQL or PGlite.
 * @module
 */
import { PiwError } from "../errors.ts";

/** A query or connection failure; `code` is the SQLSTATE when the server sent one. */
export class DatabaseError extends PiwError {
  override name = "DatabaseError";
  /** SQLSTATE, e.g. `23505` for a unique violation, `42501` for a missing privilege. */
  readonly code?: string;

  constructor(message: string, code?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Wrap whatever a driver threw as a `DatabaseError`, keeping its SQLSTATE and message. */
export function toDatabaseError(error: unknown): Error {
  if (error instanceof PiwError) return error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return new DatabaseError(error.message, typeof code === "string" ? code : undefined, {
      cause: error,
    });
  }
  return new DatabaseError(String(error));
}

/** The server could not be reached (refused, no answer in time, not accepting connections yet). */
export class UnreachableError extends DatabaseError {
  override name = "UnreachableError";
  /** Where it was: `host:port` or `socket DIR`. */
  readonly address: string;

  constructor(message: string, address: string) {
    super(message);
    this.address = address;
  }
}
