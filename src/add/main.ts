/**
 * `piw add`: placeholder until the command is implemented.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { AddOptions } from "../cli/options.ts";

/** Run `piw add` with parsed options; resolves to the exit code. */
export function run(_options: AddOptions): Promise<number> {
  return Promise.reject(new PiwError("piw add is not available yet"));
}
