/**
 * Wheels and the names in them: PEP 503 names, PEP 440 versions, wheel filenames, zip reading,
 * METADATA and WHEEL files.
 * @module
 */
export * from "./errors.ts";
export * from "./names.ts";
export * from "./version.ts";
export * from "./filename.ts";
export * from "./zip.ts";
export * from "./metadata.ts";
export * from "./wheelfile.ts";
export type * from "./facts.ts";
