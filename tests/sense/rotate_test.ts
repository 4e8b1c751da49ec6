/**
 * `piw sense -r 90` as a process (no master needed), with a file as the framebuffer and a FIFO
 * as the joystick: the picture is turned a quarter clockwise and the joystick with it. Without a
 * HAT (and no PIW_SENSE_* override) it fails with a clear message.
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { PiwProcess } from "../fixtures/piw_process.ts";
import { fromRgb565 } from "../../src/sense/hat.ts";
import { fakeHat, press } from "./joystick.ts";
import { COLORS } from "../../src/sense/screens.ts";

Deno.test({
  name: "piw sense -r 90 turns the matrix and the joystick a quarter clockwise",
  async fn() {
    const id = crypto.randomUUID().slice(0, 8);
    const { dir, fb, joystick, env } = fakeHat("piw-sense-rotate-");
    const sense = new PiwProcess("sense", [
      "sense",
      "-r",
      "90",
      "--status-queue",
      `ipc:///tmp/piw-rotate-status-${id}`,
      "--control-queue",
      `ipc:///tmp/piw-rotate-control-${id}`,
    ], env);
    const stick = await Deno.open(joystick, { write: true });
    const pixel = (x: number, y: number) => fromRgb565(Deno.readFileSync(fb))[y * 8 + x].join();
    const blue = COLORS.background.join();
    try {
      // No master: the disk and queue rows are blue. Turned clockwise, the top three rows are
      // the three right-hand columns: ping at x=7, disk at x=6, queue at x=5.
      await waitFor(() => pixel(6, 0) === blue, 20_000, "a blue disk column");
      for (let y = 0; y < 8; y++) {
        assert.equal(pixel(6, y), blue, `disk column at y=${y}`);
        assert.equal(pixel(5, y), blue, `queue column at y=${y}`);
      }
      // Where the unturned disk row would be, only its end remains (the slave grid is empty).
      assert.equal(pixel(0, 1), "0,0,0");
      // The HAT's "left" is the viewer's "down": five of them leave the grid for "quit", and
      // pressing quits (unturned, "left" on an empty grid would do nothing).
      for (const key of ["left", "left", "left", "left", "left", "enter"] as const) {
        await stick.write(press(key));
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(await sense.exit(20_000), 0);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${sense.tail()}`, { cause: error });
    } finally {
      stick.close();
      sense.kill("SIGKILL");
      await sense.exit().catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "piw sense without a Sense HAT says so and suggests --emulate",
  ignore: (() => {
    // On a Pi with a HAT the discovery would succeed.
    try {
      return Deno.readDirSync("/sys/class/graphics").some((e) => {
        try {
          return Deno.readTextFileSync(`/sys/class/graphics/${e.name}/name`).trim() ===
            "RPi-Sense FB";
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  })(),
  async fn() {
    const sense = new PiwProcess("sense", ["sense", "--status-queue", "ipc:///tmp/piw-nohat"]);
    assert.notEqual(await sense.exit(20_000), 0);
    assert.ok(
      sense.lines.some((l) => /no Sense HAT framebuffer .*try --emulate/.test(l)),
      sense.tail(),
    );
  },
});
