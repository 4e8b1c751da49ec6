/**
 * A one-line progress display of a file transfer on stderr: redrawn in place (at most five
 * times a second) on a terminal, only a start and an end line otherwise (logs stay readable).
 * @module
 */

const encoder = new TextEncoder();

function write(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
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
  #drawn = 0;
  readonly #started = performance.now();
  readonly #tty = Deno.stderr.isTerminal();

  /** Start showing the transfer of `name` (`total` bytes). */
  constructor(readonly name: string, readonly total: number) {
    if (!this.#tty) write(`sending ${name} (${formatBytes(total)})...\n`);
  }

  /** `bytes` more were sent. */
  add(bytes: number): void {
    this.#done += bytes;
    const now = performance.now();
    if (this.#tty && now - this.#drawn > 200) {
      this.#drawn = now;
      write(`\r${progressLine(this.name, this.#done, this.total)}\x1b[K`);
    }
  }

  /** The transfer ended (successfully or not). */
  finish(): void {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const end = `sent ${this.#done} bytes in ${seconds} s`;
    write(this.#tty ? `\r${progressLine(this.name, this.#done, this.total)} ${end}\n` : `${end}\n`);
  }
}
