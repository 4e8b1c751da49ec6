/** The Master class run in the test process (its tasks in Workers): low disk space pauses. */
import assert from "node:assert/strict";
import { Master } from "../../src/master/master.ts";
import { Context } from "../../src/transport/mod.ts";
import { encodeMessage, masterControlProtocol } from "../../src/protocols/mod.ts";
import { CAN_MOUNT, mountSmallDisk } from "../fixtures/tmpfs.ts";
import { captureLogs, testConfig, testDatabase, waitFor } from "./helpers.ts";

Deno.test({
  name: "the master pauses every task once when the output path runs low on space",
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

Deno.test({
  name: "a low-disk pause ends by itself when space is back, but not a monitor's pause",
  ignore: !CAN_MOUNT,
  async fn() {
    const disk = await mountSmallDisk(64);
    const db = await testDatabase("pglite");
    const config = testConfig({ dsn: db.dsn, outputPath: disk.path, minFreeSpace: 32 * 2 ** 20 });
    const logs = captureLogs("info");
    const count = (text: string) => logs.lines.filter((l) => l.includes(text)).length;
    const context = new Context();
    const control = context.socket("PUSH", { linger: 0 });
    const master = new Master(config);
    const running = master.run();
    try {
      await waitFor(() => count("master: ready"), 60_000, "the master to start");
      disk.fill(48 * 2 ** 20);
      await waitFor(() => count("master: pausing operations") === 1, 30_000, "a pause");
      disk.empty();
      await waitFor(() => count("master: resuming operations") === 1, 30_000, "a resume");
      assert.ok(count(`MiB free on ${disk.path} again`), logs.lines.join("\n"));

      // Short again, then a monitor pauses too: space coming back leaves the monitor's pause.
      disk.fill(48 * 2 ** 20);
      await waitFor(() => count("master: pausing operations") === 2, 30_000, "a second pause");
      control.connect(config.controlQueue);
      await control.send([encodeMessage(masterControlProtocol.reversed(), "SLEEP", null)]);
      await waitFor(() => count("master: pausing operations") === 3, 30_000, "the monitor's");
      disk.empty();
      await waitFor(() => count("staying paused by a monitor"), 30_000, "space back");
      assert.equal(count("master: resuming operations"), 1, logs.lines.join("\n"));
    } finally {
      master.quit("test over");
      assert.equal(await running, 0, logs.lines.join("\n"));
      control.close(0);
      await context.close(0);
      logs.stop();
      await db.remove();
      await disk.unmount();
    }
  },
});
