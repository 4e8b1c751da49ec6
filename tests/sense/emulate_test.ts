/**
 * `piw sense --emulate` in tmux (no master needed): the matrix in true colour in the terminal,
 * the arrow keys and Enter as the joystick (up to the statistics and back, down off the grid to
 * "quit", Enter to quit).
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { HAVE_TMUX, TmuxSession } from "../monitor/tmux.ts";

Deno.test({
  name: "piw sense --emulate draws the matrix in the terminal and takes arrow keys",
  ignore: !HAVE_TMUX,
  async fn() {
    const tmux = TmuxSession.piw(["sense", "--emulate"], 40, 12);
    try {
      await tmux.waitForScreen(/arrows: joystick/);
      // Never heard from a master: the ping row pulses red; the disk row is blue (24-bit colours).
      await waitFor(() => /48;2;0;0;64m/.test(tmux.captureEscapes()), 10_000, "a blue row");
      // Up leaves the grid for the statistics pages: white text on the (all blue) ping page,
      // no red ping row; Down comes back to the main screen.
      tmux.keys("Up");
      await waitFor(
        () => {
          const rows = tmux.captureEscapes().split("\n");
          return rows.slice(0, 8).some((row) => row.includes("48;2;255;255;255m")) &&
            !/48;2;[1-9]\d*;0;0m/.test(rows[0]);
        },
        10_000,
        "the ping statistics page",
      );
      tmux.keys("Down");
      await waitFor(
        () => /48;2;[1-9]\d*;0;0m/.test(tmux.captureEscapes().split("\n")[0]),
        10_000,
        "the red ping row of the main screen",
      );
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
