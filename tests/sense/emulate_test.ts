/**
 * `piw sense --emulate` in tmux (no master needed): the matrix in true colour in the terminal,
 * the arrow keys and Enter as the joystick (down off the grid to "quit", Enter to quit).
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { HAVE_TMUX, TmuxSession } from "../monitor/tmux.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test({
  name: "piw sense --emulate draws the matrix in the terminal and takes arrow keys",
  ignore: !HAVE_TMUX,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const id = crypto.randomUUID().slice(0, 8);
    const tmux = new TmuxSession(
      `env PIW_CONFIG_PATHS= ${Deno.execPath()} run -A ${MAIN} sense --emulate ` +
        `--status-queue ipc:///tmp/piw-emu-status-${id} ` +
        `--control-queue ipc:///tmp/piw-emu-control-${id} 2>/dev/null`,
      40,
      12,
    );
    try {
      await tmux.waitForScreen(/arrows: joystick/);
      // Never heard from a master: the ping row pulses red; the disk row is blue (24-bit colours).
      await waitFor(() => /48;2;0;0;64m/.test(tmux.captureEscapes()), 10_000, "a blue row");
      // Down five times leaves the grid for the quit screen; Enter quits.
      tmux.keys("Down", "Down", "Down", "Down", "Down");
      await new Promise((r) => setTimeout(r, 300));
      tmux.keys("Enter");
      await waitFor(() => tmux.dead(), 15_000, "sense to exit");
      assert.equal(tmux.exitStatus(), 0);
    } finally {
      tmux.kill();
    }
  },
});
