/**
 * A one-line progress display of a file transfer on stderr: redrawn in place (at most five
 * times a second) on a terminal, only a start and an end line otherwise (logs stay readable).
 * @module
 */

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** Where and how progress is shown; each defaults to the process's standard error and clock. */
export interface ProgressOutput {
  /** Write text as is. */
  write?: (text: string) => void;
  /** Whether the output is a terminal (redrawn in place) or a log (start and end lines). */
  tty?: boolean;
  /** The time in milliseconds. */
  now?: () => number;
}

/** Human-readable bytes: `512 B`, `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The progress line of `done` of `total` bytes, with a 20-character bar. */
export function progressLine(name: string, done: number, total: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * 20);
  const bar = "#".repeat(filled) + "-".repeat(20 - filled);
  return `${name} [${bar}] ${Math.floor(fraction * 100)}% ` +
    `(${formatBytes(done)} of ${formatBytes(total)})`;
}

/** Progress of sending one file; `add` per chunk, `finish` once the master has it all. */
export class TransferProgress {
  #done = 0;
  #drawn: number;
  readonly #started: number;
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  readonly #now: () => number;

  /** Start showing the transfer of `name` (`total` bytes). */
  constructor(readonly name: string, readonly total: number, output: ProgressOutput = {}) {
    this.#write = output.write ?? writeStderr;
    this.#tty = output.tty ?? Deno.stderr.isTerminal();
    this.#now = output.now ?? (() => performance.now());
    this.#started = this.#drawn = this.#now();
    if (!this.#tty) this.#write(`sending ${name} (${formatBytes(total)})...\n`);
  }

  /** `bytes` more were sent. */
  add(bytes: number): void {
    this.#done += bytes;
    const now = this.#now();
    if (this.#tty && now - this.#drawn >= 200) {
      this.#drawn = now;
      this.#write(`\r${progressLine(this.name, this.#done, this.total)}\x1b[K`);
    }
  }

  /** The transfer ended (successfully or not). */
  finish(): void {
    const seconds = ((this.#now() - this.#started) / 1000).toFixed(1);
    const end = `sent ${this.#done} bytes in ${seconds} s`;
    const bar = progressLine(this.name, this.#done, this.total);
    this.#write(this.#tty ? `\r${bar} ${end}\x1b[K\n` : `${end}\n`);
  }
}

/** How often a count is reported when the output is a log, not a terminal. */
const LOG_LINE_MS = 10_000;

/**
 * Progress of a long count (`piw audit`'s packages and log directories): redrawn in place on a
 * terminal, a line every 10 s in a log, and an end line either way.
 */
export class CountProgress {
  #done = 0;
  #drawn: number;
  readonly #started: number;
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  readonly #now: () => number;

  /** Start counting `total` items of `what` (e.g. "packages"). */
  constructor(readonly what: string, readonly total: number, output: ProgressOutput = {}) {
    this.#write = output.write ?? writeStderr;
    this.#tty = output.tty ?? Deno.stderr.isTerminal();
    this.#now = output.now ?? (() => performance.now());
    this.#started = this.#drawn = this.#now();
  }

  /** `n` more items are done. */
  add(n = 1): void {
    this.#done += n;
    const now = this.#now();
    if (now - this.#drawn >= (this.#tty ? 200 : LOG_LINE_MS)) {
      this.#drawn = now;
      this.#write(this.#tty ? `\r${this.#line()}\x1b[K` : `${this.#line()}\n`);
    }
  }

  /** The count ended. */
  finish(): void {
    const seconds = ((this.#now() - this.#started) / 1000).toFixed(1);
    this.#write(
      `${this.#tty ? "\r" : ""}${this.#line()} in ${seconds} s${this.#tty ? "\x1b[K" : ""}\n`,
    );
  }

  #line(): string {
    return `checked ${this.#done} of ${this.total} ${this.what}`;
  }
}
