/** BigBrother publishes STATS, folds in what other tasks report, and replays its history. */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  bigBrotherControlProtocol,
  bigBrotherProtocol,
  decodeMessage,
  encodeMessage,
  type MasterStats,
  monitorStatsProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { controlAddress } from "../../src/master/task.ts";
import { BigBrother, HISTORY_SIZE } from "../../src/master/tasks/big_brother.ts";
import { startOracles, startTask, testConfig, testDatabase } from "./helpers.ts";

async function nextStats(status: Socket): Promise<MasterStats> {
  for (;;) {
    const frames = await status.recv(10_000);
    assert.ok(frames, "STATS within 10 s");
    const msg = decodeMessage(monitorStatsProtocol, frames[0]);
    if (msg.name === "STATS") return msg.data;
  }
}

Deno.test({
  name: "BigBrother publishes STATS with reported disk and queue sizes, and replays them",
  async fn() {
    const db = await testDatabase("pglite");
    const config = testConfig({ dsn: db.dsn, statsInterval: 100 });
    const context = new Context();
    const status = context.socket("PULL", { linger: 0 });
    status.bind(config.intStatusQueue);
    const oracles = await startOracles(context, config);
    const bigBrother = await startTask(new BigBrother(context, config));
    const stats = context.socket("PUSH", { linger: 0 });
    stats.connect(config.statsQueue);
    const ctrl = context.socket("PUSH", { linger: 0 });
    ctrl.connect(controlAddress("big_brother"));
    try {
      const first = await nextStats(status);
      assert.equal(first.length, 19);
      assert.ok(first[0] instanceof Date);
      assert.ok(first[3] instanceof TimeDelta);
      assert.ok(first[11] > 0 && first[12] > 0, "disk size and free of the output path");
      assert.ok(first[13] > 0, "memory size");

      const send = bigBrotherProtocol.reversed();
      await stats.send([encodeMessage(send, "STATFS", [1000, 250])]);
      await stats.send([encodeMessage(send, "STATBQ", { cp311: 7 })]);
      let latest = await nextStats(status);
      while (latest[12] !== 250 || latest[5].cp311 !== 7) latest = await nextStats(status);
      assert.equal(latest[11], 1000);

      // A malformed stats message is dropped; BigBrother carries on.
      await stats.send([new Uint8Array([0xff])]);
      await nextStats(status);

      // STATS on the control queue replays the history (at most HISTORY_SIZE).
      const count = bigBrother.history.length;
      assert.ok(count >= 3 && count <= HISTORY_SIZE);
      await ctrl.send([encodeMessage(bigBrotherControlProtocol.reversed(), "STATS")]);
      const replayed: MasterStats[] = [];
      while (replayed.length < count) replayed.push(await nextStats(status));
      assert.ok(replayed.some((s) => s[0].getTime() === first[0].getTime()), "first one replayed");
    } finally {
      stats.close();
      ctrl.close();
      status.close();
      await bigBrother.stop();
      await oracles.stop();
      await context.close();
      await db.remove();
    }
  },
});
