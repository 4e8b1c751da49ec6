/**
 * PyPI's journal turned into package events for CloudGazer (piwheels' `PyPIEvents`): actions
 * mapped, names canonicalised, recent duplicates suppressed, summaries attached.
 *
 * Two streams come out of one re-ordering buffer. `poll()` gives every event in (timestamp,
 * serial) order once the 5-minute window has passed it: the authoritative stream, which alone
 * moves the stored serial. `takeEarly()` gives, at once, the creations (a new project, a file of
 * a release) that the window still holds and that no held removal, yank or unyank of the same
 * project or release conflicts with; CloudGazer applies them after the ordered events of the
 * same batch, so a new release is built within seconds instead of after 5 minutes.
 *
 * Why the end result is still the timestamp-ordered one: a creation only adds rows (applying it
 * twice, or early and again in order, changes nothing more), and every creation applied early
 * is applied again by the ordered stream at its own place. So for a creation C and a removal R
 * of the same target: R newer than C and seen first → C is held (it conflicts) and both are
 * applied in order, R last; C seen first and applied early, R newer seen later → the ordered
 * stream applies C then R, R last; R older than C → in order R then C, so C is not undone, and
 * if R was released while C was held the early mark is dropped so C is applied again right
 * after R. A creation older than the release point (more than the window late) is dropped, as
 * the ordered stream drops it, so it can never undo a removal already applied.
 * @module
 */

import { PyPIBuffer } from "./buffer.ts";
import type { PyPIChangelogSource, PyPIEvent } from "./changelog.ts";
import { type Clock, systemClock } from "./clock.ts";
import { canonicalize } from "./names.ts";

/** What happened: a release with only binary files so far, a source file, or a removal/yank. */
export type PackageAction = "create" | "source" | "remove" | "yank" | "unyank";

/** One package event, ready for the database. */
export interface PackageEvent {
  /** PEP 503 canonical project name. */
  package: string;
  /** The name as PyPI spelled it in this event (CloudGazer records it as an alias). */
  alias: string;
  /** The version, or `null` for project-level events (new project, project removal). */
  version: string | null;
  /** When PyPI recorded the event (UTC). */
  timestamp: Date;
  /** The mapped action. */
  action: PackageAction;
  /** Summary for create/source events: `null` when unknown or not fetched. */
  description: string | null;
  /** The journal serial of the event. */
  serial: number;
}

/** Longest package name or version accepted; longer ones are ignored. */
export const MAX_NAME_LENGTH = 200;

const ADD_FILE_RE = /^add ([^ ]+) file/;
const REMOVE_RE = /^remove(?: (?:project|release))?$/;

/**
 * Map a PyPI journal action to piw's action, or `null` for actions piw ignores
 * (`new release`, `remove file …`, `rename from …`, role changes, …).
 * @example mapAction("add cp311 file foo-1.0-cp311-none-any.whl") // "create"
 */
export function mapAction(action: string): PackageAction | null {
  const file = ADD_FILE_RE.exec(action);
  if (file) return file[1] === "source" ? "source" : "create";
  if (action === "create") return "create";
  if (REMOVE_RE.test(action)) return "remove";
  if (action === "yank release") return "yank";
  if (action === "unyank release") return "unyank";
  return null;
}

/** Options for `PyPIEvents`. */
export interface PyPIEventsOptions {
  /** Where journal entries come from. */
  source: PyPIChangelogSource;
  /** The serial to start from (CloudGazer's stored serial; default 0). */
  serial?: number;
  /** Fetches a summary for create/source events; omit to leave descriptions `null`. */
  describe?: ((pkg: string) => Promise<string | null>) | null;
  /** How many summaries to fetch at once (default 4). */
  describeConcurrency?: number;
  /** How many recent (package, version) pairs to remember for duplicate suppression. */
  cacheSize?: number;
  /** After PyPI had nothing new, how long `poll()` returns `[]` without asking (default 10 s). */
  idleMs?: number;
  /** Time source for the idle delay. */
  clock?: Clock;
}

interface Seen {
  timestamp: Date;
  action: PackageAction;
}

/**
 * Polls PyPI in batches and yields package events in (timestamp, serial) order.
 *
 * Call `poll()` periodically (CloudGazer: every 10 s) and, after handling a batch, store
 * `serial`. While `more` is true the journal has a backlog and `poll()` may be called again at
 * once; the rate limiter in the source keeps that within PyPI's limits.
 */
export class PyPIEvents {
  readonly #buffer: PyPIBuffer;
  readonly #describe: ((pkg: string) => Promise<string | null>) | null;
  readonly #concurrency: number;
  readonly #cacheSize: number;
  readonly #idleMs: number;
  readonly #clock: Clock;
  #versions = new Map<string, Seen>();
  /** Held entries applied early (serial → target key), so each is given out once. */
  #early = new Map<number, string>();
  #nextRead = 0;
  #serialFloor: number;

  /** Create an event stream over `options.source`. */
  constructor(options: PyPIEventsOptions) {
    this.#buffer = new PyPIBuffer(options.source, options.serial ?? 0);
    this.#serialFloor = options.serial ?? 0;
    this.#describe = options.describe ?? null;
    this.#concurrency = Math.max(1, options.describeConcurrency ?? 4);
    this.#cacheSize = options.cacheSize ?? 1000;
    this.#idleMs = options.idleMs ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * The serial to store after a batch and to resume from after a restart. It never goes
   * backwards, even when the buffer's own seek point does (events are released in timestamp
   * order, so serials are not monotonic), and resuming from it loses nothing.
   */
  get serial(): number {
    return Math.max(this.#serialFloor, this.#buffer.serial);
  }

  /** Restart from `value` (drops buffered entries). */
  set serial(value: number) {
    this.#buffer.serial = value;
    this.#serialFloor = value;
    this.#early.clear();
  }

  /** Whether the last request returned entries, i.e. PyPI may have more waiting. */
  get more(): boolean {
    return this.#buffer.lastFetched > 0;
  }

  /** Clock time before which `poll()` will not ask PyPI (after PyPI had nothing new). */
  get nextRead(): number {
    return this.#nextRead;
  }

  /**
   * Make at most one request and return the events now released, in order. Returns `[]` while
   * idling, while entries wait out the re-ordering window, and after temporary PyPI failures.
   * If it throws, nothing has been consumed: the next call starts again from `serial`.
   */
  async poll(): Promise<PackageEvent[]> {
    if (this.#clock.now() < this.#nextRead) return [];
    const resumeFrom = this.serial;
    const raw = await this.#buffer.poll();
    this.#serialFloor = this.serial;
    this.#forgetEarly(raw);
    if (this.#buffer.lastFetched === 0) {
      // PyPI had nothing (or failed): don't bother it again for a while.
      this.#nextRead = this.#clock.now() + this.#idleMs;
      return [];
    }
    // Map against a copy of the duplicate cache, committed only once summaries are in, so a
    // failed summary lookup leaves no trace and the retry maps the same events the same way.
    const versions = new Map(this.#versions);
    const events = this.#map(raw, versions);
    if (this.#describe) {
      try {
        await this.#attachDescriptions(events, this.#describe);
      } catch (error) {
        this.serial = resumeFrom;
        throw error;
      }
    }
    this.#versions = versions;
    return events;
  }

  /**
   * The creations the window holds that may be applied now, each once (see the module
   * comment): ahead of everything released, with no held removal, yank or unyank of their
   * project (a project removal) or release. Their summaries are left for the ordered stream.
   */
  takeEarly(): PackageEvent[] {
    const held = this.#buffer.held;
    const blocked = new Set<string>();
    for (const entry of held) {
      const action = mapAction(entry[3]);
      if (action === "remove" || action === "yank" || action === "unyank") {
        blocked.add(targetOf(entry, action));
      }
    }
    const out: PackageEvent[] = [];
    const stillHeld = new Set<number>();
    for (const entry of held) {
      const [alias, version, seconds, actionText, serial] = entry;
      stillHeld.add(serial);
      const action = mapAction(actionText);
      if (action !== "create" && action !== "source") continue;
      if (this.#early.has(serial) || !this.#buffer.ahead(entry)) continue;
      if (alias.length > MAX_NAME_LENGTH || (version?.length ?? 0) > MAX_NAME_LENGTH) continue;
      const pkg = canonicalize(alias);
      if (blocked.has(pkg) || (version !== null && blocked.has(cacheKey(pkg, version)))) continue;
      this.#early.set(serial, cacheKey(pkg, version));
      const timestamp = new Date(seconds * 1000);
      out.push({ package: pkg, alias, version, timestamp, action, description: null, serial });
    }
    for (const serial of this.#early.keys()) {
      if (!stillHeld.has(serial)) this.#early.delete(serial);
    }
    return out;
  }

  /** After `released` is applied, held creations it may have undone must be applied again. */
  #forgetEarly(released: PyPIEvent[]): void {
    if (this.#early.size === 0) return;
    const undone = new Set<string>();
    for (const entry of released) {
      const action = mapAction(entry[3]);
      if (action === "remove" || action === "yank" || action === "unyank") {
        undone.add(targetOf(entry, action));
      }
    }
    if (undone.size === 0) return;
    for (const [serial, key] of this.#early) {
      if (undone.has(key) || undone.has(key.split("\u0000")[0])) this.#early.delete(serial);
    }
  }

  #map(raw: PyPIEvent[], versions: Map<string, Seen>): PackageEvent[] {
    const out: PackageEvent[] = [];
    for (const [alias, version, seconds, actionText, serial] of raw) {
      const action = mapAction(actionText);
      if (action === null) continue;
      if (
        alias.length > MAX_NAME_LENGTH || (version !== null && version.length > MAX_NAME_LENGTH)
      ) {
        continue;
      }
      const pkg = canonicalize(alias);
      const timestamp = new Date(seconds * 1000);
      if (ADD_FILE_RE.test(actionText)) {
        this.#checkNewVersion(
          versions,
          { package: pkg, alias, version, timestamp, action, serial },
          out,
        );
      } else if (actionText === "create") {
        out.push({
          package: pkg,
          alias,
          version: null,
          timestamp,
          action,
          description: null,
          serial,
        });
      } else {
        // A project removal could evict all its versions from the cache; not worth it.
        if (action === "remove" && version !== null) versions.delete(cacheKey(pkg, version));
        out.push({ package: pkg, alias, version, timestamp, action, description: null, serial });
      }
    }
    return out;
  }

  /** Emit a file event unless the pair was seen recently; binary-then-source is re-emitted. */
  #checkNewVersion(
    versions: Map<string, Seen>,
    event: Omit<PackageEvent, "description">,
    out: PackageEvent[],
  ): void {
    const key = cacheKey(event.package, event.version);
    const seen = versions.get(key);
    if (seen === undefined) {
      versions.set(key, { timestamp: event.timestamp, action: event.action });
      out.push({ ...event, description: null });
    } else {
      versions.delete(key);
      if (seen.action === "create" && event.action === "source") {
        // The release keeps the time of its first file.
        versions.set(key, { timestamp: seen.timestamp, action: "source" });
        out.push({ ...event, timestamp: seen.timestamp, description: null });
      } else {
        versions.set(key, seen);
      }
    }
    while (versions.size > this.#cacheSize) versions.delete(versions.keys().next().value!);
  }

  async #attachDescriptions(
    events: PackageEvent[],
    describe: (pkg: string) => Promise<string | null>,
  ): Promise<void> {
    const wanted = [
      ...new Set(
        events.filter((e) => e.action === "create" || e.action === "source").map((e) => e.package),
      ),
    ];
    const found = new Map<string, string | null>();
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const pkg = wanted[next++];
        found.set(pkg, await describe(pkg));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, wanted.length) }, worker));
    for (const event of events) {
      if (event.action === "create" || event.action === "source") {
        event.description = found.get(event.package) ?? null;
      }
    }
  }
}

/** What a removal, yank or unyank touches: a project (removal of it) or one release. */
function targetOf(entry: PyPIEvent, action: PackageAction): string {
  const pkg = canonicalize(entry[0]);
  return action === "remove" && entry[1] === null ? pkg : cacheKey(pkg, entry[1]);
}

function cacheKey(pkg: string, version: string | null): string {
  return version === null ? pkg : `${pkg}\u0000${version}`;
}
