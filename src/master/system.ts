/**
 * The master's view of the machine it runs on: disk space of the output path (statvfs),
 * memory, load, CPU temperature, what HELLO tells monitors, and systemd notifications.
 * @module
 */
import { cpuTemperature, diskStats, memoryStats } from "../system/stats.ts";
import { boardFacts, osFacts } from "../system/facts.ts";
import type { MasterHello } from "../protocols/mod.ts";

const LIBC_SYMBOLS = {
  statvfs: { parameters: ["buffer", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | null | undefined;

/** glibc (Linux, 64-bit), or null where it cannot be opened (callers fall back). */
function openLibc() {
  if (libc === undefined) {
    try {
      libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    } catch {
      libc = null;
    }
  }
  return libc;
}

/** Size and space available to unprivileged users of the filesystem holding `path`, bytes. */
export async function diskUsage(path: string): Promise<{ size: number; free: number }> {
  const lib = openLibc();
  if (lib) {
    // struct statvfs on 64-bit glibc: 11 unsigned longs, then 6 ints of padding.
    const buf = new BigUint64Array(14);
    const cpath = new TextEncoder().encode(path + "\0");
    if (lib.statvfs(cpath, new Uint8Array(buf.buffer)) === 0) {
      const [, frsize, blocks, , bavail] = buf;
      return { size: Number(blocks * frsize), free: Number(bavail * frsize) };
    }
  }
  return await diskStats(path);
}

/** Memory and swap (bytes), one-minute load average and CPU temperature (°C, 0 if unknown). */
export async function machineStats(): Promise<{
  memSize: number;
  memFree: number;
  swapSize: number;
  swapFree: number;
  loadAverage: number;
  cpuTemp: number;
}> {
  const [mem, cpuTemp] = await Promise.all([memoryStats(), cpuTemperature()]);
  return { ...mem, loadAverage: Deno.loadavg()[0], cpuTemp };
}

/** The master's HELLO to monitors: when it started and where it runs. */
export async function masterHello(started: Date): Promise<MasterHello> {
  const [os, board] = await Promise.all([osFacts(), boardFacts()]);
  return [
    started,
    Deno.hostname(),
    os.osName,
    os.osVersion,
    board.boardRevision,
    board.boardSerial,
  ];
}

const AF_UNIX = 1;
const SOCK_DGRAM_CLOEXEC = 2 | 0o2000000;
const MSG_NOSIGNAL = 0x4000;

/**
 * Send `state` (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1") to systemd via $NOTIFY_SOCKET;
 * does nothing when the variable is unset. Returns whether it was sent.
 */
export function sdNotify(state: string): boolean {
  const target = Deno.env.get("NOTIFY_SOCKET");
  const lib = target ? openLibc() : null;
  if (!target || !lib) return false;
  // struct sockaddr_un: sa_family (u16), sun_path[108]; "@" means the abstract namespace.
  const path = new TextEncoder().encode(target);
  if (path.length > 107) return false;
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(path, 2);
  let length = 2 + path.length + 1;
  if (target.startsWith("@")) {
    addr[2] = 0;
    length = 2 + path.length;
  }
  const fd = lib.socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const message = new TextEncoder().encode(state);
    return lib.sendto(fd, message, BigInt(message.length), MSG_NOSIGNAL, addr, length) >= 0;
  } finally {
    lib.close(fd);
  }
}

/** Whether systemd expects watchdog pings ($WATCHDOG_USEC set for this process). */
export function watchdogEnabled(): boolean {
  const pid = Deno.env.get("WATCHDOG_PID");
  return Deno.env.get("WATCHDOG_USEC") !== undefined &&
    (pid === undefined || Number(pid) === Deno.pid);
}
