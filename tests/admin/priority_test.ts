/**
 * `piw add --priority` against a running `piw master` (PGlite): the package moves to the front of
 * its ABI's queue, the tool says where it stands, and the next idle slave is handed it.
 */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import { delay, testDatabase, waitFor } from "../master/helpers.ts";
import { freePort, masterQueues } from "../fixtures/piw_process.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { helloData, ScriptedSlave, statsData } from "../master/slave_harness.ts";
import { MasterProcess } from "./harness.ts";

Deno.test({
  name: "piw add --priority moves a package to the front of the queue a slave is served from",
  async fn() {
    const db = await testDatabase("pglite", async (admin) => {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
    });
    const pypi = await startPyPIStandIn();
    const slavePort = freePort();
    const queues = masterQueues(
      `/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`,
      slavePort,
      freePort(),
    );
    const master = new MasterProcess(db.dsn, pypi, queues);
    const context = new Context();
    const slave = new ScriptedSlave(context, `tcp://127.0.0.1:${slavePort}`);
    try {
      await master.waitForLine("master: ready", 120_000);
      const tool = async (args: string[], code = 0) => {
        const r = await master.tool(args);
        assert.equal(r.code, code, `piw ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
        return r;
      };
      // The backlog: old-pkg 1.0 (2020) comes before late-pkg 1.0 (2021).
      for (const [pkg, released] of [["old-pkg", "2020-01-01"], ["late-pkg", "2021-01-01"]]) {
        await tool(["add", "-y", pkg, "-d", "a package"]);
        await tool(["add", "-y", pkg, "1.0", "-r", `${released} 00:00:00`]);
      }
      const before = await tool(["add", "-y", "late-pkg", "--priority", "0"]);
      assert.match(
        before.stdout,
        /late-pkg: priority 0; cp311: 1 version queued, the first at position 2/,
      );
      const raised = await tool(["add", "-y", "late-pkg", "--priority", "10"]);
      assert.match(
        raised.stdout,
        /late-pkg: priority 10; cp311: 1 version queued, the first at position 1/,
      );
      // Bad input: one line, no stack trace.
      const tooHigh = await tool(["add", "-y", "late-pkg", "--priority", "5000"], 2);
      assert.match(tooHigh.stderr, /invalid priority 5000: from -1000 to 1000/);
      assert.doesNotMatch(tooHigh.stderr, /\n\s+at /);
      const unknown = await tool(["add", "-y", "no-such-pkg", "--priority", "1"], 1);
      assert.match(unknown.stderr, /cannot set the priority of no-such-pkg: unknown package/);

      // The next idle slave gets late-pkg (once TheArchitect has sent the new queue).
      assert.equal((await slave.call({ name: "HELLO", data: helloData() })).name, "ACK");
      const build = await waitFor(
        async () => {
          const reply = await slave.call({ name: "IDLE", data: statsData() }, 20_000);
          if (reply.name === "BUILD") return reply.data;
          await delay(500);
          return null;
        },
        60_000,
        "a BUILD",
      );
      assert.deepEqual(build, ["late-pkg", "1.0"]);
      assert.equal(await master.stop(60_000), 0, "the master stops cleanly");
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${master.tail(60)}`, { cause: error });
    } finally {
      slave.close();
      await context.close();
      await master.stop();
      master.cleanUp();
      await db.remove();
      await pypi.close();
    }
  },
});
