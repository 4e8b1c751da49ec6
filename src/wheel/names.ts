/**
 * Project names: PEP 503 canonical form, validity (core metadata `Name`) and the escaped form
 * used in wheel filenames and `.dist-info` directories.
 * @module
 */

const VALID_NAME = /^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$/i;
const CANONICAL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * The PEP 503 normalised form of a project name: runs of `-`, `_`, `.` become `-`, lowercased.
 * @example canonicaliseName("Oslo.Concurrency") // "oslo-concurrency"
 */
export function canonicaliseName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

/** Whether `name` is a valid project name per the core metadata `Name` field. */
export function isValidProjectName(name: string): boolean {
  return VALID_NAME.test(name);
}

/** Whether `name` is already in PEP 503 canonical form. */
export function isCanonicalName(name: string): boolean {
  return CANONICAL_NAME.test(name);
}

/**
 * The name as it must appear in a wheel filename: runs of `-`, `_`, `.` become `_`, lowercased.
 * @example escapeWheelName("Foo.Bar-baz") // "foo_bar_baz"
 */
export function escapeWheelName(name: string): string {
  return name.replace(/[-_.]+/g, "_").toLowerCase();
}
