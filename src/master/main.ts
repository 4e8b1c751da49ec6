/**
 * `piw master`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { MasterOptions } from "../cli/options.ts";

/** Run `piw master` with parsed options; resolves to the exit code. */
export function run(_options: MasterOptions): Promise<number> {
  return Promise.reject(new PiwError("piw master is not available yet"));
}
