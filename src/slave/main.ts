/**
 * `piw slave`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { SlaveOptions } from "../cli/options.ts";

/** Run `piw slave` with parsed options; resolves to the exit code. */
export function run(_options: SlaveOptions): Promise<number> {
  return Promise.reject(new PiwError("piw slave is not available yet"));
}
