/**
 * BuildRecorder: drives build journal entries (src/master/build_journal.ts) to recorded and
 * published, in order, and keeps those the database could not take (it was unreachable) for a
 * retry with backoff. SlaveDriver and MrChase each have one (docs/architecture.md, "Durability").
 * @module
 */

import type { Logger } from "../log.ts";
import type { BuildStateTuple } from "../protocols/mod.ts";
import type { BuildState } from "./states.ts";
import { crashPoint } from "./crash_point.ts";
import type { DbClient } from "../clients/db.ts";
import { type BuildJournal, entryBuild, type JournalEntry } from "./build_journal.ts";

/** The database calls the recorder makes (DbClient in the master, fakes in unit tests). */
export interface RecorderDb {
  /** LOGBUILD: the new build's id. */
  logBuild(build: BuildStateTuple): Promise<number>;
  /** LOGBUILDS: many builds in one transaction, their ids in order (else one LOGBUILD each). */
  logBuilds?(builds: BuildStateTuple[]): Promise<number[]>;
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

/** Most builds recorded in one transaction (one LOGBUILDS message). */
const MAX_BATCH = 100;

/** A build waiting for its batch's transaction. */
interface Batched {
  build: BuildState;
  resolve(id: number): void;
  reject(error: unknown): void;
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
  /** Builds with nothing to publish, waiting for the next group commit. */
  #batch: Batched[] = [];
  #committing = false;

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

  /**
   * Journal a finished build (files staged) and take it as far as the database allows. A build
   * with nothing to publish (a failed one) is not journaled when the database takes it: it joins
   * the next group commit (one transaction for every such build finished meanwhile), and
   * resolves once that commits; should it fail, the build is journaled instead.
   */
  async finish(build: BuildState, origin: JournalEntry["origin"]): Promise<RecordOutcome> {
    let fresh = true;
    if (!this.pending.length && !(await this.journal.stagedFiles(build)).length) {
      try {
        build.logged(await this.#commit(build));
        await this.#announce(build);
        return { status: "recorded", build };
      } catch (e) {
        const what = `${build.pkg} ${build.version} (${build.abiTag})`;
        this.#log?.warning(`recording ${what} failed: ${(e as Error).message}; journaling it`);
        fresh = false; // it may have committed: look before recording it again
      }
    }
    return await this.#serial(async () => {
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
   * Record `build` in the next group commit: while one transaction is in flight, the builds
   * finished meanwhile wait and go together in the next (up to {@link MAX_BATCH}).
   */
  #commit(build: BuildState): Promise<number> {
    if (!this.db.logBuilds) return this.db.logBuild(build.asMessage());
    const done = new Promise<number>((resolve, reject) => {
      this.#batch.push({ build, resolve, reject });
    });
    if (!this.#committing) void this.#commitBatches(this.db.logBuilds.bind(this.db));
    return done;
  }

  async #commitBatches(logBuilds: (builds: BuildStateTuple[]) => Promise<number[]>) {
    this.#committing = true;
    try {
      while (this.#batch.length) {
        const batch = this.#batch.splice(0, MAX_BATCH);
        try {
          const ids = await logBuilds(batch.map((b) => b.build.asMessage()));
          crashPoint("after-commit");
          if (ids.length !== batch.length) {
            throw new Error(`LOGBUILDS answered ${ids.length} ids for ${batch.length} builds`);
          }
          batch.forEach((b, i) => b.resolve(ids[i]));
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.#committing = false;
    }
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
    logBuilds: (builds) => client.call("LOGBUILDS", builds),
    packageFiles: (pkg) => client.call("PKGFILES", pkg),
    reachable: async () => {
      await client.call("GETABIS", false);
      return true;
    },
    async findBuild(build) {
      const data = await client.call("PROJDATA", build.pkg);
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
