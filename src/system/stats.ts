/**
 * Statistics of this machine (disk, memory, load, temperature): a slave sends them with IDLE and
 * BUSY (piwheels' order and units); the master reports its own and checks its output's disk.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { SlaveStats } from "../protocols/mod.ts";

/** Stats as read, in message order (the wire tuple is `SlaveStats`); sizes in bytes. */
export interface SlaveStatsRecord {
  timestamp: Date;
  diskSize: number;
  diskFree: number;
  memSize: number;
  memFree: number;
  swapSize: number;
  swapFree: number;
  loadAvg1: number;
  cpuTemp: number;
}

/** The stats as the 9-element list IDLE and BUSY carry. */
export function statsTuple(s: SlaveStatsRecord): SlaveStats {
  return [
    s.timestamp,
    s.diskSize,
    s.diskFree,
    s.memSize,
    s.memFree,
    s.swapSize,
    s.swapFree,
    s.loadAvg1,
    s.cpuTemp,
  ];
}

/** Size and space available to unprivileged users of the filesystem holding `dir` (statvfs). */
export async function diskStats(dir: string): Promise<{ size: number; free: number }> {
  const out = await new Deno.Command("df", {
    args: ["-B1", "--output=size,avail", dir],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n");
  const fields = text[text.length - 1]?.trim().split(/\s+/).map(Number);
  if (!out.success || !fields || fields.length !== 2 || fields.some((n) => !Number.isFinite(n))) {
    // One line, in piw's words: df's own message names df and ends with a newline.
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0]
      .replace(/^(\S*\/)?df: /, "").replace(/^'?[^:]*'?: /, "") || "df failed";
    throw new PiwError(`cannot read the disk usage of ${dir}: ${why}`);
  }
  return { size: fields[0], free: fields[1] };
}

/** Memory and swap from a meminfo file, in bytes (MemAvailable, else MemFree + Cached). */
export async function memoryStats(
  path = "/proc/meminfo",
): Promise<{ memSize: number; memFree: number; swapSize: number; swapFree: number }> {
  const kb = new Map<string, number>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kb.set(m[1], Number(m[2]) * 1024);
  }
  const memSize = kb.get("MemTotal");
  if (memSize === undefined) throw new PiwError(`No MemTotal in ${path}`);
  return {
    memSize,
    memFree: kb.get("MemAvailable") ?? (kb.get("MemFree") ?? 0) + (kb.get("Cached") ?? 0),
    swapSize: kb.get("SwapTotal") ?? 0,
    swapFree: kb.get("SwapFree") ?? 0,
  };
}

/** The one-minute load average. */
export async function loadAverage(path = "/proc/loadavg"): Promise<number> {
  return Number((await Deno.readTextFile(path)).split(/\s+/)[0]);
}

/** The CPU temperature in °C from a thermal zone, 0.0 when there is none. */
export async function cpuTemperature(
  path = "/sys/class/thermal/thermal_zone0/temp",
): Promise<number> {
  try {
    const milli = Number((await Deno.readTextFile(path)).trim());
    return Number.isFinite(milli) ? milli / 1000 : 0;
  } catch {
    // Absent on most VMs and containers; unreadable zones exist too.
    return 0;
  }
}

/** Gather all stats, measuring disk space where builds happen (`dir`). */
export async function slaveStats(dir: string): Promise<SlaveStatsRecord> {
  const [disk, mem, load, temp] = await Promise.all([
    diskStats(dir),
    memoryStats(),
    loadAverage(),
    cpuTemperature(),
  ]);
  return {
    timestamp: new Date(),
    diskSize: disk.size,
    diskFree: disk.free,
    ...mem,
    loadAvg1: load,
    cpuTemp: temp,
  };
}
