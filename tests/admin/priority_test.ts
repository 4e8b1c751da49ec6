/**
 * `piw add --priority` against a running `piw master` (PGlite): the package moves to the front of
 * its ABI's queue, the tool says where it stands, and the next idle slave is handed it.
 */
import assert from "node:assert/strict";
import { helloData, statsData } from "../master/slave_harness.ts";
import { adminWheel, withMaster } from "./harness.ts";
import { waitFor } from "../master/helpers.ts";

/** How many build queues SlaveDriver has taken, by its log. */
function slaveDriverQueues(lines: string[]): number {
  return lines.filter((line) => line.includes("build queue: {")).length;
}

Deno.test({
  name: "piw add --priority moves a package to the front of the queue a slave is served from",
  async fn() {
    await withMaster(async (master, _db, slave) => {
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
      const queuesBefore = slaveDriverQueues(master.lines);
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

      // The next idle slave gets late-pkg once TheArchitect has sent a queue computed after the
      // change: the first QUEUE SlaveDriver takes after it may have been computed before it, but
      // the second started at least REFRESH_GAP_MS after the first (so after the change).
      await waitFor(
        () => slaveDriverQueues(master.lines) >= queuesBefore + 2 || null,
        60_000,
        "two build queues after the priority change",
      );
      assert.equal((await slave.call({ name: "HELLO", data: helloData() })).name, "ACK");
      const build = await slave.nextBuild();
      assert.deepEqual(build, ["late-pkg", "1.0"]);
    });
  },
});

Deno.test({
  name: "a version just imported is not handed to a slave from a build queue computed before",
  async fn() {
    const wheel = await adminWheel();
    await withMaster(async (master, _db, slave) => {
      const tool = async (args: string[]) => {
        const r = await master.tool(args);
        assert.equal(r.code, 0, `piw ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
      };
      await tool(["add", "-y", "piw-admin-pkg", "-d", "a package"]);
      await tool(["add", "-y", "piw-admin-pkg", "1.0"]);
      await master.waitForLine(`build queue: {"cp311":1}`);
      // Imported: TheArchitect's next queue leaves it out, but SlaveDriver's still lists it.
      await tool(["import", "-y", "--abi", "cp311", wheel.path]);
      assert.equal((await slave.call({ name: "HELLO", data: helloData() })).name, "ACK");
      const reply = await slave.call({ name: "IDLE", data: statsData() }, 20_000);
      assert.deepEqual(reply, { name: "SLEEP", data: false });
    });
  },
});
