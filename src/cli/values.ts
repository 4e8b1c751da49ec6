/**
 * Conversion of option text (from the command line, the environment or a configuration file)
 * into the typed values the option objects hold.
 * @module
 */
import { UsageError } from "../errors.ts";
import { parseDuration } from "./duration.ts";

/** How an option's text becomes a value. */
export type ValueKind =
  | "string"
  | "path"
  | "duration"
  | "size"
  | "datetime"
  | "int"
  | "flag"
  | "list"
  | "origin";

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parse a memory size into bytes; K, M, G and T are powers of 1024 and `none` (or 0) is 0.
 * @example
 * parseSize("1.5G"); // 1610612736
 */
export function parseSize(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "none") return 0;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(trimmed);
  const unit = match ? SIZE_UNITS[match[2]] : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`invalid size '${text}': expected e.g. 512M, 2G or none`);
  }
  return Math.round(Number(match[1]) * unit);
}

/**
 * Parse a UTC timestamp `YYYY-MM-DD[ HH:MM[:SS]]` (a `T` may separate date and time, and a
 * trailing `Z` is allowed).
 */
export function parseTimestamp(text: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?Z?$/
    .exec(text.trim());
  if (match) {
    const [, y, mo, d, h = "0", mi = "0", s = "0"] = match;
    const seconds = Number(s);
    const date = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, Math.floor(seconds)));
    date.setUTCMilliseconds(Math.round((seconds % 1) * 1000));
    // Date.UTC rolls 2024-02-30 over into March; a calendar mismatch means a bad date.
    if (date.getUTCMonth() === +mo - 1 && date.getUTCDate() === +d && +h < 24 && +mi < 60) {
      return date;
    }
  }
  throw new UsageError(`invalid timestamp '${text}': expected YYYY-MM-DD HH:MM:SS (UTC)`);
}

/** Parse a flag's value as written in a configuration file (`true`, `no`, `1`, ...). */
export function parseFlag(text: string): boolean {
  const value = text.trim().toLowerCase();
  if (["true", "yes", "on", "1"].includes(value)) return true;
  if (["false", "no", "off", "0"].includes(value)) return false;
  throw new UsageError(`invalid boolean '${text}': expected true or false`);
}

/** Parse a list as written in a configuration file: `[a, b]`, `a, b` or a single `a`. */
export function parseList(text: string): string[] {
  let inner = text.trim();
  if (inner.startsWith("[") && inner.endsWith("]")) inner = inner.slice(1, -1);
  return inner.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/**
 * Parse a web site's origin (`http` or `https`, a host and perhaps a port, nothing after): the
 * site URL that absolute links are made from. The result has no trailing slash.
 * @example
 * parseOrigin("https://piw.example.org/"); // "https://piw.example.org"
 */
export function parseOrigin(text: string): string {
  const problem = `invalid site URL '${text}': expected an http(s) origin such as ` +
    "https://www.piwheels.org (no path, query or fragment)";
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(problem);
  }
  // The pages link to /simple/... from the root, so a path prefix could not work.
  const plain = url.pathname === "/" && !url.search && !url.hash && !url.username &&
    !url.password && !text.trim().endsWith("?") && !text.trim().endsWith("#");
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname || !plain) {
    throw new UsageError(problem);
  }
  return url.origin;
}

/** Expand a leading `~` to the home directory, as piwheels does for paths. */
export function expandHome(path: string, home = Deno.env.get("HOME")): string {
  if (home && (path === "~" || path.startsWith("~/"))) return home + path.slice(1);
  return path;
}

/** Convert one value of an option of this kind; `list` converts a single item. */
export function convertValue(kind: ValueKind, text: string): unknown {
  switch (kind) {
    case "duration":
      return parseDuration(text);
    case "size":
      return parseSize(text);
    case "datetime":
      return parseTimestamp(text);
    case "int": {
      if (!/^-?\d+$/.test(text.trim())) {
        throw new UsageError(`invalid number '${text}': expected a whole number`);
      }
      return Number(text);
    }
    case "flag":
      return parseFlag(text);
    case "path":
      return expandHome(text);
    case "origin":
      return parseOrigin(text);
    case "string":
    case "list":
      return text;
  }
}
