/**
 * Value types that cross piwheels' queues and have no exact JavaScript equivalent: Python's
 * `timedelta`, microsecond datetimes, the `NoData` sentinel, CBOR floats and unknown tags.
 * @module
 */

const US_PER_MS = 1_000;
const US_PER_SECOND = 1_000_000;
const SECONDS_PER_DAY = 86_400;
const US_PER_DAY = SECONDS_PER_DAY * US_PER_SECOND;
/** Python's `timedelta.max.days`; anything larger raises OverflowError there. */
const MAX_DAYS = 999_999_999;

/**
 * The "no data" sentinel (piwheels' `NoData`): the data of a message that carries none, and
 * CBOR tag 2002 when it sits inside other data (e.g. monitor `SLAVE [id, ts, "DIE", NO_DATA]`).
 */
export const NO_DATA: unique symbol = Symbol("NO_DATA");

/** The type of {@link NO_DATA}. */
export type NoData = typeof NO_DATA;

/** Python's `round()`: halves go to the even neighbour, so float conversions match piwheels. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Floor modulo (Python's `%`), never returning -0. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b + 0;
}

/**
 * Python's `datetime.timedelta`: days, seconds and microseconds, normalised as Python does
 * (`0 <= seconds < 86400`, `0 <= microseconds < 1e6`, `days` carries the sign). Immutable.
 * Travels as CBOR tag 2001 `[days, seconds, microseconds]`.
 *
 * @example
 * ```ts
 * new TimeDelta(0, -1).days; // -1 (and seconds 86399), as in Python
 * TimeDelta.fromSeconds(10800).toString(); // "3:00:00"
 * ```
 */
export class TimeDelta {
  /** Whole days; negative for negative durations. */
  readonly days: number;
  /** Seconds past the day, 0–86399. */
  readonly seconds: number;
  /** Microseconds past the second, 0–999999. */
  readonly microseconds: number;

  /** Build from any mix of (possibly fractional or out-of-range) parts, like Python's constructor. */
  constructor(days = 0, seconds = 0, microseconds = 0) {
    if (![days, seconds, microseconds].every(Number.isFinite)) {
      throw new RangeError(
        `timedelta parts must be finite numbers: ${days}, ${seconds}, ${microseconds}`,
      );
    }
    let d: number, s: number, us: number;
    if (Number.isInteger(days) && Number.isInteger(seconds) && Number.isInteger(microseconds)) {
      // Carry part by part so large day counts stay exact.
      s = seconds + Math.floor(microseconds / US_PER_SECOND);
      us = mod(microseconds, US_PER_SECOND);
      d = days + Math.floor(s / SECONDS_PER_DAY);
      s = mod(s, SECONDS_PER_DAY);
    } else {
      const total = roundHalfEven(days * US_PER_DAY + seconds * US_PER_SECOND + microseconds);
      d = Math.floor(total / US_PER_DAY);
      const rest = total - d * US_PER_DAY;
      s = Math.floor(rest / US_PER_SECOND);
      us = rest - s * US_PER_SECOND;
    }
    if (Math.abs(d) > MAX_DAYS) {
      throw new RangeError(`timedelta of ${d} days is out of Python's range`);
    }
    this.days = d + 0;
    this.seconds = s + 0;
    this.microseconds = us + 0;
  }

  /** A duration of `us` microseconds (rounded half-even to a whole microsecond). */
  static fromMicroseconds(us: number): TimeDelta {
    return new TimeDelta(0, 0, roundHalfEven(us));
  }

  /** A duration of `ms` milliseconds, e.g. a CLI duration already parsed to milliseconds. */
  static fromMilliseconds(ms: number): TimeDelta {
    return new TimeDelta(0, 0, roundHalfEven(ms * US_PER_MS));
  }

  /** A duration of `seconds` seconds (may be fractional). */
  static fromSeconds(seconds: number): TimeDelta {
    return new TimeDelta(0, 0, roundHalfEven(seconds * US_PER_SECOND));
  }

  /** Whole microseconds; exact while the duration is within about ±285 years. */
  totalMicroseconds(): number {
    return (this.days * SECONDS_PER_DAY + this.seconds) * US_PER_SECOND + this.microseconds;
  }

  /** Milliseconds, fractional when microseconds are not a multiple of 1000. */
  toMilliseconds(): number {
    return this.totalMicroseconds() / US_PER_MS;
  }

  /** Python's `timedelta.total_seconds()`. */
  totalSeconds(): number {
    return this.totalMicroseconds() / US_PER_SECOND;
  }

  /** True when both durations are equal. */
  equals(other: TimeDelta): boolean {
    return this.days === other.days && this.seconds === other.seconds &&
      this.microseconds === other.microseconds;
  }

  /** Python's `str(timedelta)`, e.g. `"1 day, 2:03:04.000005"` or `"-1 day, 23:59:59"`. */
  toString(): string {
    const hh = Math.floor(this.seconds / 3600);
    const mm = Math.floor(this.seconds / 60) % 60;
    const ss = this.seconds % 60;
    let text = `${hh}:${pad(mm, 2)}:${pad(ss, 2)}`;
    if (this.days) text = `${this.days} day${Math.abs(this.days) !== 1 ? "s" : ""}, ${text}`;
    if (this.microseconds) text += `.${pad(this.microseconds, 6)}`;
    return text;
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * A `Date` that also keeps the microseconds a `Date` cannot hold, so a datetime received from
 * Python re-encodes to the same bytes. `extraMicroseconds` (0–999) is added to the millisecond
 * time; `microsecond` gives Python's `datetime.microsecond`. Any plain `Date` is accepted where a
 * datetime is expected; decoded datetimes are always `PreciseDate`s.
 *
 * @example
 * ```ts
 * const d = PreciseDate.fromIso("2026-11-23T21:07:19.123456Z");
 * d.getUTCMilliseconds(); // 123
 * d.microsecond; // 123456
 * d.toIso(); // "2026-11-23T21:07:19.123456Z"
 * ```
 */
export class PreciseDate extends Date {
  /** Microseconds past the millisecond, 0–999. */
  readonly extraMicroseconds: number;

  /** A datetime `epochMs` milliseconds after the epoch plus `extraMicroseconds` (0–999). */
  constructor(epochMs: number, extraMicroseconds = 0) {
    super(epochMs);
    if (!Number.isInteger(extraMicroseconds) || extraMicroseconds < 0 || extraMicroseconds > 999) {
      throw new RangeError(`extraMicroseconds must be an integer 0-999, not ${extraMicroseconds}`);
    }
    this.extraMicroseconds = extraMicroseconds;
  }

  /** A datetime from microseconds since the epoch (e.g. a PostgreSQL timestamp). */
  static fromEpochMicroseconds(us: number | bigint): PreciseDate {
    const big = BigInt(us);
    const ms = big / 1000n - (big % 1000n < 0n ? 1n : 0n);
    return new PreciseDate(Number(ms), Number(big - ms * 1000n));
  }

  /** Parse tag 0 text as Python's cbor2 does (seconds and a zone are required). */
  static fromIso(text: string): PreciseDate {
    return parseDatetime(text);
  }

  /** Python's `datetime.microsecond`: 0–999999. */
  get microsecond(): number {
    return this.getUTCMilliseconds() * US_PER_MS + this.extraMicroseconds;
  }

  /** Microseconds since the epoch, as a bigint so nothing is lost. */
  epochMicroseconds(): bigint {
    return BigInt(this.getTime()) * 1000n + BigInt(this.extraMicroseconds);
  }

  /** The tag 0 text piwheels would send for this datetime. */
  toIso(): string {
    return formatDatetime(this);
  }
}

const DATETIME_RE =
  /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?(?:Z|([+-])(\d\d):(\d\d))$/;

/** Parse an RFC 3339 datetime exactly as cbor2 5.4 does for tag 0; throws `RangeError`. */
export function parseDatetime(text: string): PreciseDate {
  const m = DATETIME_RE.exec(text);
  if (!m) throw new RangeError(`invalid datetime string ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const fraction = Number((m[7] ?? "").padEnd(6, "0"));
  const offsetMinutes = m[8] ? (m[8] === "-" ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])) : 0;
  // Python's datetime() rejects these; Date would silently roll them over.
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() -
    (month === 2 && !isLeap(year) ? 1 : 0);
  if (
    year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 ||
    minute > 59 || second > 59 || Number(m[9] ?? 0) > 23 || Number(m[10] ?? 0) > 59
  ) {
    throw new RangeError(`invalid datetime string ${JSON.stringify(text)}`);
  }
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Math.floor(fraction / US_PER_MS));
  return new PreciseDate(date.getTime() - offsetMinutes * 60_000, fraction % US_PER_MS);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Python's `datetime.isoformat()` in UTC with `+00:00` written `Z`, microseconds only when
 * non-zero: the tag 0 text cbor2 produces. Throws `RangeError` for invalid dates and for years
 * Python cannot hold.
 */
export function formatDatetime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("cannot encode an invalid Date");
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) throw new RangeError(`year ${year} is outside Python's range`);
  const us = date.getUTCMilliseconds() * US_PER_MS +
    (date instanceof PreciseDate ? date.extraMicroseconds : 0);
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:` +
    `${pad(date.getUTCSeconds(), 2)}${us ? "." + pad(us, 6) : ""}Z`;
}

/** A datetime from a tag 1 epoch (int or float seconds), as Python's `fromtimestamp`. */
export function datetimeFromEpoch(seconds: number): PreciseDate {
  if (!Number.isFinite(seconds)) throw new RangeError(`invalid epoch timestamp ${seconds}`);
  let whole = Math.floor(seconds);
  let us = roundHalfEven((seconds - whole) * US_PER_SECOND);
  if (us === US_PER_SECOND) {
    whole += 1;
    us = 0;
  }
  const date = new PreciseDate(whole * 1000 + Math.floor(us / US_PER_MS), us % US_PER_MS);
  if (Number.isNaN(date.getTime())) throw new RangeError(`epoch timestamp ${seconds} out of range`);
  return date;
}

/**
 * A CBOR floating-point number. The decoder wraps every float in one so schemas can tell
 * `1.0` from `1` (JavaScript cannot); schemas unwrap declared floats to plain numbers, and
 * `any` data keeps the wrapper so nothing is lost. Wrap a number in one to force float64 in
 * `any` data.
 */
export class Float64 {
  /** The number. */
  readonly value: number;

  /** Wrap `value` as a float. */
  constructor(value: number) {
    this.value = value;
  }

  /** The number, so `+f` and arithmetic work. */
  valueOf(): number {
    return this.value;
  }

  /** The number, so JSON output stays plain. */
  toJSON(): number {
    return this.value;
  }

  /** Python's `repr(float)` style: whole values keep a `.0`. */
  toString(): string {
    return Number.isInteger(this.value) ? this.value.toFixed(1) : String(this.value);
  }
}

/** A CBOR tag piw does not interpret; it fails every schema except `any`. */
export class CborTag {
  /** The tag number. */
  readonly tag: number | bigint;
  /** The tagged item. */
  readonly value: unknown;

  /** Tag `value` with `tag`. */
  constructor(tag: number | bigint, value: unknown) {
    this.tag = tag;
    this.value = value;
  }
}
