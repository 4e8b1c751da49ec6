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
 * {@link BuildJournal} owns the files and their format; {@link BuildRecorder} drives entries
 * through recording and publishing, keeps those the database could not take (it was
 * unreachable) and retries them with backoff.
 * @module
 */

import type { Logger } from "../log.ts";
import { type BuildStateTuple, type FileStateTuple, TimeDelta } from "../protocols/mod.ts";
import { BuildState, FileState, sha256File } from "./states.ts";
import { publishFile, PublishRefusedError } from "./publish.ts";
import { crashPoint } from "./crash_point.ts";
import type { DbClient } from "./task.ts";
import { toProjectData } from "../web/project_data.ts";

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

/** Delete `simple/<pkg>/.piw-transfer-*.part` files left by piw versions before the journal. */
export async function removeLegacyParts(outputPath: string): Promise<number> {
  const simple = `${outputPath}/simple`;
  let removed = 0;
  try {
    for await (const e of Deno.readDir(simple)) {
      if (!e.isDirectory) continue;
      removed += await removeMatching(
        `${simple}/${e.name}`,
        (name) => name.startsWith(".piw-transfer-") && name.endsWith(".part"),
      );
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return removed;
}

/** The database calls the recorder makes (DbClient in the master, fakes in unit tests). */
export interface RecorderDb {
  /** LOGBUILD: the new build's id. */
  logBuild(build: BuildStateTuple): Promise<number>;
  /** The id of a recorded build equal to `build` (same slave, ABI, status, files), or null. */
  findBuild(build: BuildState): Promise<number | null>;
  /** The package's recorded files: filename → sha256. */
  packageFiles(pkg: string): Promise<Record<string, string>>;
  /** Whether the database answers at all (a cheap query). */
  reachable(): Promise<boolean>;
}

/**
 * What became of an entry: recorded (and published, pages asked for), pending (the database
 * is unreachable: kept for a retry), refused (a file would change published bytes: an import's
 * entry is dropped) or rejected (the database refused the data: moved to `rejected/`).
 */
export type RecordOutcome =
  | { status: "recorded"; build: BuildState }
  | { status: "pending" }
  | { status: "refused"; reason: string }
  | { status: "rejected"; reason: string };

/** Options of {@link BuildRecorder}. */
export interface RecorderOptions {
  /** Called once a build is recorded and published (LOG, BOTH/PROJECT). */
  published?: (build: BuildState) => Promise<void> | void;
  /** Where it logs. */
  log?: Logger;
  /** First and longest wait between retries while the database is unreachable, ms. */
  retryMs?: [first: number, max: number];
  /**
   * Drop (entry and staged files) rather than keep a build the database could not take: the
   * sender still has its files (piw import).
   */
  dropPending?: boolean;
}

/** Drives journal entries to recorded and published; retries while the database is down. */
export class BuildRecorder {
  /** Entries waiting for the database, oldest first. */
  readonly pending: JournalEntry[] = [];
  readonly #published: (build: BuildState) => Promise<void> | void;
  readonly #log: Logger | undefined;
  readonly #retryMs: [number, number];
  readonly #dropPending: boolean;
  #delay: number;
  #nextRetry = 0;
  /** Entries never sent to the database: no need to ask whether it already has them. */
  readonly #fresh = new Set<string>();
  #busy: Promise<unknown> = Promise.resolve();

  /** A recorder of `journal`'s entries into `db`. */
  constructor(
    readonly journal: BuildJournal,
    readonly db: RecorderDb,
    options: RecorderOptions = {},
  ) {
    this.#published = options.published ?? (() => {});
    this.#log = options.log;
    this.#retryMs = options.retryMs ?? [5_000, 60_000];
    this.#dropPending = options.dropPending ?? false;
    this.#delay = this.#retryMs[0];
  }

  /** Whether (pkg, version) for `abi` is journaled and waiting for the database. */
  isPending(abi: string, pkg: string, version: string): boolean {
    return this.pending.some((e) =>
      e.build.abi === abi && e.build.pkg === pkg && e.build.version === version
    );
  }

  /** Journal a finished build (files staged) and take it as far as the database allows. */
  finish(build: BuildState, origin: JournalEntry["origin"]): Promise<RecordOutcome> {
    return this.#serial(async () => {
      const what = `${build.pkg} ${build.version} (${build.abiTag})`;
      let fresh = true;
      if (!this.pending.length && !(await this.journal.stagedFiles(build)).length) {
        // Nothing to publish (a failed build): only the database's answer needs waiting for.
        try {
          build.logged(await this.db.logBuild(build.asMessage()));
          await this.#announce(build);
          return { status: "recorded", build };
        } catch (e) {
          this.#log?.warning(`recording ${what} failed: ${(e as Error).message}; journaling it`);
          fresh = false; // it may have committed: look before recording it again
        }
      }
      const entry = await this.journal.add(build, origin);
      if (fresh) this.#fresh.add(entry.id);
      crashPoint("after-journal");
      if (this.pending.length) {
        // Older entries first: keep the order builds finished in.
        this.pending.push(entry);
        this.#log?.warning(`build of ${build.pkg} ${build.version} journaled; database pending`);
        return { status: "pending" };
      }
      return await this.#process(entry);
    });
  }

  /**
   * At start: load what a crash left, delete staged files nothing refers to, then finish every
   * entry the database takes (the rest stay pending).
   */
  recover(): Promise<number> {
    return this.#serial(async () => {
      const entries = await this.journal.load(this.#log);
      const stray = await this.journal.removeUnreferenced(entries);
      if (stray) this.#log?.info(`removed ${stray} staged files of unjournaled builds`);
      if (entries.length) this.#log?.warning(`recovering ${entries.length} journaled builds`);
      this.pending.push(...entries);
      await this.#drain();
      return entries.length;
    });
  }

  /** Retry pending entries if their time has come (call it often; it backs off itself). */
  retry(now = Date.now()): Promise<void> {
    if (!this.pending.length || now < this.#nextRetry) return Promise.resolve();
    return this.#serial(() => this.#drain());
  }

  async #drain(): Promise<void> {
    while (this.pending.length) {
      const entry = this.pending[0];
      const outcome = await this.#process(entry, true);
      if (outcome.status === "pending") {
        this.#nextRetry = Date.now() + this.#delay;
        this.#log?.warning(
          `${this.pending.length} builds wait for the database; retry in ${this.#delay / 1000} s`,
        );
        this.#delay = Math.min(this.#delay * 2, this.#retryMs[1]);
        return;
      }
      this.pending.shift();
    }
    this.#delay = this.#retryMs[0];
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#busy.then(work);
    this.#busy = result.catch(() => {});
    return result;
  }

  /** Record (unless already), publish, tell the web side, forget the entry. */
  async #process(entry: JournalEntry, queued = false): Promise<RecordOutcome> {
    if (entry.buildId === null) {
      const outcome = await this.#record(entry);
      if (outcome) {
        if (outcome.status === "pending" && this.#dropPending) {
          await this.journal.discard(entry);
          await this.journal.remove(entry);
        } else if (outcome.status === "pending" && !queued) {
          this.pending.push(entry);
          this.#nextRetry = Date.now() + this.#delay;
        }
        return outcome;
      }
    }
    await this.journal.publish(entry, this.#log);
    crashPoint("after-publish");
    const build = entryBuild(entry);
    await this.#announce(build);
    await this.journal.remove(entry);
    return { status: "recorded", build };
  }

  async #announce(build: BuildState): Promise<void> {
    try {
      await this.#published(build);
    } catch (e) {
      this.#log?.warning(`web update for ${build.pkg} failed: ${(e as Error).message}`);
    }
  }

  /** LOGBUILD the entry; null when recorded, else why not. */
  async #record(entry: JournalEntry, again = false): Promise<RecordOutcome | null> {
    const what = `${entry.build.pkg} ${entry.build.version} (${entry.build.abi})`;
    try {
      // LOGBUILD may have committed before a crash or a lost reply: never record twice.
      const existing = this.#fresh.has(entry.id)
        ? null
        : await this.db.findBuild(entryBuild(entry));
      if (existing !== null) {
        this.#log?.info(`build of ${what} was already recorded as ${existing}`);
        await this.journal.markRecorded(entry, existing);
        return null;
      }
      const refused = await this.#checkConflicts(entry);
      if (refused) {
        if (entry.origin === "import") {
          await this.journal.discard(entry);
          await this.journal.remove(entry);
          return { status: "refused", reason: refused };
        }
        this.#log?.error(`build of ${what}: ${refused}; recorded as failed`);
        await this.journal.markFailed(entry, refused);
      }
      this.#fresh.delete(entry.id);
      const buildId = await this.db.logBuild(entryBuild(entry).asMessage());
      crashPoint("after-record");
      await this.journal.markRecorded(entry, buildId);
      return null;
    } catch (e) {
      const reason = (e as Error).message;
      if (!await this.db.reachable().catch(() => false)) {
        this.#log?.warning(`database unreachable recording ${what}: ${reason}; kept in journal`);
        return { status: "pending" };
      }
      // The database answers: try once more before calling it a refusal of the data.
      if (!again) return await this.#record(entry, true);
      const where = await this.journal.reject(entry);
      this.#log?.error(`database refused the build of ${what}: ${reason}; moved to ${where}`);
      return { status: "rejected", reason };
    }
  }

  /**
   * Files that would change published bytes: one with a database row is refused (published
   * files never change); one without is an orphan an older master left, moved aside.
   */
  async #checkConflicts(entry: JournalEntry): Promise<string | null> {
    const conflicts = await this.journal.conflicts(entry);
    if (!conflicts.length) return null;
    const { pkg } = entry.build;
    const recorded = await this.db.packageFiles(pkg);
    for (const filename of conflicts) {
      if (Object.hasOwn(recorded, filename)) {
        return `${filename} was not published: ${this.journal.outputPath}/simple/${pkg}/` +
          `${filename} is already published with different contents; published files never change`;
      }
    }
    for (const filename of conflicts) {
      const where = await this.journal.moveOrphan(pkg, filename);
      this.#log?.warning(`${filename} of ${pkg} had no database row; moved aside to ${where}`);
    }
    return null;
  }
}

/** The recorder's database calls over the oracle (SlaveDriver's and MrChase's DbClient). */
export function oracleRecorderDb(client: DbClient): RecorderDb {
  return {
    logBuild: (build) => client.call("LOGBUILD", build),
    packageFiles: (pkg) => client.call("PKGFILES", pkg),
    reachable: async () => {
      await client.call("GETABIS", false);
      return true;
    },
    async findBuild(build) {
      const data = toProjectData(await client.call("PROJDATA", build.pkg));
      const release = data?.releases.find((r) => r.version === build.version);
      if (!release) return null;
      const key = (f: { filename: string; filehash: string }) => `${f.filename}:${f.filehash}`;
      const want = [...build.files.values()].map(key).sort().join();
      const ms = build.duration.toMilliseconds();
      for (const b of release.builds) {
        if (b.abiTag !== build.abiTag || b.status !== build.status) continue;
        if (b.builtBy !== build.slaveId || Math.abs(b.durationMs - ms) > 1) continue;
        const have = release.files.filter((f) => f.buildId === b.buildId).map(key).sort().join();
        if (have === want) return b.buildId;
      }
      return null;
    },
  };
}
