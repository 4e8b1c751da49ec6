/**
 * The local demo farm (`bash scripts/demo`): real sdists served by a PyPI stand-in, `piw initdb`
 * and `piw master` on an embedded PGlite database, `piw slave`s building real wheels, the site
 * served on loopback and real pip installing a wheel piw built.
 *
 * Options: `--once` (exit after the summary), `--slaves N` (default 2), `--port N` (the site's
 * HTTP port, default 8000 or a free one), `--timeout DURATION` (default 15m).
 * @module
 */

import {
  createFixtureIndex,
  DEMO_SPECS,
  hermeticPipChildEnv,
  hermeticPipEnv,
} from "../src/demo/package_index.ts";
import { buildSdist, moduleName, type SdistSpec } from "../src/demo/sdists.ts";
import { startPyPIStandIn } from "../src/demo/pypi/stand_in.ts";
import { parseDuration } from "../src/cli/duration.ts";
import { interpreterFacts } from "../src/system/facts.ts";
import { serveDirectory } from "../src/demo/static_server.ts";
import { Context } from "../src/transport/mod.ts";
import { decodeMessage, monitorStatsProtocol } from "../src/protocols/mod.ts";

const top = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const args = parseArgs(Deno.args);
const work = await Deno.makeTempDir({ prefix: "piw-demo-" });
const children: { name: string; process: Deno.ChildProcess }[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
let stopping = false;
let summarised = false;
const exited = new Set<string>();

function say(message: string): void {
  console.log(`piw demo: ${message}`);
}

function parseArgs(
  argv: string[],
): { once: boolean; slaves: number; port: number; timeout: number; python: string } {
  const result = { once: false, slaves: 2, port: 0, timeout: 15 * 60_000, python: "" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === "--once") result.once = true;
    else if (arg === "--slaves") result.slaves = Number(value());
    else if (arg === "--port") result.port = Number(value());
    else if (arg === "--timeout") result.timeout = parseDuration(value());
    else if (arg === "--python") result.python = value();
    else if (arg === "--help" || arg === "-h") {
      console.log(
        "usage: bash scripts/demo [--once] [--slaves N] [--port N] [--timeout DURATION]" +
          " [--python TARGET_PYTHON]",
      );
      Deno.exit(0);
    } else fail(`unknown option ${arg} (try --help)`);
  }
  if (!Number.isInteger(result.slaves) || result.slaves < 1 || result.slaves > 8) {
    fail("--slaves must be a whole number from 1 to 8");
  }
  return result;
}

function fail(message: string): never {
  console.error(`piw demo: ${message}`);
  Deno.exit(2);
}

/**
 * `preferred` if free, else a free port below Linux's ephemeral range (32768 up): the master
 * binds its ports seconds later, and meanwhile an ephemeral port can be taken by any outgoing
 * connection, or by a slave retrying to connect to it (TCP connects a socket to itself then).
 */
function freePort(preferred = 0): number {
  for (let tries = 0; tries < 1000; tries++) {
    const port = tries === 0 && preferred ? preferred : 20_000 + Math.floor(Math.random() * 12_768);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // In use (or not ours to take): try another.
    }
  }
  throw new Error("no free port");
}

/** The environment every piw process of the demo runs with. */
function piwEnv(): Record<string, string> {
  const env: Record<string, string> = { PIW_CONFIG_PATHS: "", NO_COLOR: "1" };
  // The demo runs whatever user started it; piw refuses root unless told this is deliberate.
  if (Deno.uid() === 0) env.PIW_ALLOW_ROOT = "1";
  return env;
}

async function piw(args: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${top}/main.ts`, ...args],
    env: piwEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`piw ${args[0]} failed (exit ${output.code}): ${text}`);
  }
}

function spawnPiw(name: string, args: string[], extraEnv: Record<string, string> = {}): void {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${top}/main.ts`, ...args],
    env: { ...piwEnv(), ...extraEnv },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  children.push({ name, process });
  process.status.then((status) => {
    exited.add(name);
    if (!stopping) {
      console.error(
        `piw demo: ${name} exited unexpectedly (code ${status.code}); see ${work}/logs`,
      );
    }
  });
}

async function cleanup(): Promise<void> {
  stopping = true;
  for (const { process } of [...children].reverse()) {
    try {
      process.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.race([
    Promise.all(children.map((c) => c.process.status)),
    new Promise((resolve) => setTimeout(resolve, 15_000)),
  ]);
  for (const { process } of children) {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  for (const fn of cleanups.reverse()) await fn();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

interface BuildStatus {
  package: string;
  version: string;
  state: "pending" | "built" | "failed";
  /** Why it failed (the failure class piw gave it), when it did. */
  failure?: string;
}

/**
 * A release whose sdist reaches the index only after its first build: that build fails "no
 * source distribution", and piw retries it by itself once the delay passes (PIW_RETRY_DELAYS).
 */
const LATE_SPEC: SdistSpec = { name: "piw-demo-late", version: "1.0" };
const LATE_RETRY = "30s";
/**
 * A retry every LATE_RETRY for 10 minutes: on a loaded machine the pages (and so the sdist's
 * publication) can come after the first retry, which then fails too.
 */
const RETRY_DELAYS = Array(20).fill(LATE_RETRY).join(",");
const SPECS = [...DEMO_SPECS, LATE_SPEC];

/**
 * The builds the master has recorded, as its status queue tells them at once ("pkg version" →
 * state): a slave hears DONE only once its build is in the database, after SEND for every file
 * of a build that succeeded. The pages follow later (TheSecretary holds rewrites a minute).
 */
function followBuilds(statusQueue: string): {
  finished: Map<string, "built" | "failed">;
  close(): Promise<void>;
} {
  const context = new Context();
  const sub = context.socket("SUB", { subscribe: "", linger: 0 });
  sub.connect(statusQueue);
  const finished = new Map<string, "built" | "failed">();
  const jobs = new Map<number, { key: string; sent: boolean }>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const frames = await sub.recv(250);
      if (!frames || frames.length !== 1) continue;
      let msg;
      try {
        msg = decodeMessage(monitorStatsProtocol, frames[0]);
      } catch {
        continue;
      }
      if (msg.name !== "SLAVE") continue;
      const [id, , name, data] = msg.data;
      const job = jobs.get(id);
      if (name === "BUILD") {
        const [pkg, version] = data as [string, string];
        jobs.set(id, { key: `${pkg} ${version}`, sent: false });
      } else if (name === "SEND" && job) job.sent = true;
      else if (name === "DONE" && job) {
        finished.set(job.key, job.sent ? "built" : "failed");
        jobs.delete(id);
      }
    }
  })();
  return {
    finished,
    async close() {
      if (!running) return;
      running = false;
      await loop;
      sub.close();
      await context.close();
    },
  };
}

/** Build states of every demo version, read from the project JSON piw writes. */
async function buildStates(www: string): Promise<BuildStatus[]> {
  const states: BuildStatus[] = [];
  for (const spec of SPECS) {
    const pkg = spec.name;
    let state: BuildStatus["state"] = "pending";
    let failure: string | undefined;
    try {
      const json = JSON.parse(await Deno.readTextFile(`${www}/project/${pkg}/json/index.json`));
      const release = json.releases?.[spec.version];
      const builds: { status: string; failure?: { class: string } | null }[] = Object.values(
        release?.builds ?? {},
      );
      const files = Object.keys(release?.files ?? {});
      if (files.length > 0) state = "built";
      else if (builds.length > 0 && builds.every((b) => b.status === "fail")) {
        state = "failed";
        failure = builds[0].failure?.class;
      }
    } catch { /* not written yet */ }
    states.push({ package: pkg, version: spec.version, state, failure });
  }
  return states;
}

async function run(): Promise<number> {
  const logs = `${work}/logs`;
  const www = `${work}/www`;
  await Deno.mkdir(logs, { recursive: true });
  await Deno.mkdir(www, { recursive: true });
  say(`working directory ${work}`);

  say(
    `building ${DEMO_SPECS.length} sdists (pure Python, a C extension, Requires-Python, one broken)`,
  );
  const index = await createFixtureIndex(DEMO_SPECS);
  cleanups.push(() => index.close());
  // Announced on PyPI with the others, but on the index only after its first build failed.
  const late = await buildSdist(LATE_SPEC, work);
  const pypi = await startPyPIStandIn({ simpleIndex: index });
  cleanups.push(() => pypi.close());
  pypi.announceSdists([...index.sdists, late], {
    summary: (i) => `piw demo package ${i + 1}`,
    clock: "piw-demo-clock",
    firstSerial: 7_000_001,
  });
  say(`PyPI stand-in at ${pypi.url} (changelog, JSON and simple index)`);

  // The slaves build for --python (a chroot's interpreter, say: scripts/make-chroot) when given.
  const targetPython = args.python || "python3";
  const { abi, platform } = await interpreterFacts(targetPython);
  say(`piw initdb on an embedded PGlite database, building for ABI ${abi} (${platform})`);
  const dsn = `pglite://${work}/db`;
  await piw(["initdb", "--dsn", dsn, "--yes", "--abi", abi, "-l", `${logs}/initdb.log`]);

  // The site is served from the start, and the master is told its address, so the pages, the
  // project JSON, the log links and the sitemaps point here and not at www.piwheels.org.
  const port = freePort(args.port || 8000);
  const server = serveDirectory(www, port);
  cleanups.push(() => server.shutdown());
  const site = `http://127.0.0.1:${port}`;
  say(`site at ${site}/ (pages appear as the master writes them)`);

  const slavePort = freePort();
  const filePort = freePort();
  const queues = {
    status: `ipc://${work}/status`,
    control: `ipc://${work}/control`,
  };
  const builds = followBuilds(queues.status);
  cleanups.push(() => builds.close());
  say("starting piw master");
  spawnPiw("piw master", [
    "master",
    "--dsn",
    dsn,
    "--output-path",
    www,
    "--site-url",
    site,
    ...pypi.masterArgs,
    "--status-queue",
    queues.status,
    "--control-queue",
    queues.control,
    "--import-queue",
    `ipc://${work}/import`,
    "--log-queue",
    `ipc://${work}/logger`,
    "--slave-queue",
    `tcp://127.0.0.1:${slavePort}`,
    "--file-queue",
    `tcp://127.0.0.1:${filePort}`,
    "--log-file",
    `${logs}/master.log`,
    "--verbose",
  ], { PIW_RETRY_DELAYS: RETRY_DELAYS });
  for (let n = 1; n <= args.slaves; n++) {
    say(`starting piw slave ${n}`);
    const pipEnv = hermeticPipChildEnv();
    spawnPiw(`piw slave ${n}`, [
      "slave",
      "--master",
      `127.0.0.1:${slavePort}:${filePort}`,
      "--label",
      `demo-slave-${n}`,
      // The farm's own index for build dependencies, as piwheels' slaves use piwheels.org's.
      "--extra-index-url",
      `${site}/simple`,
      "--dir",
      await Deno.makeTempDir({ dir: work, prefix: `slave${n}-` }),
      "--log-file",
      `${logs}/slave${n}.log`,
      "--verbose",
      ...(args.python ? ["--python", args.python] : []),
    ], { ...pipEnv, PIW_SLAVE_INTERVAL: "2s" });
  }

  say("waiting for every version to be built or to fail (CloudGazer finds them first)");
  const deadline = Date.now() + args.timeout;
  // Progress comes from the status queue, as builds are recorded; the pages lag behind.
  const recorded = async () =>
    (await buildStates(www)).map((s) =>
      s.state === "pending"
        ? { ...s, state: builds.finished.get(`${s.package} ${s.version}`) ?? s.state }
        : s
    );
  let states = await recorded();
  let last = "";
  while (states.some((s) => s.state === "pending")) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out; still pending: ${
          states.filter((s) => s.state === "pending").map((s) => s.package).join(", ")
        }`,
      );
    }
    if (exited.has("piw master")) {
      throw new Error(`piw master stopped; see ${logs}/master.log`);
    }
    const line = `${count(states, "built")} built, ${count(states, "failed")} failed, ` +
      `${count(states, "pending")} pending of ${states.length}`;
    if (line !== last) say(line);
    last = line;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    states = await recorded();
  }
  say(
    `${count(states, "built")} built, ${count(states, "failed")} failed: all builds recorded; ` +
      "waiting for the master to write their pages (it holds page rewrites up to a minute, " +
      "as piwheels does)",
  );
  await builds.close();
  // The summary and what follows (pip) need the pages themselves.
  states = await buildStates(www);
  while (states.some((s) => s.state === "pending")) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the project pages");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    states = await buildStates(www);
  }
  say(`${count(states, "built")} built, ${count(states, "failed")} failed of ${states.length}`);

  // The late release: its first build found no sdist; now it is published, and the retry piw
  // scheduled builds it with nobody asking.
  const lateState = () =>
    buildStates(www).then((all) => all.find((s) => s.package === LATE_SPEC.name)!);
  const first = await lateState();
  say(
    `${LATE_SPEC.name} ${LATE_SPEC.version}: ${first.state}` +
      (first.failure ? ` (failure class ${first.failure})` : "") +
      `; publishing its sdist now: piw retries it by itself ${LATE_RETRY} after each such failure`,
  );
  await index.add(late);
  while ((await lateState()).state !== "built") {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LATE_SPEC.name}'s retry`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  say(`${LATE_SPEC.name} ${LATE_SPEC.version}: built on its automatic retry`);
  states = await buildStates(www);

  const target = DEMO_SPECS.find((s) => s.kind === "cext")!;
  const imported = args.python
    ? await installForTarget(args.python, `${site}/simple/`, target.name)
    : await installInVenv(`${site}/simple/`, target.name);

  console.log("");
  console.log("piw demo: summary");
  for (const s of states) console.log(`  ${s.package} ${s.version}: ${s.state}`);
  console.log(`  pip installed ${target.name} from piw's index: ${imported.trim()}`);
  console.log(`  site:      ${site}/  (simple index ${site}/simple/)`);
  console.log(`  logs:      ${logs}/`);
  console.log(
    `  monitor:   deno task piw monitor --status-queue ${queues.status} --control-queue ${queues.control}`,
  );
  console.log(`  files:     ${www}/simple/`);
  summarised = true;
  if (args.once) {
    say("--once: stopping the farm and removing its working directory");
    return 0;
  }
  say("the farm keeps running; press Ctrl+C to stop and clean up");
  await interruption;
  return 0;
}

/** pip-install `name` from `index` into a fresh virtual environment and import it. */
async function installInVenv(index: string, name: string): Promise<string> {
  say(`installing ${name} with pip from ${index} into a fresh virtual environment`);
  const venv = `${work}/venv`;
  await command("python3", ["-m", "venv", venv]);
  await command(`${venv}/bin/pip`, [
    "install",
    "--no-deps",
    "--only-binary",
    ":all:",
    "--index-url",
    index,
    name,
  ], hermeticPipEnv());
  return await command(`${venv}/bin/python`, ["-c", importSnippet(name)]);
}

/**
 * pip-install `name` with the target interpreter into a directory and import it from there:
 * a chroot's interpreter sees the demo's /tmp directory, and a directory install needs no venv
 * module in the target.
 */
async function installForTarget(python: string, index: string, name: string): Promise<string> {
  const dir = `${work}/target-site`;
  say(`installing ${name} with ${python} -m pip from ${index} into ${dir}`);
  await command(python, [
    "-m",
    "pip",
    "install",
    "--no-deps",
    "--only-binary",
    ":all:",
    "--target",
    dir,
    "--index-url",
    index,
    name,
  ], hermeticPipEnv());
  return await command(python, [
    "-c",
    `import sys; sys.path.insert(0, ${JSON.stringify(dir)}); ${importSnippet(name)}`,
  ]);
}

function importSnippet(name: string): string {
  return `import ${moduleName(name)} as m; print(m.__name__, "imported from", m.__file__)`;
}

function count(states: BuildStatus[], state: BuildStatus["state"]): number {
  return states.filter((s) => s.state === state).length;
}

async function command(
  cmd: string,
  argv: string[],
  env: Record<string, string | null> = {},
): Promise<string> {
  const clean: Record<string, string> = {};
  const drop: string[] = [];
  for (const [k, v] of Object.entries(env)) v === null ? drop.push(k) : (clean[k] = v);
  const base = Deno.env.toObject();
  for (const k of drop) delete base[k];
  const output = await new Deno.Command(cmd, {
    args: argv,
    env: { ...base, ...clean },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`${cmd} ${argv.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
  return text;
}

/** The last lines of each log, since the working directory is removed on exit. */
async function showLogTails(dir: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      const lines = (await Deno.readTextFile(`${dir}/${entry.name}`)).trimEnd().split("\n");
      console.error(`--- last lines of ${entry.name}:`);
      for (const line of lines.slice(-15)) console.error(`  ${line}`);
    }
  } catch { /* no logs yet */ }
}

let code = 1;
// Ctrl+C (or SIGTERM) at any point stops the farm and removes what the demo made.
let interrupted: () => void = () => {};
const interruption = new Promise<number>((resolve) => {
  interrupted = () => resolve(summarised ? 0 : 130);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (!stopping) say("stopping the farm and cleaning up...");
    interrupted();
  });
}
try {
  code = await Promise.race([run(), interruption]);
} catch (error) {
  console.error(`piw demo: ${error instanceof Error ? error.message : String(error)}`);
  await showLogTails(`${work}/logs`);
} finally {
  await cleanup();
}
Deno.exit(code);
