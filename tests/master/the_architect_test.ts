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
import { controlAddress } from "../../src/master/task.ts";
import { DbClient } from "../../src/clients/db.ts";
import { REFRESH_GAP_MS, TheArchitect } from "../../src/master/tasks/the_architect.ts";
import { ENGINES, startOracles, startTask, testConfig, testDatabase } from "./helpers.ts";

async function nextQueue(builds: Socket) {
  const frames = await builds.recv(10_000);
  assert.ok(frames, "a QUEUE within 10 s");
  const msg = decodeMessage(theArchitectProtocol, frames[0]);
  assert.equal(msg.name, "QUEUE");
  return msg.data;
}

/** What a TheArchitect test works with. */
interface ArchitectEnv {
  /** SlaveDriver's side of the builds queue. */
  builds: Socket;
  /** The oracle, through which the test adds packages and versions. */
  client: DbClient;
  /** Connected to TheArchitect's control queue (once it is started). */
  control: Socket;
  /** Start TheArchitect (stopped after the test). */
  start(): Promise<void>;
}

/**
 * Run `body` with the oracle on a fresh `kind` database holding build ABIs `abis`, and
 * TheArchitect refreshing every `intervalMs` once started.
 */
async function withArchitect(
  kind: "postgres" | "pglite",
  abis: string[],
  intervalMs: number,
  body: (env: ArchitectEnv) => Promise<void>,
  refreshGapMs = REFRESH_GAP_MS,
) {
  const db = await testDatabase(kind, async (admin) => {
    for (const abi of abis) {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ($1)", [abi]);
    }
  });
  const config = testConfig({ dsn: db.dsn, architectInterval: intervalMs });
  const context = new Context();
  const builds = context.socket("PULL", { linger: 0 });
  builds.bind(config.buildsQueue);
  const oracles = await startOracles(context, config);
  const client = new DbClient(context, config);
  const control = context.socket("PUSH", { linger: 0 });
  const running: { stop(): Promise<void> }[] = [];
  try {
    await body({
      builds,
      client,
      control,
      async start() {
        running.push(await startTask(new TheArchitect(context, config, { refreshGapMs })));
        control.connect(controlAddress("the_architect"));
      },
    });
  } finally {
    for (const task of running) await task.stop();
    control.close();
    client.close();
    builds.close();
    await oracles.stop();
    await context.close();
    await db.remove();
  }
}

for (const kind of ENGINES) {
  Deno.test({
    name: `TheArchitect pushes the build queue at start and after RESUME (${kind})`,
    // A long interval: every QUEUE after the first comes from RESUME.
    fn: () =>
      withArchitect(
        kind,
        ["cp311", "cp313"],
        60_000,
        async ({ builds, client, control, start }) => {
          await client.call("NEWPKG", ["foo", "", ""]);
          await client.call("NEWVER", ["foo", "1.0", new Date(Date.UTC(2024, 0, 1)), ""]);
          await client.call("NEWVER", ["foo", "2.0", new Date(Date.UTC(2024, 6, 1)), ""]);
          await start();
          assert.deepEqual(await nextQueue(builds), {
            cp311: [["foo", "1.0"], ["foo", "2.0"]],
            cp313: [],
          });
          await client.call("NEWVER", ["foo", "0.9", new Date(Date.UTC(2023, 0, 1)), ""]);
          const side = taskControlProtocol.reversed();
          await control.send([encodeMessage(side, "PAUSE")]);
          await control.send([encodeMessage(side, "RESUME")]);
          assert.deepEqual((await nextQueue(builds)).cp311, [
            ["foo", "0.9"],
            ["foo", "1.0"],
            ["foo", "2.0"],
          ]);
        },
      ),
  });
}

/** A shorter gap than the master's, so the test waits 1 s instead of 5. */
const GAP_MS = 1000;

Deno.test({
  name: "TheArchitect refreshes on REFRESH, at most once per gap, however many arrive",
  // A long interval: every QUEUE after the first comes from REFRESH.
  fn: () =>
    withArchitect("pglite", ["cp311"], 600_000, async ({ builds, client, control, start }) => {
      await client.call("NEWPKG", ["foo", "", ""]);
      await start();
      const started = performance.now();
      assert.deepEqual(await nextQueue(builds), { cp311: [] });
      await client.call("NEWVER", ["foo", "1.0", new Date(Date.UTC(2024, 0, 1)), ""]);
      const refresh = encodeMessage(theArchitectControlProtocol.reversed(), "REFRESH");
      for (let i = 0; i < 5; i++) await control.send([refresh]);
      assert.deepEqual(await nextQueue(builds), { cp311: [["foo", "1.0"]] });
      const waited = performance.now() - started;
      assert.ok(waited >= GAP_MS - 50, `the refresh came after ${waited} ms`);
      // The five REFRESHes made one refresh, not five.
      assert.equal(await builds.recv(GAP_MS + 1000), null, "no further QUEUE");
    }, GAP_MS),
});
