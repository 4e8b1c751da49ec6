/**
 * `piw rebuild`: ask the master to rewrite the homepage, the search index, or the project
 * and/or simple index pages of one package or of all packages (piwheels §1.9).
 * @module
 */
import type { RebuildOptions, RebuildPart } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { expectDone, withImportClient } from "../cli/import_client.ts";

/** The REBUILD request of each part. */
const REQUESTS = {
  home: "HOME",
  search: "SEARCH",
  project: "PROJECT",
  index: "BOTH",
} as const satisfies Record<RebuildPart, string>;

/** Run `piw rebuild` with parsed options; resolves to the exit code. */
export async function run(options: RebuildOptions): Promise<number> {
  const part = REQUESTS[options.part];
  const pkg = options.package ?? null;
  const all = (part === "PROJECT" || part === "BOTH") && pkg === null;
  if (all) {
    await confirm("This will rebuild pages for ALL packages; proceed?", { yes: options.yes });
  }
  const reply = await withImportClient(
    options,
    (client) =>
      part === "HOME" || part === "SEARCH"
        ? client.request("REBUILD", [part])
        : client.request("REBUILD", [part, pkg]),
  );
  expectDone(reply, (error) => `cannot rebuild ${options.part}: ${error}`);
  // The master holds page rewrites back for a minute (3 s in dev mode) to merge duplicates.
  console.log(
    all
      ? `queued ${options.part} pages of every package for rebuilding; go make coffee...`
      : `queued ${options.part}${pkg ? ` pages of ${pkg}` : ""} for rebuilding`,
  );
  return 0;
}
