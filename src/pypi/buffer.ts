/**
 * The re-ordering buffer over PyPI's journal (piwheels' `PyPIBuffer`).
 *
 * PyPI's journal is ordered by serial, but timestamps can run backwards: wildly before serial
 * 628000 (the "epoch" of reliability) and by up to about 3 minutes after it. The buffer therefore
 * starts reading 2000 serials early (more than PyPI has ever produced in 5 minutes since the
 * epoch), reads from 0 when asked for a pre-epoch serial, sorts by (timestamp, serial), and only
 * releases events more than 5 minutes older than the newest one it holds.
 *
 * What it holds is visible (`held`) and can be released later still in order; `ahead()` says
 * which held entries sort after everything released so far, for the callers (`PyPIEvents`) that
 * apply some events before the window ends (see `src/pypi/events.ts`).
 * @module
 */

import type { PyPIChangelogSource, PyPIEvent } from "./changelog.ts";

/** Serial before which PyPI's journal is treated as unordered. */
export const PYPI_EPOCH = 628000;
/** How many serials before the requested one reading starts. */
export const PYPI_MARGIN = 2000;
/** Events are held until the newest buffered event is more than this much younger (seconds). */
export const REORDER_WINDOW_S = 5 * 60;

/** Buffers journal entries and releases them in (timestamp, serial) order. */
export class PyPIBuffer {
  readonly #source: PyPIChangelogSource;
  #serial = 0;
  #buffer: PyPIEvent[] = [];
  #nextSerial = 0;
  #serialTimestamp: number | null = null;
  #lastFetched = 0;

  /** Create a buffer that will release events from `serial` on. */
  constructor(source: PyPIChangelogSource, serial = 0) {
    this.#source = source;
    this.serial = serial;
  }

  /**
   * The next serial to release: every later release has this serial or sorts after its event.
   * PyPI skips serials, so the event itself may not exist. Setting it empties the buffer.
   */
  get serial(): number {
    return this.#serial;
  }

  set serial(value: number) {
    this.#serial = value;
    this.#buffer = [];
    this.#nextSerial = Math.max(0, (value < PYPI_EPOCH ? 0 : value) - PYPI_MARGIN);
    this.#serialTimestamp = null;
  }

  /** How many entries the most recent `poll()` received from the source. */
  get lastFetched(): number {
    return this.#lastFetched;
  }

  /** How many entries are held back waiting for the re-ordering window. */
  get size(): number {
    return this.#buffer.length;
  }

  /** The entries held back, in (timestamp, serial) order once a release point is known. */
  get held(): readonly PyPIEvent[] {
    return this.#buffer;
  }

  /**
   * Whether `event` sorts at or after the release point, so the ordered stream has not released
   * it (and will, or drops it only as too old): false before the release point is known.
   */
  ahead(event: PyPIEvent): boolean {
    const at = this.#serialTimestamp;
    if (at === null || this.#nextSerial <= PYPI_EPOCH) return false;
    return event[2] > at || (event[2] === at && event[4] >= this.#serial);
  }

  /** Make one request to the source and return the entries that are now safe to release. */
  async poll(): Promise<PyPIEvent[]> {
    const events = await this.#source.changelogSince(this.#nextSerial);
    this.#lastFetched = events.length;
    if (events.length === 0) return [];
    this.#nextSerial = events[events.length - 1][4];
    if (this.#serialTimestamp === null && this.#serial <= this.#nextSerial) {
      // Find the sought serial's timestamp in the serial-ordered batch, so it can be found
      // again in the timestamp-ordered buffer.
      const at = lowerBound(events.length, (i) => events[i][4] < this.#serial);
      this.#serialTimestamp = events[at][2];
    }
    for (const event of events) this.#buffer.push(event);
    if (this.#nextSerial <= PYPI_EPOCH || this.#serialTimestamp === null) return [];

    const buffer = this.#buffer;
    buffer.sort((a, b) => a[2] - b[2] || a[4] - b[4]);
    const finishTimestamp = buffer[buffer.length - 1][2] - REORDER_WINDOW_S;
    const seekTimestamp = this.#serialTimestamp;
    if (seekTimestamp >= finishTimestamp) return [];
    let start = lowerBound(buffer.length, (i) => buffer[i][2] < seekTimestamp);
    const finish = lowerBound(buffer.length, (i) => buffer[i][2] < finishTimestamp);
    // Timestamps have one-second resolution, so skip same-second events before the serial.
    while (
      start < finish && buffer[start][2] === seekTimestamp && buffer[start][4] < this.#serial
    ) {
      start++;
    }
    const released = buffer.slice(start, finish);
    this.#serialTimestamp = buffer[finish][2];
    this.#serial = buffer[finish][4];
    this.#buffer = buffer.slice(finish);
    return released;
  }
}

/** The first index in [0, length) for which `before(i)` is false (`before` must be monotone). */
function lowerBound(length: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
