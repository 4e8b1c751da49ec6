/**
 * The durable path of a finished build on the master (docs/architecture.md, "Durability"). Each
 * step's record reaches the disk before its visible effect, and a start finishes or undoes
 * whatever a crash interrupted:
 *
 * 1. transferring: `<output>/.piw-incoming/<random>.part` (FileJuggler); garbage after a crash;
 * 2. staged: verified, fsynced, renamed to `.piw-incoming/staged/<sha256>-<filename>`;
 * 3. journaled: `.piw-incoming/journal/<id>.json` holds the LOGBUILD tuple and the staged files;
 * 4. recorded: LOGBUILD committed, the entry rewritten with the build id;
 * 5. published: staged files hard-linked into `simple/<pkg>/`, pages asked for, entry removed.
 *
 * {@link BuildJournal} owns the files and their format; BuildRecorder (build_recorder.ts) drives
 * entries through recording and publishing.
 * @module
 */

import type { Logger } from "../log.ts";
import { type FileStateTuple, TimeDelta } from "../protocols/mod.ts";
import { BuildState, FileState, sha256File } from "./states.ts";
import { publishFile, PublishRefusedError } from "./publish.ts";

/** The master's hidden working directory beside `simple/` (the web server must deny it). */
export const INCOMING_DIR = ".piw-incoming";

/** `<output>/.piw-incoming`: transfers, staged files and the journal. */
export function incomingDir(outputPath: string): string {
  return `${outputPath}/${INCOMING_DIR}`;
}

/** Where a verified file waits, named by content and filename, until it is published. */
export function stagedPath(outputPath: string, file: { filename: string; filehash: string }) {
  return `${incomingDir(outputPath)}/staged/${file.filehash.toLowerCase()}-${file.filename}`;
}

/** Make a rename or a new file in `dir` survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  using handle = await Deno.open(dir, { read: true });
  await handle.sync();
}

/** The LOGBUILD tuple in JSON form. */
interface JournalBuild {
  builtBy: number;
  pkg: string;
  version: string;
  abi: string;
  status: boolean;
  durationUs: number;
  output: string;
  files: FileStateTuple[];
}

/** One finished build on its way to the database and the web tree. */
export interface JournalEntry {
  /** File name stem of the entry. */
  id: string;
  /** Who finished it: a slave (refused files turn the build into a failure) or piw import. */
  origin: "slave" | "import";
  /** When it was journaled (ms since the epoch); entries are recorded in this order. */
  created: number;
  build: JournalBuild;
  /** Filenames whose bytes wait in `staged/` (an armv6l twin is a symlink made at publish). */
  staged: string[];
  /** Set once LOGBUILD committed. */
  buildId: number | null;
}

/** The build of an entry, as SlaveDriver and the web side know it. */
export function entryBuild(entry: JournalEntry): BuildState {
  const b = entry.build;
  const files = new Map(b.files.map((f) => [f[0], FileState.fromMessage(f)]));
  const build = new BuildState(
    b.builtBy,
    b.pkg,
    b.version,
    b.abi,
    b.status,
    new TimeDelta(0, 0, b.durationUs),
    b.output,
    files,
  );
  if (entry.buildId !== null) build.logged(entry.buildId);
  return build;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The journal files under `<output>/.piw-incoming/`. */
export class BuildJournal {
  /** `<output>/.piw-incoming`. */
  readonly dir: string;
  readonly #simpleDir: string;
  #seq = 0;

  /** The journal of the master writing to `outputPath`. */
  constructor(readonly outputPath: string) {
    this.dir = incomingDir(outputPath);
    this.#simpleDir = `${outputPath}/simple`;
  }

  #entryPath(id: string, sub = "journal"): string {
    return `${this.dir}/${sub}/${id}.json`;
  }

  /** Journal `build` (its verified files already staged). */
  async add(build: BuildState, origin: JournalEntry["origin"]): Promise<JournalEntry> {
    const [builtBy, pkg, version, abi, status, duration, output, files] = build.asMessage();
    const staged = await this.stagedFiles(build);
    const created = Date.now();
    const id = `${created}-${String(++this.#seq).padStart(6, "0")}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const entry: JournalEntry = {
      id,
      origin,
      created,
      build: {
        builtBy,
        pkg,
        version,
        abi,
        status,
        durationUs: duration.totalMicroseconds(),
        output,
        files,
      },
      staged,
      buildId: null,
    };
    await this.write(entry);
    return entry;
  }

  /** The build's filenames whose bytes wait in `staged/`. */
  async stagedFiles(build: BuildState): Promise<string[]> {
    const staged: string[] = [];
    for (const file of build.files.values()) {
      if (await exists(stagedPath(this.outputPath, file))) staged.push(file.filename);
    }
    return staged.sort();
  }

  /** Write `entry` atomically and durably (tmp file, fsync, rename, directory fsync). */
  async write(entry: JournalEntry): Promise<void> {
    const dir = `${this.dir}/journal`;
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${dir}/.${entry.id}.tmp`;
    {
      using file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      const bytes = new TextEncoder().encode(JSON.stringify(entry));
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    }
    await Deno.rename(tmp, this.#entryPath(entry.id));
    await syncDir(dir);
  }

  /** Every entry left on disk, oldest first; unreadable ones are moved to `rejected/`. */
  async load(log?: Logger): Promise<JournalEntry[]> {
    const dir = `${this.dir}/journal`;
    const entries: JournalEntry[] = [];
    let names: string[];
    try {
      names = [];
      for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    for (const name of names) {
      const path = `${dir}/${name}`;
      if (name.startsWith(".")) { // a write that never finished
        await Deno.remove(path).catch(() => {});
        continue;
      }
      try {
        const entry = JSON.parse(await Deno.readTextFile(path)) as JournalEntry;
        if (typeof entry.id !== "string" || !entry.build || !Array.isArray(entry.staged)) {
          throw new Error("not a journal entry");
        }
        entries.push(entry);
      } catch (e) {
        log?.error(`journal entry ${path} is unreadable (${(e as Error).message}); rejected`);
        await Deno.mkdir(`${this.dir}/rejected`, { recursive: true });
        await Deno.rename(path, `${this.dir}/rejected/${name}`);
      }
    }
    return entries.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  }

  /** Record the database's id in the entry. */
  async markRecorded(entry: JournalEntry, buildId: number): Promise<void> {
    entry.buildId = buildId;
    await this.write(entry);
  }

  /** Turn the entry into a failed build that publishes nothing (its staged files deleted). */
  async markFailed(entry: JournalEntry, reason: string): Promise<void> {
    await this.discard(entry);
    entry.build.status = false;
    entry.build.output += `\n[piw master] ${reason}\n`;
    entry.build.files = [];
    entry.staged = [];
    await this.write(entry);
  }

  /** Filenames of the entry already published in `simple/` with other bytes. */
  async conflicts(entry: JournalEntry): Promise<string[]> {
    const found: string[] = [];
    for (const file of entry.build.files) {
      const path = `${this.#simpleDir}/${entry.build.pkg}/${file[0]}`;
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      if (info.isSymlink) continue; // an armv6l twin: a real build replaces it
      if (info.isFile && info.size === file[1] && await sha256File(path) === file[2]) continue;
      found.push(file[0]);
    }
    return found;
  }

  /** Move a published file that has no database row (left by an older master) aside. */
  async moveOrphan(pkg: string, filename: string): Promise<string> {
    const dir = `${this.dir}/orphans`;
    await Deno.mkdir(dir, { recursive: true });
    const target = `${dir}/${Date.now()}-${pkg}-${filename}`;
    await Deno.rename(`${this.#simpleDir}/${pkg}/${filename}`, target);
    return target;
  }

  /** Link the entry's staged files into `simple/<pkg>/`; log what cannot be. */
  async publish(entry: JournalEntry, log?: Logger): Promise<void> {
    const { pkg, files } = entry.build;
    for (const filename of entry.staged) {
      const file = FileState.fromMessage(files.find((f) => f[0] === filename)!);
      const staged = stagedPath(this.outputPath, file);
      if (!await exists(staged)) {
        // Published before a crash (the link came before the staged name went), or lost.
        const final = `${this.#simpleDir}/${pkg}/${filename}`;
        const ok = await exists(final) && await sha256File(final) === file.filehash;
        if (!ok) log?.error(`${filename} of ${pkg}: staged file ${staged} is missing`);
        continue;
      }
      try {
        await publishFile(staged, file, this.#simpleDir, pkg);
      } catch (e) {
        if (!(e instanceof PublishRefusedError)) throw e;
        log?.error(`not publishing ${filename} for ${pkg}: ${e.message}`);
      }
    }
    await syncDir(`${this.#simpleDir}/${pkg}`).catch(() => {});
  }

  /** Forget the entry (its files published or discarded). */
  async remove(entry: JournalEntry): Promise<void> {
    await Deno.remove(this.#entryPath(entry.id)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }

  /** Delete the entry's staged files. */
  async discard(entry: JournalEntry): Promise<void> {
    for (const filename of entry.staged) {
      const file = entry.build.files.find((f) => f[0] === filename)!;
      await Deno.remove(stagedPath(this.outputPath, { filename, filehash: file[2] }))
        .catch(() => {});
    }
  }

  /** Delete the staged copies of `files` (a build abandoned before it was journaled). */
  async discardFiles(files: Iterable<FileState>): Promise<void> {
    for (const file of files) await Deno.remove(stagedPath(this.outputPath, file)).catch(() => {});
  }

  /** Move the entry and its staged files to `rejected/` for an admin to look at. */
  async reject(entry: JournalEntry): Promise<string> {
    const dir = `${this.dir}/rejected/${entry.id}`;
    await Deno.mkdir(dir, { recursive: true });
    for (const filename of entry.staged) {
      const file = entry.build.files.find((f) => f[0] === filename)!;
      await Deno.rename(
        stagedPath(this.outputPath, { filename, filehash: file[2] }),
        `${dir}/${filename}`,
      )
        .catch(() => {});
    }
    await Deno.rename(this.#entryPath(entry.id), `${dir}/entry.json`).catch(() => {});
    return dir;
  }

  /** Delete staged files no entry refers to (verified, then the build was never journaled). */
  async removeUnreferenced(entries: JournalEntry[]): Promise<number> {
    const keep = new Set(
      entries.flatMap((e) =>
        e.staged.map((filename) => {
          const file = e.build.files.find((f) => f[0] === filename)!;
          return stagedPath(this.outputPath, { filename, filehash: file[2] });
        })
      ),
    );
    return await removeMatching(
      `${this.dir}/staged`,
      (name) => !keep.has(`${this.dir}/staged/${name}`),
    );
  }
}

async function removeMatching(dir: string, test: (name: string) => boolean): Promise<number> {
  let removed = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !test(e.name)) continue;
      await Deno.remove(`${dir}/${e.name}`).catch(() => {});
      removed++;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return removed;
}

/** Delete the `.part` files of transfers a crash interrupted, in `.piw-incoming/`. */
export function removeIncomingParts(outputPath: string): Promise<number> {
  return removeMatching(incomingDir(outputPath), (name) => name.endsWith(".part"));
}

/**
 * Delete the `.part` files older piw versions left in `simple/` itself (they received there):
 * one directory read, never a walk of every project's directory.
 */
export function removeLegacyParts(outputPath: string): Promise<number> {
  return removeMatching(
    `${outputPath}/simple`,
    (name) => name.startsWith(".piw-transfer-") && name.endsWith(".part"),
  );
}
