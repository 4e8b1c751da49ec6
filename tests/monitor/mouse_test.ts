/**
 * `piw monitor`'s mouse in tmux (no master needed): a click on a button presses it, so
 * "Stop master" asks first and "Quit" quits. Clicks are SGR mouse reports typed into the pane.
 */
import assert from "node:assert/strict";
import { waitFor } from "../master/helpers.ts";
import { HAVE_TMUX, TmuxSession } from "./tmux.ts";
import { BUTTONS, buttonText } from "../../src/monitor/view.ts";

/** The 1-based column of the middle of button `index` on the button line. */
function buttonColumn(index: number): number {
  const widths = BUTTONS.map((b) => buttonText(b).length + 1);
  return widths.slice(0, index).reduce((a, b) => a + b, 1) + 2;
}

Deno.test({
  name: "piw monitor presses the button clicked with the mouse",
  ignore: !HAVE_TMUX,
  async fn() {
    const tmux = TmuxSession.piw(["monitor"], 110, 30);
    const click = (x: number, y: number) => {
      tmux.keys("-l", `\x1b[<0;${x};${y}M`);
      tmux.keys("-l", `\x1b[<0;${x};${y}m`);
    };
    try {
      const screen = await tmux.waitForScreen(/\[q Quit\]/);
      const row = screen.split("\n").findIndex((l) => l.includes("[q Quit]")) + 1;
      click(buttonColumn(4), row);
      await tmux.waitForScreen(/Terminate the master\? \(y\/n\)/);
      tmux.keys("n");
      await tmux.waitForScreen(/cancelled/);
      click(buttonColumn(5), row);
      await waitFor(() => tmux.dead(), 15_000, "the monitor to exit");
      assert.equal(tmux.exitStatus(), 0);
    } finally {
      tmux.kill();
    }
  },
});
