/**
 * `piw slave` as a real subprocess against a scripted master (a ROUTER in this process) and,
 * for file transfer, a real FileJuggler: HELLO facts, a real build from the fixture index,
 * transfer and cleanup, the build timeout, reconnection, SIGTERM → BYE. Plus the pure helpers.
 * Set PIW_TEST_SHOW_SLAVE=1 to see the slave's (and FileJuggler's) log while debugging.
 */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  type MessageOf,
  NO_DATA,
  slaveDriverProtocol,
} from "../../src/protocols/mod.ts";
import { interpreterFacts, osFacts } from "../../src/system/facts.ts";
import { masterEndpoints } from "../../src/slave/endpoints.ts";
import { checkEnvironment, timingFromEnv } from "../../src/slave/main.ts";
import { stagedPath } from "../../src/master/build_journal.ts";
import { STATE_FILE } from "../../src/slave/dir_lock.ts";
import { freePort, processAlive } from "../fixtures/piw_process.ts";
import { FileState } from "../../src/master/states.ts";
import { FileJuggler } from "../../src/master/tasks/file_juggler.ts";
import { FsClient } from "../../src/clients/fs.ts";
import {
  createFixtureIndex,
  hermeticPipEnv,
  readPids,
  withHangingBuild,
} from "../fixtures/package_index.ts";
import { startTask, testConfig, waitFor } from "../master/helpers.ts";

type Request = MessageOf<typeof slaveDriverProtocol.recv>;
type Reply = MessageOf<typeof slaveDriverProtocol.send>;

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const EMPTY = new Uint8Array(0);

/** A scripted master: a ROUTER on the slave queue; the file queue is given separately. */
class ScriptedMaster {
  readonly socket: Socket;
  readonly port: number;
  address: Uint8Array = EMPTY;

  constructor(context: Context, port = 0) {
    this.socket = context.socket("ROUTER", { linger: 0 });
    // A port just closed is released by libzmq's I/O thread a moment later.
    for (let attempt = 0;; attempt++) {
      try {
        this.socket.bind(`tcp://127.0.0.1:${port || "*"}`);
        break;
      } catch (e) {
        if (attempt > 200) throw e;
        const until = Date.now() + 20;
        while (Date.now() < until) { /* brief wait */ }
      }
    }
    this.port = Number(this.socket.lastEndpoint.split(":").pop());
  }

  /** The next request (remembering who sent it); throws after `timeoutMs`. */
  async next(timeoutMs = 20_000): Promise<Request> {
    const frames = await this.socket.recv(timeoutMs);
    if (!frames) throw new Error(`no message from the slave within ${timeoutMs} ms`);
    this.address = frames[0];
    return decodeMessage(slaveDriverProtocol, frames[2]);
  }

  /** Reply to the last sender. */
  async reply(reply: Reply): Promise<void> {
    const payload = encodeMessage(slaveDriverProtocol, reply.name, reply.data as never);
    await this.socket.send([this.address, EMPTY, payload]);
  }

  /** Reply, then return the next request. */
  async call(reply: Reply, timeoutMs?: number): Promise<Request> {
    await this.reply(reply);
    return await this.next(timeoutMs);
  }

  close(): void {
    this.socket.close(0);
  }
}

/** `piw slave` in a subprocess with the given ports, environment and extra arguments. */
function startSlave(
  slavePort: number,
  filePort: number,
  options: { env?: Record<string, string>; args?: string[]; dir: string; defaults?: boolean },
) {
  const env: Record<string, string> = { ...Deno.env.toObject() };
  for (const [k, v] of Object.entries(hermeticPipEnv())) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  Object.assign(env, {
    PIW_ALLOW_ROOT: "1",
    PIW_MASTER_TIMEOUT: "20s",
    PIW_SLAVE_INTERVAL: "0.2s",
    NO_COLOR: "1",
    ...options.env,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "slave",
      "--master",
      `127.0.0.1:${slavePort}:${filePort}`,
      "--label",
      "test-slave",
      "--dir",
      options.dir,
      "-v",
      // No network here: the default extra index (piwheels.org's) would cost pip's retries.
      ...(options.defaults ? [] : ["--extra-index-url", "none"]),
      ...(options.args ?? []),
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: Deno.env.get("PIW_TEST_SHOW_SLAVE") ? "inherit" : "piped",
  }).spawn();
  const stderr = Deno.env.get("PIW_TEST_SHOW_SLAVE")
    ? Promise.resolve("")
    : new Response(child.stderr).text();
  const stdout = new Response(child.stdout).text();
  return {
    child,
    /**
     * Wait for exit (code and standard error); a slave still running after `graceMs` (a test
     * that failed half-way) gets SIGTERM, then SIGKILL.
     */
    async exit(graceMs = 30_000): Promise<{ code: number; stderr: string }> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = (signal: Deno.Signal, ms: number) =>
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            try {
              child.kill(signal);
            } catch { /* gone */ }
            resolve();
          }, ms);
        });
      const status = await Promise.race([
        child.status,
        stop("SIGTERM", graceMs).then(() => stop("SIGKILL", 15_000)).then(() => child.status),
      ]);
      clearTimeout(timer);
      await stdout;
      return { code: status.code, stderr: await stderr };
    },
  };
}

/** Run `body` with a context, a scripted master and a temporary build directory. */
async function withMaster(
  body: (ctx: Context, master: ScriptedMaster, dir: string) => Promise<void>,
): Promise<void> {
  const ctx = new Context();
  const master = new ScriptedMaster(ctx);
  const dir = await Deno.makeTempDir({ prefix: "piw-slave-test-" });
  try {
    await body(ctx, master, dir);
  } finally {
    master.close();
    await ctx.close(0);
    await Deno.remove(dir, { recursive: true });
  }
}

/** What is in a slave's `dir` besides its state file. */
async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name !== STATE_FILE) names.push(e.name);
  return names;
}

const isGone = (pid: number) => !processAlive(pid);

const DIE: Reply = { name: "DIE", data: NO_DATA };

Deno.test("HELLO carries the timeouts and the target interpreter's real facts", async () => {
  await withMaster(async (_ctx, master, dir) => {
    const slave = startSlave(master.port, master.port + 1, {
      dir,
      args: ["--timeout", "30m"],
      env: { PIW_MASTER_TIMEOUT: "45s" },
    });
    try {
      const hello = await master.next();
      assert.equal(hello.name, "HELLO");
      const data = hello.data as unknown[];
      const py = await interpreterFacts("python3");
      const os = await osFacts();
      assert.equal((data[0] as { totalSeconds(): number }).totalSeconds(), 1800);
      assert.equal((data[1] as { totalSeconds(): number }).totalSeconds(), 45);
      assert.deepEqual(data.slice(2, 8), [
        py.pyVersion,
        py.abi,
        py.platform,
        "test-slave",
        os.osName,
        os.osVersion,
      ]);
      const idle = await master.call({ name: "ACK", data: [1, "http://127.0.0.1:9/simple"] });
      assert.equal(idle.name, "IDLE");
      assert.equal((idle.data as unknown[]).length, 9);
      assert.equal((await master.call({ name: "SLEEP", data: false })).name, "IDLE");
      assert.equal((await master.call(DIE)).name, "BYE");
    } finally {
      const { code, stderr } = await slave.exit();
      assert.equal(code, 0, stderr);
    }
  });
});

Deno.test("builds a fixture sdist, sends the wheel, cleans up after DONE", async () => {
  const index = await createFixtureIndex([{ name: "piw-slave-pkg", version: "1.0" }]);
  const ctx = new Context();
  const output = await Deno.makeTempDir({ prefix: "piw-slave-out-" });
  const config = testConfig({ outputPath: output, fileQueue: "tcp://127.0.0.1:*" });
  if (Deno.env.get("PIW_TEST_SHOW_SLAVE")) {
    (await import("../../src/log.ts")).configureLogging({ level: "debug", showNames: true });
  }
  const juggler = await startTask(new FileJuggler(ctx, config));
  const fs = new FsClient(ctx, config.fsQueue);
  const filePort = Number(juggler.fileEndpoint.split(":").pop());
  try {
    await withMaster(async (_ctx, master, dir) => {
      const slave = startSlave(master.port, filePort, { dir });
      try {
        assert.equal((await master.next()).name, "HELLO");
        assert.equal((await master.call({ name: "ACK", data: [5, index.url] })).name, "IDLE");
        let request = await master.call({ name: "BUILD", data: ["piw-slave-pkg", "1.0"] });
        while (request.name === "BUSY") {
          request = await master.call({ name: "CONT", data: NO_DATA });
        }
        if (request.name !== "BUILT") throw new Error(`${request.name} instead of BUILT`);
        const [status, duration, log, files] = request.data;
        assert.equal(status, true, log);
        assert.ok(duration.totalSeconds() > 0);
        assert.equal(files.length, 1);
        const file = FileState.fromMessage(files[0]);
        assert.match(file.filename, /^piw_slave_pkg-1\.0-py3-none-any\.whl$/);
        assert.equal((await entries(dir)).length, 1, "the build directory exists until DONE");
        await fs.expect(5, file);
        assert.equal((await master.call({ name: "SEND", data: file.filename })).name, "SENT");
        assert.deepEqual(await fs.verify(5, "piw-slave-pkg"), { status: "staged" });
        assert.equal((await Deno.stat(stagedPath(output, file))).size, file.filesize);
        assert.equal((await master.call({ name: "DONE", data: NO_DATA })).name, "IDLE");
        assert.deepEqual(await entries(dir), [], "DONE removed the build directory");
        assert.equal((await master.call(DIE)).name, "BYE");
      } finally {
        const { code, stderr } = await slave.exit();
        assert.equal(code, 0, stderr);
      }
    });
  } finally {
    fs.close();
    await juggler.stop();
    await ctx.close(0);
    await index.close();
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("the build timeout kills the build's whole process tree", async () => {
  await withHangingBuild({ name: "piw-slave-hang", version: "1.0" }, async (index, pidFile) => {
    await withMaster(async (_ctx, master, dir) => {
      // Long enough for pip to start the backend on a busy machine.
      const slave = startSlave(master.port, master.port + 1, { dir, args: ["--timeout", "12s"] });
      try {
        await master.next();
        await master.call({ name: "ACK", data: [1, index.url] });
        let request = await master.call({ name: "BUILD", data: ["piw-slave-hang", "1.0"] });
        while (request.name === "BUSY") {
          request = await master.call({ name: "CONT", data: NO_DATA });
        }
        if (request.name !== "BUILT") throw new Error(`${request.name} instead of BUILT`);
        const [status, , output] = request.data;
        assert.equal(status, false);
        assert.match(output, /timed out after 12 s/);
        const pids = (await readPids(pidFile)).pids;
        for (const pid of pids) assert.ok(isGone(pid), `process ${pid} survived`);
        assert.equal((await master.call({ name: "DONE", data: NO_DATA })).name, "IDLE");
        assert.deepEqual(await entries(dir), []);
        assert.equal((await master.call(DIE)).name, "BYE");
      } finally {
        const { code, stderr } = await slave.exit();
        assert.equal(code, 0, stderr);
      }
    });
  });
});

Deno.test("after the master timeout the slave reconnects to a restarted master", async () => {
  await withMaster(async (ctx, master, dir) => {
    const slave = startSlave(master.port, master.port + 1, {
      dir,
      env: { PIW_MASTER_TIMEOUT: "1.5s" },
    });
    try {
      assert.equal((await master.next()).name, "HELLO");
      const firstAddress = master.address;
      assert.equal((await master.call({ name: "ACK", data: [1, "x"] })).name, "IDLE");
      // The master "restarts": it forgets everything and never answers that IDLE.
      master.close();
      const restarted = new ScriptedMaster(ctx, master.port);
      try {
        const hello = await restarted.next(15_000);
        assert.equal(hello.name, "HELLO");
        assert.notDeepEqual(restarted.address, firstAddress, "a new socket, a new identity");
        assert.equal((await restarted.call({ name: "ACK", data: [1, "x"] })).name, "IDLE");
        assert.equal((await restarted.call(DIE)).name, "BYE");
      } finally {
        restarted.close();
      }
    } finally {
      const { code, stderr } = await slave.exit();
      assert.equal(code, 0, stderr);
      assert.match(stderr, /resetting the connection/);
    }
  });
});

Deno.test("an IDLE unanswered for the reply timeout starts the slave over", async () => {
  await withMaster(async (_ctx, master, dir) => {
    const slave = startSlave(master.port, master.port + 1, {
      dir,
      env: { PIW_MASTER_TIMEOUT: "5m", PIW_REPLY_TIMEOUT: "2s" },
    });
    try {
      assert.equal((await master.next()).name, "HELLO");
      const firstAddress = master.address;
      // The connection stays up, but IDLE gets no answer (a master that has lost track).
      assert.equal((await master.call({ name: "ACK", data: [1, "x"] })).name, "IDLE");
      assert.equal((await master.next(30_000)).name, "HELLO");
      assert.notDeepEqual(master.address, firstAddress, "a new socket, a new identity");
      assert.equal((await master.call({ name: "ACK", data: [2, "x"] })).name, "IDLE");
      assert.equal((await master.call(DIE)).name, "BYE");
    } finally {
      const { code, stderr } = await slave.exit();
      assert.equal(code, 0, stderr);
      assert.match(stderr, /no reply to IDLE from the master in 2 s; resetting the connection/);
    }
  });
});

/**
 * The scripted `master` dies and a new one comes up on its port: the slave must say HELLO to it
 * at once (`abandoned` then checks what its old build left) and serve it until DIE.
 */
async function restartMaster(
  ctx: Context,
  master: ScriptedMaster,
  abandoned: () => Promise<void>,
): Promise<void> {
  master.close();
  const restarted = new ScriptedMaster(ctx, master.port);
  try {
    assert.equal((await restarted.next(30_000)).name, "HELLO");
    await abandoned();
    assert.equal((await restarted.call({ name: "ACK", data: [1, "x"] })).name, "IDLE");
    assert.equal((await restarted.call(DIE)).name, "BYE");
  } finally {
    restarted.close();
  }
}

Deno.test("a master restarted mid-transfer is found at once", async () => {
  const index = await createFixtureIndex([{ name: "piw-slave-transfer", version: "1.0" }]);
  try {
    await withMaster(async (ctx, master, dir) => {
      // Nobody answers on the file port: the transfer waits as it would for a dead master.
      const slave = startSlave(master.port, freePort(), {
        dir,
        env: { PIW_MASTER_TIMEOUT: "5m", PIW_REPLY_TIMEOUT: "5m" },
      });
      try {
        await master.next();
        await master.call({ name: "ACK", data: [1, index.url] });
        let request = await master.call({ name: "BUILD", data: ["piw-slave-transfer", "1.0"] });
        while (request.name === "BUSY") {
          request = await master.call({ name: "CONT", data: NO_DATA });
        }
        if (request.name !== "BUILT") throw new Error(`${request.name} instead of BUILT`);
        const file = FileState.fromMessage(request.data[3][0]);
        await master.reply({ name: "SEND", data: file.filename });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await restartMaster(ctx, master, async () => {
          assert.deepEqual(await entries(dir), [], "the build was abandoned");
        });
      } finally {
        const { code, stderr } = await slave.exit();
        assert.equal(code, 0, stderr);
        assert.match(stderr, /connection to the master dropped; resetting the connection/);
      }
    });
  } finally {
    await index.close();
  }
});

Deno.test("a master restarted mid-build is found at once; the build is abandoned", async () => {
  await withHangingBuild({ name: "piw-slave-restart", version: "1.0" }, async (index, pidFile) => {
    await withMaster(async (ctx, master, dir) => {
      // piwheels' timeouts: five minutes of silence before the slave gives up on its master.
      const slave = startSlave(master.port, master.port + 1, {
        dir,
        env: { PIW_MASTER_TIMEOUT: "5m", PIW_REPLY_TIMEOUT: "5m" },
      });
      try {
        await master.next();
        await master.call({ name: "ACK", data: [1, index.url] });
        assert.equal(
          (await master.call({ name: "BUILD", data: ["piw-slave-restart", "1.0"] })).name,
          "BUSY",
        );
        await waitFor(() => Deno.readTextFile(pidFile).catch(() => ""), 60_000, "the build");
        const pids = (await Deno.readTextFile(pidFile)).trim().split(" ").map(Number);
        // The master dies with the slave's BUSY unanswered, and comes back on the same port.
        await restartMaster(ctx, master, async () => {
          assert.ok(pids.slice(0, 3).every(isGone), "the abandoned build's processes are gone");
          assert.deepEqual(await entries(dir), [], "and so is its directory");
        });
      } finally {
        const { code, stderr } = await slave.exit();
        assert.equal(code, 0, stderr);
        assert.match(stderr, /connection to the master dropped; resetting the connection/);
      }
    });
  });
});

Deno.test("SIGTERM during a build stops it, says BYE and exits 0", async () => {
  await withHangingBuild({ name: "piw-slave-term", version: "1.0" }, async (index, pidFile) => {
    await withMaster(async (_ctx, master, dir) => {
      const slave = startSlave(master.port, master.port + 1, { dir });
      await master.next();
      await master.call({ name: "ACK", data: [1, index.url] });
      assert.equal(
        (await master.call({ name: "BUILD", data: ["piw-slave-term", "1.0"] })).name,
        "BUSY",
      );
      // Wait until the build's processes run, then stop the slave while it awaits CONT.
      for (let i = 0; i < 300; i++) {
        if ((await Deno.readTextFile(pidFile).catch(() => "")).trim()) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      slave.child.kill("SIGTERM");
      assert.equal((await master.next()).name, "BYE");
      const { code, stderr } = await slave.exit();
      assert.equal(code, 0, stderr);
      const pids = (await readPids(pidFile)).pids;
      for (const pid of pids) assert.ok(isGone(pid), `process ${pid} survived`);
      assert.deepEqual(await entries(dir), [], "the build directory is removed");
    });
  });
});

/** The slave state file in `dir` (see dir_lock.ts). */
function slaveRecord(
  dir: string,
): { pid: number; build: { dir: string; sid: number | null } | null } {
  return JSON.parse(Deno.readTextFileSync(`${dir}/${STATE_FILE}`));
}

Deno.test("a second slave on the same --dir is refused with one line naming the first", async () => {
  await withMaster(async (_ctx, master, dir) => {
    const first = startSlave(master.port, master.port + 1, { dir });
    try {
      assert.equal((await master.next()).name, "HELLO");
      const second = startSlave(master.port, master.port + 1, { dir });
      const { code, stderr } = await second.exit();
      assert.equal(code, 1, stderr);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0], new RegExp(`another piw slave \\(pid ${first.child.pid}\\) is using`));
      assert.equal((await master.call({ name: "ACK", data: [1, "x"] })).name, "IDLE");
      assert.equal((await master.call(DIE)).name, "BYE");
    } finally {
      const { code, stderr } = await first.exit();
      assert.equal(code, 0, stderr);
    }
  });
});

Deno.test("a slave killed mid-build takes its build along; the next one cleans up", async () => {
  let pids: number[] = [];
  await withHangingBuild({ name: "piw-slave-killed", version: "1.0" }, async (index, pidFile) => {
    try {
      await withMaster(async (_ctx, master, dir) => {
        const slave = startSlave(master.port, master.port + 1, { dir });
        try {
          await master.next();
          await master.call({ name: "ACK", data: [1, index.url] });
          assert.equal(
            (await master.call({ name: "BUILD", data: ["piw-slave-killed", "1.0"] })).name,
            "BUSY",
          );
          await waitFor(() => Deno.readTextFile(pidFile).catch(() => ""), 60_000, "the build");
          pids = (await Deno.readTextFile(pidFile)).trim().split(" ").map(Number);
        } finally {
          slave.child.kill("SIGKILL");
          await slave.exit();
        }
        const [backend, sameGroup, ownGroup] = pids;
        const build = slaveRecord(dir).build!;
        assert.ok(build.sid, "the build's session is recorded");
        assert.deepEqual(await entries(dir), [build.dir.split("/").pop()]);
        // The build's process group dies with the slave.
        await waitFor(() => [build.sid!, backend, sameGroup].every(isGone), 20_000, "the build");
        assert.ok(!isGone(ownGroup), "a process in a group of its own is only caught later");

        const next = startSlave(master.port, master.port + 1, { dir });
        try {
          assert.equal((await master.next()).name, "HELLO");
          assert.ok(isGone(ownGroup), "the next slave killed what was left of the build");
          assert.deepEqual(await entries(dir), [], "and removed its directory");
          assert.equal(slaveRecord(dir).build, null);
          assert.equal((await master.call({ name: "ACK", data: [2, index.url] })).name, "IDLE");
          assert.equal((await master.call(DIE)).name, "BYE");
        } finally {
          const { code, stderr } = await next.exit();
          assert.equal(code, 0, stderr);
          assert.match(stderr, /cleaned up after piw slave \d+: [1-9]\d* build processes killed/);
        }
      });
    } finally {
      for (const pid of pids.slice(0, 3)) {
        if (!isGone(pid)) Deno.kill(pid, "SIGKILL"); // a failed test's leftovers
      }
    }
  });
});

Deno.test("the slave refuses root unless PIW_ALLOW_ROOT=1, and a clock before 2020-06", () => {
  assert.throws(() => checkEnvironment(0, Date.now(), false), /must not be run as root/);
  checkEnvironment(0, Date.now(), true);
  checkEnvironment(1000, Date.now(), false);
  assert.throws(() => checkEnvironment(1000, Date.UTC(2019, 0, 1), false), /clock/);
});

Deno.test("--master takes a host, a bracketed or bare IPv6 literal, and optional ports", () => {
  const cases: [string, string, string][] = [
    ["localhost", "tcp://localhost:5555", "tcp://localhost:5556"],
    ["10.0.0.1:6000", "tcp://10.0.0.1:6000", "tcp://10.0.0.1:6001"],
    ["master.lan:6000:7000", "tcp://master.lan:6000", "tcp://master.lan:7000"],
    ["::1", "tcp://[::1]:5555", "tcp://[::1]:5556"],
    ["fe80::1:2", "tcp://[fe80::1:2]:5555", "tcp://[fe80::1:2]:5556"],
    ["[::1]", "tcp://[::1]:5555", "tcp://[::1]:5556"],
    ["[2001:db8::5]:6000:6001", "tcp://[2001:db8::5]:6000", "tcp://[2001:db8::5]:6001"],
  ];
  for (const [master, slave, file] of cases) {
    const extras = slave.replace(/\d+$/, (port) => String(Number(port) + 4));
    assert.deepEqual(masterEndpoints(master), { slave, file, extras }, master);
  }
  for (const bad of ["host:0", "host:99999", "[::1", "[::1]x", "host:1:2:3"]) {
    assert.throws(() => masterEndpoints(bad), /master address|port/, bad);
  }
});

Deno.test("timings come from PIW_MASTER_TIMEOUT, PIW_REPLY_TIMEOUT and PIW_SLAVE_INTERVAL", () => {
  const env = (values: Record<string, string>) => ({ get: (k: string) => values[k] });
  const defaults = timingFromEnv(env({}) as unknown as Deno.Env);
  assert.equal(defaults.masterTimeoutMs, 300_000);
  assert.equal(defaults.replyTimeoutMs, 15_000);
  for (let i = 0; i < 20; i++) {
    const ms = defaults.intervalMs();
    assert.ok(ms >= 5000 && ms <= 10_000, `${ms}`);
    const sleep = defaults.sleepMs();
    assert.ok(sleep >= 1000 && sleep <= 3000, `${sleep}`);
  }
  const set = timingFromEnv(env({ PIW_MASTER_TIMEOUT: "2s", PIW_SLAVE_INTERVAL: "0.5s" }) as never);
  assert.equal(set.masterTimeoutMs, 2000);
  assert.equal(set.replyTimeoutMs, 2000, "never longer than the master timeout");
  const reply = timingFromEnv(env({ PIW_REPLY_TIMEOUT: "3s" }) as never);
  assert.equal(reply.replyTimeoutMs, 3000);
  assert.equal(set.intervalMs(), 500);
  assert.equal(set.sleepMs(), 500);
});

Deno.test("as root without PIW_ALLOW_ROOT the command fails with a one-line error", async () => {
  if (Deno.uid() !== 0) return; // only meaningful where the tests run as root (CI)
  const env = { ...Deno.env.toObject() };
  delete env.PIW_ALLOW_ROOT;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "slave", "--master", "127.0.0.1:1:2"],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(new TextDecoder().decode(out.stderr), /must not be run as root/);
});

/** A systemd notification socket: a python3 process printing each datagram as a JSON line. */
async function notifySocket(): Promise<
  { path: string; messages: string[]; close(): Promise<void> }
> {
  const path = `/tmp/piw-test-notify-${crypto.randomUUID().slice(0, 8)}`;
  const script = `import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script, path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const messages: string[] = [];
  let listening = false;
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (line === "listening") listening = true;
        else messages.push(JSON.parse(line));
      }
    }
  })();
  await waitFor(() => listening, 20_000, "the notification socket");
  return {
    path,
    messages,
    async close() {
      child.kill("SIGKILL");
      await child.status;
      await reading;
      await Deno.remove(path).catch(() => {});
    },
  };
}

Deno.test("tells systemd READY, STATUS, WATCHDOG, RELOADING and STOPPING as piwheels' slave does", async () => {
  const notify = await notifySocket();
  const sent = (pattern: RegExp) => notify.messages.filter((m) => pattern.test(m)).length;
  try {
    await withMaster(async (_ctx, master, dir) => {
      const slave = startSlave(master.port, master.port + 1, {
        dir,
        env: {
          NOTIFY_SOCKET: notify.path,
          WATCHDOG_USEC: "10000000",
          PIW_MASTER_TIMEOUT: "5m",
          PIW_REPLY_TIMEOUT: "3s",
        },
      });
      try {
        assert.equal((await master.next()).name, "HELLO");
        await waitFor(() => sent(/^STATUS=connecting to the master at tcp:/m), 20_000, "STATUS");
        assert.equal(sent(/^READY=1$/m), 0, "not ready before the master answers");
        assert.equal((await master.call({ name: "ACK", data: [7, "x"] })).name, "IDLE");
        await waitFor(() => sent(/^READY=1$/m) === 1, 20_000, "READY=1");
        assert.ok(sent(/^STATUS=connected to the master as slave 7$/m));
        // IDLE goes unanswered: the loop keeps pinging the watchdog, then starts over.
        await waitFor(() => sent(/^WATCHDOG=1$/m) >= 2, 20_000, "WATCHDOG=1 pings");
        assert.equal((await master.next(30_000)).name, "HELLO");
        await waitFor(() => sent(/^RELOADING=1$/m), 20_000, "RELOADING=1");
        assert.equal((await master.call({ name: "ACK", data: [8, "x"] })).name, "IDLE");
        await waitFor(() => sent(/^READY=1$/m) === 2, 20_000, "READY=1 again");
        assert.equal(sent(/^STOPPING=1$/m), 0);
        assert.equal((await master.call(DIE)).name, "BYE");
      } finally {
        const { code, stderr } = await slave.exit();
        assert.equal(code, 0, stderr);
      }
      await waitFor(() => sent(/^STOPPING=1$/m), 20_000, "STOPPING=1");
      assert.equal(sent(/^STOPPING=1$/m), 1, "STOPPING=1 once");
    });
  } finally {
    await notify.close();
  }
});

Deno.test("a slave with piwheels' defaults builds with a 1 GiB data limit and piwheels.org's index", async () => {
  // A backend that reports the limit it runs under and the pip command that started it.
  const report = `import os, resource
def get_requires_for_build_wheel(config_settings=None):
    print("RLIMIT_DATA=%d" % resource.getrlimit(resource.RLIMIT_DATA)[0])
    pip = open("/proc/%d/cmdline" % os.getppid()).read().split("\\0")
    print("PIP=" + " ".join(pip))
    raise SystemExit("reported")
build_wheel = build_sdist = get_requires_for_build_wheel
`;
  const index = await createFixtureIndex([
    {
      name: "piw-defaults",
      version: "1.0",
      kind: "fail-fast",
      files: { "fixture_backend.py": report },
    },
  ]);
  try {
    await withMaster(async (_ctx, master, dir) => {
      // No network here: pip finds piwheels.org unreachable at once, without retries.
      const slave = startSlave(master.port, master.port + 1, {
        dir,
        defaults: true,
        env: { PIP_RETRIES: "0" },
      });
      try {
        assert.equal((await master.next()).name, "HELLO");
        await master.call({ name: "ACK", data: [1, index.url] });
        let request = await master.call({ name: "BUILD", data: ["piw-defaults", "1.0"] });
        while (request.name === "BUSY") {
          request = await master.call({ name: "CONT", data: NO_DATA });
        }
        if (request.name !== "BUILT") throw new Error(`${request.name} instead of BUILT`);
        const [status, , output] = request.data;
        assert.equal(status, false);
        assert.match(output, /^\s*RLIMIT_DATA=1073741824$/m);
        const pip = /^\s*PIP=(.*)$/m.exec(output)?.[1] ?? "";
        assert.ok(pip.includes("--extra-index-url=https://www.piwheels.org/simple"), output);
        assert.ok(pip.includes(`--index-url=${index.url}`), pip);
        assert.equal((await master.call({ name: "DONE", data: NO_DATA })).name, "IDLE");
        assert.equal((await master.call(DIE)).name, "BYE");
      } finally {
        const { code, stderr } = await slave.exit();
        assert.equal(code, 0, stderr);
      }
    });
  } finally {
    await index.close();
  }
});
