/**
 * Lumberjack's buffer: lumberjack messages (one a frame from piwheels' logger, many back to back
 * from piw's) turned straight into the text the database takes —
 * PostgreSQL's COPY text format (tab-separated, `\N` for null; `src/db/access.ts` COPYs it into
 * the tables) or the JSON of the set-based `log_*` functions (PGlite, through the oracle).
 * Millions of records of two fixed shapes arrive, so a record of the usual form (ASCII text, a
 * tag 0 time) is copied into the output byte for byte, without building strings, arrays or
 * Dates; anything else goes through `decodeMessage`, which validates and explains
 * (`ProtocolError`). Texts longer than their column are cut to fit, as the `log_*` functions do.
 * @module
 */
import { type AccessLogJson, type AccessLogText, LOG_TABLES } from "../db/mod.ts";
import {
  CborError,
  cborItemEnd,
  decodeMessage,
  lumberjackProtocol,
  ProtocolError,
} from "../protocols/mod.ts";
import { formatDatetime, parseDatetime } from "../protocols/values.ts";
import {
  CBOR_NULL,
  CborReader,
  MAJOR_ARRAY,
  MAJOR_TEXT,
  TAG_DATETIME_HEAD,
} from "../protocols/cbor_io.ts";

/** The lumberjack messages, in the order of their buffers. */
export const LOG_NAMES = [
  "LOGDOWNLOAD",
  "LOGSEARCH",
  "LOGPROJECT",
  "LOGJSON",
  "LOGPAGE",
  "LOGMETADATA",
] as const;

/** The name of a lumberjack message. */
export type LogName = typeof LOG_NAMES[number];

/**
 * Malformed records after which the rest of a frame is skipped: a logger's frame holds at most
 * 100 records, so beyond that the frame is junk, and each record tried costs an exception.
 */
export const MAX_BAD_RECORDS = 100;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();
const NAME_BYTES = LOG_NAMES.map((name) => ENCODER.encode(name));
/** Fields of each message's tuple: client details for downloads and searches, else an agent. */
const SIZES = LOG_NAMES.map((name) => LOG_TABLES[name].columns.length);
/** The longest text each field's column takes (0: not text), per message. */
const LIMITS = LOG_NAMES.map((name) => LOG_TABLES[name].columns.map(([, limit]) => limit));
const [OPEN, CLOSE, COMMA, QUOTE, BACKSLASH, TAB, NEWLINE] = [
  0x5b,
  0x5d,
  0x2c,
  0x22,
  0x5c,
  0x09,
  0x0a,
];

/** How rows are written: PostgreSQL's COPY text format, or JSON arrays. */
export type RowFormat = "copy" | "json";

/** The bytes that frame rows and fields in each format. */
interface Syntax {
  /** Before and after a row (JSON's brackets), between rows, between fields. */
  open: number | null;
  close: number | null;
  rowSeparator: number | null;
  rowEnd: number | null;
  fieldSeparator: number;
  /** Around a text (JSON's quotes). */
  quote: number | null;
  nullValue: Uint8Array;
}

const SYNTAX: Record<RowFormat, Syntax> = {
  json: {
    open: OPEN,
    close: CLOSE,
    rowSeparator: COMMA,
    rowEnd: null,
    fieldSeparator: COMMA,
    quote: QUOTE,
    nullValue: ENCODER.encode("null"),
  },
  copy: {
    open: null,
    close: null,
    rowSeparator: null,
    rowEnd: NEWLINE,
    fieldSeparator: TAB,
    quote: null,
    nullValue: ENCODER.encode("\\N"),
  },
};
class Fallback extends Error {}

const NO_ERRORS: ProtocolError[] = [];

/** One message's rows as UTF-8 text, and where each row starts. */
class TextRows {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  starts: number[] = [];

  constructor(readonly format: RowFormat) {}

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  /** The rows `[from, to)`: COPY lines, or a JSON array. */
  text(from = 0, to = this.starts.length): string {
    const json = this.format === "json";
    if (from >= to) return json ? "[]" : "";
    const start = this.starts[from];
    // A JSON row is followed by a comma before the next one.
    const end = to < this.starts.length ? this.starts[to] - (json ? 1 : 0) : this.length;
    const text = DECODER.decode(this.bytes.subarray(start, end));
    return json ? `[${text}]` : text;
  }
}

/** Access-log rows waiting to be written, as text per message name. */
export class AccessLogRows {
  /** How the rows are written. */
  readonly format: RowFormat;
  #syntax: Syntax;
  #rows: TextRows[];
  #count = 0;
  /** The last time text seen, and its bytes: lines mostly share their second. */
  #lastTime = new Uint8Array(0);

  /** An empty buffer writing `format` (default: COPY text). */
  constructor(format: RowFormat = "copy") {
    this.format = format;
    this.#syntax = SYNTAX[format];
    this.#rows = LOG_NAMES.map(() => new TextRows(format));
  }

  /** How many rows are buffered. */
  get length(): number {
    return this.#count;
  }

  /** Forget every row, keeping the memory for the next batch (megabytes, at a busy site). */
  clear(): void {
    for (const rows of this.#rows) {
      rows.length = 0;
      rows.starts = [];
    }
    this.#count = 0;
  }

  /**
   * Add the records of one frame: a lumberjack message, or several back to back (a CBOR
   * sequence, as piw's logger sends them). Each record added counts one for its name in
   * `counts`. Returns the errors of the malformed records, which are skipped (with the rest of
   * the frame when where one ends cannot be told, or after {@link MAX_BAD_RECORDS} of them).
   */
  addFrame(frame: Uint8Array, counts: Map<string, number>): ProtocolError[] {
    if (frame.length === 0) {
      return [new ProtocolError(lumberjackProtocol.name, undefined, "empty frame")];
    }
    let errors = NO_ERRORS;
    const reader = new CborReader(frame);
    let pos = 0;
    while (pos < frame.length) {
      const start = pos;
      let kind: number;
      try {
        reader.pos = start;
        kind = this.#addFast(reader);
        pos = reader.pos;
      } catch (error) {
        if (!(error instanceof Fallback) && !(error instanceof RangeError)) throw error;
        try {
          pos = cborItemEnd(frame, start);
          kind = this.#addDecoded(frame.subarray(start, pos));
        } catch (error) {
          if (!(error instanceof ProtocolError) && !(error instanceof CborError)) throw error;
          if (errors === NO_ERRORS) errors = [];
          errors.push(
            error instanceof ProtocolError ? error : new ProtocolError(
              lumberjackProtocol.name,
              undefined,
              `unable to deserialize data: ${error.message}`,
            ),
          );
          // Past a record that cannot be delimited, nothing else can be either.
          if (pos === start) break;
          // More bad records than a logger's frame holds: junk, not worth taking apart.
          if (errors.length >= MAX_BAD_RECORDS && pos < frame.length) {
            errors.push(
              new ProtocolError(
                lumberjackProtocol.name,
                undefined,
                `${frame.length - pos} bytes after ${MAX_BAD_RECORDS} malformed records skipped`,
              ),
            );
            break;
          }
          continue;
        }
      }
      this.#count++;
      const name = LOG_NAMES[kind];
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return errors;
  }

  /** Every buffered row as text per message name (one write's worth). */
  text(): AccessLogText | AccessLogJson {
    const text: AccessLogText = {};
    this.#rows.forEach((rows, kind) => {
      if (rows.starts.length) text[LOG_NAMES[kind]] = rows.text();
    });
    return text;
  }

  /** How many rows of message `name` are buffered. */
  count(name: LogName): number {
    return this.#rows[LOG_NAMES.indexOf(name)].starts.length;
  }

  /** Rows `[from, to)` of message `name` alone (to find the bad rows of a failed batch). */
  slice(name: LogName, from: number, to: number): string {
    return this.#rows[LOG_NAMES.indexOf(name)].text(from, to);
  }

  #addDecoded(frame: Uint8Array): number {
    const msg = decodeMessage(lumberjackProtocol, frame);
    const kind = LOG_NAMES.indexOf(msg.name as LogName);
    const rows = this.#rows[kind];
    const limits = LIMITS[kind];
    const fields = (msg.data as unknown[]).map((value, i) => {
      if (value === null || value === undefined) return null;
      const text = value instanceof Date ? formatDatetime(value) : String(value);
      return limits[i] ? Array.from(text).slice(0, limits[i]).join("") : text;
    });
    const line = this.format === "json"
      ? JSON.stringify(fields)
      : fields.map((field) => field === null ? "\\N" : escapeCopy(field)).join("\t") + "\n";
    const bytes = ENCODER.encode(line);
    if (rows.starts.length && this.#syntax.rowSeparator !== null) {
      rows.reserve(1);
      rows.bytes[rows.length++] = this.#syntax.rowSeparator;
    }
    rows.starts.push(rows.length);
    rows.reserve(bytes.length);
    rows.bytes.set(bytes, rows.length);
    rows.length += bytes.length;
    return kind;
  }

  /** Add the record at `r.pos`, moving past it; its kind. */
  #addFast(r: CborReader): number {
    const fail = (): never => {
      throw new Fallback();
    };
    const b = r.data;
    if (r.head(MAJOR_ARRAY) !== 2) fail();
    const nameLength = r.head(MAJOR_TEXT);
    const nameAt = r.pos;
    const kind = NAME_BYTES.findIndex((name) =>
      name.length === nameLength && name.every((byte, i) => b[nameAt + i] === byte)
    );
    if (kind < 0) fail();
    r.pos = nameAt + nameLength;
    const size = SIZES[kind];
    if (r.head(MAJOR_ARRAY) !== size) fail();
    const rows = this.#rows[kind];
    const syntax = this.#syntax;
    const limits = LIMITS[kind];
    const rowStart = rows.length;
    const hadRows = rows.starts.length > 0;
    // Room for the whole frame as text: each text gains two quotes and a comma, nulls grow.
    rows.reserve(b.length * 2 + 64);
    const out = rows.bytes;
    let at = rowStart;
    if (hadRows && syntax.rowSeparator !== null) out[at++] = syntax.rowSeparator;
    const start = at;
    if (syntax.open !== null) out[at++] = syntax.open;
    for (let field = 0; field < size; field++) {
      if (field) out[at++] = syntax.fieldSeparator;
      if (field === 2 && b[r.pos++] !== TAG_DATETIME_HEAD) fail();
      if (field >= 3 && size === 13 && b[r.pos] === CBOR_NULL) {
        r.pos++;
        out.set(syntax.nullValue, at);
        at += syntax.nullValue.length;
        continue;
      }
      const n = r.head(MAJOR_TEXT);
      if (n < 0) fail();
      let pos = r.pos;
      const end = pos + n;
      if (end > b.length) fail();
      if (field === 2) this.#checkTime(b.subarray(pos, end));
      if (syntax.quote !== null) out[at++] = syntax.quote;
      // Only printable ASCII without quotes or backslashes is copied: neither JSON nor COPY
      // needs anything escaped then, and a character is a byte (for the column's limit).
      const limit = limits[field] && n > limits[field] ? pos + limits[field] : end;
      for (; pos < end; pos++) {
        const byte = b[pos];
        if (byte < 0x20 || byte > 0x7e || byte === QUOTE || byte === BACKSLASH) fail();
        if (pos < limit) out[at++] = byte;
      }
      r.pos = end;
      if (syntax.quote !== null) out[at++] = syntax.quote;
    }
    if (syntax.close !== null) out[at++] = syntax.close;
    if (syntax.rowEnd !== null) out[at++] = syntax.rowEnd;
    rows.length = at;
    rows.starts.push(start);
    return kind;
  }

  /** Check a datetime's text as the protocol does (throws RangeError), once per new second. */
  #checkTime(text: Uint8Array): void {
    const last = this.#lastTime;
    if (text.length === last.length && text.every((byte, i) => last[i] === byte)) return;
    parseDatetime(DECODER.decode(text));
    this.#lastTime = text.slice();
  }
}

/** A text as a field of PostgreSQL's COPY text format. */
function escapeCopy(text: string): string {
  return text.replace(
    /[\\\t\n\r]/g,
    (c) => c === "\t" ? "\\t" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\\\",
  );
}

/** COPY text lines as the JSON rows of the `log_*` functions (to retry them one by one). */
export function copyLinesToJson(text: string): string {
  const unescape = (field: string) =>
    field === "\\N"
      ? null
      : field.replace(/\\(.)/g, (_, c: string) =>
        c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c);
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  return JSON.stringify(lines.map((line) => line.split("\t").map(unescape)));
}
