/**
 * Durability soak (issue 13 point 6): a real farm — a private PostgreSQL cluster, a real
 * `piw master`, 2–3 real `piw slave`s building real sdists with pip — runs for a few minutes
 * while faults are injected at random (seeded; each kind once per round, 10–30 s apart): kill -9
 * of the master (restarted on the same database and output; half the kills aimed at a moment of
 * a build's way through it: dispatch, transfer, publish, LOGBUILD), kill -9 of a slave with its
 * build or (half the time) alone, its build left running (a new one started on the same
 * `--dir`), PostgreSQL stopped (`-m fast`) for 5–30 s, and power loss of the master's machine
 * (kill -9 of the master with PostgreSQL `stop -m immediate`, both back 3–15 s later). New
 * versions (pure, some with a ~16 MB wheel so that a kill can land mid-transfer, C extensions,
 * failing ones) are fed to the index whenever few are left to build, so the slaves stay busy.
 * Then the faults and the feed stop, the farm drains, everything stops, and the invariants are
 * checked and printed PASS/FAIL:
 * - none lost: every version in the index has a build row;
 * - no false failures: no build of a version whose sdist builds fine is recorded failed;
 * - files and rows agree: every file row has its file under `simple/<pkg>/` with its size and
 *   sha256, and every wheel under `simple/` has a row;
 * - nothing half-written: no `*.part` or `*.tmp` anywhere in the output, nothing left staged in
 *   `.piw-incoming/` (the design's staging directory; `orphans/` is only reported);
 * - no piw process died on its own (only the soak's kills);
 * - the master's peak RSS (VmRSS sampled each second, VmHWM) stayed under `--rss-limit` MiB.
 * Exits 1 if any fails. The output directory and every process's log are kept when one fails.
 *
 * Run: `deno run -A tests/bench/durability_soak_bench.ts [--minutes N] [--seed S] [--slaves K]
 * [--drain-minutes N] [--stall-minutes N] [--rss-limit MiB] [--keep] [--quick]` (defaults: 5
 * minutes, a random seed, 2 slaves, drain up to 20 minutes but give up after 6 without progress,
 * 1024 MiB; `--quick`: 1 minute). The work directory is under /tmp. Needs root
 * (pg_createcluster, runuser), PostgreSQL 15 with postgresql-common, python3 with pip, and the
 * setuptools/wheel wheels (`scripts/setup --tests`).
 * @module
 */
import { canonicaliseName } from "../../src/wheel/names.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import { fileSha256 } from "../../src/slave/inspect.ts";
import { buildSdist, moduleName, type SdistKind, type SdistSpec } from "../fixtures/sdists.ts";
import { hermeticPipChildEnv, startPackageIndex } from "../fixtures/package_index.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import {
  freePort,
  masterCommand,
  masterQueues,
  PiwProcess,
  processAlive,
  slaveCommand,
} from "../fixtures/piw_process.ts";
import { createPgCluster } from "../fixtures/pg_cluster.ts";

// -- options ----------------------------------------------------------------------------------

function option(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`durability soak: ${name} needs a number, not ${Deno.args[at + 1]}`);
    Deno.exit(2);
  }
  return value;
}

const QUICK = Deno.args.includes("--quick");
const MINUTES = option("--minutes", QUICK ? 1 : 5);
const SEED = option("--seed", Math.floor(Math.random() * 2 ** 32)) >>> 0;
const SLAVES = Math.max(1, Math.round(option("--slaves", 2)));
const DRAIN_MINUTES = option("--drain-minutes", 20);
/** Drain gives up when no version finished for this long (something is lost for good). */
const STALL_MINUTES = option("--stall-minutes", 6);
const RSS_LIMIT_MIB = option("--rss-limit", 1024);
/**
 * The slaves' build timeout, which is also how long the master holds a dispatched version back
 * from other slaves: shorter than the stall limit, so a version whose result the master dropped
 * comes round again during the drain (and shows how its rebuild fares).
 */
const BUILD_TIMEOUT = "4m";
const KEEP = Deno.args.includes("--keep");

// -- seeded randomness --------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Separate streams, so the fault schedule does not depend on how much the feeder (which runs
 * beside it) has drawn: faults, the workload's versions, the bytes of big modules.
 */
const random = prng(SEED);
const workload = prng(SEED ^ 0x5eed0001);
const blobBytes = prng(SEED ^ 0x5eed0002);
const between = (lo: number, hi: number) => lo + random() * (hi - lo);
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
/** The items in a random order (Fisher–Yates). */
function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// -- output -------------------------------------------------------------------------------------

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
function say(text: string): void {
  console.log(`[${elapsed().toFixed(1).padStart(6)} s] ${text}`);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// -- processes ----------------------------------------------------------------------------------

/** The pids of `pid`'s descendants (from /proc), deepest last. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...children.get(ppid) ?? [], Number(entry.name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = children.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

/** The start time of process `pid` (field 22 of its stat), or null once it is gone. */
function startTime(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return null;
  }
}

/** Signal `pid` (SIGKILL by default), if it is still there. */
function kill(pid: number, signal: Deno.Signal = "SIGKILL"): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** VmRSS and VmHWM of `pid` in KiB, or null once it is gone. */
function memory(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1]);
    return { rss: field("VmRSS"), hwm: field("VmHWM") };
  } catch {
    return null;
  }
}

/** The next stderr line of `proc` containing `text` (polled every 10 ms), or null after `ms`. */
async function nextLine(proc: PiwProcess, text: string, ms: number): Promise<string | null> {
  let from = proc.lines.length;
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(10)) {
    for (; from < proc.lines.length; from++) {
      if (proc.lines[from].includes(text)) return proc.lines[from];
    }
  }
  return null;
}

/** One supervised piw process: restarted (and reported) if it exits without being told to. */
class Role {
  current: PiwProcess | null = null;
  generation = 0;
  readonly all: PiwProcess[] = [];
  stopping = false;

  constructor(
    readonly label: string,
    readonly make: (name: string) => PiwProcess,
    readonly onUnexpectedExit: (proc: PiwProcess, code: number) => void,
  ) {}

  start(): PiwProcess {
    const proc = this.make(`${this.label}#${++this.generation}`);
    this.current = proc;
    this.all.push(proc);
    proc.process.status.then((status) => {
      if (this.current !== proc) return; // killed or stopped on purpose
      this.current = null;
      this.onUnexpectedExit(proc, status.code);
      if (!this.stopping) setTimeout(() => this.stopping || this.start(), 2000);
    });
    return proc;
  }

  /**
   * kill -9 of the process and everything it started (a machine losing power), or of the
   * process alone (`alone`: the OOM killer); what was done, and the processes it left behind.
   */
  async crash(alone = false): Promise<{ said: string; orphans: number[] }> {
    const proc = this.current;
    if (!proc) return { said: `${this.label} was not running`, orphans: [] };
    this.current = null;
    // Frozen at once (the moment a kill is aimed at), killed once its children are known.
    if (!alone) kill(proc.process.pid, "SIGSTOP");
    const children = descendants(proc.process.pid);
    for (const pid of [proc.process.pid, ...alone ? [] : children]) kill(pid);
    await proc.process.status;
    const last = proc.lines.at(-1)?.slice(0, 160) ?? "";
    const what = alone
      ? `kill -9 ${proc.name} alone (${children.length} processes of its left running)`
      : `kill -9 ${proc.name} and its ${children.length} processes`;
    return { said: `${what}; its last line: ${last}`, orphans: alone ? children : [] };
  }

  /** SIGTERM (then SIGKILL after `graceMs`); the exit code. */
  async stop(graceMs = 30_000): Promise<number | null> {
    this.stopping = true;
    const proc = this.current;
    this.current = null;
    return proc ? await proc.stop(graceMs) : null;
  }
}

// -- the workload -------------------------------------------------------------------------------

/** A version fed to the index, and whether its sdist builds. */
interface Fed {
  pkg: string;
  version: string;
  kind: SdistKind;
  good: boolean;
  /** Whether its wheel is big enough (~16 MB) for a kill to land during its transfer. */
  big: boolean;
}

const PACKAGES = 6;
/**
 * Master log lines an aimed kill waits for: a build handed out, a transfer asked for, received,
 * verified and published, the build logged (then its pages are being written).
 */
const MOMENTS = [
  ": build piw-soak-",
  ": send piw_soak_",
  "transfer started",
  "transfer complete",
  "(published)",
  "logged build",
];
/** Kinds with their weights: mostly wheels that build, some that fail at once or in setup.py. */
const KINDS: [SdistKind, number][] = [["pure", 0.65], ["cext", 0.2], ["fail", 0.1], [
  "fail-fast",
  0.05,
]];

/** The share of pure versions that carry a big module. */
const BIG_SHARE = 0.3;
const BIG_BYTES = 12 << 20;

/**
 * A Python module holding `BIG_BYTES` pseudo-random bytes as base64 (so the wheel stays big
 * after deflate), for transfers long enough to be interrupted.
 */
function bigModule(): string {
  const bytes = new Uint8Array(BIG_BYTES);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < bytes.length; i += 4) view.setUint32(i, blobBytes() * 2 ** 32);
  const chunks: string[] = [];
  for (let i = 0; i < bytes.length; i += 57 * 1024) {
    chunks.push(btoa(String.fromCharCode(...bytes.subarray(i, i + 57 * 1024))));
  }
  return `BLOB = """\n${chunks.join("\n")}\n"""\n`;
}

function nextKind(): SdistKind {
  let r = workload();
  for (const [kind, weight] of KINDS) if ((r -= weight) < 0) return kind;
  return "pure";
}

// -- the soak -----------------------------------------------------------------------------------

interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

async function walk(dir: string, rel = ""): Promise<{ path: string; entry: Deno.DirEntry }[]> {
  const out: { path: string; entry: Deno.DirEntry }[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}${rel}`)) {
      const path = `${rel}/${entry.name}`;
      out.push({ path, entry });
      if (entry.isDirectory) out.push(...await walk(dir, path));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

const sample = (items: string[], n = 8) =>
  items.slice(0, n).join(", ") + (items.length > n ? `, … (${items.length - n} more)` : "");

/** Why this machine cannot run the soak, or null. */
function missing(): string | null {
  if (Deno.uid() !== 0) return "it must run as root (pg_createcluster, runuser)";
  for (const tool of ["/usr/bin/pg_createcluster", "/usr/bin/pg_ctlcluster", "/usr/bin/psql"]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `${tool} is missing (scripts/setup --tests installs PostgreSQL)`;
    }
  }
  return null;
}

async function main(): Promise<number> {
  const why = missing();
  if (why) {
    console.log(`durability soak: SKIPPED: ${why}`);
    return 0;
  }
  console.log(
    `durability soak: ${MINUTES} min of faults, seed ${SEED}, ${SLAVES} slaves, ` +
      `drain limit ${DRAIN_MINUTES} min (stall ${STALL_MINUTES} min), RSS limit ${RSS_LIMIT_MIB} MiB`,
  );
  console.log(
    "real: a private PostgreSQL cluster (stopped/started for outages), piw initdb, piw master " +
      "and piw slave subprocesses (kill -9, restarts), libzmq over tcp/ipc, pip building real " +
      "sdists (pure, C extension, failing) with setuptools, the output directory on disk",
  );
  console.log(
    "stubbed: PyPI (src/demo/pypi stand-in: XML-RPC journal, JSON API) and its simple " +
      "index (src/demo/package_index.ts on loopback, serving fixture sdists and the " +
      "setuptools/wheel wheels); power loss is kill -9 (the page cache survives it)",
  );

  const work = await Deno.makeTempDir({ prefix: "piw-soak-" });
  const output = `${work}/www`, sdistDir = `${work}/sdists`, ipc = `${work}/ipc`;
  for (const dir of [output, sdistDir, ipc, `${work}/logs`]) await Deno.mkdir(dir);
  const { abi } = await interpreterFacts("python3");
  const cleanups: (() => Promise<unknown>)[] = [];
  const roles: Role[] = [];
  const unexpected: string[] = [];
  /** Processes of slaves killed alone (with their start times, to kill no stranger later). */
  const orphaned: { pid: number; start: string | null }[] = [];
  let passed = false;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    say("interrupted: stopping");
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    say(`work directory ${work}; builder ABI ${abi}`);
    const cluster = await createPgCluster({ abi, user: "piw_soak", database: "piw_soak" });
    cleanups.push(() => cluster.drop());
    if (cluster.staleDropped.length) {
      say(`dropped clusters of earlier runs: ${cluster.staleDropped.join(", ")}`);
    }
    say(
      `PostgreSQL ${cluster.version} cluster ${cluster.name} on port ${cluster.port}, initialised`,
    );

    const index = await startPackageIndex({ python: "python3" });
    cleanups.push(() => index.close());
    const pypi = await startPyPIStandIn({ simpleIndex: index });
    cleanups.push(() => pypi.close());

    // The workload: versions fed in waves, each event in PyPI's past, then a clock event far
    // enough ahead that CloudGazer's 5-minute re-ordering window releases the wave at once.
    const fed: Fed[] = [];
    const versionsOf = new Array(PACKAGES).fill(0);
    let clock = Math.floor(Date.now() / 1000) - 6 * 3600;
    let serial = 1_000_000;
    const feed = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const n = Math.floor(workload() * PACKAGES);
        const spec: SdistSpec = {
          name: `piw-soak-${n}`,
          version: `1.${versionsOf[n]++}`,
          kind: nextKind(),
          libraries: ["m"],
        };
        const big = spec.kind === "pure" && workload() < BIG_SHARE;
        if (big) spec.files = { [`${moduleName(spec.name)}/blob.py`]: bigModule() };
        const sdist = await buildSdist(spec, sdistDir);
        await index.add(sdist);
        if (versionsOf[n] === 1) {
          pypi.setJson(spec.name, { summary: `soak package ${n}` });
          pypi.addEvent(spec.name, null, clock++, "create", ++serial);
        }
        pypi.addEvent(
          spec.name,
          spec.version,
          clock++,
          `add source file ${sdist.filename}`,
          ++serial,
        );
        const kind = spec.kind!;
        fed.push({
          pkg: canonicaliseName(spec.name),
          version: spec.version,
          kind,
          good: kind === "pure" || kind === "cext",
          big,
        });
      }
      pypi.addEvent("piw-soak-clock", null, clock + 400, "docupdate", ++serial);
      clock += 401;
    };
    const finished = async (): Promise<number | null> => {
      try {
        const [[count]] = await cluster.query(
          "SELECT count(*) FROM (SELECT DISTINCT package, version FROM builds) AS b",
        );
        return Number(count);
      } catch {
        return null; // PostgreSQL is down
      }
    };

    // The farm.
    const [slavePort, filePort] = [freePort(), freePort()];
    const queues = masterQueues(`${ipc}/`, slavePort, filePort);
    const pipEnv = hermeticPipChildEnv();
    const onExit = (proc: PiwProcess, code: number) => {
      const line = `${proc.name} exited on its own (code ${code})`;
      unexpected.push(line);
      say(`${line}; restarting it. Its last lines:\n${proc.tail(8)}`);
    };
    const rss = new Map<string, { peak: number; hwm: number }>();
    const master = new Role(
      "master",
      (name) => {
        const proc = new PiwProcess(name, [
          ...masterCommand(cluster.dsn, output, queues),
          ...pypi.masterArgs,
          "--log-file",
          `${work}/logs/${name}.log`,
        ]);
        rss.set(name, { peak: 0, hwm: 0 });
        return proc;
      },
      onExit,
    );
    roles.push(master);
    const slaves = Array.from({ length: SLAVES }, (_, i) => {
      const dir = `${work}/slave${i}`;
      Deno.mkdirSync(dir);
      return new Role(
        `slave${i}`,
        (name) =>
          new PiwProcess(name, [
            ...slaveCommand(slavePort, filePort, `soak${i}`, dir),
            "--timeout",
            BUILD_TIMEOUT,
            "--log-file",
            `${work}/logs/${name}.log`,
            // A slave notices a dead master (and the master a dead slave) after 20 s rather
            // than 5 min, so a restart does not leave the farm idle for most of the run.
          ], { ...pipEnv, PIW_SLAVE_INTERVAL: "1s", PIW_MASTER_TIMEOUT: "20s" }),
        onExit,
      );
    });
    roles.push(...slaves);

    await feed(3 * SLAVES);
    await master.start().waitForLine("ready", 120_000);
    say(`master ready (slave queue ${slavePort}, file queue ${filePort})`);
    for (const slave of slaves) slave.start();

    // RSS sampling, every second, of whichever master runs.
    const sampler = setInterval(() => {
      const proc = master.current;
      const mem = proc && memory(proc.process.pid);
      if (!proc || !mem) return;
      const seen = rss.get(proc.name)!;
      seen.peak = Math.max(seen.peak, mem.rss);
      seen.hwm = Math.max(seen.hwm, mem.hwm);
    }, 1000);
    cleanups.push(() => Promise.resolve(clearInterval(sampler)));

    // Keep the slaves busy: top the index up whenever few versions are left unbuilt.
    let feeding = true;
    const feeder = (async () => {
      while (feeding && !interrupted) {
        const done = await finished();
        if (done !== null && fed.length - done < 2 * SLAVES + 2) {
          await feed(2 * SLAVES);
          say(`fed ${2 * SLAVES} more versions (${fed.length} in all, ${done} finished)`);
        }
        await sleep(5000);
      }
    })();

    // Faults.
    const faults = { master: 0, slave: 0, postgres: 0, machine: 0 };
    const bag: (keyof typeof faults)[] = [];
    /** Processes of slaves killed alone; how many were alive 10 s after the kill, each time. */
    const orphanChecks: string[] = [];
    const end = elapsed() + MINUTES * 60;
    while (!interrupted) {
      const gap = between(10, 30);
      if (elapsed() + gap >= end) break;
      await sleep(gap * 1000);
      if (interrupted) break;
      // Every kind once per round, in a random order.
      if (!bag.length) bag.push(...shuffle(Object.keys(faults) as (keyof typeof faults)[]));
      const kind = bag.pop()!;
      faults[kind]++;
      if (kind === "master") {
        // Half the kills wait for a moment of a build's way through the master, as a kill at
        // any time mostly lands while nothing is in flight.
        const moment = random() < 0.5 ? pick(MOMENTS) : null;
        if (moment) {
          const seen = master.current && await nextLine(master.current, moment, 20_000);
          say(
            `aiming at the master's next ${JSON.stringify(moment)}: ${seen ?? "not seen in 20 s"}`,
          );
        }
        say(`fault: ${(await master.crash()).said}`);
        await sleep(between(0.5, 3) * 1000);
        master.start();
        say("master restarted");
      } else if (kind === "slave") {
        // Half the time its build is left running, as when the OOM killer picks the slave.
        const slave = pick(slaves);
        const { said, orphans } = await slave.crash(random() < 0.5);
        say(`fault: ${said}`);
        await sleep(between(0.5, 3) * 1000);
        slave.start();
        say(`${slave.label} restarted on the same --dir`);
        if (orphans.length) {
          orphaned.push(...orphans.map((pid) => ({ pid, start: startTime(pid) })));
          setTimeout(() => {
            const alive = orphans.filter(processAlive).length;
            orphanChecks.push(`${alive}/${orphans.length}`);
            say(
              `${alive} of the ${orphans.length} processes left by ${slave.label} alive 10 s later`,
            );
          }, 10_000 - 3000);
        }
      } else if (kind === "machine") {
        // The master's machine loses power: the master and PostgreSQL (which shares it on a
        // real farm) die at once; PostgreSQL recovers from its WAL before the master starts.
        const down = between(3, 15);
        const [crash] = await Promise.all([master.crash(), cluster.stop("immediate")]);
        say(`fault: power loss of the master's machine for ${down.toFixed(1)} s: ${crash.said}`);
        await sleep(down * 1000);
        await cluster.start();
        master.start();
        say("PostgreSQL and the master restarted");
      } else {
        const outage = between(5, 30);
        say(`fault: PostgreSQL stopped for ${outage.toFixed(1)} s`);
        await cluster.stop();
        await sleep(outage * 1000);
        await cluster.start();
        say("PostgreSQL started");
      }
    }
    feeding = false;
    await feeder;

    // Drain: every version built or failed, or no progress for STALL_MINUTES.
    say(`faults over (${JSON.stringify(faults)}); draining ${fed.length} versions`);
    const drainStart = elapsed();
    let lastDone = -1, lastProgress = elapsed(), lastReport = 0;
    while (!interrupted) {
      const done = await finished() ?? lastDone;
      if (done !== lastDone) [lastDone, lastProgress] = [done, elapsed()];
      if (done >= fed.length) break;
      if (elapsed() - lastProgress > STALL_MINUTES * 60) {
        say(`drain stalled: ${done}/${fed.length} finished, none for ${STALL_MINUTES} min`);
        break;
      }
      if (elapsed() - drainStart > DRAIN_MINUTES * 60) {
        say(`drain limit reached: ${done}/${fed.length} finished`);
        break;
      }
      if (elapsed() - lastReport >= 30) {
        say(`draining: ${done}/${fed.length} finished`);
        lastReport = elapsed();
      }
      await sleep(2000);
    }
    if (interrupted) return 130;
    say(`drained in ${(elapsed() - drainStart).toFixed(0)} s; letting page writes settle`);
    await sleep(5000);
    for (const slave of slaves) await slave.stop();
    const masterCode = await master.stop(60_000);
    say(`everything stopped (last master exit code ${masterCode})`);
    clearInterval(sampler);

    // The invariants.
    const checks: Check[] = [];
    const builds = await cluster.query(
      "SELECT package, version, status::text FROM builds ORDER BY build_id",
    );
    const built = new Set(builds.map(([p, v]) => `${p} ${v}`));
    const lost = fed.filter((f) => !built.has(`${f.pkg} ${f.version}`));
    const known = new Set(
      (await cluster.query("SELECT package, version FROM versions")).map(([p, v]) => `${p} ${v}`),
    );
    const unknown = lost.filter((f) => !known.has(`${f.pkg} ${f.version}`)).length;
    checks.push({
      name: "none lost: every version in the index has a build row",
      pass: lost.length === 0,
      detail: `${fed.length - lost.length}/${fed.length} versions have one` +
        (lost.length
          ? `; missing: ${sample(lost.map((f) => `${f.pkg} ${f.version}`))} ` +
            `(${unknown} of them not even in the versions table)`
          : ""),
    });

    const good = new Map(fed.map((f) => [`${f.pkg} ${f.version}`, f]));
    const falseFailures = builds.filter(([p, v, s]) =>
      s === "false" && good.get(`${p} ${v}`)?.good
    );
    const falseVersions = [...new Set(falseFailures.map(([p, v]) => `${p} ${v}`))];
    const falseSuccesses = builds.filter(([p, v, s]) =>
      s === "true" && good.get(`${p} ${v}`)?.good === false
    );
    checks.push({
      name: "no false failures: no good sdist's build is recorded failed",
      pass: falseFailures.length === 0 && falseSuccesses.length === 0,
      // The totals show the check is not vacuous (a status psql printed otherwise matches none).
      detail: `${falseFailures.length} failed rows of ${falseVersions.length} of the ` +
        `${fed.filter((f) => f.good).length} good versions` +
        (falseVersions.length ? ` (${sample(falseVersions)})` : "") +
        `; ${falseSuccesses.length} successes of the ${fed.filter((f) => !f.good).length} ` +
        `sdists meant to fail (${builds.filter(([, , s]) => s === "false").length} failed rows)`,
    });

    const duplicates = builds.length - built.size;
    const files = await cluster.query(
      "SELECT b.package, f.filename, f.filesize, f.filehash FROM files f JOIN builds b " +
        "USING (build_id)",
    );
    const rowProblems: string[] = [];
    for (const [pkg, filename, size, hash] of files) {
      const path = `${output}/simple/${pkg}/${filename}`;
      try {
        const info = await Deno.stat(path);
        if (info.size !== Number(size)) {
          rowProblems.push(`${filename}: ${info.size} bytes, row says ${size}`);
        } else if (await fileSha256(path) !== hash) {
          rowProblems.push(`${filename}: sha256 differs from its row`);
        }
      } catch {
        rowProblems.push(`${filename}: row without a file`);
      }
    }
    const rowNames = new Set(files.map(([pkg, filename]) => `/${pkg}/${filename}`));
    const wheels = (await walk(`${output}/simple`)).filter(({ path }) => path.endsWith(".whl"));
    const orphans = wheels.filter(({ path }) => !rowNames.has(path)).map(({ path }) => path);
    checks.push({
      name: "files and rows agree (simple/<pkg>/<file>, size, sha256)",
      pass: rowProblems.length === 0 && orphans.length === 0,
      detail: `${files.length} file rows, ${wheels.length} wheels on disk; ` +
        `${rowProblems.length} rows without their file` +
        (rowProblems.length ? ` (${sample(rowProblems, 4)})` : "") +
        `; ${orphans.length} wheels without a row` +
        (orphans.length ? ` (${sample(orphans, 4)})` : ""),
    });

    const everything = await walk(output);
    const partial = everything.filter(({ path }) => /\.(part|tmp)$/.test(path))
      .map(({ path }) => path);
    const incoming = everything.filter(({ path, entry }) =>
      path.startsWith("/.piw-incoming/") && !entry.isDirectory
    ).map(({ path }) => path);
    const staged = incoming.filter((path) => !path.startsWith("/.piw-incoming/orphans/"));
    checks.push({
      name: "nothing half-written: no *.part/*.tmp in the output, nothing left staged",
      pass: partial.length === 0 && staged.length === 0,
      detail: `${partial.length} .part/.tmp files` +
        (partial.length ? ` (${sample(partial, 4)})` : "") +
        `; ${staged.length} files left in .piw-incoming/` +
        (staged.length ? ` (${sample(staged, 4)})` : "") +
        `; ${incoming.length - staged.length} orphans moved aside`,
    });

    checks.push({
      name: "no piw process died on its own",
      pass: unexpected.length === 0,
      detail: unexpected.length ? sample(unexpected, 6) : "none did",
    });

    const peaks = [...rss].map(([name, m]) => ({ name, ...m })).filter((m) => m.peak > 0);
    const peak = Math.max(0, ...peaks.map((m) => Math.max(m.peak, m.hwm)));
    checks.push({
      name: `the master's RSS stayed under ${RSS_LIMIT_MIB} MiB`,
      pass: peak > 0 && peak / 1024 <= RSS_LIMIT_MIB,
      detail: `peak ${(peak / 1024).toFixed(0)} MiB; per run (sampled VmRSS/VmHWM, MiB): ` +
        peaks.map((m) => `${m.name} ${(m.peak / 1024).toFixed(0)}/${(m.hwm / 1024).toFixed(0)}`)
          .join(", "),
    });

    console.log("\n--- invariants");
    for (const c of checks) console.log(`${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${c.detail}`);
    console.log("--- facts");
    const total = Object.values(faults).reduce((a, b) => a + b);
    console.log(
      `faults injected: ${total} (kill -9 master ${faults.master}, kill -9 slave ` +
        `${faults.slave}, PostgreSQL stopped ${faults.postgres}, power loss of the master and ` +
        `PostgreSQL together ${faults.machine})`,
    );
    console.log(
      `builds: ${builds.length} rows for ${built.size} versions (${duplicates} duplicate rows); ` +
        `${fed.filter((f) => f.good).length} of ${fed.length} versions meant to build ` +
        `(${fed.filter((f) => f.big).length} with a big wheel)`,
    );
    // piw-slave.pid: the lock of a slave's --dir (branch h4).
    const leftovers = (await Promise.all(slaves.map((_, i) => walk(`${work}/slave${i}`))))
      .flat().filter(({ path }) => /^\/[^/]+$/.test(path) && path !== "/piw-slave.pid").length;
    console.log(`slave --dir leftovers after the drain (builds of killed slaves): ${leftovers}`);
    console.log(
      `processes of slaves killed alone, alive 10 s after the kill: ` +
        (orphanChecks.length ? orphanChecks.join(", ") : "no such kill"),
    );
    const errors = roles.flatMap((r) => r.all).flatMap((p) =>
      p.lines.filter((l) => /Uncaught|Traceback \(|panicked/.test(l)).map((l) => `${p.name}: ${l}`)
    );
    console.log(
      `uncaught errors in piw logs: ${errors.length}` +
        (errors.length ? `\n  ${errors.slice(0, 5).join("\n  ")}` : ""),
    );
    passed = checks.every((c) => c.pass);
    console.log(`\ndurability soak (seed ${SEED}): ${passed ? "PASS" : "FAIL"}`);
    return passed ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    for (const role of roles) role.stopping = true;
    for (const role of roles.slice().reverse()) await role.stop(10_000).catch(() => {});
    for (const { pid, start } of orphaned) if (start && startTime(pid) === start) kill(pid);
    for (const proc of roles.flatMap((r) => r.all)) {
      await Deno.writeTextFile(`${work}/logs/${proc.name}.stderr`, proc.lines.join("\n") + "\n")
        .catch(() => {});
    }
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((e) => console.error(`cleanup: ${(e as Error).message}`));
    }
    if ((passed || interrupted) && !KEEP) {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    } else console.log(`kept ${work} (www/ is the output, logs/ every process's log and stderr)`);
  }
}

if (import.meta.main) Deno.exit(await main());
