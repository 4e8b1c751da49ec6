/**
 * `piw monitor` in tmux against a real `piw master` with two real `piw slave`s: the rows and
 * their states, the hotkeys reaching the master (pause, resume, skip, kill, terminate), the
 * confirmation of the destructive ones, and quitting.
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { startFarm } from "./farm.ts";
import { HAVE_TMUX, TmuxSession } from "./tmux.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test({
  name: "piw monitor shows the farm and its hotkeys reach the master",
  ignore: !HAVE_TMUX,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const farm = await startFarm();
    const tmux = new TmuxSession(
      `env PIW_CONFIG_PATHS= PIW_MONITOR_SILENCE=3 ${Deno.execPath()} run -A ${MAIN} monitor ` +
        `--status-queue ${farm.statusQueue} --control-queue ${farm.controlQueue} ` +
        `2>/dev/null`,
    );
    try {
      // Both slaves, sorted by label, idle and waiting; the master row has its queue.
      let screen = await tmux.waitForScreen(/slave-a.*\n.*slave-b/);
      // Idle, or alert when this machine's load is above 4 (piwheels' rule).
      screen = await tmux.waitForScreen(
        /[·!] \d+ +(idle|alert) +slave-b +cp\d+ .*Waiting for jobs/,
      );
      assert.match(screen, /[·!] \d+ +(idle|alert) +slave-a +cp\d+ .*Waiting for jobs/);
      assert.match(screen, /. M +\w+ +\S+ .*Queue: /);
      assert.match(screen, /connected/);
      assert.match(screen, /\[Pause \(p\)\] \[Resume \(r\)\] \[Kill slave \(k\)\]/);
      await tmux.waitForScreen(/Disk \d+% free/, 30_000);

      // Pause: the master pauses and the slaves are told SLEEP true ("Paused").
      tmux.keys("p");
      await farm.master.waitForLine("pausing operations");
      await tmux.waitForScreen(/slave-a .*Paused/);
      tmux.keys("r");
      await farm.master.waitForLine("resuming operations");
      await tmux.waitForScreen(/slave-a .*Waiting for jobs/);

      // Select slave-b (master, slave-a, slave-b) and skip its build.
      tmux.keys("Down", "Down");
      tmux.keys("s");
      await farm.master.waitForLine("(slave-b): skip");

      // Kill asks first; "n" cancels, "y" kills, and the slave exits.
      tmux.keys("k");
      await tmux.waitForScreen(/Kill slave \d+ at its next IDLE\? \(y\/n\)/);
      tmux.keys("n");
      await tmux.waitForScreen(/cancelled/);
      assert.ok(!farm.master.lines.some((l) => l.includes("(slave-b): kill")));
      tmux.keys("k");
      await tmux.waitForScreen(/\(y\/n\)/);
      tmux.keys("y");
      await farm.master.waitForLine("(slave-b): kill");
      assert.equal(await farm.slaves[1].exit(30_000), 0);
      // Its row goes dead (✖), then disappears.
      await tmux.waitForScreen(/✖ \d+ +dead +slave-b|^(?![\s\S]*slave-b)/);

      // Tab to the controls, then terminate the master (confirmed).
      tmux.keys("Tab", "t");
      await tmux.waitForScreen(/Terminate the master\? \(y\/n\)/);
      tmux.keys("y");
      await farm.master.waitForLine("QUIT from a monitor");
      assert.equal(await farm.master.exit(60_000), 0);

      // The monitor notices the silence and keeps trying; q quits it.
      await tmux.waitForScreen(/master silent; reconnecting/, 20_000);
      tmux.keys("q");
      await waitFor(() => tmux.dead(), 20_000, "the monitor to exit");
      assert.equal(tmux.exitStatus(), 0);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${farm.tails()}`, { cause: error });
    } finally {
      tmux.kill();
      await farm.stop();
    }
  },
});
