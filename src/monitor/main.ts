/**
 * `piw monitor`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { MonitorOptions } from "../cli/options.ts";

/** Run `piw monitor` with parsed options; resolves to the exit code. */
export function run(_options: MonitorOptions): Promise<number> {
  return Promise.reject(new PiwError("piw monitor is not available yet"));
}
