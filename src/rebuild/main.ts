/**
 * `piw rebuild`: ask the master to rewrite the homepage, the search index, or the project
 * and/or simple index pages of one package or of all packages (as piwheels' `piw-rebuild`).
 * @module
 */
import type { RebuildOptions, RebuildPart } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { expectDone, withImportClient } from "../clients/import.ts";

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
  await withImportClient(options, async (client) => {
    const reply = part === "HOME" || part === "SEARCH"
      ? await client.request("REBUILD", [part])
      : await client.request("REBUILD", [part, pkg]);
    const word = expectDone(reply, (error) => `cannot rebuild ${options.part}: ${error}`);
    const message = queuedMessage(options.part, pkg, queuedCount(word));
    console.log(message);
    if (!all) return;
    // The master holds page rewrites back for a minute (3 s in dev mode) to merge duplicates,
    // then writes them one package at a time: follow it to the end.
    for (let last = -1, shown = 0;;) {
      const answer = await client.request("REBUILDING");
      // A piwheels master does not know REBUILDING: all it can say is that pages were queued.
      const pending = answer.name === "DONE" ? pendingCount(answer.data) : null;
      if (pending === null) {
        console.log("the master writes them in the background (it cannot report progress)");
        return;
      }
      if (pending === 0) break;
      // A line when the count changes, at most every PROGRESS_LINE_MS (a big farm has many).
      if (pending !== last && Date.now() - shown >= PROGRESS_LINE_MS) {
        console.log(`${pending} page rewrites still to write`);
        shown = Date.now();
      }
      last = pending;
      await new Promise((resolve) => setTimeout(resolve, PROGRESS_INTERVAL_MS));
    }
    console.log("all pages written");
  });
  return 0;
}

/** How often `piw rebuild` asks how many rewrites remain. */
const PROGRESS_INTERVAL_MS = 1000;
/** The shortest time between two progress lines. */
const PROGRESS_LINE_MS = 5000;

/** The count of a `PENDING <n>` answer to REBUILDING, or null for any other answer. */
export function pendingCount(word: unknown): number | null {
  const match = typeof word === "string" ? /^PENDING (\d+)$/.exec(word) : null;
  return match ? Number(match[1]) : null;
}
