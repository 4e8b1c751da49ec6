/**
 * `piw monitor` at 80×24 in tmux against a real farm, as an operator first sees it (issue 16):
 * every button on the row, why the master is "alert", "n/a" for a missing temperature sensor and
 * a slave's Python as "3.11".
 */
import assert from "node:assert/strict";
import { startFarm } from "./farm.ts";
import { HAVE_TMUX, TmuxSession } from "./tmux.ts";
import { interpreterFacts } from "../../src/system/facts.ts";

/** Whether this machine has the thermal zone piw reads the CPU temperature from. */
function haveSensor(): boolean {
  try {
    Deno.statSync("/sys/class/thermal/thermal_zone0/temp");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "piw monitor at 80 columns shows every button, alert reasons, n/a and Python 3.11",
  ignore: !HAVE_TMUX,
  async fn() {
    const farm = await startFarm();
    const tmux = TmuxSession.piw(["monitor"], 80, 24, { master: farm });
    try {
      // A fresh master has built and served nothing in the last hour: alert, and why.
      let screen = await tmux.waitForScreen(/Disk \d+% free/, 60_000);
      screen = await tmux.waitForScreen(/^! M +alert /m, 30_000);
      assert.match(screen, /^Alert: no builds and no downloads in the last hour$/m);
      assert.match(screen, haveSensor() ? /Temp \d+\.\d°C/ : /Temp n\/a/);
      // The whole button row, from the first button to the last, on one 80-column line.
      const row = screen.split("\n").find((line) => line.includes("Pause"));
      assert.ok(row, screen);
      assert.match(row, /^\[[^\]]*Pause[^\]]*\].*\[[^\]]*Quit[^\]]*\] *$/, screen);

      const { pyVersion } = await interpreterFacts("python3");
      const dotted = `${pyVersion[0]}.${pyVersion.slice(1)}`;
      tmux.keys("Down");
      screen = await tmux.waitForScreen(/^Slave \d+ slave-a /m);
      assert.match(screen, new RegExp(`Python ${dotted.replace(".", "\\.")} \\(cp${pyVersion}`));
      assert.match(screen, haveSensor() ? /Temp \d+\.\d°C/ : /Temp n\/a/);
      assert.match(screen, /clock delta/);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nscreen:\n${tmux.capture()}`, { cause: error });
    } finally {
      tmux.kill();
      await farm.stop();
    }
  },
});
