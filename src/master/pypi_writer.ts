/**
 * `PyPIWriter`: CloudGazer's core. It applies PyPI package events (from `src/pypi`) to the
 * database through the oracle, and tells the web queue (TheSecretary) and the skip queue
 * (SlaveDriver) what changed, as piwheels' `CloudGazer.read_pypi` does (piwheels-current §3):
 *
 * - `remove` of a package: SKIPPKG 'deleted', DELPKG to the web and skip queues, DELPKG;
 *   of a version: SKIPVER 'deleted', DELVER to both queues, DELVER.
 * - anything else: NEWPKG for a package not seen before (skip '' or 'development mode'; then
 *   BOTH), or SETDESC when a known package comes with a summary; the name PyPI used is recorded
 *   with the event's time (and the canonical name with 1970, so it never becomes the display
 *   name); then for a version: YANKVER, UNYANKVER, or NEWVER (skip 'binary only' unless the
 *   event is a source file), clearing 'binary only' when a source arrives (PROJECT, else BOTH).
 *
 * Two kinds of write are gathered per batch and made by `flush()`, because both are idempotent
 * and a busy package appears in many events of one batch: name sightings (NEWPKGNAME keeps the
 * latest time per name, so only the latest per batch matters) and PROJECT/BOTH (TheSecretary
 * merges those anyway). Deletions go out at once and in order, as the scribe and SlaveDriver
 * must hear of them before the rows go.
 * @module
 */
import type { PackageEvent } from "../pypi/mod.ts";
import { EPOCH } from "../db/mod.ts";
import type { Logger } from "../log.ts";
import type { DbClient } from "./task.ts";

/** The oracle calls the writer makes (`DbClient` has it; tests may fake it). */
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
  /** How many packages' last written summaries to remember (default 10,000). */
  descriptionCacheSize?: number;
}

/** What the writer has done since it was created (for logs, tests and benchmarks). */
export interface WriterCounts {
  /** Events applied. */
  events: number;
  /** Packages added. */
  packages: number;
  /** Versions added. */
  versions: number;
  /** Packages and versions removed. */
  removals: number;
  /** Oracle requests made. */
  calls: number;
  /** Oracle requests made, by request name. */
  byRequest: Record<string, number>;
}

/** Skip reason of a version that has only binary files on PyPI so far. */
export const BINARY_ONLY = "binary only";
/** Skip reason of a package or version removed from PyPI. */
export const DELETED = "deleted";
/** Skip reason of new packages in development mode. */
export const DEV_MODE_SKIP = "development mode";

/** Applies package events to the database and the web and skip queues. */
export class PyPIWriter {
  /** Running totals. */
  readonly counts: WriterCounts = {
    events: 0,
    packages: 0,
    versions: 0,
    removals: 0,
    calls: 0,
    byRequest: {},
  };
  readonly #db: OracleCaller;
  readonly #queues: GazerQueues;
  readonly #log: Logger;
  readonly #skipDefault: string;
  readonly #descriptionCacheSize: number;
  /** Packages known to exist, so NEWPKG is asked once per package (null until `load()`). */
  #known: Set<string> | null = null;
  /** Packages whose canonical name was recorded (with 1970) since `load()`. */
  #canonical = new Set<string>();
  /** Last summary written per package (LRU), so an unchanged summary is not written again. */
  #descriptions = new Map<string, string>();
  /** Name sightings to record: package → name → latest time. */
  #names = new Map<string, Map<string, Date>>();
  /** Pages to rewrite: package → PROJECT or BOTH (BOTH wins). */
  #web = new Map<string, "PROJECT" | "BOTH">();

  /** A writer calling the oracle through `db` and sending to `queues`. */
  constructor(db: OracleCaller, queues: GazerQueues, options: PyPIWriterOptions) {
    this.#db = db;
    this.#queues = queues;
    this.#log = options.log;
    this.#skipDefault = options.devMode ? DEV_MODE_SKIP : "";
    this.#descriptionCacheSize = options.descriptionCacheSize ?? 10_000;
  }

  /** Package pages waiting for `flush()` (PROJECT or BOTH), for tests. */
  get pendingPages(): ReadonlyMap<string, "PROJECT" | "BOTH"> {
    return this.#web;
  }

  /** Read the known packages (ALLPKGS); call before the first event and after `reset()`. */
  async load(): Promise<void> {
    this.#known = await this.#call("ALLPKGS");
  }

  /**
   * Forget everything cached and every unwritten name, as after a restart (the caller replays
   * events from the stored serial). Pending page rewrites are kept: sending one more is harmless.
   */
  reset(): void {
    this.#known = null;
    this.#canonical.clear();
    this.#descriptions.clear();
    this.#names.clear();
  }

  /** Apply one event. Throws `OracleError` if the database refuses a write. */
  async apply(event: PackageEvent): Promise<void> {
    this.counts.events++;
    const { package: pkg, version } = event;
    if (event.action === "remove") {
      if (version === null) await this.#removePackage(pkg);
      else await this.#removeVersion(pkg, version);
      return;
    }
    let update: "PROJECT" | "BOTH" | null = null;
    if (await this.#addPackage(pkg, event.description)) update = "BOTH";
    this.#noteName(pkg, event.alias, event.timestamp);
    if (version !== null) {
      update = "BOTH";
      if (event.action === "yank") {
        await this.#call("YANKVER", [pkg, version]);
        this.#log.info(`yanked package ${pkg} version ${version}`);
      } else if (event.action === "unyank") {
        await this.#call("UNYANKVER", [pkg, version]);
        this.#log.info(`unyanked package ${pkg} version ${version}`);
      } else if (await this.#addVersion(pkg, version, event)) {
        // added; the log line says so
      } else if (
        event.action === "source" && await this.#call("GETSKIP", [pkg, version]) === BINARY_ONLY
      ) {
        await this.#call("SKIPVER", [pkg, version, ""]);
        this.#log.info(`enabled package ${pkg} version ${version}`);
        update = "PROJECT";
      }
    }
    if (update) this.#notePage(pkg, update);
  }

  /**
   * Write the gathered name sightings, then send the gathered page rewrites. Rewrites the web
   * queue did not answer stay pending for the next flush.
   */
  async flush(): Promise<void> {
    for (const [pkg, names] of this.#names) {
      for (const [name, seen] of names) await this.#call("NEWPKGNAME", [pkg, name, seen]);
      this.#names.delete(pkg);
    }
    await this.flushPages();
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

  /** NEWPKG unless known; true if the package is new. Updates a changed summary otherwise. */
  async #addPackage(pkg: string, description: string | null): Promise<boolean> {
    const known = this.#known ??= await this.#call("ALLPKGS");
    if (!known.has(pkg)) {
      known.add(pkg);
      if (await this.#call("NEWPKG", [pkg, this.#skipDefault, description ?? ""])) {
        this.counts.packages++;
        this.#log.info(`added package ${pkg}`);
        if (description !== null) this.#rememberDescription(pkg, description);
        return true;
      }
    }
    // piwheels only writes a non-empty summary over an existing one.
    if (description && this.#descriptions.get(pkg) !== description) {
      await this.#call("SETDESC", [pkg, description]);
      this.#rememberDescription(pkg, description);
    }
    return false;
  }

  /** NEWVER; true if the version is new. */
  async #addVersion(pkg: string, version: string, event: PackageEvent): Promise<boolean> {
    const skip = event.action === "source" ? "" : BINARY_ONLY;
    if (!await this.#call("NEWVER", [pkg, version, event.timestamp, skip])) return false;
    this.counts.versions++;
    this.#log.info(`added package ${pkg} version ${version}`);
    if (skip) this.#log.info(`disabled package ${pkg} version ${version} (${skip})`);
    return true;
  }

  async #removePackage(pkg: string): Promise<void> {
    this.#log.info(`marking package ${pkg} for deletion`);
    await this.#call("SKIPPKG", [pkg, DELETED]);
    // TheSecretary drops its buffered rewrites of a deleted package; so do we, and the names.
    this.#web.delete(pkg);
    this.#names.delete(pkg);
    await this.#tell({ name: "DELPKG", data: pkg }, { name: "DELPKG", data: pkg });
    await this.#call("DELPKG", pkg);
    this.#known?.delete(pkg);
    this.#canonical.delete(pkg);
    this.#descriptions.delete(pkg);
    this.counts.removals++;
  }

  async #removeVersion(pkg: string, version: string): Promise<void> {
    this.#log.info(`marking package ${pkg} version ${version} for deletion`);
    await this.#call("SKIPVER", [pkg, version, DELETED]);
    const data: [string, string] = [pkg, version];
    await this.#tell({ name: "DELVER", data }, { name: "DELVER", data });
    await this.#call("DELVER", data);
    this.counts.removals++;
  }

  /** Send a deletion to both queues at once (as piwheels does) and wait for both. */
  async #tell(web: WebRequest, skip: SkipRequest): Promise<void> {
    const [webOk, skipOk] = await Promise.all([this.#queues.web(web), this.#queues.skip(skip)]);
    const what = `${web.name} ${JSON.stringify(web.data)}`;
    if (!webOk) this.#log.warning(`web queue did not take ${what}; its pages may stay`);
    if (!skipOk) this.#log.warning(`skip queue did not take ${what}; a build may still run`);
  }

  #noteName(pkg: string, name: string, seen: Date): void {
    let names = this.#names.get(pkg);
    if (!names) this.#names.set(pkg, names = new Map());
    const previous = names.get(name);
    if (!previous || previous < seen) names.set(name, seen);
    if (name !== pkg && !this.#canonical.has(pkg)) {
      // The canonical name must exist (so it can be looked up) but never be the display name.
      this.#canonical.add(pkg);
      if (!names.has(pkg)) names.set(pkg, EPOCH);
    }
  }

  #notePage(pkg: string, command: "PROJECT" | "BOTH"): void {
    if (command === "BOTH" || !this.#web.has(pkg)) this.#web.set(pkg, command);
  }

  #rememberDescription(pkg: string, description: string): void {
    this.#descriptions.delete(pkg);
    this.#descriptions.set(pkg, description);
    if (this.#descriptions.size > this.#descriptionCacheSize) {
      this.#descriptions.delete(this.#descriptions.keys().next().value!);
    }
  }

  #call: OracleCaller["call"] = (name, ...args) => {
    this.counts.calls++;
    this.counts.byRequest[name] = (this.counts.byRequest[name] ?? 0) + 1;
    return this.#db.call(name, ...args);
  };
}
