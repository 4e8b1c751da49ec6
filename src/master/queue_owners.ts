/**
 * Before a master binds anything: is any of its ipc or TCP queues already served by a live
 * process (another master)? libzmq would take over a live ipc socket file without a word, and the
 * master that lost it would go deaf; a TCP port in use would fail deep inside a task.
 * @module
 */
import { PiwError } from "../errors.ts";
import { ipcPath } from "../transport/mod.ts";
import { type MasterConfig, parseMetricsAddress } from "./config.ts";

/**
 * Throw a `PiwError` naming the first queue of `config` some live process listens on (and that
 * process, where /proc tells), e.g. "control queue ipc:///tmp/piw-control is in use by process
 * 1234 (piw master)". A stale ipc socket file (nobody listening) is fine: bind replaces it.
 */
export async function checkQueuesFree(config: MasterConfig): Promise<void> {
  for (const [key, address] of Object.entries(config)) {
    if (!key.endsWith("Queue") || typeof address !== "string") continue;
    const path = ipcPath(address);
    const inUse = path !== null
      ? await ipcListening(path)
      : address.startsWith("tcp://")
      ? tcpPortTaken(address)
      : null;
    if (!inUse) continue;
    const name = key.replace(/Queue$/, "").replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
    throw new PiwError(`${name} queue ${address} is in use by ${await holder(inUse)}`);
  }
  if (config.metrics) {
    const { hostname, port } = parseMetricsAddress(config.metrics);
    const inUse = tcpPortTaken(
      `tcp://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    );
    if (inUse) {
      throw new PiwError(`metrics address ${config.metrics} is in use by ${await holder(inUse)}`);
    }
  }
}

/** Who holds a socket, in words: "process 1234 (piw master)" or "another process". */
async function holder(inUse: Listening): Promise<string> {
  const pid = await socketHolder(inUse);
  return pid === null ? "another process" : `process ${pid}${await describe(pid)}`;
}

/** A socket some process listens on: an ipc path or a TCP port. */
type Listening = { path: string } | { port: number };

/** The ipc path if something accepts connections on it, else null. */
async function ipcListening(path: string): Promise<Listening | null> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return { path };
  } catch {
    // Missing, or a stale file nobody listens on.
    return null;
  }
}

/** The port of a `tcp://host:port` address if it is taken, else null (unknown: let bind tell). */
function tcpPortTaken(address: string): Listening | null {
  const match = /^tcp:\/\/(.+):(\d+)$/.exec(address);
  const port = Number(match?.[2] ?? 0);
  if (!match || port === 0) return null;
  const host = match[1] === "*" ? "0.0.0.0" : match[1].replace(/^\[(.*)\]$/, "$1");
  try {
    Deno.listen({ hostname: host, port }).close();
    return null;
  } catch (error) {
    return error instanceof Deno.errors.AddrInUse ? { port } : null;
  }
}

/** The pid of a process holding the listening socket, from /proc (Linux); null if unknown. */
async function socketHolder(listening: Listening): Promise<number | null> {
  const inodes = new Set<string>();
  try {
    if ("path" in listening) {
      // Num RefCount Protocol Flags Type St Inode Path
      for (const line of (await Deno.readTextFile("/proc/net/unix")).split("\n")) {
        const fields = line.trim().split(/\s+/);
        if (fields[7] === listening.path) inodes.add(fields[6]);
      }
    } else {
      for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode; 0A = LISTEN
        const text = await Deno.readTextFile(table).catch(() => "");
        for (const line of text.split("\n")) {
          const fields = line.trim().split(/\s+/);
          const port = parseInt(fields[1]?.split(":").pop() ?? "", 16);
          if (fields[3] === "0A" && port === listening.port) inodes.add(fields[9]);
        }
      }
    }
  } catch {
    return null;
  }
  const targets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  if (targets.size === 0) return null;
  let pids: number[];
  try {
    pids = [...Deno.readDirSync("/proc")].map((entry) => Number(entry.name));
  } catch {
    return null;
  }
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
        if (targets.has(Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`))) return pid;
      }
    } catch {
      // Gone, or not ours to look at.
    }
  }
  return null;
}

/** " (piw master)" for a piw process (from its command line), else "". */
async function describe(pid: number): Promise<string> {
  try {
    const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0");
    return args.includes("master") ? " (piw master)" : "";
  } catch {
    return "";
  }
}
