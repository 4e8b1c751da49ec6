/** TheArchitect pushes the build queue to SlaveDriver's builds queue. */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  taskControlProtocol,
  theArchitectControlProtocol,
  theArchitectProtocol,
} from "../../src/protocols/mod.ts";
import { controlAddress, DbClient } from "../../src/master/task.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import { REFRESH_GAP_MS, TheArchitect } from "../../src/master/tasks/the_architect.ts";
import { ENGINES, startTask, testConfig, testDatabase } from "./helpers.ts";

async function nextQueue(builds: Socket) {
  const frames = await builds.recv(10_000);
  assert.ok(frames, "a QUEUE within 10 s");
  const msg = decodeMessage(theArchitectProtocol, frames[0]);
  assert.equal(msg.name, "QUEUE");
  return msg.data;
}

for (const kind of ENGINES) {
  Deno.test({
    name: `TheArchitect pushes the build queue at start and after RESUME (${kind})`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const db = await testDatabase(kind, async (admin) => {
        await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311'), ('cp313')");
      });
      // A long interval: every QUEUE after the first comes from RESUME.
      const config = testConfig({ dsn: db.dsn, architectInterval: 60_000 });
      const context = new Context();
      const builds = context.socket("PULL", { linger: 0 });
      builds.bind(config.buildsQueue);
      const seraph = await startTask(new Seraph(context, config));
      const oracle = await startTask(new TheOracle(context, config));
      const client = new DbClient(context, config);
      const ctrl = context.socket("PUSH", { linger: 0 });
      try {
        await client.call("NEWPKG", ["foo", "", ""]);
        await client.call("NEWVER", ["foo", "1.0", new Date(Date.UTC(2024, 0, 1)), ""]);
        await client.call("NEWVER", ["foo", "2.0", new Date(Date.UTC(2024, 6, 1)), ""]);
        const architect = await startTask(new TheArchitect(context, config));
        try {
          assert.deepEqual(await nextQueue(builds), {
            cp311: [["foo", "1.0"], ["foo", "2.0"]],
            cp313: [],
          });
          await client.call("NEWVER", ["foo", "0.9", new Date(Date.UTC(2023, 0, 1)), ""]);
          ctrl.connect(controlAddress("the_architect"));
          const control = taskControlProtocol.reversed();
          await ctrl.send([encodeMessage(control, "PAUSE")]);
          await ctrl.send([encodeMessage(control, "RESUME")]);
          assert.deepEqual((await nextQueue(builds)).cp311, [
            ["foo", "0.9"],
            ["foo", "1.0"],
            ["foo", "2.0"],
          ]);
        } finally {
          await architect.stop();
        }
      } finally {
        ctrl.close();
        client.close();
        builds.close();
        await oracle.stop();
        await seraph.stop();
        await context.close();
        await db.remove();
      }
    },
  });
}

Deno.test({
  name: "TheArchitect refreshes on REFRESH, at most once per gap, however many arrive",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const db = await testDatabase("pglite", async (admin) => {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
    });
    // A long interval: every QUEUE after the first comes from REFRESH.
    const config = testConfig({ dsn: db.dsn, architectInterval: 600_000 });
    const context = new Context();
    const builds = context.socket("PULL", { linger: 0 });
    builds.bind(config.buildsQueue);
    const seraph = await startTask(new Seraph(context, config));
    const oracle = await startTask(new TheOracle(context, config));
    const client = new DbClient(context, config);
    const ctrl = context.socket("PUSH", { linger: 0 });
    const refresh = () =>
      ctrl.send([encodeMessage(theArchitectControlProtocol.reversed(), "REFRESH")]);
    try {
      await client.call("NEWPKG", ["foo", "", ""]);
      const architect = await startTask(new TheArchitect(context, config));
      try {
        const started = performance.now();
        assert.deepEqual(await nextQueue(builds), { cp311: [] });
        await client.call("NEWVER", ["foo", "1.0", new Date(Date.UTC(2024, 0, 1)), ""]);
        ctrl.connect(controlAddress("the_architect"));
        for (let i = 0; i < 5; i++) await refresh();
        assert.deepEqual(await nextQueue(builds), { cp311: [["foo", "1.0"]] });
        const waited = performance.now() - started;
        assert.ok(waited >= REFRESH_GAP_MS - 50, `the refresh came after ${waited} ms`);
        // The five REFRESHes made one refresh, not five.
        assert.equal(await builds.recv(REFRESH_GAP_MS + 1000), null, "no further QUEUE");
      } finally {
        await architect.stop();
      }
    } finally {
      ctrl.close();
      client.close();
      builds.close();
      await oracle.stop();
      await seraph.stop();
      await context.close();
      await db.remove();
    }
  },
});
