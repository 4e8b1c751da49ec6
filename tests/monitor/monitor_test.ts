/**
 * `piw monitor` in tmux against a real `piw master` with two real `piw slave`s, one of them
 * building a package that never finishes: the master row and panel, the slave rows and their
 * states, Tab and the buttons, the hotkeys and a mouse click, the confirmation of the
 * destructive actions, and what the master and the slaves do about each (pause and resume,
 * a killed slave exits, a skipped build's processes are gone, the master terminates), then the
 * monitor noticing the master's silence and reloading a restarted master, whose hotkeys work.
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { type Farm, HANG_PACKAGE, startFarm } from "./farm.ts";
import { HAVE_TMUX, TmuxSession } from "./tmux.ts";
import { processAlive } from "../fixtures/piw_process.ts";

/** The 1-based line of the screen holding `text`. */
function lineOf(screen: string, text: string): number {
  const index = screen.split("\n").findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${text} not on screen:\n${screen}`);
  return index + 1;
}

/** A slave row: glyph, id, state, label, ABI, up time, task time, task (all but the ABI and
 * the times captured). */
function slaveRow(label: string, task = ".*"): RegExp {
  const duration = String.raw`(?:\d+[dhm] )?\d+[dhms]`;
  return new RegExp(
    String.raw`([·▶⇅~!✖]) (\d+) +(\w+) +(${label}) +cp\d+ +${duration} +${duration} +(${task})`,
  );
}

Deno.test({
  name: "piw monitor shows the farm, and its keys and mouse steer the master and the slaves",
  ignore: !HAVE_TMUX,
  async fn() {
    const farm: Farm = await startFarm({ hang: true, masterTimeout: "15s" });
    const tmux = TmuxSession.piw(["monitor"], 120, 40, {
      master: farm,
      env: { PIW_MONITOR_SILENCE: "3" },
    });
    // The screen with its escapes, ESC spelt out.
    const styled = () => tmux.captureEscapes().replaceAll("\x1b", "ESC");
    const click = (x: number, y: number) => {
      tmux.keys("-l", `\x1b[<0;${x};${y}M`);
      tmux.keys("-l", `\x1b[<0;${x};${y}m`);
    };
    try {
      // Both slaves, sorted by label, each with id, state, label, ABI, up and task time, task.
      let screen = await tmux.waitForScreen(/slave-a.*\n.*slave-b/);
      await tmux.waitForScreen(slaveRow("slave-a", "\\w.*"));
      await tmux.waitForScreen(slaveRow("slave-b", "\\w.*"));
      // The master row: its state, host and up time, its queues; and its panel below.
      await tmux.waitForScreen(/^. M +(idle|alert) +\S+ +(\d+[dhm] )?\d+[dhms] +Queue: /m);
      screen = await tmux.waitForScreen(/Disk \d+% free/, 30_000);
      assert.match(screen, /^Queue (empty|\S+: \d+)/m);
      assert.match(screen, /Builds last hour \d+ .* downloads last hour \d+/);
      assert.match(screen, /Mem \d+% free of .* Load \d+\.\d\d {2}Temp (\d+\.\d°C|n\/a)/);
      assert.match(screen, /^builds\/h +[▁-█]+$/m);
      assert.match(screen, /^temp °C +[▁-█]+$/m);
      assert.match(screen, /connected/);

      // Tab to the buttons; Enter presses the first (Pause), which the master obeys and the
      // slaves hear as "SLEEP true" (Paused).
      tmux.keys("Tab");
      await waitFor(
        () => /ESC\[(\d+;)*7m\[p Pause\]/.test(styled()),
        10_000,
        "the Pause button highlighted",
      );
      tmux.keys("Enter");
      await farm.master.waitForLine("pausing operations");
      await tmux.waitForScreen(slaveRow("slave-[ab]", "Paused"));
      // Right to Resume and press it; back to the list with Tab.
      tmux.keys("Right", "Enter");
      await farm.master.waitForLine("resuming operations");
      tmux.keys("Tab");

      // The resumed master hands out the never-ending build; one slave takes it.
      screen = await tmux.waitForScreen(slaveRow("slave-[ab]", `Building ${HANG_PACKAGE} 1\\.0`));
      const [, , busyId, , busy] = screen.match(slaveRow("slave-[ab]", "Building.*"))!;
      const idle = busy === "slave-a" ? "slave-b" : "slave-a";
      const idleId = screen.match(slaveRow(idle))![2];
      const pids: number[] = (await waitFor(
        () => {
          try {
            return Deno.readTextFileSync(farm.pidFile).split(" ").map(Number).slice(0, 3);
          } catch {
            return null;
          }
        },
        120_000,
        "the hanging build to start",
      ))!;
      assert.ok(pids.every(processAlive), `build processes ${pids}`);

      // A click on the busy slave's row selects it: its details and graphs replace the master's.
      click(20, lineOf(screen, busy));
      screen = await tmux.waitForScreen(new RegExp(`Slave ${busyId} ${busy} {2}Python`));
      assert.match(screen, new RegExp(`Task: Building ${HANG_PACKAGE} 1\\.0`));
      assert.match(screen, /^load +[▁-█]+$/m);

      // Kill the idle slave: "n" cancels, "y" kills; the slave leaves and its row goes dead.
      tmux.keys(idle === "slave-a" ? "Up" : "Down");
      await tmux.waitForScreen(new RegExp(`Slave ${idleId} ${idle} {2}Python`));
      tmux.keys("k");
      await tmux.waitForScreen(new RegExp(`Kill slave ${idleId} at its next IDLE\\? \\(y/n\\)`));
      tmux.keys("n");
      await tmux.waitForScreen(/cancelled/);
      await new Promise((r) => setTimeout(r, 2_000));
      assert.ok(!farm.master.lines.some((l) => l.includes(`(${idle}): kill`)));
      tmux.keys("k");
      await tmux.waitForScreen(/\(y\/n\)/);
      tmux.keys("y");
      await farm.master.waitForLine(`(${idle}): kill`);
      const idleProcess = farm.slaves.find((s) => s.name === idle)!;
      assert.equal(await idleProcess.exit(30_000), 0);
      assert.ok(idleProcess.lines.some((l) => l.includes("asked the slave to terminate")));
      await tmux.waitForScreen(new RegExp(`✖ ${idleId} +dead +${idle}`), 20_000);
      // Dead rows are red (in tmux terminal-kit maps the RGB colour to the nearest of 16).
      assert.match(styled(), /ESC\[(\d+;)*(31|91|38;5;(9|160|196)|38;2;230;0;0)m✖/);
      await tmux.waitForScreen(new RegExp(`^(?![\\s\\S]*${idle})`), 20_000);

      // Skip the busy slave's build: the master ends it, the slave kills its processes.
      tmux.keys("End");
      await tmux.waitForScreen(new RegExp(`Slave ${busyId} ${busy} {2}Python`));
      tmux.keys("s");
      await tmux.waitForScreen(new RegExp(`sent SKIP to slave ${busyId}`));
      await farm.master.waitForLine(`(${busy}): skip`);
      await farm.master.waitForLine(`(${busy}): build skipped`);
      const busyProcess = farm.slaves.find((s) => s.name === busy)!;
      await busyProcess.waitForLine("terminating the current build");
      await waitFor(() => !pids.some(processAlive), 30_000, `build processes ${pids} to end`);

      // Tab to the buttons, Right to "Stop master", Enter: asked first, then done.
      tmux.keys("Tab", "Right", "Right", "Right", "Enter");
      await tmux.waitForScreen(/Terminate the master\? \(y\/n\)/);
      tmux.keys("y");
      await farm.master.waitForLine("QUIT from a monitor");
      assert.equal(await farm.master.exit(60_000), 0);

      // The monitor notices the silence and says so; a new master is found and reloaded,
      // and the surviving slave comes back to it.
      await tmux.waitForScreen(/master silent; reconnecting/, 20_000);
      await farm.restartMaster();
      await tmux.waitForScreen(/master restarted; reloading/, 30_000);
      await tmux.waitForScreen(slaveRow(busy), 90_000);

      // The hotkeys reach the new master: p pauses, r resumes, t (confirmed) terminates.
      tmux.keys("p");
      await farm.master.waitForLine("pausing operations");
      tmux.keys("r");
      await farm.master.waitForLine("resuming operations");
      tmux.keys("t");
      await tmux.waitForScreen(/Terminate the master\? \(y\/n\)/);
      tmux.keys("y");
      await farm.master.waitForLine("QUIT from a monitor");
      assert.equal(await farm.master.exit(60_000), 0);

      tmux.keys("q");
      await waitFor(() => tmux.dead(), 20_000, "the monitor to exit");
      assert.equal(tmux.exitStatus(), 0);
    } catch (error) {
      let screen = "";
      try {
        screen = tmux.capture();
      } catch {
        // The session is gone.
      }
      throw new Error(`${(error as Error).message}\n--- screen:\n${screen}\n${farm.tails()}`, {
        cause: error,
      });
    } finally {
      tmux.kill();
      await farm.stop();
    }
  },
});
