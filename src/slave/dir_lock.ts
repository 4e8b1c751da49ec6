/**
 * One slave per build directory (`--dir`), and clean-up after one that was killed.
 * `<dir>/piw-slave.pid` is locked (flock) by its slave for as long as that process lives, so the
 * kernel itself says whether its holder is alive, and it holds (JSON) the slave's pid and where
 * its current build is: the build directory and the session id of the build's processes. A slave
 * that starts takes the lock, or refuses naming the holder's pid; then, if its predecessor left a
 * build behind, it kills the processes left of it and removes its directory.
 *
 * The leftovers are recognised by their environment (every build process inherits
 * `TMPDIR=<build directory>/tmp`, and the directory's name is random) and by the recorded
 * session, counted only while a process with that environment is in it: a session id can be
 * reused once its processes have all gone, a build directory's name cannot.
 * @module
 */
import { fileErrorReason, PiwError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { type BuildWhereabouts, isBuildDir, removeTree } from "./builder.ts";
import { processesWithEnv, sessionMembers } from "./session.ts";

/** The state file's name inside `--dir`. */
export const STATE_FILE = "piw-slave.pid";
/** More than any record needs: a state file is read no further. */
const MAX_STATE_BYTES = 64 * 1024;

/** What the state file says. */
interface SlaveRecord {
  pid: number;
  build: BuildWhereabouts | null;
}

const log = getLogger("slave");

/** The lock on a build directory, held until `release()` or this process's end. */
export class SlaveDirLock {
  readonly #file: Deno.FsFile;
  readonly path: string;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.path = path;
  }

  /**
   * Lock `dir` for this slave and clean up after a predecessor that was killed; PiwError when
   * another live slave holds it or the state file cannot be opened.
   */
  static async acquire(dir: string): Promise<SlaveDirLock> {
    const path = `${dir.replace(/\/+$/, "") || ""}/${STATE_FILE}`;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o644 });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new PiwError(`the build directory ${dir} does not exist (create it, or see --dir)`);
      }
      throw new PiwError(`cannot use ${path}: ${fileErrorReason(e)}`);
    }
    if (!file.tryLockSync(true)) {
      const holder = readRecord(file)?.pid;
      file.close();
      throw new PiwError(
        `another piw slave${holder ? ` (pid ${holder})` : ""} is using ${dir} (${path} is locked)`,
      );
    }
    const lock = new SlaveDirLock(file, path);
    try {
      const previous = readRecord(file);
      if (previous?.build) await cleanUpAfter(previous.pid, previous.build, dir);
      lock.record(null);
    } catch (e) {
      lock.release();
      throw e;
    }
    return lock;
  }

  /** Say where this slave's current build is (null: none), for a successor's clean-up. */
  record(build: BuildWhereabouts | null): void {
    const record: SlaveRecord = { pid: Deno.pid, build };
    const data = new TextEncoder().encode(JSON.stringify(record) + "\n");
    try {
      this.#file.truncateSync(0);
      this.#file.seekSync(0, Deno.SeekMode.Start);
      for (let at = 0; at < data.length;) at += this.#file.writeSync(data.subarray(at));
    } catch (e) {
      // Only a later clean-up depends on it; the build itself goes on.
      log.warning(`cannot write ${this.path}: ${(e as Error).message}`);
    }
  }

  /** Unlock (closing the file); the record stays for the next slave. */
  release(): void {
    try {
      this.#file.close();
    } catch {
      // Closed already.
    }
  }
}

/** The record in `file`, or null when it is empty or not one (a bad one is logged). */
function readRecord(file: Deno.FsFile): SlaveRecord | null {
  let text: string;
  try {
    file.seekSync(0, Deno.SeekMode.Start);
    const buf = new Uint8Array(MAX_STATE_BYTES);
    let got = 0;
    while (got < buf.length) {
      const n = file.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    text = new TextDecoder().decode(buf.subarray(0, got)).trim();
  } catch {
    return null;
  }
  if (!text) return null;
  try {
    const value = JSON.parse(text);
    const build = value?.build;
    if (
      Number.isSafeInteger(value?.pid) &&
      (build === null || typeof build?.dir === "string" &&
          (build.sid === null || Number.isSafeInteger(build.sid)))
    ) {
      return { pid: value.pid, build: build && { dir: build.dir, sid: build.sid } };
    }
  } catch {
    // Reported below.
  }
  log.warning(`ignored a malformed slave state file: ${JSON.stringify(text.slice(0, 200))}`);
  return null;
}

/** Kill what is left of the build of dead slave `pid` and remove its directory. */
async function cleanUpAfter(pid: number, build: BuildWhereabouts, dir: string): Promise<void> {
  const killed = await killLeftovers(build);
  let removed = false;
  if (isBuildDir(build.dir, dir.replace(/\/+$/, ""))) {
    try {
      await Deno.lstat(build.dir);
      await removeTree(build.dir);
      removed = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        log.error(`cannot remove ${build.dir}, left by slave ${pid}: ${(e as Error).message}`);
      }
    }
  } else {
    log.warning(`not removing ${build.dir}: not a build directory of ${dir}`);
  }
  if (killed || removed) {
    log.warning(
      `cleaned up after piw slave ${pid}: ${killed} build processes killed` +
        (removed ? `, ${build.dir} removed` : ""),
    );
  }
}

/** SIGKILL every process left of `build`; how many there were. */
async function killLeftovers(build: BuildWhereabouts): Promise<number> {
  const marker = `TMPDIR=${build.dir}/tmp`;
  const seen = new Set<number>();
  for (let round = 0; round < 50; round++) {
    const pids = new Set(processesWithEnv(marker));
    if (build.sid !== null && pids.size) {
      const members = sessionMembers(build.sid);
      // The session is the build's only while a process of the build is in it.
      if (members.some((p) => pids.has(p))) { for (const p of members) pids.add(p); }
    }
    pids.delete(Deno.pid);
    if (!pids.size) break;
    for (const p of pids) {
      seen.add(p);
      try {
        Deno.kill(p, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen.size;
}
