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

/** What the progress displays share: the output, the clock, and the count so far. */
abstract class Progress {
  protected done = 0;
  protected readonly write: (text: string) => void;
  protected readonly tty: boolean;
  readonly #now: () => number;
  readonly #started: number;
  #drawn: number;

  constructor(output: ProgressOutput) {
    this.write = output.write ?? writeStderr;
    this.tty = output.tty ?? Deno.stderr.isTerminal();
    this.#now = output.now ?? (() => performance.now());
    this.#started = this.#drawn = this.#now();
  }

  /** Count `n` more; whether it is time to draw (`everyMs` since the last time). */
  protected count(n: number, everyMs: number): boolean {
    this.done += n;
    const now = this.#now();
    if (now - this.#drawn < everyMs) return false;
    this.#drawn = now;
    return true;
  }

  /** Seconds since the start, to a tenth. */
  protected seconds(): string {
    return ((this.#now() - this.#started) / 1000).toFixed(1);
  }
}

/** Progress of sending one file; `add` per chunk, `finish` once the master has it all. */
export class TransferProgress extends Progress {
  /** Start showing the transfer of `name` (`total` bytes). */
  constructor(readonly name: string, readonly total: number, output: ProgressOutput = {}) {
    super(output);
    if (!this.tty) this.write(`sending ${name} (${formatBytes(total)})...\n`);
  }

  /** `bytes` more were sent. */
  add(bytes: number): void {
    if (this.count(bytes, 200) && this.tty) {
      this.write(`\r${progressLine(this.name, this.done, this.total)}\x1b[K`);
    }
  }

  /** The transfer ended (successfully or not). */
  finish(): void {
    const end = `sent ${this.done} bytes in ${this.seconds()} s`;
    const bar = progressLine(this.name, this.done, this.total);
    this.write(this.tty ? `\r${bar} ${end}\x1b[K\n` : `${end}\n`);
  }
}

/** How often a count is reported when the output is a log, not a terminal. */
const LOG_LINE_MS = 10_000;

/**
 * Progress of a long count (`piw audit`'s packages and log directories): redrawn in place on a
 * terminal, a line every 10 s in a log, and an end line either way.
 */
export class CountProgress extends Progress {
  /** Start counting `total` items of `what` (e.g. "packages"). */
  constructor(readonly what: string, readonly total: number, output: ProgressOutput = {}) {
    super(output);
  }

  /** `n` more items are done. */
  add(n = 1): void {
    if (this.count(n, this.tty ? 200 : LOG_LINE_MS)) {
      this.write(this.tty ? `\r${this.#line()}\x1b[K` : `${this.#line()}\n`);
    }
  }

  /** The count ended. */
  finish(): void {
    const [start, end] = this.tty ? ["\r", "\x1b[K"] : ["", ""];
    this.write(`${start}${this.#line()} in ${this.seconds()} s${end}\n`);
  }

  #line(): string {
    return `checked ${this.done} of ${this.total} ${this.what}`;
  }
}
