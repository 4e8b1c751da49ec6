/**
 * `piw remove`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { RemoveOptions } from "../cli/options.ts";

/** Run `piw remove` with parsed options; resolves to the exit code. */
export function run(_options: RemoveOptions): Promise<number> {
  return Promise.reject(new PiwError("piw remove is not available yet"));
}
