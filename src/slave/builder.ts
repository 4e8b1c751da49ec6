/**
 * Building one package version into wheels with `pip wheel`, as a piwheels slave does (piwheels'
 * `piwheels.slave.builder`), plus what piwheels lacks: the build timeout is enforced, a
 * timed-out or aborted build takes its whole process tree down with it, and so does the death
 * of this process (even by SIGKILL: see `dieWithParent` in session.ts).
 * @module
 */
import { getLogger } from "../log.ts";
import { BadWheelError, InvalidWheelFilenameError, ZipError } from "../wheel/errors.ts";
import { type BuiltFile, inspectWheel } from "./inspect.ts";
import { spawnSession, terminateSession } from "./session.ts";

const log = getLogger("slave.builder");

/** How to run a build. */
export interface BuildOptions {
  /** The target interpreter (name on PATH or path); default "python3". */
  python?: string;
  /** The index pip fetches the sdist (and build requirements) from. */
  indexUrl: string;
  /** Further indexes (e.g. a piwheels index, for binary build requirements). */
  extraIndexUrls?: string[];
  /** Time allowed for pip, in ms; default 3 hours. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when a build is stopped, in ms; default 10 s. */
  killGraceMs?: number;
  /** RLIMIT_DATA of the build in bytes; 0 or undefined for none. */
  memoryLimit?: number;
  /** Parent of the build's temporary directory; default the system temporary directory. */
  dir?: string;
  /** Aborting stops the build (SKIP from the master, shutdown). */
  signal?: AbortSignal;
  /** Environment overrides for the build; null removes a variable. */
  env?: Record<string, string | null>;
  /** Keep at most this many bytes of output (its end); default 8 MiB. */
  maxOutputBytes?: number;
  /**
   * Told where the build is, so that a successor can clean up should this process be killed:
   * once its directory exists (session null), once its processes run (their session id).
   */
  onProgress?: (where: BuildWhereabouts) => void;
}

/** Where a build is: its directory, and the session (and process group) id of its processes. */
export interface BuildWhereabouts {
  dir: string;
  sid: number | null;
}

/** The prefix of every build directory's name (see {@link isBuildDir}). */
const BUILD_DIR_PREFIX = "piw-build-";

/** Whether `path` is a build directory this module made directly inside `parent`. */
export function isBuildDir(path: string, parent: string): boolean {
  const slash = path.lastIndexOf("/");
  return path.slice(0, slash).replace(/\/+$/, "") === parent.replace(/\/+$/, "") &&
    path.slice(slash + 1).startsWith(BUILD_DIR_PREFIX);
}

const DEFAULT_TIMEOUT_MS = 3 * 60 * 60 * 1000;
const DEFAULT_GRACE_MS = 10_000;
// Processes left behind by a build that finished on its own get little patience.
const LEFTOVER_GRACE_MS = 1_000;

/** The pip command line for a build (without any wrapper). */
export function pipCommand(
  pkg: string,
  version: string,
  options: { python: string; wheelDir: string; indexUrl: string; extraIndexUrls?: string[] },
): string[] {
  return [
    options.python,
    "-m",
    "pip",
    "wheel",
    `${pkg}==${version}`,
    `--wheel-dir=${options.wheelDir}`,
    "--no-deps",
    "--no-cache-dir",
    `--no-binary=${pkg}`,
    "--prefer-binary",
    "--exists-action=w",
    "--disable-pip-version-check",
    "--no-input",
    `--index-url=${options.indexUrl}`,
    ...(options.extraIndexUrls ?? []).map((u) => `--extra-index-url=${u}`),
  ];
}

/**
 * The environment of a build : the slave's own plus GIT_ALLOW_PROTOCOL=file,
 * PIWHEELS_BUILD=1, OPENSSL_STATIC=1, `$HOME/.cargo/bin` on PATH, TMPDIR inside the build
 * directory (so cleanup removes what the build leaves there), then `overrides`.
 */
export function buildEnvironment(
  tmpDir: string,
  overrides: Record<string, string | null> = {},
  base: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  env.GIT_ALLOW_PROTOCOL = "file"; // a setup.py that clones over the network fails at once
  env.PIWHEELS_BUILD = "1";
  env.OPENSSL_STATIC = "1"; // cryptography needs static OpenSSL to make a usable wheel
  const path = env.PATH ?? "/usr/local/bin:/usr/bin:/bin";
  env.PATH = path.includes(".cargo/bin") || !env.HOME ? path : `${env.HOME}/.cargo/bin:${path}`;
  env.TMPDIR = tmpDir;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** The outcome of a build; the wheels stay on disk until `cleanup()`. */
export class BuildResult {
  /** The package (canonical name) that was built. */
  readonly package: string;
  readonly version: string;
  /** True when pip succeeded and every wheel could be inspected. */
  readonly status: boolean;
  /** How long pip ran, in ms (inspection not included). */
  readonly durationMs: number;
  /** pip's combined output, followed by any reason for failure. */
  readonly output: string;
  /** The wheels built, sorted by filename; empty when the build failed. */
  readonly files: BuiltFile[];
  /** The build's temporary directory. */
  readonly dir: string;

  constructor(init: Omit<BuildResult, "cleanup">) {
    this.package = init.package;
    this.version = init.version;
    this.status = init.status;
    this.durationMs = init.durationMs;
    this.output = init.output;
    this.files = init.files;
    this.dir = init.dir;
  }

  /** Remove the build directory and everything in it. */
  async cleanup(): Promise<void> {
    await removeTree(this.dir);
  }
}

/** Remove a build directory and everything in it, read-only parts too; nothing if missing. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await Deno.remove(dir, { recursive: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    // Builds leave read-only directories (Go module caches do); make them writable and retry.
    await new Deno.Command("chmod", { args: ["-R", "u+rwX", dir], stderr: "null" }).output();
    await Deno.remove(dir, { recursive: true });
  }
}

/** What a build says when an allocation failed (Python, C/C++, GCC, the kernel's errno). */
const OUT_OF_MEMORY =
  /\bMemoryError\b|Cannot allocate memory|std::bad_alloc|virtual memory exhausted|out of memory/i;

function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (i < units.length - 1 && bytes >= 1024 && bytes % 1024 === 0) {
    bytes /= 1024;
    i++;
  }
  return `${bytes} ${units[i]}`;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * Build wheels of `pkg` `version` with pip in a fresh temporary directory and inspect them.
 * Never throws for a failed build: failures (pip errors, timeout, abort, unusable wheels)
 * come back with `status` false and the reason at the end of `output`. Call `cleanup()` on the
 * result when its files are no longer needed.
 * @example
 * const result = await build("numpy", "1.26.4", { indexUrl: "https://pypi.org/simple/" });
 * try { ... } finally { await result.cleanup(); }
 */
export async function build(
  pkg: string,
  version: string,
  options: BuildOptions,
): Promise<BuildResult> {
  const root = await Deno.makeTempDir({ dir: options.dir, prefix: BUILD_DIR_PREFIX });
  options.onProgress?.({ dir: root, sid: null });
  const wheelDir = `${root}/wheels`, workDir = `${root}/work`, tmpDir = `${root}/tmp`;
  for (const d of [wheelDir, workDir, tmpDir]) await Deno.mkdir(d);
  const graceMs = options.killGraceMs ?? DEFAULT_GRACE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cmd = pipCommand(pkg, version, {
    python: options.python ?? "python3",
    wheelDir,
    indexUrl: options.indexUrl,
    extraIndexUrls: options.extraIndexUrls,
  });
  log.debug(`building ${pkg} ${version} in ${root}: ${cmd.join(" ")}`);

  let output = "";
  let stopReason: string | null = null;
  let status = false;
  const started = performance.now();
  let durationMs = 0;
  try {
    options.signal?.throwIfAborted();
    const proc = spawnSession(cmd, {
      cwd: workDir,
      env: buildEnvironment(tmpDir, options.env),
      limits: { dataBytes: options.memoryLimit },
      maxOutputBytes: options.maxOutputBytes,
      dieWithParent: true,
    });
    options.onProgress?.({ dir: root, sid: proc.pid });
    let stopping: Promise<void> | null = null;
    const stop = (reason: string) => {
      stopReason ??= reason;
      stopping ??= proc.ready.then(() => terminateSession(proc.pid, graceMs));
    };
    const timer = setTimeout(
      () => stop(`Build timed out after ${formatMs(timeoutMs)}; its processes were terminated`),
      timeoutMs,
    );
    const onAbort = () => stop(`Build aborted (${abortReason(options.signal)})`);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const exit = await proc.status;
      durationMs = performance.now() - started;
      status = exit.success && stopReason === null;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      await (stopping ?? terminateSession(proc.pid, LEFTOVER_GRACE_MS));
      output = await proc.output;
    }
  } catch (e) {
    durationMs ||= performance.now() - started;
    status = false;
    if (options.signal?.aborted) stopReason ??= `Build aborted (${abortReason(options.signal)})`;
    else output += `\n${(e as Error).message}`;
  }
  if (stopReason) output += `\n${stopReason}\n`;
  else if (!status && options.memoryLimit && OUT_OF_MEMORY.test(output)) {
    const line = `Build ran out of memory: its data size is limited to ` +
      `${formatBytes(options.memoryLimit)} (piw slave --memory-limit)`;
    log.warning(`${pkg} ${version}: ${line}`);
    output += `\n${line}\n`;
  }

  let files: BuiltFile[] = [];
  if (status) {
    try {
      files = await inspectAll(wheelDir, `${root}/inspect`, options.signal, options.python);
    } catch (e) {
      status = false;
      files = [];
      if (e instanceof DOMException && e.name === "AbortError" || options.signal?.aborted) {
        output += `\nBuild aborted (${abortReason(options.signal)})\n`;
      } else if (
        e instanceof BadWheelError || e instanceof ZipError ||
        e instanceof InvalidWheelFilenameError
      ) {
        output += `\n${e.message}\n`;
      } else {
        log.error(`inspecting wheels of ${pkg} ${version} failed: ${(e as Error).stack}`);
        output += `\nInspecting the built wheels failed: ${(e as Error).message}\n`;
      }
    }
  }
  log.debug(`build of ${pkg} ${version}: ${status ? "success" : "failure"} in ${durationMs} ms`);
  return new BuildResult({
    package: pkg,
    version,
    status,
    durationMs: Math.round(durationMs),
    output,
    files,
    dir: root,
  });
}

function abortReason(signal?: AbortSignal): string {
  const r = signal?.reason;
  return r instanceof Error ? r.message : r === undefined ? "aborted" : String(r);
}

async function inspectAll(
  wheelDir: string,
  workRoot: string,
  signal?: AbortSignal,
  python?: string,
): Promise<BuiltFile[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(wheelDir)) {
    if (e.isFile && e.name.endsWith(".whl")) names.push(e.name);
  }
  names.sort();
  const files: BuiltFile[] = [];
  for (const [i, name] of names.entries()) {
    signal?.throwIfAborted();
    const work = `${workRoot}/${i}`;
    await Deno.mkdir(work, { recursive: true });
    files.push(await inspectWheel(`${wheelDir}/${name}`, work, signal, python));
  }
  return files;
}
