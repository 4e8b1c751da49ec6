/**
 * `PyPIWriter`: CloudGazer's core. It applies PyPI package events (from `src/pypi`) to the
 * database through the oracle, and tells the web queue (TheSecretary) and the skip queue
 * (SlaveDriver) what changed, as piwheels' `CloudGazer.read_pypi` does:
 *
 * - `remove` of a package: marked skipped 'deleted', DELPKG to the web and skip queues, then
 *   deleted; of a version: marked 'deleted', DELVER to both queues, then deleted.
 * - anything else: the package is added if new (skip '' or 'development mode'; then BOTH), or
 *   its summary written when a non-empty one differs; the name PyPI used is recorded with the
 *   event's time (and the canonical name with 1970, so it never becomes the display name); then
 *   for a version: yank, unyank, or add it (skipped 'binary only' unless the event is a source
 *   file), clearing 'binary only' when a source arrives (PROJECT, else BOTH).
 *
 * One fetch of the changelog is one batch, written in one oracle request (PYPIBATCH) that the
 * database applies in order in one transaction together with the new serial (`apply_changelog`
 * in sql/create_piw.sql), so a failure leaves nothing half done and a batch is never applied
 * twice. Removals must reach the queues before their rows go, so before PYPIBATCH the batch's
 * removals are marked 'deleted' in one request (MARKDEL) and told to both queues in order. A
 * removal is marked early only if no earlier event of the batch touches what it removes (else
 * the mark would change what those events do); PYPIBATCH removes the rows either way.
 *
 * Name sightings are gathered per batch (only the latest time per name matters) and written by
 * PYPIBATCH after the events; page rewrites (PROJECT/BOTH) are gathered and sent after it
 * (TheSecretary merges them anyway). A package removal drops both for that package. A source
 * file for a version known before retries that version's "no sdist" failures at once
 * (RETRYSDIST): a release whose wheels came before its sdist is built without waiting.
 * @module
 */
import type { PackageAction, PackageEvent } from "../pypi/mod.ts";
import { EPOCH, PACKAGE_ADDED, VERSION_ADDED, VERSION_ENABLED } from "../db/mod.ts";
import type { Logger } from "../log.ts";
import type { DbClient } from "../clients/db.ts";

/** The oracle calls the writer makes (`DbClient` has it; tests may call the handlers directly). */
export type OracleCaller = Pick<DbClient, "call">;

/** A request to the web queue (TheSecretary, `the_scribe` protocol). */
export type WebRequest =
  | { name: "PROJECT" | "BOTH" | "DELPKG"; data: string }
  | { name: "DELVER"; data: [string, string] };

/** A request to the skip queue (SlaveDriver, `cloud_gazer` protocol). */
export type SkipRequest =
  | { name: "DELPKG"; data: string }
  | { name: "DELVER"; data: [string, string] };

/** Where the writer's messages go; each resolves false when the queue did not answer. */
export interface GazerQueues {
  /** Send to the web queue and wait for DONE. */
  web(request: WebRequest): Promise<boolean>;
  /** Send to the skip queue and wait for OK. */
  skip(request: SkipRequest): Promise<boolean>;
}

/** Options of {@link PyPIWriter}. */
export interface PyPIWriterOptions {
  /** `--dev-mode`: new packages are added skipped ('development mode'). */
  devMode?: boolean;
  /** Where additions and removals are logged (info) and unanswered queues (warning). */
  log: Logger;
}

/** What the writer has done since it was created (for logs, tests and benchmarks). */
export interface WriterCounts {
  /** Events applied. */
  events: number;
  /** Packages added. */
  packages: number;
  /** Versions added. */
  versions: number;
  /** Versions that became buildable: added with a source, enabled, or unyanked. */
  buildable: number;
  /** Packages and versions removed. */
  removals: number;
  /** Oracle requests made. */
  calls: number;
  /** Oracle requests made, by request name. */
  byRequest: Record<string, number>;
}

/** One batch of events on its way to the database (see {@link PyPIWriter.plan}). */
export interface WriterBatch {
  /** The events, in the order they are applied. */
  readonly events: readonly PackageEvent[];
  /** Removals whose target no earlier event touches: marked 'deleted' before telling. */
  readonly marks: [pkg: string, version: string | null][];
  /** The removal events, in order, to tell the queues of before PYPIBATCH. */
  readonly removals: PackageEvent[];
  /** Name sightings: package → name → latest time. */
  readonly names: Map<string, Map<string, Date>>;
  /** Whether MARKDEL was sent. */
  marked: boolean;
  /** How many removals the queues were told of. */
  told: number;
}

/** An event as PYPIBATCH carries it: action, package, version, time (ms), summary. */
type ChangelogTuple = [PackageAction, string, string | null, number, string | null];

/** Skip reason of a version that has only binary files on PyPI so far. */
export const BINARY_ONLY = "binary only";
/** Skip reason of a package or version removed from PyPI. */
export const DELETED = "deleted";
/** Skip reason of new packages in development mode. */
export const DEV_MODE_SKIP = "development mode";

/** Applies package events to the database and the web and skip queues, a batch at a time. */
export class PyPIWriter {
  /** Running totals. */
  readonly counts: WriterCounts = {
    events: 0,
    packages: 0,
    versions: 0,
    buildable: 0,
    removals: 0,
    calls: 0,
    byRequest: {},
  };
  readonly #db: OracleCaller;
  readonly #queues: GazerQueues;
  readonly #log: Logger;
  readonly #skipDefault: string;
  /** Packages whose canonical name was recorded (with 1970) since the last `reset()`. */
  #canonical = new Set<string>();
  /** Pages to rewrite: package → PROJECT or BOTH (BOTH wins). */
  #web = new Map<string, "PROJECT" | "BOTH">();

  /** A writer calling the oracle through `db` and sending to `queues`. */
  constructor(db: OracleCaller, queues: GazerQueues, options: PyPIWriterOptions) {
    this.#db = db;
    this.#queues = queues;
    this.#log = options.log;
    this.#skipDefault = options.devMode ? DEV_MODE_SKIP : "";
  }

  /** Package pages waiting for `flushPages()` (PROJECT or BOTH), for tests. */
  get pendingPages(): ReadonlyMap<string, "PROJECT" | "BOTH"> {
    return this.#web;
  }

  /**
   * Forget what was cached, as after a restart (the caller replays events from the stored
   * serial). Pending page rewrites are kept: sending one more is harmless.
   */
  reset(): void {
    this.#canonical.clear();
  }

  /** Gather what `events` need before they can be written: marks, removals, names. */
  plan(events: readonly PackageEvent[]): WriterBatch {
    const batch: WriterBatch = {
      events,
      marks: [],
      removals: [],
      names: new Map(),
      marked: false,
      told: 0,
    };
    const touchedPackages = new Set<string>();
    const touchedVersions = new Set<string>();
    for (const event of events) {
      const { package: pkg, version } = event;
      const versionKey = `${pkg}\u0000${version}`;
      if (event.action === "remove") {
        batch.removals.push(event);
        if (version === null) {
          if (!touchedPackages.has(pkg)) batch.marks.push([pkg, null]);
          batch.names.delete(pkg);
          this.#canonical.delete(pkg);
        } else if (!touchedVersions.has(versionKey)) {
          batch.marks.push([pkg, version]);
        }
      } else {
        this.#noteName(batch.names, pkg, event.alias, event.timestamp);
      }
      touchedPackages.add(pkg);
      if (version !== null) touchedVersions.add(versionKey);
    }
    return batch;
  }

  /** Mark the batch's removals 'deleted' (once). */
  async mark(batch: WriterBatch): Promise<void> {
    if (!batch.marked && batch.marks.length) await this.#call("MARKDEL", batch.marks);
    batch.marked = true;
  }

  /** Tell both queues of the next removal; false when there is none left. */
  async tellNext(batch: WriterBatch): Promise<boolean> {
    const event = batch.removals[batch.told];
    if (!event) return false;
    const { package: pkg, version } = event;
    if (version === null) {
      this.#log.info(`marking package ${pkg} for deletion`);
      await this.#tell({ name: "DELPKG", data: pkg }, { name: "DELPKG", data: pkg });
    } else {
      this.#log.info(`marking package ${pkg} version ${version} for deletion`);
      const data: [string, string] = [pkg, version];
      await this.#tell({ name: "DELVER", data }, { name: "DELVER", data });
    }
    batch.told++;
    return batch.told < batch.removals.length;
  }

  /**
   * Write the batch with the serial moving from `fromSerial` to `toSerial` in one transaction
   * (call `mark` and `tellNext` first), then gather the page rewrites it causes. Throws
   * `OracleError` if the database refuses it; then nothing of it was written.
   */
  async commit(batch: WriterBatch, fromSerial: number, toSerial: number): Promise<void> {
    const names: [string, string, number][] = [];
    for (const [pkg, seen] of batch.names) {
      for (const [name, at] of seen) names.push([pkg, name, at.getTime()]);
    }
    const events = batch.events.map((e): ChangelogTuple => [
      e.action,
      e.package,
      e.version,
      e.timestamp.getTime(),
      e.description,
    ]);
    const outcomes = await this.#call("PYPIBATCH", [
      events,
      names,
      this.#skipDefault,
      fromSerial,
      toSerial,
    ]);
    if (outcomes.length !== batch.events.length) {
      throw new Error(`PYPIBATCH answered ${outcomes.length} outcomes for ${batch.events.length}`);
    }
    batch.events.forEach((event, i) => this.#applied(event, outcomes[i]));
    // A source file for a version known before: a build that found no sdist may succeed now.
    const sources = batch.events.filter((e, i) =>
      e.action === "source" && e.version !== null && !(outcomes[i] & VERSION_ADDED)
    ).map((e): [string, string] => [e.package, e.version!]);
    if (sources.length) {
      const retried = await this.#call("RETRYSDIST", sources);
      if (retried) {
        this.#log.info(`${retried} builds that found no sdist retried: it is here`);
        this.counts.buildable += retried;
      }
    }
  }

  /** Send the gathered page rewrites; those the web queue did not take stay pending. */
  async flushPages(): Promise<void> {
    for (const [pkg, command] of this.#web) {
      if (!await this.#queues.web({ name: command, data: pkg })) {
        this.#log.warning(`${this.#web.size} page rewrites wait for the web queue`);
        break;
      }
      this.#web.delete(pkg);
    }
  }

  /** Count, log and note the page rewrites of one written event. */
  #applied(event: PackageEvent, outcome: number): void {
    this.counts.events++;
    const { package: pkg, version } = event;
    if (event.action === "remove") {
      // TheSecretary drops its buffered rewrites of a deleted package; so do we.
      if (version === null) this.#web.delete(pkg);
      this.counts.removals++;
      return;
    }
    let update: "PROJECT" | "BOTH" | null = null;
    if (outcome & PACKAGE_ADDED) {
      this.counts.packages++;
      this.#log.info(`added package ${pkg}`);
      update = "BOTH";
    }
    if (version !== null) {
      update = "BOTH";
      if (event.action === "yank") {
        this.#log.info(`yanked package ${pkg} version ${version}`);
      } else if (event.action === "unyank") {
        this.counts.buildable++;
        this.#log.info(`unyanked package ${pkg} version ${version}`);
      } else if (outcome & VERSION_ADDED) {
        this.counts.versions++;
        this.#log.info(`added package ${pkg} version ${version}`);
        if (event.action !== "source") {
          this.#log.info(`disabled package ${pkg} version ${version} (${BINARY_ONLY})`);
        } else {
          this.counts.buildable++;
        }
      } else if (outcome & VERSION_ENABLED) {
        this.counts.buildable++;
        this.#log.info(`enabled package ${pkg} version ${version}`);
        update = "PROJECT";
      }
    }
    if (update && (update === "BOTH" || !this.#web.has(pkg))) this.#web.set(pkg, update);
  }

  /** Send a deletion to both queues at once (as piwheels does) and wait for both. */
  async #tell(web: WebRequest, skip: SkipRequest): Promise<void> {
    const [webOk, skipOk] = await Promise.all([this.#queues.web(web), this.#queues.skip(skip)]);
    const what = `${web.name} ${JSON.stringify(web.data)}`;
    if (!webOk) this.#log.warning(`web queue did not take ${what}; its pages may stay`);
    if (!skipOk) this.#log.warning(`skip queue did not take ${what}; a build may still run`);
  }

  #noteName(all: Map<string, Map<string, Date>>, pkg: string, name: string, seen: Date): void {
    let names = all.get(pkg);
    if (!names) all.set(pkg, names = new Map());
    const previous = names.get(name);
    if (!previous || previous < seen) names.set(name, seen);
    if (name !== pkg && !this.#canonical.has(pkg)) {
      // The canonical name must exist (so it can be looked up) but never be the display name.
      this.#canonical.add(pkg);
      if (!names.has(pkg)) names.set(pkg, EPOCH);
    }
  }

  #call: OracleCaller["call"] = (name, ...args) => {
    this.counts.calls++;
    this.counts.byRequest[name] = (this.counts.byRequest[name] ?? 0) + 1;
    return this.#db.call(name, ...args);
  };
}
