/**
 * `piw audit`: piwheels' piw-audit, piw-audit-packages and piw-audit-logs in one command. Reads
 * the database directly and walks the output tree; prints one line per problem (`missing wheel
 * simple/foo/foo-1.0-py3-none-any.whl`, as piwheels words them), then a summary with counts.
 * Exits 1 when it found a problem it did not fix (piwheels' tools always exit 0), so a cron job
 * or a monitor notices.
 * @module
 */
import { resolve } from "node:path";
import { PiwError, UsageError } from "../errors.ts";
import type { AuditOptions } from "../cli/options.ts";
import { openDatabase } from "../db/mod.ts";
import { acquireLock, type Lock, MASTER_LOCK } from "../lock.ts";
import { CountProgress } from "../importer/progress.ts";
import { audit, type Problem, type ProblemKind } from "./audit.ts";

/** piwheels' words for each kind of problem. */
const WORDS: Record<ProblemKind, string> = {
  missing: "missing",
  extra: "extraneous",
  broken: "corrupted",
};

/** What a problem is called in its line and in the summary, e.g. `missing wheel`. */
export function problemName(problem: Pick<Problem, "kind" | "what">): string {
  const word = problem.kind === "broken" && problem.what === "project symlink"
    ? "broken"
    : WORDS[problem.kind];
  return `${word} ${problem.what}`;
}

/** The line of one problem. */
export function problemLine(problem: Problem, fixes: { archived: boolean }): string {
  let line = `${problemName(problem)} ${problem.path}`;
  if (problem.detail) line += ` (${problem.detail})`;
  if (problem.fixed) {
    line += problem.kind === "extra"
      ? fixes.archived ? ": archived" : ": deleted"
      : problem.kind === "missing"
      ? ": created"
      : ": repaired";
  }
  return line;
}

/** Run `piw audit` with parsed options; resolves to the exit code. */
export async function run(options: AuditOptions): Promise<number> {
  const root = options.outputPath.replace(/\/+$/, "") || "/";
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new UsageError(`${root} is not a directory`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`output path ${root} does not exist`);
    }
    throw error;
  }
  let archiveDir: string | undefined;
  if (options.archiveDir !== undefined) {
    archiveDir = options.archiveDir.replace(/\/+$/, "") || "/";
    // Inside the output path it would be audited (and its contents found extraneous) next time.
    const real = await Deno.realPath(root);
    const archive = resolve(archiveDir);
    if (archive === real || archive.startsWith(`${real}/`) || archive === resolve(root)) {
      throw new UsageError(`the archive directory ${archiveDir} must be outside ${root}`);
    }
    await Deno.mkdir(archiveDir, { recursive: true });
  }
  const fixing = options.deleteExtras || archiveDir !== undefined || options.ensureProjectSymlinks;
  const lists: Record<ProblemKind, Deno.FsFile | null> = {
    missing: options.missingFile ? await Deno.create(options.missingFile) : null,
    extra: options.extraFile ? await Deno.create(options.extraFile) : null,
    broken: options.brokenFile ? await Deno.create(options.brokenFile) : null,
  };
  // Fixing while a master writes would race it (a wheel published after its row was read looks
  // extra): take the master's own lock on the output path, so one of the two is refused.
  let lock: Lock | null = null;
  const db = await openDatabase(options.dsn);
  const encoder = new TextEncoder();
  try {
    if (fixing) lock = await acquireLock(`${root}/${MASTER_LOCK}`, `output path ${root}`);
    let progress: CountProgress | null = null;
    const counts = new Map<string, number>();
    const summary = await audit(db.client, {
      root,
      hashes: options.hashes,
      deleteExtras: options.deleteExtras,
      archiveDir,
      ensureProjectSymlinks: options.ensureProjectSymlinks,
      report(problem) {
        const name = problemName(problem);
        counts.set(name, (counts.get(name) ?? 0) + 1);
        console.log(problemLine(problem, { archived: archiveDir !== undefined }));
        lists[problem.kind]?.writeSync(encoder.encode(`${root}/${problem.path}\n`));
      },
      progress: options.quiet ? undefined : {
        start: (what, total) => progress = new CountProgress(what, total),
        add: (n) => progress?.add(n),
        finish: () => progress?.finish(),
      },
    });
    const checked = `checked ${summary.packages} packages, ${summary.files} wheels and ` +
      `${summary.builds} builds' logs in ${root}`;
    if (summary.found === 0) {
      console.log(`${checked}: no problems found`);
      return 0;
    }
    const list = [...counts].map(([name, n]) => `${n} ${name}`).join(", ");
    const fixed = summary.fixed ? `; ${summary.fixed} fixed` : "";
    console.log(`${checked}: ${summary.found} problems (${list})${fixed}`);
    return summary.found > summary.fixed ? 1 : 0;
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) throw new PiwError(error.message);
    throw error;
  } finally {
    lock?.release();
    await db.close();
    for (const file of Object.values(lists)) file?.close();
  }
}
