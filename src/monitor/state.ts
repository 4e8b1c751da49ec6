/**
 * What a monitor knows about the farm, built only from the status queue: the master (its HELLO
 * and STATS history) and one row per slave (HELLO, stats history, last reply) with the status
 * piwheels' monitors colour it by. Shared by `piw monitor` and `piw sense`; no I/O here.
 * @module
 */

import type { MasterHello, MasterStats, SlaveHello, SlaveStats } from "../protocols/mod.ts";
import type { SlaveEvent } from "../protocols/mod.ts";
import type { SlaveStatsRecord } from "../system/stats.ts";

/** How a row is coloured: piwheels' six states. */
export type RowStatus = "idle" | "building" | "sending" | "cleaning" | "alert" | "dead";

/** How many stats a row keeps for its graphs (as the master does). */
export const HISTORY = 100;
/** The master is "alert" after this much silence (piwheels: 30 s). */
export const MASTER_SILENCE_MS = 30_000;
/** A build running longer than this is "long" (piw sense shows it yellow). */
export const LONG_BUILD_MS = 15 * 60_000;
/** Dead slaves stay on screen this long after their DIE (then they are dropped). */
export const DEAD_LINGER_MS = 5_000;

/** Machine stats both kinds of row share (a slave's own, as it reads them): all but the time. */
type Resources = Omit<SlaveStatsRecord, "timestamp">;

/**
 * Why resources are out of piwheels' comfort zone (the temperature limit differs per row), in
 * words for the monitor, or null when they are fine.
 */
export function resourcesProblem(r: Resources, maxTemperature: number): string | null {
  const low = (name: string, free: number, size: number, ratio: number) =>
    size > 0 && free / size < ratio
      ? `${name} ${Math.round((100 * free) / size)}% free (below ${100 * ratio}%)`
      : null;
  return low("disk", r.diskFree, r.diskSize, 0.1) ?? low("memory", r.memFree, r.memSize, 0.1) ??
    low("swap", r.swapFree, r.swapSize, 0.5) ??
    (r.loadAvg1 > 4 ? `load ${r.loadAvg1.toFixed(2)} above 4` : null) ??
    (r.cpuTemp > maxTemperature
      ? `temperature ${r.cpuTemp.toFixed(1)}°C above ${maxTemperature}°C`
      : null);
}

/** Whether resources are out of piwheels' comfort zone (temperature limit differs per row). */
export function resourcesAlert(r: Resources, maxTemperature: number): boolean {
  return resourcesProblem(r, maxTemperature) !== null;
}

function slaveResources(s: SlaveStats): Resources {
  const [, diskSize, diskFree, memSize, memFree, swapSize, swapFree, loadAvg1, cpuTemp] = s;
  return { diskSize, diskFree, memSize, memFree, swapSize, swapFree, loadAvg1, cpuTemp };
}

/** The master's resources from its STATS. */
export function masterResources(s: MasterStats): Resources {
  return {
    diskSize: s[11],
    diskFree: s[12],
    memSize: s[13],
    memFree: s[14],
    swapSize: s[15],
    swapFree: s[16],
    loadAvg1: s[17],
    cpuTemp: s[18],
  };
}

function push<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > HISTORY) list.shift();
}

/** One build slave as its monitor sees it. */
export class SlaveRow {
  /** HELLO data (null until the replay or ACK brings it). */
  hello: SlaveHello | null = null;
  /** When the master first saw it (HELLO timestamp). */
  firstSeen: Date | null = null;
  /** The master's timestamp of its latest event. */
  lastSeen: Date;
  /** Its latest IDLE/BUSY stats, oldest first. */
  readonly stats: SlaveStats[] = [];
  /** The master's last reply to it (ACK, SLEEP, BUILD, SEND, DONE, DIE) and its data. */
  reply: string | null = null;
  /** Data of that reply. */
  replyData: unknown = null;
  /** When the current task (the last reply) began. */
  taskStarted: Date;

  /** A row for slave `slaveId`, first heard of at `timestamp`. */
  constructor(readonly slaveId: number, timestamp: Date) {
    this.lastSeen = timestamp;
    this.taskStarted = timestamp;
  }

  /** Its label (or `#id` until HELLO). */
  get label(): string {
    return this.hello?.[5] ?? `#${this.slaveId}`;
  }

  /** Its ABI ("" until HELLO). */
  get abi(): string {
    return this.hello?.[3] ?? "";
  }

  /** The busy timeout from its HELLO, ms (15 min until HELLO, piwheels' default). */
  get busyTimeoutMs(): number {
    return this.hello?.[1].toMilliseconds() ?? 15 * 60_000;
  }

  /** Record one event. */
  update(timestamp: Date, message: string, data: unknown): void {
    this.lastSeen = timestamp;
    if (message === "HELLO") {
      this.hello = data as SlaveHello;
      this.firstSeen = timestamp;
      this.stats.length = 0;
    } else if (message === "STATS") {
      push(this.stats, data as SlaveStats);
    } else {
      // A replayed reply repeats the one we know: keep its start time.
      if (message !== this.reply || JSON.stringify(data) !== JSON.stringify(this.replyData)) {
        this.taskStarted = timestamp;
      }
      this.reply = message;
      this.replyData = data;
    }
  }

  /** Whether the master said DIE (it said BYE or timed out). */
  get terminated(): boolean {
    return this.reply === "DIE";
  }

  /** Its status at `now`, by piwheels' rules. */
  status(now: Date): RowStatus {
    const silent = now.getTime() - this.lastSeen.getTime();
    if (this.terminated || silent > this.busyTimeoutMs) return "dead";
    if (this.alertReason(now) !== null) return "alert";
    if (this.reply === "BUILD") return "building";
    if (this.reply === "SEND") return "sending";
    if (this.reply === "DONE") return "cleaning";
    return "idle";
  }

  /** Why it is "alert" at `now` (silence or resources), or null. */
  alertReason(now: Date): string | null {
    const silent = now.getTime() - this.lastSeen.getTime();
    if (silent > this.busyTimeoutMs / 2) return `silent for ${formatDuration(silent)}`;
    const last = this.stats.at(-1);
    return last ? resourcesProblem(slaveResources(last), 78) : null;
  }

  /** Whether it has been building for longer than {@link LONG_BUILD_MS}. */
  longBuild(now: Date): boolean {
    return this.reply === "BUILD" && now.getTime() - this.taskStarted.getTime() > LONG_BUILD_MS;
  }

  /** The "Task" column: what it is doing, in words. */
  get task(): string {
    switch (this.reply) {
      case "ACK":
        return "Starting up";
      case "SLEEP":
        return this.replyData === true ? "Paused" : "Waiting for jobs";
      case "BUILD": {
        const [pkg, version] = this.replyData as [string, string];
        return `Building ${pkg} ${version}`;
      }
      case "SEND":
        return "Transferring file";
      case "DONE":
        return "Cleaning up after build";
      case "DIE":
        return "Terminating";
      default:
        return "Unknown";
    }
  }
}

/** The master as its monitor sees it. */
export class MasterRow {
  /** Its HELLO (null until one arrives). */
  hello: MasterHello | null = null;
  /** STATS history, oldest first. */
  readonly stats: MasterStats[] = [];
  /** When anything last arrived from it (local clock). */
  lastHeard: Date | null = null;

  /** The latest STATS, if any. */
  get latest(): MasterStats | undefined {
    return this.stats.at(-1);
  }

  /** Build-queue sizes per ABI from the latest STATS. */
  get pending(): Record<string, number> {
    return this.latest?.[5] ?? {};
  }

  /** Total pending builds. */
  get pendingTotal(): number {
    return Object.values(this.pending).reduce((a, b) => a + b, 0);
  }

  /** "idle" or "alert" (silence, no activity in the last hour, resources), "dead" before HELLO. */
  status(now: Date): RowStatus {
    if (this.lastHeard === null) return "dead";
    return this.alertReason(now) === null ? "idle" : "alert";
  }

  /** Why it is "alert" at `now` (silence, no activity in the last hour, resources), or null. */
  alertReason(now: Date): string | null {
    if (this.lastHeard === null) return null;
    const silent = now.getTime() - this.lastHeard.getTime();
    if (silent > MASTER_SILENCE_MS) return `silent for ${formatDuration(silent)}`;
    const s = this.latest;
    if (!s) return null;
    const builds = Object.values(s[2]).reduce((a, b) => a + b, 0);
    if (builds === 0 && s[8] === 0) return "no builds and no downloads in the last hour";
    return resourcesProblem(masterResources(s), 70);
  }
}

/** What happened as a message was applied, for the UIs' status lines. */
export type Change = "none" | "new-master";

/**
 * The whole farm: the master row and the slaves, fed with status-queue messages.
 * @example
 * ```ts
 * const farm = new FarmState();
 * farm.apply({ name: "SLAVE", data: [1, new Date(), "BUILD", ["foo", "1.0"]] });
 * farm.rows()[0].status(new Date()); // "building"
 * ```
 */
export class FarmState {
  /** The master. */
  readonly master: MasterRow = new MasterRow();
  /** Slaves by id. */
  readonly slaves: Map<number, SlaveRow> = new Map();

  /** Apply one status message; says when a different master (new start time) said HELLO. */
  apply(msg: { name: string; data: unknown }, now: Date = new Date()): Change {
    this.master.lastHeard = now;
    if (msg.name === "HELLO") {
      const hello = msg.data as MasterHello;
      const previous = this.master.hello;
      this.master.hello = hello;
      if (previous && previous[0].getTime() !== hello[0].getTime()) {
        // A restarted master knows none of the old slaves; they come back with their HELLOs.
        this.slaves.clear();
        this.master.stats.length = 0;
        return "new-master";
      }
    } else if (msg.name === "STATS") {
      const stats = msg.data as MasterStats;
      // The replay to another monitor repeats history we already have.
      const last = this.master.latest;
      if (!last || stats[0].getTime() > last[0].getTime()) push(this.master.stats, stats);
    } else if (msg.name === "SLAVE") {
      const [id, timestamp, message, data] = msg.data as SlaveEvent;
      let row = this.slaves.get(id);
      if (!row) this.slaves.set(id, row = new SlaveRow(id, timestamp));
      row.update(timestamp, message, data);
    }
    return "none";
  }

  /** Forget slaves that said DIE more than {@link DEAD_LINGER_MS} ago (local clock). */
  prune(now: Date = new Date()): void {
    for (const [id, row] of this.slaves) {
      if (row.terminated && now.getTime() - row.lastSeen.getTime() > DEAD_LINGER_MS) {
        this.slaves.delete(id);
      }
    }
  }

  /** Slaves sorted by (ABI, label), as both monitors show them. */
  rows(): SlaveRow[] {
    return [...this.slaves.values()].sort((a, b) =>
      a.abi.localeCompare(b.abi) || a.label.localeCompare(b.label) || a.slaveId - b.slaveId
    );
  }
}

/** A duration as piwheels' monitor shows it: `1d 2h`, `3h 04m`, `5m 06s`, `7s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  const pad = (n: number) => String(n).padStart(2, "0");
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${pad(m)}m`;
  if (m) return `${m}m ${pad(s % 60)}s`;
  return `${s}s`;
}

/** A byte count in binary units: `1.5 GiB`. */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) bytes /= 1024, i++;
  return `${i ? bytes.toFixed(1) : bytes} ${units[i]}`;
}
