/**
 * `piw master` as a real subprocess: refusals, start-up, a monitor's HELLO, pause/resume,
 * clean shut-down on SIGTERM and on QUIT (exit 0, ipc socket files removed), and on a task
 * failing while running (exit 1, the task named, pending rewrites saved).
 */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  masterControlProtocol,
  monitorStatsProtocol,
  mrChaseProtocol,
} from "../../src/protocols/mod.ts";
import { openClient } from "../../src/db/mod.ts";
import { FAULT_SIGNAL, FAULT_VARIABLE } from "../../src/master/fault_hook.ts";
import { PIW_VERSION } from "../../src/version.ts";
import { type TestDatabase, testDatabase } from "./helpers.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";

const control = masterControlProtocol.reversed();

/** A `piw master` subprocess with its own database, output path and queues. */
class MasterProcess extends PiwProcess {
  constructor(
    dsn: string,
    env: Record<string, string> = {},
    extra: string[] = [],
    readonly queues = masterQueues(`/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`),
    readonly outputPath = Deno.makeTempDirSync({ prefix: "piw-master-www-" }),
  ) {
    super("master", [...masterCommand(dsn, outputPath, queues), ...extra], env);
  }

  /** The exit code; a master may take a while to stop on a busy machine. */
  override exit(timeoutMs = 120_000): Promise<number> {
    return super.exit(timeoutMs);
  }

  /** The ipc socket files that still exist. */
  ipcFilesLeft(): string[] {
    const { status, control, import: imports, log } = this.queues;
    return [status, control, imports, log].map((queue) => queue.slice("ipc://".length))
      .filter((path) => {
        try {
          Deno.lstatSync(path);
          return true;
        } catch {
          return false;
        }
      });
  }

  cleanUp(): void {
    Deno.removeSync(this.outputPath, { recursive: true });
  }
}

/** A monitor: SUB to the status queue and PUSH to the control queue. */
function monitor(master: MasterProcess) {
  const context = new Context();
  const status = context.socket("SUB", { subscribe: "", linger: 0 });
  status.connect(master.queues.status);
  // Linger so a QUIT sent just before closing still goes out.
  const ctrl = context.socket("PUSH", { linger: 2000 });
  ctrl.connect(master.queues.control);
  return {
    status,
    send: (name: "HELLO" | "QUIT" | "SLEEP" | "WAKE", data?: number | null) =>
      name === "SLEEP" || name === "WAKE"
        ? ctrl.send([encodeMessage(control, name, data ?? null)])
        : ctrl.send([encodeMessage(control, name)]),
    async close() {
      status.close();
      ctrl.close();
      await context.close();
    },
  };
}

/** Messages from the status queue until `count` names were seen or `timeoutMs` passed. */
async function collect(status: Socket, names: string[], timeoutMs: number): Promise<string[]> {
  const seen: string[] = [];
  const deadline = performance.now() + timeoutMs;
  while (!names.every((n) => seen.includes(n)) && performance.now() < deadline) {
    const frames = await status.recv(Math.max(1, deadline - performance.now()));
    if (frames) seen.push(decodeMessage(monitorStatsProtocol, frames[0]).name);
  }
  return seen;
}

Deno.test({
  name: "piw master refuses root without PIW_ALLOW_ROOT",
  ignore: Deno.uid() !== 0,
  async fn() {
    const master = new MasterProcess("pglite:///nonexistent", { PIW_ALLOW_ROOT: "" });
    try {
      assert.equal(await master.exit(), 1);
      assert.match(master.lines.join("\n"), /must not run as root/);
    } finally {
      master.cleanUp();
    }
  },
});

Deno.test({
  name: "piw master refuses a database of another schema version, naming both",
  async fn() {
    const db = await testDatabase("pglite", async (admin) => {
      await admin.query("UPDATE configuration SET version = '0.0.1'");
    });
    const master = new MasterProcess(db.dsn);
    try {
      assert.equal(await master.exit(), 1);
      const text = master.lines.join("\n");
      assert.match(text, /0\.0\.1/);
      assert.ok(text.includes(PIW_VERSION), text);
      assert.match(text, /piw initdb/);
    } finally {
      master.cleanUp();
      await db.remove();
    }
  },
});

Deno.test({
  name: "piw master refuses a queue whose TCP port is taken, in one line naming it and its holder",
  async fn() {
    const db = await testDatabase("pglite");
    const context = new Context();
    const squatter = context.socket("ROUTER", { linger: 0 });
    squatter.bind("tcp://127.0.0.1:0");
    const taken = squatter.lastEndpoint;
    const master = new MasterProcess(db.dsn, undefined, ["--slave-queue", taken]);
    try {
      assert.equal(await master.exit(), 1);
      assert.deepEqual(master.lines.filter((line) => line.trim() !== ""), [
        `piw master: slave queue ${taken} is in use by process ${Deno.pid}`,
      ]);
      assert.deepEqual(master.ipcFilesLeft(), []);
    } finally {
      squatter.close();
      await context.close();
      master.cleanUp();
      await db.remove();
    }
  },
});

Deno.test({
  name: "piw master stops with an error naming a task that cannot start",
  async fn() {
    const db = await testDatabase("pglite");
    const nowhere = `ipc:///nonexistent-${crypto.randomUUID().slice(0, 8)}/file`;
    const master = new MasterProcess(db.dsn, undefined, ["--file-queue", nowhere]);
    try {
      assert.equal(await master.exit(), 1);
      const text = master.lines.join("\n");
      assert.match(text, /cannot start: file_juggler failed to start/);
      assert.deepEqual(master.ipcFilesLeft(), []);
    } finally {
      master.cleanUp();
      await db.remove();
    }
  },
});

async function withRunningMaster(
  fn: (master: MasterProcess, db: TestDatabase) => Promise<void>,
  env?: Record<string, string>,
) {
  const db = await testDatabase("pglite", async (admin) => {
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
    await admin.query("INSERT INTO packages (package) VALUES ('pending-pkg')");
  });
  // CloudGazer follows a local PyPI stand-in: this machine has no route to PyPI.
  const pypi = await startPyPIStandIn();
  const master = new MasterProcess(db.dsn, env, [
    ...pypi.masterArgs,
  ]);
  try {
    await master.waitForLine("master: ready", 120_000);
    await fn(master, db);
  } catch (error) {
    master.kill("SIGKILL");
    await master.exit().catch(() => {});
    throw new Error(`${(error as Error).message}\nmaster stderr:\n${master.lines.join("\n")}`, {
      cause: error,
    });
  } finally {
    master.kill("SIGKILL");
    await master.exit().catch(() => {});
    master.cleanUp();
    await db.remove();
    await pypi.close();
  }
}

Deno.test({
  name: "piw master answers a monitor, pauses and resumes, and stops on SIGTERM",
  async fn() {
    await withRunningMaster(async (master) => {
      // Each task's Worker thread carries the task's name (for `top -H`, and the benchmarks),
      // and the web side's threads yield the cores to the slaves' path (nice 10 more).
      const nice = new Map([...Deno.readDirSync(`/proc/${master.process.pid}/task`)].map((t) => {
        const at = `/proc/${master.process.pid}/task/${t.name}`;
        const stat = Deno.readTextFileSync(`${at}/stat`);
        const niceness = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
        return [Deno.readTextFileSync(`${at}/comm`).trim(), niceness];
      }));
      const threads = [...nice.keys()];
      for (const task of ["slave_driver", "the_scribe", "the_secretary", "the_oracle"]) {
        assert.ok(threads.includes(task), `no thread named ${task}: ${threads.join(", ")}`);
      }
      for (const task of ["the_scribe", "the_secretary", "big_brother"]) {
        assert.equal(nice.get(task), nice.get("slave_driver")! + 10, `nice of ${task}`);
      }
      assert.equal(nice.get("the_oracle"), nice.get("slave_driver"), "nice of the_oracle");
      const mon = monitor(master);
      try {
        // The SUB socket joins asynchronously: say HELLO until the master's HELLO arrives.
        let seen: string[] = [];
        for (let i = 0; i < 60 && !seen.includes("HELLO"); i++) {
          await mon.send("HELLO");
          seen = await collect(mon.status, ["HELLO"], 500);
        }
        assert.ok(seen.includes("HELLO"), `got ${seen}`);
        seen = await collect(mon.status, ["STATS"], 60_000);
        assert.ok(seen.includes("STATS"), `got ${seen}`);

        await mon.send("SLEEP", null);
        await master.waitForLine("master.the_architect: paused", 30_000);
        await master.waitForLine("master.big_brother: paused", 30_000);
        await mon.send("WAKE", null);
        await master.waitForLine("master.the_architect: resumed", 30_000);
      } finally {
        await mon.close();
      }
      master.kill("SIGTERM");
      assert.equal(await master.exit(), 0, master.lines.join("\n"));
      assert.ok(master.lines.some((l) => l.includes("received SIGTERM")));
      assert.deepEqual(master.ipcFilesLeft(), []);
      assert.ok(!master.lines.some((l) => / failed|Error/.test(l)), master.lines.join("\n"));
    });
  },
});

Deno.test({
  name: "piw master stops cleanly on QUIT from a monitor",
  async fn() {
    await withRunningMaster(async (master) => {
      const mon = monitor(master);
      try {
        await mon.send("QUIT");
      } finally {
        await mon.close();
      }
      assert.equal(await master.exit(), 0, master.lines.join("\n"));
      assert.ok(master.lines.some((l) => l.includes("QUIT from a monitor")));
      assert.ok(master.lines.some((l) => l.includes("master: stopped")));
      assert.deepEqual(master.ipcFilesLeft(), []);
    });
  },
});

/** Ask MrChase (the import queue) to rebuild `pkg`'s project page; resolves to its reply. */
async function requestRebuild(master: MasterProcess, pkg: string): Promise<string> {
  const context = new Context();
  const req = context.socket("REQ", { linger: 0 });
  try {
    req.connect(master.queues.import);
    const side = mrChaseProtocol.reversed();
    await req.send([encodeMessage(side, "REBUILD", ["PROJECT", pkg])]);
    const frames = await req.recv(30_000);
    assert.ok(frames, "no reply from the import queue");
    return decodeMessage(side, frames[0]).name;
  } finally {
    req.close();
    await context.close();
  }
}

for (const mode of ["throw", "reject"] as const) {
  Deno.test({
    name: `piw master stops cleanly when a running task fails (${mode}), keeping pending rewrites`,
    async fn() {
      const env = { PIW_ALLOW_ROOT: "1", [FAULT_VARIABLE]: `the_secretary:${mode}` };
      await withRunningMaster(async (master, db) => {
        await master.waitForLine(`${FAULT_VARIABLE} is set`);
        // A project rewrite TheSecretary holds back for a minute: pending when the fault hits.
        assert.equal(await requestRebuild(master, "pending-pkg"), "DONE");
        await master.waitForLine("queued 1 project rebuilds", 30_000);
        master.kill(FAULT_SIGNAL);
        assert.equal(await master.exit(60_000), 1, master.lines.join("\n"));
        const text = master.lines.join("\n");
        assert.match(text, /the_secretary failed \(uncaught\): .*fault injected/);
        assert.match(text, /master: task the_secretary failed: .*fault injected/);
        assert.match(text, /shutting down: task the_secretary failed/);
        assert.match(text, /saved 1 pending rewrites/);
        assert.match(text, /master: stopped/);
        assert.deepEqual(master.ipcFilesLeft(), []);
        const sql = await openClient(db.dsn);
        try {
          const rows = await sql.query("SELECT package, command FROM rewrites_pending");
          assert.deepEqual(rows, [{ package: "pending-pkg", command: "PROJECT" }]);
        } finally {
          await sql.close();
        }
      }, env);
    },
  });
}
