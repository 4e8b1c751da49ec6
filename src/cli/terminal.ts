/**
 * The full-screen terminal that `piw monitor` and `piw sense --emulate` take over, through
 * terminal-kit.
 * @module
 */
// @ts-types="@types/terminal-kit"
import termkit from "terminal-kit";

/** The process's terminal (terminal-kit's). */
export type Terminal = typeof termkit.terminal;

/** The process's terminal; terminal-kit sets it up on first use. */
export function terminal(): Terminal {
  return termkit.terminal;
}

/** Take the terminal over: full screen, no cursor, raw keys (and mouse buttons when asked). */
export function takeTerminal(options: { mouse?: boolean } = {}): Terminal {
  const term = terminal();
  term.fullscreen(true);
  term.hideCursor(true);
  term.grabInput(options.mouse ? { mouse: "button" } : true);
  return term;
}

/** Give the terminal back as it was. */
export function releaseTerminal(): void {
  const term = terminal();
  term.grabInput(false);
  term.styleReset();
  term.hideCursor(false);
  term.fullscreen(false);
}
