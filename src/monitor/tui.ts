/**
 * The terminal side of `piw monitor`, through terminal-kit: full screen, keys and mouse in,
 * the lines of `view.ts` out. terminal-kit does the terminal work (capabilities, raw input,
 * mouse decoding, colours); the layout stays in `view.ts`.
 * @module
 */

import { releaseTerminal, takeTerminal, type Terminal, terminal } from "../cli/terminal.ts";
import type { Line } from "./view.ts";

/** A key press (terminal-kit's name) or a mouse click at a 1-based cell. */
export type InputEvent = { key: string } | { click: { x: number; y: number } } | {
  wheel: "up" | "down";
};

/** The full-screen terminal. */
export class Screen {
  #term: Terminal = terminal();

  /** Take over the terminal and deliver input to `onInput`. */
  open(onInput: (event: InputEvent) => void): void {
    const term = takeTerminal({ mouse: true });
    term.on("key", (name: string) => onInput({ key: name }));
    term.on("mouse", (name: string, data: { x: number; y: number }) => {
      if (name === "MOUSE_LEFT_BUTTON_PRESSED") onInput({ click: { x: data.x, y: data.y } });
      else if (name === "MOUSE_WHEEL_UP") onInput({ wheel: "up" });
      else if (name === "MOUSE_WHEEL_DOWN") onInput({ wheel: "down" });
    });
  }

  /** Columns and rows. */
  get size(): { width: number; height: number } {
    return { width: this.#term.width, height: this.#term.height };
  }

  /** Draw every line (each erased to its end first, so nothing stale stays). */
  draw(lines: Line[]): void {
    const term = this.#term;
    lines.forEach((line, i) => {
      term.moveTo(1, i + 1);
      for (const seg of line) {
        term.styleReset();
        if (seg.color) term.colorRgb(...seg.color);
        if (seg.bold) term.bold();
        if (seg.inverse) term.inverse();
        term.noFormat(seg.text);
      }
      term.styleReset();
      term.eraseLineAfter();
    });
    for (let y = lines.length + 1; y <= this.size.height; y++) term.moveTo(1, y).eraseLine();
  }

  /** Give the terminal back as it was. */
  close(): void {
    releaseTerminal();
  }
}
