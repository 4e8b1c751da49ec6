/**
 * `piw sense` against a real `piw master` with two real `piw slave`s, with a plain file as the
 * framebuffer (PIW_SENSE_FB) and a FIFO as the joystick (PIW_SENSE_JOYSTICK): pixel colours of
 * the statistics rows and the slaves, then joystick events that kill a slave and terminate the
 * master.
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { PiwProcess, startFarm } from "../monitor/farm.ts";
import { fromRgb565 } from "../../src/sense/hat.ts";
import { type KEY, press } from "./joystick.ts";
import { type Rgb, slavePixel } from "../../src/sense/screens.ts";

Deno.test({
  name: "piw sense draws the farm on the framebuffer and its joystick kills and terminates",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const farm = await startFarm();
    const dir = Deno.makeTempDirSync({ prefix: "piw-sense-" });
    const fb = `${dir}/fb`;
    const joystick = `${dir}/joystick`;
    Deno.writeFileSync(fb, new Uint8Array(128));
    assert.ok(new Deno.Command("mkfifo", { args: [joystick] }).outputSync().success);
    const sense = new PiwProcess("sense", [
      "sense",
      "--status-queue",
      farm.statusQueue,
      "--control-queue",
      farm.controlQueue,
    ], { PIW_SENSE_FB: fb, PIW_SENSE_JOYSTICK: joystick });
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
    try {
      // Slave-b (second in ABI/label order) is grey: idle.
      const b = slavePixel(1);
      await waitFor(() => pixel(b.x, b.y).join() === "64,64,64", 30_000, "a grey slave-b pixel");
      // No third slave; the queue row is all blue (nothing pending); the disk row starts white.
      assert.deepEqual(pixel(slavePixel(2).x, slavePixel(2).y), [0, 0, 0]);
      await waitFor(() => frame()[16].join() === "0,0,64", 30_000, "the queue row");
      assert.ok(frame().slice(16, 24).every((p) => p.join() === "0,0,64"));
      await waitFor(() => pixel(0, 1)[0] > 200, 30_000, "statistics on the disk row");
      // Just heard from the master: the ping row is mostly blue.
      assert.ok(pixel(7, 0)[2] > 0);

      // Down to slave-b, open its pages, go to "kill" and press.
      await send("down", "enter");
      // A text page: the top row is black (no ping row).
      await waitFor(
        () => frame().slice(0, 8).every((p) => p.join() === "0,0,0"),
        5_000,
        "the slave pages",
      );
      await send("right", "right", "right", "enter");
      await farm.master.waitForLine("(slave-b): kill", 30_000);
      assert.equal(await farm.slaves[1].exit(30_000), 0);
      // It goes red (dead; the cursor's white pulse mixes in) before it disappears.
      await waitFor(
        () => {
          const [r, g] = pixel(b.x, b.y);
          return r === 248 && g < 128;
        },
        20_000,
        "a red slave-b pixel",
      );

      // Off the bottom of the grid: quit, then right to terminate, and press.
      await send("down", "down", "down", "down", "right", "enter");
      await farm.master.waitForLine("QUIT from a monitor", 30_000);
      assert.equal(await sense.exit(30_000), 0);
      // The matrix is blanked on exit.
      assert.ok(frame().every((p) => p.join() === "0,0,0"));
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${sense.tail()}\n${farm.tails()}`, {
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
