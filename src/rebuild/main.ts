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

/**
 * How many packages' pages a DONE word says were queued: piw's master answers PROJECT and BOTH
 * rebuilds `REBUILD <count>`; a piwheels master's bare `REBUILD` gives null.
 */
export function queuedCount(word: string): number | null {
  const match = /^REBUILD (\d+)$/.exec(word);
  return match ? Number(match[1]) : null;
}

/** What was queued, for the user. */
export function queuedMessage(
  part: RebuildPart,
  pkg: string | null,
  count: number | null,
): string {
  if (part === "home" || part === "search") return `queued ${part} for rebuilding`;
  const pages = part === "index" ? "index and project" : "project";
  if (count === null) {
    return pkg === null
      ? `queued ${pages} pages of every package for rebuilding`
      : `queued ${pages} pages of ${pkg} for rebuilding`;
  }
  const n = part === "index" ? `${count} index and ${count} project` : `${count} project`;
  return `queued ${n} page${count === 1 ? "" : "s"}${pkg === null ? "" : ` of ${pkg}`}`;
}

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
  const word = expectDone(reply, (error) => `cannot rebuild ${options.part}: ${error}`);
  // The master holds page rewrites back for a minute (3 s in dev mode) to merge duplicates.
  const message = queuedMessage(options.part, pkg, queuedCount(word));
  console.log(all ? `${message}; go make coffee...` : message);
  return 0;
}
