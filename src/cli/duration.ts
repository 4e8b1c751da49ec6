/**
 * Parsing of the durations piw's options take (`--timeout`, `--duration`).
 *
 * piwheels parsed these as times of day, so `90m` and `1d` failed there; piw accepts them.
 * @module
 */
import { UsageError } from "../errors.ts";

const UNIT_MS: Record<string, number> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
};

/** Spellings of each unit, mapped to the one-letter key of `UNIT_MS`. */
const UNIT_NAMES: Record<string, string> = {
  d: "d",
  day: "d",
  days: "d",
  h: "h",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  m: "m",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  s: "s",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
};

const NUMBER = String.raw`\d+(?:\.\d+)?|\.\d+`;
const CLOCK = new RegExp(String.raw`^(\d+):([0-5]\d)(?::([0-5]\d(?:\.\d+)?))?$`);
const PART = new RegExp(String.raw`(${NUMBER})\s*([a-z]+)\s*,?\s*`, "y");

/**
 * Parse a duration into milliseconds.
 *
 * Accepts unit forms (`3h`, `90m`, `1d`, `1h30m`, `45s`, `5 minutes`, `1 hour 30 minutes`),
 * clock forms (`2:30:00` is h:mm:ss, `12:00` is h:mm) and plain seconds (`300`).
 * Throws `UsageError` for anything else.
 * @example
 * parseDuration("1h30m"); // 5_400_000
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const ms = parseClock(trimmed) ?? parseSeconds(trimmed) ?? parseUnits(trimmed);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new UsageError(
      `invalid duration '${text}': expected e.g. 3h, 90m, 1h30m, 45s, 5 minutes, ` +
        `2:30:00, 12:00 or a number of seconds`,
    );
  }
  return Math.round(ms);
}

function parseClock(text: string): number | undefined {
  const match = CLOCK.exec(text);
  if (!match) return undefined;
  const [, hours, minutes, seconds] = match;
  return Number(hours) * UNIT_MS.h + Number(minutes) * UNIT_MS.m +
    Number(seconds ?? 0) * UNIT_MS.s;
}

function parseSeconds(text: string): number | undefined {
  return new RegExp(`^(?:${NUMBER})$`).test(text) ? Number(text) * UNIT_MS.s : undefined;
}

function parseUnits(text: string): number | undefined {
  if (text === "") return undefined;
  const seen = new Set<string>();
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return undefined;
    const unit = UNIT_NAMES[match[2]];
    // A repeated unit ("1h 2h") is more likely a typo than a sum the user meant.
    if (unit === undefined || seen.has(unit)) return undefined;
    seen.add(unit);
    total += Number(match[1]) * UNIT_MS[unit];
  }
  return total;
}
