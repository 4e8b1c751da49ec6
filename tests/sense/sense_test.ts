/**
 * `piw sense` against a real `piw master` with two real `piw slave`s (one building a package
 * that never finishes), with a plain file as the framebuffer (PIW_SENSE_FB) and a FIFO as the
 * joystick (PIW_SENSE_JOYSTICK): pixel colours of the statistics rows and of a building, an
 * idle and a dead slave; joystick events through the statistics pages and a slave's pages,
 * that kill a slave and terminate the master.
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { startFarm } from "../monitor/farm.ts";
import { PiwProcess } from "../fixtures/piw_process.ts";
import { fromRgb565 } from "../../src/sense/hat.ts";
import { fakeHat, type KEY, press } from "./joystick.ts";
import { type Rgb, slavePixel } from "../../src/sense/screens.ts";

Deno.test({
  name: "piw sense draws the farm on the framebuffer and its joystick kills and terminates",
  async fn() {
    const farm = await startFarm({ hang: true });
    const { dir, fb, joystick, env } = fakeHat("piw-sense-");
    const sense = new PiwProcess("sense", [
      "sense",
      "--status-queue",
      farm.statusQueue,
      "--control-queue",
      farm.controlQueue,
    ], env);
    // Opening the FIFO for writing waits for sense to open it for reading.
    const stick = await Deno.open(joystick, { write: true });
    const frame = () => fromRgb565(Deno.readFileSync(fb));
    const pixel = (x: number, y: number): Rgb => frame()[y * 8 + x];
    const send = async (...keys: (keyof typeof KEY)[]) => {
      for (const key of keys) {
        await stick.write(press(key));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const at = (index: number) => pixel(slavePixel(index).x, slavePixel(index).y);
    try {
      // One slave takes the never-ending build (green), the other waits for work (grey). Slave-a
      // sits under the cursor (its colour pulses towards white), slave-b beside it (exact).
      const green = (p: Rgb) => p[1] > 200 && p[0] < 128 && p[0] === p[2];
      const grey = (p: Rgb) => p[0] >= 64 && p[0] === p[2] && Math.abs(p[0] - p[1]) <= 4;
      // CloudGazer asks TheArchitect to refresh once it has added the version; a slave asks
      // again after its sleep.
      // (An index 0 would read as "not yet" to waitFor: it waits for the pixel's name.)
      const busyPixel = await waitFor(
        () => at(1).join() === "0,252,0" ? "second" : green(at(0)) && grey(at(1)) ? "first" : null,
        120_000,
        "a green (building) slave pixel",
      );
      const busy = busyPixel === "second" ? 1 : 0;
      const idle = 1 - busy;
      assert.ok(grey(at(idle)), `the idle slave's pixel ${at(idle)}`);
      const idleName = ["slave-a", "slave-b"][idle];
      // No third slave; the queue row is blue (at most the one build pending); the disk row
      // starts white; just heard from the master, the ping row is mostly blue.
      assert.deepEqual(at(2), [0, 0, 0]);
      await waitFor(() => frame()[16][0] < 64, 30_000, "the queue row");
      assert.ok(frame().slice(17, 24).every((p) => p.join() === "0,0,64"));
      await waitFor(() => pixel(0, 1)[0] > 200, 30_000, "statistics on the disk row");
      assert.ok(pixel(7, 0)[2] > 0);

      // Up off the grid: the statistics pages (text on black, no ping row); right to "disk
      // free", whose background fill from the bottom is the free fraction (here over 1/16).
      const textPage = () => frame().slice(0, 8).every((p) => p.join() === "0,0,0");
      await send("up");
      await waitFor(textPage, 5_000, "the ping statistics page");
      await waitFor(() => frame().some((p) => p.join() === "248,252,248"), 5_000, "white text");
      await send("right");
      await waitFor(
        () => frame().slice(56).every((p) => p.join() === "0,0,64"),
        5_000,
        "the disk page's fill",
      );
      // Down returns to the main screen (its ping row is back).
      await send("down");
      await waitFor(() => !textPage(), 5_000, "the main screen");

      // To the idle slave, open its pages, go to "kill" (red text) and press.
      await send(...(idle ? ["down" as const] : []), "enter");
      await waitFor(textPage, 5_000, "the slave pages");
      await send("right", "right", "right");
      await waitFor(() => frame().some((p) => p.join() === "248,0,0"), 5_000, "the kill page");
      await send("enter");
      await farm.master.waitForLine(`(${idleName}): kill`, 30_000);
      assert.equal(await farm.slaves[idle].exit(30_000), 0);
      // It goes red (dead; the cursor's white pulse mixes in) before it disappears.
      await waitFor(
        () => {
          const [r, g] = at(idle);
          return r === 248 && g < 128;
        },
        20_000,
        "a red pixel for the killed slave",
      );

      // Off the bottom of the grid: quit, then right to terminate, and press.
      await send(...Array(5 - idle).fill("down"), "right", "enter");
      await farm.master.waitForLine("QUIT from a monitor", 30_000);
      assert.equal(await sense.exit(30_000), 0);
      // The matrix is blanked on exit.
      assert.ok(frame().every((p) => p.join() === "0,0,0"));
    } catch (error) {
      const slaves = `slave pixels: ${JSON.stringify([0, 1, 2].map((i) => at(i)))}`;
      throw new Error(`${(error as Error).message}\n${slaves}\n${sense.tail()}\n${farm.tails()}`, {
        cause: error,
      });
    } finally {
      stick.close();
      sense.kill("SIGKILL");
      await sense.exit().catch(() => {});
      await farm.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
