/** The Master class run in the test process (its tasks in Workers): low disk space pauses. */
import assert from "node:assert/strict";
import { Master } from "../../src/master/master.ts";
import { captureLogs, testConfig, testDatabase, waitFor } from "./helpers.ts";

Deno.test({
  name: "the master pauses every task once when the output path runs low on space",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const db = await testDatabase("pglite");
    // Any real disk is "low" against this threshold.
    const config = testConfig({ dsn: db.dsn, minFreeSpace: Number.MAX_SAFE_INTEGER });
    const logs = captureLogs("info");
    const master = new Master(config);
    const running = master.run();
    try {
      await waitFor(() => logs.lines.some((l) => l.includes("MiB free on /tmp")), 60_000, "low");
      assert.ok(logs.lines.includes("master: pausing operations"), logs.lines.join("\n"));
      // Once per shortage, not on every check.
      await new Promise((resolve) => setTimeout(resolve, 5500));
      assert.equal(logs.lines.filter((l) => l.includes("pausing operations")).length, 1);
    } finally {
      master.quit("test over");
      assert.equal(await running, 0, logs.lines.join("\n"));
      logs.stop();
      await db.remove();
    }
  },
});
