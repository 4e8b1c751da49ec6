/**
 * `piw logger`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { LoggerOptions } from "../cli/options.ts";

/** Run `piw logger` with parsed options; resolves to the exit code. */
export function run(_options: LoggerOptions): Promise<number> {
  return Promise.reject(new PiwError("piw logger is not available yet"));
}
