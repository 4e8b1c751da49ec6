/**
 * Apache `LogFormat` strings compiled to line parsers. Only the fields piw needs are kept
 * (client host, time, request, status, User-Agent); every other directive is matched and
 * skipped, so any format Apache can write can be read.
 * @module
 */

/** The named formats of Debian's apache2.conf (`combined` as piwheels redefines it). */
export const NAMED_FORMATS: Record<string, string> = {
  common: '%h %l %u %t "%r" %>s %O',
  combined: '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
  common_vhost: '%v:%p %h %l %u %t "%r" %>s %O',
};

/** The fields of one access-log line that piw uses; absent ones are undefined. */
export interface LogEntry {
  host?: string;
  time?: Date;
  method?: string;
  path?: string;
  status?: number;
  userAgent?: string;
}

/** Raised when a format string cannot be compiled. */
export class LogFormatError extends Error {
  override name = "LogFormatError";
}

/** A compiled format: `parse(line)` gives the entry, or null when the line does not match. */
export interface LineParser {
  readonly format: string;
  parse(line: string): LogEntry | null;
}

type Field = keyof LogEntry | "request" | "query" | "skip";

// A directive inside double quotes may hold spaces (escaped quotes are `\"`); outside quotes a
// value is one space-free word.
const QUOTED = '([^"\\\\]*(?:\\\\.[^"\\\\]*)*)';
const WORD = "(\\S*)";
const DIRECTIVE = /%([<>]?)(!?\d{3}(?:,\d{3})*)?([<>]?)(?:\{([^}]*)\})?([a-zA-Z%])/y;

function fieldOf(letter: string, arg: string | undefined): Field {
  switch (letter) {
    case "h":
    case "a":
      return "host";
    case "t":
      return "time";
    case "r":
      return "request";
    case "s":
      return "status";
    case "m":
      return "method";
    case "U":
      return "path";
    case "q":
      return "query";
    case "i":
      return arg?.toLowerCase() === "user-agent" ? "userAgent" : "skip";
    default:
      return "skip";
  }
}

const KNOWN = new Set("aAbBCDefhHiklLmnoOpPqrRsStTuUvVXI".split(""));

/** Compile `format` (a LogFormat string or a name in {@link NAMED_FORMATS}). */
export function compileFormat(format: string): LineParser {
  const source = NAMED_FORMATS[format] ?? format;
  let pattern = "^";
  const fields: Field[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch !== "%") {
      pattern += escapeLiteral(unescapeFormatChar(source, i));
      i += source[i] === "\\" && i + 1 < source.length ? 2 : 1;
      continue;
    }
    DIRECTIVE.lastIndex = i;
    const m = DIRECTIVE.exec(source);
    if (!m) throw new LogFormatError(`bad directive at ${i} in log format ${source}`);
    const [, , , , arg, letter] = m;
    i = DIRECTIVE.lastIndex;
    if (letter === "%") {
      pattern += "%";
      continue;
    }
    if (!KNOWN.has(letter)) {
      throw new LogFormatError(`unknown directive %${letter} in log format ${source}`);
    }
    const quoted = pattern.endsWith('"');
    const field = fieldOf(letter, arg);
    fields.push(field);
    if (letter === "t" && arg === undefined) pattern += "\\[([^\\]]*)\\]";
    else if (quoted) pattern += QUOTED;
    else if (letter === "t") pattern += "(.*?)";
    // %U%q is the usual way to log the full URL; the path stops where the query begins.
    else if (letter === "U") pattern += "([^\\s?]*)";
    else pattern += WORD;
  }
  // A quoted field that ends the line (the User-Agent of `combined`) can simply run to the last
  // quote: much faster than stepping over its escapes, which matters for pip's long agents.
  if (pattern.endsWith(`"${QUOTED}"`)) pattern = pattern.slice(0, -QUOTED.length - 1) + '(.*)"';
  pattern += "$";
  const regex = new RegExp(pattern);
  return {
    format: source,
    parse: (line) => {
      const m = regex.exec(line);
      return m ? entryOf(fields, m) : null;
    },
  };
}

function unescapeFormatChar(source: string, i: number): string {
  if (source[i] !== "\\" || i + 1 >= source.length) return source[i];
  const next = source[i + 1];
  return next === "n" ? "\n" : next === "t" ? "\t" : next;
}

function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function entryOf(fields: Field[], m: RegExpExecArray): LogEntry | null {
  const entry: LogEntry = {};
  let query = "";
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f];
    if (field === "skip") continue;
    const raw = m[f + 1];
    switch (field) {
      case "host":
        entry.host ??= raw;
        break;
      case "time": {
        const time = parseApacheTime(raw);
        if (time === null) return null;
        entry.time = time;
        break;
      }
      case "request": {
        const request = unescapeApache(raw).split(" ");
        if (request.length < 2) {
          entry.method = request[0];
          break;
        }
        entry.method = request[0];
        entry.path = stripQuery(request[1]);
        break;
      }
      case "status":
        // `%s` and `%>s` may both appear; the final status (the later one by convention) wins.
        entry.status = raw === "-" ? undefined : Number(raw);
        if (entry.status !== undefined && !Number.isInteger(entry.status)) return null;
        break;
      case "method":
        entry.method = raw;
        break;
      case "path":
        entry.path = unescapeApache(raw);
        break;
      case "query":
        query = raw;
        break;
      case "userAgent":
        entry.userAgent = raw === "-" || raw === "" ? undefined : unescapeAgent(raw);
        break;
    }
  }
  void query; // The query string never affects classification (piwheels matches paths only).
  return entry;
}

function stripQuery(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

const agentCache = new Map<string, string>();

// The same few thousand agents fill most logs; unescaping a pip agent's JSON is most of the
// cost of a line, so remember the answers.
function unescapeAgent(raw: string): string {
  let agent = agentCache.get(raw);
  if (agent === undefined) {
    if (agentCache.size >= 10_000) agentCache.clear();
    agentCache.set(raw, agent = unescapeApache(raw));
  }
  return agent;
}

/** Undo Apache's escaping of logged strings (`\"`, `\\`, `\xhh`, `\n`, `\t`, ...). */
export function unescapeApache(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, esc: string) => {
    if (esc.length === 3) return String.fromCharCode(parseInt(esc.slice(1), 16));
    switch (esc) {
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "r":
        return "\r";
      case "b":
        return "\b";
      case "v":
        return "\v";
      case "f":
        return "\f";
      default:
        return esc;
    }
  });
}

const MONTHS: Record<string, string> = {
  Jan: "01",
  Feb: "02",
  Mar: "03",
  Apr: "04",
  May: "05",
  Jun: "06",
  Jul: "07",
  Aug: "08",
  Sep: "09",
  Oct: "10",
  Nov: "11",
  Dec: "12",
};
const TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{2})(\d{2})$/;
let lastTimeText = "";
let lastTime: Date | null = null;

/** Parse Apache's `%t` (`10/Oct/2000:13:55:36 -0700`); null when it is not one. */
export function parseApacheTime(text: string): Date | null {
  // Consecutive lines mostly share their second, so the last parse is usually the answer.
  if (text === lastTimeText && lastTime) return new Date(lastTime.getTime());
  const m = TIME.exec(text);
  if (!m || !MONTHS[m[2]]) return null;
  const time = new Date(`${m[3]}-${MONTHS[m[2]]}-${m[1]}T${m[4]}:${m[5]}:${m[6]}${m[7]}:${m[8]}`);
  if (Number.isNaN(time.getTime())) return null;
  lastTimeText = text;
  lastTime = time;
  return new Date(time.getTime());
}
