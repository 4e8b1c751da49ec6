/**
 * One owner per resource: an exclusive lock on a file (flock) that holds the owner's pid and
 * command, so a second process is refused at once with a line naming the holder. The kernel drops
 * the lock when its holder dies, however it dies, so a lock is never stale; a clean release also
 * removes the file.
 *
 * A flock belongs to one open file, not to a process: the Workers of one process cannot share it.
 * So the lock is re-entrant per process: whoever finds it held under its own pid (another Worker,
 * e.g. the master's TheOracle while the main thread holds the database) goes ahead without it.
 * @module
 */
import { PiwError } from "./errors.ts";

/** The lock file (below the output path) of the one master writing there; `piw audit` takes it to fix. */
export const MASTER_LOCK = ".piw-master.lock";

/** A held lock; `release()` lets the next process in (idempotent). */
export interface Lock {
  release(): void;
}

/** What the lock file records of its holder. */
interface Holder {
  pid: number;
  command: string;
}

let processName = "piw";

/** Name this process in the locks it takes (`piw master`); the CLI calls it once. */
export function setProcessName(name: string): void {
  processName = name;
}

/** Locks this isolate holds, by path, with how many users each. */
const held = new Map<string, { file: Deno.FsFile; users: number }>();

/** How long to wait for a holder that has the lock but has not written its pid yet. */
const PID_WAIT_MS = 1000;

/**
 * Take the lock file `path` (created if missing) for this process, or throw a `PiwError`
 * "`what` is in use by process PID (COMMAND)" when another process holds it.
 * @example
 * const lock = await acquireLock("/srv/db/piw.lock", "the database /srv/db");
 * try { ... } finally { lock.release(); }
 */
export async function acquireLock(path: string, what: string): Promise<Lock> {
  const mine = held.get(path);
  if (mine) {
    mine.users++;
    return releaser(path, mine);
  }
  const deadline = performance.now() + PID_WAIT_MS;
  let file: Deno.FsFile;
  for (;;) {
    file = await openLockFile(path, what);
    if (tryLock(file, path, what)) {
      // The holder before us may have removed the file after we opened it: then the lock is on
      // a file nobody else will find, and we start again on the path's new file.
      if (sameFile(file, path)) break;
      file.close();
      continue;
    }
    const holder = await readHolder(path);
    if (holder?.pid === Deno.pid) {
      // Another Worker of this process holds it.
      file.close();
      return { release() {} };
    }
    file.close();
    if (holder || performance.now() > deadline) {
      const by = holder ? `process ${holder.pid} (${holder.command})` : "another process";
      throw new PiwError(`${what} is in use by ${by}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  file.truncateSync(0);
  file.writeSync(new TextEncoder().encode(`${Deno.pid} ${processName}\n`));
  const entry = { file, users: 1 };
  held.set(path, entry);
  return releaser(path, entry);
}

async function openLockFile(path: string, what: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  } catch (error) {
    throw new PiwError(`cannot lock ${what}: ${path}: ${(error as Error).message}`);
  }
}

/** flock, or a `PiwError` where the filesystem has no locks. */
function tryLock(file: Deno.FsFile, path: string, what: string): boolean {
  try {
    return file.tryLockSync(true);
  } catch (error) {
    file.close();
    throw new PiwError(`cannot lock ${what}: ${path}: ${(error as Error).message}`);
  }
}

function releaser(path: string, entry: { file: Deno.FsFile; users: number }): Lock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      held.delete(path);
      // Removed while still locked, so nobody takes a lock on it that others cannot see.
      try {
        Deno.removeSync(path);
      } catch {
        // Already gone.
      }
      entry.file.close();
    },
  };
}

/** Whether the open `file` is still the one at `path`. */
function sameFile(file: Deno.FsFile, path: string): boolean {
  try {
    return file.statSync().ino === Deno.statSync(path).ino;
  } catch {
    return false;
  }
}

/** The holder recorded in a lock file; null while it is empty (being taken). */
async function readHolder(path: string): Promise<Holder | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return null;
  }
  const match = /^(\d+) (.*)\n/.exec(text);
  return match ? { pid: Number(match[1]), command: match[2] } : null;
}
