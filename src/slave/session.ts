/**
 * Running a command as the leader of its own session, so that the whole tree it starts (pip,
 * build backends, compilers, anything they leave behind) can be found and signalled together.
 * Processes that start a session of their own escape; nothing short of cgroups catches those.
 * @module
 */

import { MAX_BUILD_OUTPUT } from "../protocols/limits.ts";

/** Resource limits applied to the session leader (and inherited by its children). */
export interface SessionLimits {
  /** RLIMIT_DATA in bytes (heap and private mappings); 0 or undefined for none. */
  dataBytes?: number;
}

/** Options for `spawnSession`. */
export interface SpawnSessionOptions {
  cwd?: string;
  /** The complete environment of the command. */
  env?: Record<string, string>;
  limits?: SessionLimits;
  /** Keep at most this many bytes of output (the end); default 8 MiB. */
  maxOutputBytes?: number;
  /**
   * SIGKILL the session's process group when this process dies (even by SIGKILL), through
   * the parent-death signal of util-linux `setpriv`; ignored where there is no setpriv. The
   * kernel sends it when the spawning thread ends, so spawn from the main thread, not a Worker.
   */
  dieWithParent?: boolean;
}

/** A command running in its own session; its stdout and stderr are captured together. */
export interface SessionProcess {
  /** The leader's pid, which is also the session id and process group id. */
  readonly pid: number;
  /** Resolves when the leader exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves to the combined output once every writer has gone. */
  readonly output: Promise<string>;
  /**
   * Resolves once the leader has its session (or has already gone); signal the session only
   * after this, since in the instant before setsid() it is in Deno's process group.
   */
  readonly ready: Promise<void>;
}

const DEFAULT_MAX_OUTPUT = MAX_BUILD_OUTPUT;

/**
 * Start `cmd` in a new session (via setsid) with stdin from /dev/null and stderr merged into
 * stdout by the wrapper shell, so the log keeps the order in which things were written.
 */
export function spawnSession(cmd: string[], options: SpawnSessionOptions = {}): SessionProcess {
  const limit = options.limits?.dataBytes;
  let script = (limit ? `ulimit -d ${Math.ceil(limit / 1024)} || exit 125; ` : "") +
    "exec 2>&1; ";
  let leader = ["sh"];
  if (options.dieWithParent && hasSetpriv()) {
    // The kernel signals the leader (this shell) when Deno dies; the shell then kills its
    // group, which the command and its children share. HUP, since terminateSession sends TERM
    // and KILL. The shell waits instead of exec'ing so that it stays to hear the signal, and
    // gives up at once if Deno died before the signal was set (the shell's parent changed).
    leader = ["setpriv", "--pdeathsig", "HUP", "sh"];
    script += `trap 'kill -KILL 0' HUP; [ "$PPID" = ${Deno.pid} ] || exit 125; ` +
      '"$@" & wait $!';
  } else {
    script += 'exec "$@"';
  }
  // A child of Deno is never a process group leader, so setsid(1) calls setsid() and execs in
  // place rather than forking: the pid Deno reports is the session id.
  const child = new Deno.Command("setsid", {
    args: [...leader, "-c", script, "piw-build", ...cmd],
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  return {
    pid: child.pid,
    status: child.status,
    output: collect(child.stdout, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT),
    ready: sessionStarted(child.pid),
  };
}

let setprivFound: boolean | null = null;

/** Whether util-linux `setpriv` is on PATH (looked up once). */
function hasSetpriv(): boolean {
  if (setprivFound === null) {
    const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
    setprivFound = dirs.some((dir) => {
      try {
        return Deno.statSync(`${dir || "."}/setpriv`).isFile;
      } catch {
        return false;
      }
    });
  }
  return setprivFound;
}

async function sessionStarted(pid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const fields = procStat(pid);
    if (!fields || fields[0] === "Z" || Number(fields[3]) === pid) return;
    await sleep(2);
  }
}

async function collect(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let kept = 0, dropped = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    kept += chunk.length;
    while (kept - chunks[0].length >= max) {
      kept -= chunks[0].length;
      dropped += chunks.shift()!.length;
    }
  }
  const all = new Uint8Array(kept);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  let text = new TextDecoder().decode(all.subarray(Math.max(0, kept - max)));
  dropped += Math.max(0, kept - max);
  if (dropped) text = `[... ${dropped} bytes of earlier output dropped ...]\n` + text;
  return text;
}

function procStat(pid: string | number): string[] | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null; // exited while we looked
  }
  // Fields after the command name, which may itself hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Live (non-zombie) processes whose session or process group is `sid`. */
export function sessionMembers(sid: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const fields = procStat(entry.name);
    if (!fields) continue;
    const [state, , pgrp, session] = fields;
    if (state !== "Z" && (Number(pgrp) === sid || Number(session) === sid)) {
      pids.push(Number(entry.name));
    }
  }
  return pids;
}

/** Live (non-zombie) processes other than this one whose environment holds `entry` exactly. */
export function processesWithEnv(entry: string): number[] {
  // Byte for byte, whatever the encoding: latin1 maps each byte to one character.
  const latin1 = new TextDecoder("latin1");
  const wanted = latin1.decode(new TextEncoder().encode(entry));
  const pids: number[] = [];
  for (const proc of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(proc.name) || Number(proc.name) === Deno.pid) continue;
    let environ: string;
    try {
      environ = latin1.decode(Deno.readFileSync(`/proc/${proc.name}/environ`));
    } catch {
      continue; // exited, or not ours to read
    }
    if (!environ.split("\0").includes(wanted)) continue;
    const fields = procStat(proc.name);
    if (fields && fields[0] !== "Z") pids.push(Number(proc.name));
  }
  return pids;
}

function signalSession(sid: number, signal: Deno.Signal): void {
  for (const pid of [-sid, ...sessionMembers(sid)]) {
    try {
      Deno.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stop every process of session `sid`: SIGTERM, then SIGKILL for whatever is left after
 * `graceMs`. Resolves when none is left (or, should one be unkillable, after a few seconds).
 */
export async function terminateSession(sid: number, graceMs: number): Promise<void> {
  if (!sessionMembers(sid).length) return;
  signalSession(sid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!sessionMembers(sid).length) return;
    await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
  }
  // Repeat: a process may fork between our scan of /proc and the signal reaching it.
  for (let i = 0; i < 50 && sessionMembers(sid).length; i++) {
    signalSession(sid, "SIGKILL");
    await sleep(100);
  }
}
