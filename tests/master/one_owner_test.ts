/**
 * One owner per database and queue: while a real `piw master` runs, a second master on its PGlite
 * directory, its queues or its output path, and `piw initdb` on its directory, are refused at
 * once with one line naming the master's pid, and the running master is unharmed (its ipc files
 * are still there, a monitor and `piw logger` still reach it, its data is intact).
 */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  masterControlProtocol,
  monitorStatsProtocol,
} from "../../src/protocols/mod.ts";
import { openClient } from "../../src/db/mod.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import {
  masterCommand,
  type MasterQueues,
  masterQueues,
  PiwProcess,
} from "../fixtures/piw_process.ts";
import { CORPUS } from "../logger/corpus.ts";
import { testDatabase } from "./helpers.ts";

/** A fresh set of queues for one master. */
const newQueues = () => masterQueues(`/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`);
const newOutput = () => Deno.makeTempDirSync({ prefix: "piw-owner-www-" });

/** The paths of the ipc socket files of `queues` that exist. */
function ipcFiles(queues: MasterQueues): string[] {
  return [queues.status, queues.control, queues.import, queues.log]
    .map((queue) => queue.slice("ipc://".length))
    .filter((path) => {
      try {
        return Deno.lstatSync(path).isSocket;
      } catch {
        return false;
      }
    });
}

/** Run a command that must be refused: its exit code and its non-empty stderr lines. */
async function refused(name: string, args: string[]): Promise<{ code: number; lines: string[] }> {
  const child = new PiwProcess(name, args);
  // Generous: a second master that is not refused would run until killed.
  const code = await child.exit(60_000);
  return { code, lines: child.lines.filter((line) => line.trim() !== "") };
}

/** Whether the master on `queues` answers a monitor's HELLO with its own. */
async function answersHello(queues: MasterQueues): Promise<boolean> {
  const context = new Context();
  const status = context.socket("SUB", { subscribe: "", linger: 0 });
  const control = context.socket("PUSH", { linger: 0 });
  try {
    status.connect(queues.status);
    control.connect(queues.control);
    const hello = encodeMessage(masterControlProtocol.reversed(), "HELLO");
    for (let i = 0; i < 60; i++) {
      await control.send([hello], { timeoutMs: 1000 });
      const deadline = performance.now() + 500;
      while (performance.now() < deadline) {
        const frames = await status.recv(Math.max(1, deadline - performance.now()));
        if (frames && decodeMessage(monitorStatsProtocol, frames[0]).name === "HELLO") return true;
      }
    }
    return false;
  } finally {
    status.close();
    control.close();
    await context.close();
  }
}

Deno.test({
  name: "a running piw master owns its PGlite directory, queues and output path",
  async fn(t) {
    const db = await testDatabase("pglite", async (admin) => {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
      await admin.query("INSERT INTO packages (package) VALUES ('numpy'), ('six')");
    });
    const dir = db.dsn.slice("pglite://".length);
    const other = await testDatabase("pglite");
    const pypi = await startPyPIStandIn();
    const pypiArgs = pypi.masterArgs;
    const queues = newQueues();
    const outputs = [newOutput(), newOutput(), newOutput()];
    const master = new PiwProcess("master", [
      ...masterCommand(db.dsn, outputs[0], queues),
      ...pypiArgs,
    ]);
    try {
      await master.waitForLine("master: ready", 120_000);
      const pid = master.process.pid;

      await t.step("a second master on the same PGlite directory is refused", async () => {
        const second = await refused("second master", [
          ...masterCommand(db.dsn, outputs[1], newQueues()),
          ...pypiArgs,
        ]);
        assert.equal(second.code, 1, second.lines.join("\n"));
        assert.deepEqual(second.lines, [
          `piw master: the database ${dir} is in use by process ${pid} (piw master)`,
        ]);
      });

      await t.step("piw initdb on that directory is refused", async () => {
        const initdb = await refused("initdb", ["initdb", "-y", "--dsn", db.dsn]);
        assert.equal(initdb.code, 1, initdb.lines.join("\n"));
        assert.deepEqual(initdb.lines, [
          `piw initdb: the database ${dir} is in use by process ${pid} (piw master)`,
        ]);
      });

      await t.step("a second master on the same queues is refused", async () => {
        const second = await refused("second master", [
          ...masterCommand(other.dsn, outputs[2], queues),
          ...pypiArgs,
        ]);
        assert.equal(second.code, 1, second.lines.join("\n"));
        assert.deepEqual(second.lines, [
          `piw master: status queue ${queues.status} is in use by process ${pid} (piw master)`,
        ]);
      });

      await t.step("a second master on the same output path is refused", async () => {
        const second = await refused("second master", [
          ...masterCommand(other.dsn, outputs[0], newQueues()),
          ...pypiArgs,
        ]);
        assert.equal(second.code, 1, second.lines.join("\n"));
        assert.deepEqual(second.lines, [
          `piw master: output path ${outputs[0]} is in use by process ${pid} (piw master)`,
        ]);
      });

      await t.step("the first master still serves a monitor and piw logger", async () => {
        assert.equal(ipcFiles(queues).length, 4, `ipc files left: ${ipcFiles(queues)}`);
        assert.ok(await answersHello(queues), "no HELLO from the running master");
        const log = `${outputs[1]}/access.log`;
        Deno.writeTextFileSync(log, `${CORPUS[0][0]}\n`);
        const logger = new PiwProcess("logger", ["logger", "--log-queue", queues.log, log]);
        assert.equal(await logger.exit(), 0, logger.tail());
      });

      await t.step("the first master stops cleanly with its data intact", async () => {
        assert.equal(await master.stop(), 0, master.tail());
        assert.ok(!master.lines.some((line) => / failed|Error/.test(line)), master.tail());
        const sql = await openClient(db.dsn);
        try {
          const [row] = await sql.query<{ packages: number; abis: number; downloads: number }>(
            `SELECT (SELECT count(*) FROM packages) AS packages,
                    (SELECT count(*) FROM build_abis) AS abis,
                    (SELECT count(*) FROM downloads) AS downloads`,
          );
          assert.deepEqual(row, { packages: 2, abis: 1, downloads: 1 });
        } finally {
          await sql.close();
        }
      });
    } finally {
      master.kill("SIGKILL");
      await master.exit().catch(() => {});
      for (const output of outputs) Deno.removeSync(output, { recursive: true });
      await db.remove();
      await other.remove();
      await pypi.close();
    }
  },
});
