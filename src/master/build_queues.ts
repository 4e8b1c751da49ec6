/**
 * SlaveDriver's per-ABI build queues: rebuilt from each QUEUE of TheArchitect, popped oldest
 * first by idle slaves, minus what was dispatched recently (it may still be building) and what
 * PyPI deleted recently (TheArchitect's query may predate the deletion).
 * @module
 */

import type { BuildQueue, PackageVersion } from "../protocols/mod.ts";

/** How long a deleted package or version stays out of the queues (1 h). */
export const DELETE_HOLD_MS = 3_600_000;

/**
 * How long a build recorded in the database stays out of the queues (30 s): long enough for a
 * QUEUE computed before its commit (TheArchitect's query takes well under a second) to arrive,
 * short enough that a retry due soon is not held up for the slave's whole build timeout.
 */
export const RECORDED_HOLD_MS = 30_000;

/** One ABI's queue: an array consumed from `head`, so popping 100 000 entries stays O(1). */
class AbiQueue {
  #items: PackageVersion[];
  #head = 0;

  constructor(items: PackageVersion[]) {
    this.#items = items;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  shift(): PackageVersion | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head++] : undefined;
  }

  unshift(item: PackageVersion): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  removeWhere(test: (item: PackageVersion) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter((item) => !test(item));
    this.#head = 0;
  }
}

function key(pkg: string, version: string | null): string {
  return version === null ? `${pkg}\0*` : `${pkg}\0=${version}`;
}

/** The build queues of every build ABI, with the exclusions that filter them. */
export class BuildQueues {
  #queues = new Map<string, AbiQueue>();
  /** ABI → (package, version) key → when the exclusion ends (ms since the epoch). */
  #dispatched = new Map<string, Map<string, number>>();
  /** (package, version|*) key → when the exclusion ends. */
  #deleted = new Map<string, number>();

  /**
   * Replace every queue with TheArchitect's `queue`; every ABI of `buildAbis` gets one, even if
   * empty. Expired exclusions are dropped, live ones filter the new queues.
   */
  replace(queue: BuildQueue, buildAbis: Iterable<string>, now = Date.now()): void {
    for (const [k, until] of this.#deleted) if (until <= now) this.#deleted.delete(k);
    const abis = new Set([...buildAbis, ...Object.keys(queue)]);
    const queues = new Map<string, AbiQueue>();
    for (const abi of abis) {
      const recent = this.#dispatched.get(abi) ?? new Map<string, number>();
      for (const [k, until] of recent) if (until <= now) recent.delete(k);
      this.#dispatched.set(abi, recent);
      const items = (queue[abi] ?? []).filter(([pkg, ver]) =>
        !recent.has(key(pkg, ver)) && !this.#isDeleted(pkg, ver)
      );
      queues.set(abi, new AbiQueue(items));
    }
    this.#queues = queues;
  }

  #isDeleted(pkg: string, version: string): boolean {
    return this.#deleted.has(key(pkg, version)) || this.#deleted.has(key(pkg, null));
  }

  /** Whether `abi` is a build ABI (has a queue). */
  has(abi: string): boolean {
    return this.#queues.has(abi);
  }

  /**
   * The next (package, version) for `abi`, excluded from dispatch for `holdMs` (the slave's
   * build timeout) so a later QUEUE does not hand it to another slave; null if none.
   */
  next(abi: string, holdMs: number, now = Date.now()): PackageVersion | null {
    const queue = this.#queues.get(abi);
    const recent = this.#dispatched.get(abi);
    if (!queue || !recent) return null;
    for (let item = queue.shift(); item; item = queue.shift()) {
      const k = key(item[0], item[1]);
      const until = recent.get(k);
      if (until !== undefined && until > now) continue;
      if (this.#isDeleted(item[0], item[1])) continue;
      recent.set(k, now + holdMs);
      return item;
    }
    return null;
  }

  /**
   * A dispatched build is recorded in the database: from now on the database says whether the
   * version is queued (a failure may be retried), so its exclusion ends soon. Not at once: a
   * QUEUE computed before the build was committed may still be on its way.
   */
  recorded(abi: string, item: PackageVersion, now = Date.now()): void {
    const recent = this.#dispatched.get(abi);
    const k = key(item[0], item[1]);
    const until = recent?.get(k);
    if (until !== undefined) recent!.set(k, Math.min(until, now + RECORDED_HOLD_MS));
  }

  /**
   * A build of `item` was imported and recorded: drop it from `abi`'s queue and keep it out for
   * {@link RECORDED_HOLD_MS}, as a QUEUE computed before the import may still be on its way.
   */
  imported(abi: string, item: PackageVersion, now = Date.now()): void {
    const recent = this.#dispatched.get(abi) ?? new Map<string, number>();
    this.#dispatched.set(abi, recent);
    const k = key(item[0], item[1]);
    recent.set(k, Math.max(recent.get(k) ?? 0, now + RECORDED_HOLD_MS));
    this.#queues.get(abi)?.removeWhere(([p, v]) => p === item[0] && v === item[1]);
  }

  /** Put back a dispatched build whose slave vanished: first in line, exclusion lifted. */
  requeue(abi: string, item: PackageVersion): void {
    this.#dispatched.get(abi)?.delete(key(item[0], item[1]));
    if (!this.#isDeleted(item[0], item[1])) this.#queues.get(abi)?.unshift(item);
  }

  /** Drop a deleted package (`version` null) or version from every queue for `holdMs`. */
  delete(pkg: string, version: string | null, now = Date.now(), holdMs = DELETE_HOLD_MS): void {
    this.#deleted.set(key(pkg, version), now + holdMs);
    for (const queue of this.#queues.values()) {
      queue.removeWhere(([p, v]) => p === pkg && (version === null || v === version));
    }
  }

  /** Queue length per ABI (BigBrother's STATBQ). */
  sizes(): Record<string, number> {
    return Object.fromEntries([...this.#queues].map(([abi, q]) => [abi, q.length]));
  }
}
