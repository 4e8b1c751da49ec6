/**
 * A real `piw master` killed with SIGKILL and started again on the same queues and database: a
 * real `piw slave` connected to the first finds the second within seconds (its reply timeout),
 * not after its five-minute master timeout.
 */
import { type PiwProcess, testFarm } from "../fixtures/piw_process.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { SKIP_PG } from "../db/harness.ts";
import { testDatabase, waitFor } from "./helpers.ts";

Deno.test({
  name: "after kill -9 and a restart of the master, its slave is back within seconds",
  ignore: SKIP_PG,
  async fn() {
    const db = await testDatabase("postgres");
    const pypi = await startPyPIStandIn();
    const www = await Deno.makeTempDir({ prefix: "piw-restart-www-" });
    const ipc = await Deno.makeTempDir({ prefix: "piw-restart-ipc-" });
    const dir = await Deno.makeTempDir({ prefix: "piw-restart-slave-" });
    const farm = testFarm(www, `${ipc}/`);
    const children: PiwProcess[] = [];
    const explain = () => children.map((c) => c.tail()).join("\n");
    try {
      const first = farm.master(db.dsn, pypi.masterArgs);
      children.push(first);
      await first.waitForLine("master: ready", 120_000);
      // The default master timeout (5 min) and reply timeout (15 s).
      const slave = farm.slave("restart-test", dir);
      children.push(slave);
      await slave.waitForLine("sleeping: no available jobs", 60_000);

      first.kill("SIGKILL");
      await first.exit();
      const asleep = slave.lines.length;
      const second = farm.master(db.dsn, pypi.masterArgs, {}, "master (restarted)");
      children.push(second);
      await second.waitForLine("master: ready", 120_000);
      // Well below the 5 minutes a slave waited before.
      await waitFor(
        () => second.lines.some((l) => l.includes("(restart-test): hello")),
        90_000,
        `the slave's HELLO to the restarted master\n${explain()}`,
      );
      await waitFor(
        () => slave.lines.slice(asleep).some((l) => l.includes("sleeping: no available jobs")),
        60_000,
        `the slave working with the restarted master\n${explain()}`,
      );
      slave.kill("SIGTERM");
      if (await slave.exit() !== 0) throw new Error(`the slave failed\n${explain()}`);
    } finally {
      for (const child of children) {
        child.kill("SIGKILL");
        await child.exit().catch(() => {});
      }
      await db.remove();
      await pypi.close();
      for (const path of [www, ipc, dir]) await Deno.remove(path, { recursive: true });
    }
  },
});
