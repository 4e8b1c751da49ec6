/**
 * The checks of `piw audit` (piwheels' piw-audit, piw-audit-packages and piw-audit-logs in one):
 * the web output tree against the database, and the fixes `--delete-extras`, `--archive-dir` and
 * `--ensure-project-symlinks` make.
 *
 * What it holds in memory: every package name (with its skip reason) and every alias (the
 * non-canonical names of `package_names`), as piwheels' audit holds every package; files are
 * read 500 packages at a time and builds 10,000 build ids (one `logs/AAAA/BBBB/` directory) at a
 * time, and directories are read one at a time, so neither the files, the builds nor the tree
 * is ever in memory whole. On piwheels.org's scale (≈ 500,000 packages) that is tens of MB.
 * @module
 */
import { createHash } from "node:crypto";
import type { SqlClient } from "../db/mod.ts";
import { canonicaliseName, isValidProjectName } from "../wheel/mod.ts";
import { LOCAL_LOCATION } from "../web/files.ts";
import { logPath } from "../web/logs.ts";

/** What is wrong: something expected is absent, something is there that should not be, or it is damaged. */
export type ProblemKind = "missing" | "extra" | "broken";

/** One problem found. */
export interface Problem {
  kind: ProblemKind;
  /** What it is: `wheel`, `file`, `directory`, `page`, `project symlink`, `symlink`, `log`. */
  what: string;
  /** Its path below the output root. */
  path: string;
  /** Why, where the path does not say it (e.g. the hash found). */
  detail?: string;
  /** Whether this run fixed it. */
  fixed: boolean;
}

/** Options of {@link audit}. */
export interface AuditOptions {
  /** The output root (`piw master --output-path`). */
  root: string;
  /** Verify every local wheel's size and SHA-256 against its row (reads every wheel). */
  hashes: boolean;
  /** Delete what should not be there. */
  deleteExtras: boolean;
  /** Move what should not be there to this directory (same relative path) instead. */
  archiveDir?: string;
  /** Create missing alias symlinks in `project/` and repoint wrong ones. */
  ensureProjectSymlinks: boolean;
  /** Called once per problem, as it is found (and after any fix). */
  report(problem: Problem): void;
  /** Progress: called with the number of packages, then once per package checked. */
  progress?: { start(what: string, total: number): void; add(n?: number): void; finish(): void };
}

/** What an audit checked and found. */
export interface AuditSummary {
  packages: number;
  files: number;
  builds: number;
  found: number;
  fixed: number;
}

/** Packages per database read. */
const PACKAGE_BATCH = 500;
/** Build ids per `logs/AAAA/BBBB/` directory. */
const LOG_DIR_SPAN = 10_000;

interface FileRow {
  package: string;
  filename: string;
  filesize: number;
  filehash: string;
  location: string;
}

interface Entry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

/** The entries of `dir`, or null if it is not there. */
async function readDir(dir: string): Promise<Entry[] | null> {
  try {
    const entries: Entry[] = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    return entries;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

/** The entries of `dir` one at a time (none if it is not there). */
async function* entries(dir: string): AsyncGenerator<Deno.DirEntry> {
  let iterator;
  try {
    iterator = Deno.readDir(dir)[Symbol.asyncIterator]();
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return;
    }
    throw error;
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function readLinkOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readLink(path);
  } catch {
    return null;
  }
}

/** SHA-256 of a file, lower-case hex, read in chunks. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Move `path` to `dest` (making its directory), across file systems if need be. */
async function moveTo(path: string, dest: string): Promise<void> {
  await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
  try {
    await Deno.rename(path, dest);
  } catch (error) {
    // EXDEV: another file system; copy, then remove.
    if (!(error instanceof Error) || !/EXDEV|cross-device/i.test(error.message)) throw error;
    const cp = await new Deno.Command("cp", { args: ["-a", path, dest] }).output();
    if (!cp.success) {
      throw new Error(`cannot copy ${path} to ${dest}: ${new TextDecoder().decode(cp.stderr)}`);
    }
    await Deno.remove(path, { recursive: true });
  }
}

/** Check the output tree at `options.root` against the database `sql`. */
export async function audit(sql: SqlClient, options: AuditOptions): Promise<AuditSummary> {
  const root = options.root.replace(/\/+$/, "") || "/";
  const summary: AuditSummary = {
    packages: 0,
    files: 0,
    builds: 0,
    found: 0,
    fixed: 0,
  };
  const fixingExtras = options.deleteExtras || options.archiveDir !== undefined;

  const found = (problem: Omit<Problem, "fixed">, fixed = false) => {
    summary.found++;
    if (fixed) summary.fixed++;
    options.report({ ...problem, fixed });
  };

  /** An extra below the root: reported, then archived or deleted if asked. */
  const extra = async (what: string, rel: string) => {
    let fixed = false;
    if (fixingExtras) {
      if (options.archiveDir !== undefined) {
        await moveTo(`${root}/${rel}`, `${options.archiveDir}/${rel}`);
      } else {
        await Deno.remove(`${root}/${rel}`, { recursive: true });
      }
      fixed = true;
    }
    found({ kind: "extra", what, path: rel }, fixed);
  };

  const skips = new Map<string, string>();
  for (
    const row of await sql.query<{ package: string; skip: string }>(
      "SELECT package, skip FROM packages ORDER BY package",
    )
  ) {
    skips.set(row.package, row.skip);
  }
  const aliases = new Set<string>();
  const names = [...skips.keys()];
  options.progress?.start("packages", names.length);
  for (let i = 0; i < names.length; i += PACKAGE_BATCH) {
    const slice = names.slice(i, i + PACKAGE_BATCH);
    // A package marked deleted is the master's to remove: neither missing nor extra.
    const batch = slice.filter((p) => skips.get(p) !== "deleted");
    const files = new Map<string, FileRow[]>();
    for (
      const row of await sql.query<FileRow>(
        `SELECT b.package, f.filename, f.filesize, f.filehash, f.location
           FROM files f JOIN builds b USING (build_id)
          WHERE b.package = ANY($1::text[])`,
        [batch],
      )
    ) {
      const list = files.get(row.package) ?? [];
      list.push(row);
      files.set(row.package, list);
    }
    const aliasesOf = new Map<string, string[]>();
    for (
      const row of await sql.query<{ package: string; name: string }>(
        "SELECT package, name FROM package_names WHERE package = ANY($1::text[])",
        [batch],
      )
    ) {
      if (row.name === row.package || !isValidProjectName(row.name)) continue;
      aliases.add(row.name);
      const list = aliasesOf.get(row.package) ?? [];
      list.push(row.name);
      aliasesOf.set(row.package, list);
    }
    for (const pkg of batch) {
      await checkPackage(pkg, files.get(pkg) ?? [], aliasesOf.get(pkg) ?? []);
      summary.packages++;
    }
    options.progress?.add(slice.length);
  }
  options.progress?.finish();
  await checkTop("simple");
  await checkTop("project");
  await checkLogs();
  return summary;

  /** One package: its wheels, the other files beside them, its pages and alias symlinks. */
  async function checkPackage(pkg: string, rows: FileRow[], aliasNames: string[]) {
    const dir = `simple/${pkg}`;
    const local = new Map<string, FileRow>();
    for (const row of rows) {
      if ((row.location || LOCAL_LOCATION) === LOCAL_LOCATION) local.set(row.filename, row);
    }
    summary.files += local.size;
    const entries = (await readDir(`${root}/${dir}`)) ?? [];
    const present = new Set(entries.map((e) => e.name));
    for (const [filename, row] of local) {
      const path = `${root}/${dir}/${filename}`;
      const info = present.has(filename) ? await statOrNull(path) : null;
      if (!info?.isFile) {
        found({ kind: "missing", what: "wheel", path: `${dir}/${filename}` });
        continue;
      }
      if (!options.hashes) continue;
      if (info.size !== Number(row.filesize)) {
        found({
          kind: "broken",
          what: "wheel",
          path: `${dir}/${filename}`,
          detail: `${info.size} bytes, the database says ${row.filesize}`,
        });
        continue;
      }
      const hash = await fileSha256(path);
      if (hash !== row.filehash.trim().toLowerCase()) {
        found({
          kind: "broken",
          what: "wheel",
          path: `${dir}/${filename}`,
          detail: `sha256 ${hash}, the database says ${row.filehash}`,
        });
      }
    }
    // A symlink to a row's file beside it is the same wheel under another name: the name pip
    // ≥ 25.3 wants for a version that is not normalised, or a piwheels armv6l twin.
    const wheels = new Set(local.keys());
    for (const entry of entries) {
      if (!entry.isSymlink || wheels.has(entry.name)) continue;
      const target = await readLinkOrNull(`${root}/${dir}/${entry.name}`);
      if (target !== null && local.has(target)) wheels.add(entry.name);
    }
    for (const entry of entries) {
      const name = entry.name;
      // Dot-files are the master's temporary files of writes in progress.
      if (name.startsWith(".") || name === "index.html" || name === "index.json") continue;
      if (wheels.has(name)) continue;
      if (name.endsWith(".metadata") && wheels.has(name.slice(0, -".metadata".length))) continue;
      await extra(entry.isDirectory ? "directory" : "file", `${dir}/${name}`);
    }
    for (
      const page of [
        `${dir}/index.html`,
        `project/${pkg}/index.html`,
        `project/${pkg}/json/index.json`,
      ]
    ) {
      if (!(await statOrNull(`${root}/${page}`))?.isFile) {
        found({ kind: "missing", what: "page", path: page });
      }
    }
    for (const alias of aliasNames) {
      const rel = `project/${alias}`;
      const path = `${root}/${rel}`;
      const info = await lstatOrNull(path);
      if (info && !info.isSymlink) {
        // Something real in its place: not ours to remove.
        found({ kind: "broken", what: "project symlink", path: rel, detail: "not a symlink" });
        continue;
      }
      const target = info ? await readLinkOrNull(path) : null;
      if (target === pkg || target === `${root}/project/${pkg}`) continue;
      const fix = options.ensureProjectSymlinks;
      if (fix) {
        if (info) await Deno.remove(path);
        await Deno.symlink(pkg, path);
      }
      if (info) {
        found({ kind: "broken", what: "project symlink", path: rel, detail: `→ ${target}` }, fix);
      } else {
        found({ kind: "missing", what: "project symlink", path: rel }, fix);
      }
    }
  }

  /** `simple/` or `project/` itself: a directory per package, alias symlinks, the root index. */
  async function checkTop(top: "simple" | "project") {
    // Streamed: these directories hold an entry per package (half a million on piwheels.org).
    for await (const entry of entries(`${root}/${top}`)) {
      const name = entry.name;
      const rel = `${top}/${name}`;
      if (name.startsWith(".")) continue;
      if (top === "simple" && (name === "index.html" || name === "index.json")) continue;
      if (entry.isDirectory && skips.has(name)) continue;
      if (entry.isSymlink) {
        // An alias (checked with its package), or a link some older layout made from a name to
        // its canonical package directory (piwheels' simple/<Name>): harmless.
        if (top === "project" && aliases.has(name)) continue;
        const target = await readLinkOrNull(`${root}/${rel}`);
        const pkg = canonicaliseName(name);
        if (skips.has(pkg) && (target === pkg || target === `${root}/${top}/${pkg}`)) continue;
        await extra("symlink", rel);
        continue;
      }
      await extra(entry.isDirectory ? "directory" : "file", rel);
    }
  }

  /** `logs/AAAA/BBBB/CCCC.txt.gz` against the builds, one BBBB directory at a time. */
  async function checkLogs() {
    const chunks = new Set<number>();
    for (
      const row of await sql.query<{ chunk: number }>(
        `SELECT DISTINCT build_id / ${LOG_DIR_SPAN} AS chunk FROM builds`,
      )
    ) {
      chunks.add(Number(row.chunk));
    }
    const four = /^\d{4}$/;
    for (const top of (await readDir(`${root}/logs`)) ?? []) {
      if (top.name.startsWith(".")) continue;
      if (!top.isDirectory || !four.test(top.name)) {
        await extra(top.isDirectory ? "directory" : "log", `logs/${top.name}`);
        continue;
      }
      for (const middle of (await readDir(`${root}/logs/${top.name}`)) ?? []) {
        if (middle.name.startsWith(".")) continue;
        if (!middle.isDirectory || !four.test(middle.name)) {
          await extra(middle.isDirectory ? "directory" : "log", `logs/${top.name}/${middle.name}`);
          continue;
        }
        chunks.add(Number(top.name) * 1e4 + Number(middle.name));
      }
    }
    const sorted = [...chunks].sort((a, b) => a - b);
    options.progress?.start("log directories", sorted.length);
    for (const chunk of sorted) {
      const first = chunk * LOG_DIR_SPAN;
      const ids = new Set<number>();
      for (
        const row of await sql.query<{ build_id: number }>(
          "SELECT build_id FROM builds WHERE build_id >= $1 AND build_id < $2",
          [first, first + LOG_DIR_SPAN],
        )
      ) {
        ids.add(Number(row.build_id));
      }
      summary.builds += ids.size;
      const dir = logPath(first).replace(/\/[^/]*$/, "");
      const expected = new Map<string, number>();
      for (const id of ids) expected.set(logPath(id).slice(dir.length + 1), id);
      for (const entry of (await readDir(`${root}/${dir}`)) ?? []) {
        if (entry.name.startsWith(".")) continue;
        if (expected.delete(entry.name) && entry.isFile) continue;
        await extra(entry.isDirectory ? "directory" : "log", `${dir}/${entry.name}`);
      }
      for (const name of expected.keys()) {
        found({ kind: "missing", what: "log", path: `${dir}/${name}` });
      }
      options.progress?.add();
    }
    options.progress?.finish();
  }
}
