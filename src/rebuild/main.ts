/**
 * `piw rebuild`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { RebuildOptions } from "../cli/options.ts";

/** Run `piw rebuild` with parsed options; resolves to the exit code. */
export function run(_options: RebuildOptions): Promise<number> {
  return Promise.reject(new PiwError("piw rebuild is not available yet"));
}
