/**
 * `piw import`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { ImportOptions } from "../cli/options.ts";

/** Run `piw import` with parsed options; resolves to the exit code. */
export function run(_options: ImportOptions): Promise<number> {
  return Promise.reject(new PiwError("piw import is not available yet"));
}
