/**
 * `piw sense`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { SenseOptions } from "../cli/options.ts";

/** Run `piw sense` with parsed options; resolves to the exit code. */
export function run(_options: SenseOptions): Promise<number> {
  return Promise.reject(new PiwError("piw sense is not available yet"));
}
