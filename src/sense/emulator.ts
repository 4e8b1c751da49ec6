/**
 * `piw sense --emulate`: the 8×8 matrix drawn in the terminal (two true-colour cells per pixel)
 * and the arrow keys and Enter read as the joystick, through terminal-kit.
 * @module
 */

import { releaseTerminal, takeTerminal, type Terminal, terminal } from "../cli/terminal.ts";
import type { Frame, Stick } from "./screens.ts";

const KEYS: Record<string, Stick> = {
  UP: "up",
  DOWN: "down",
  LEFT: "left",
  RIGHT: "right",
  ENTER: "enter",
  KP_ENTER: "enter",
};

/** The emulated HAT: a matrix on screen, the keyboard as its joystick. */
export class Emulator {
  #term: Terminal = terminal();
  #last = "";

  /** Take over the terminal; joystick moves go to `onStick`, `q` or Ctrl-C to `onQuit`. */
  open(onStick: (stick: Stick) => void, onQuit: () => void): void {
    const term = takeTerminal();
    term.on("key", (name: string) => {
      if (name === "q" || name === "CTRL_C") onQuit();
      else if (KEYS[name]) onStick(KEYS[name]);
    });
    term.moveTo(1, 10).noFormat("arrows: joystick  Enter: press  q: quit");
  }

  /** Draw `frame` (skipped when unchanged). */
  show(frame: Frame): void {
    const key = frame.join(";");
    if (key === this.#last) return;
    this.#last = key;
    const term = this.#term;
    for (let y = 0; y < 8; y++) {
      term.moveTo(1, y + 1);
      // Always 24-bit: terminal-kit would round to 256 colours where COLORTERM is unset (tmux).
      for (const [r, g, b] of frame.slice(y * 8, y * 8 + 8)) {
        term.noFormat(`\x1b[48;2;${r};${g};${b}m  `);
      }
      term.styleReset();
    }
  }

  /** Give the terminal back. */
  close(): void {
    releaseTerminal();
  }
}
