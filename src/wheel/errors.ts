/**
 * Errors raised while reading names, versions, wheel filenames and wheel contents.
 * @module
 */
import { PiwError } from "../errors.ts";

/** A version string that is not valid PEP 440. */
export class InvalidVersionError extends PiwError {
  override name = "InvalidVersionError";
}

/** A wheel filename that breaks the binary distribution format rules. */
export class InvalidWheelFilenameError extends PiwError {
  override name = "InvalidWheelFilenameError";
}

/** A zip archive that cannot be read (truncated, corrupt, unsupported feature). */
export class ZipError extends PiwError {
  override name = "ZipError";
}

/** A wheel whose contents break the format (no `.dist-info/METADATA`, bad WHEEL file). */
export class BadWheelError extends PiwError {
  override name = "BadWheelError";
}
