/**
 * Lumberjack's buffer: lumberjack frames turned straight into the JSON that the set-based
 * `log_*` database functions take (`src/db/access.ts`). Millions of records of two fixed shapes
 * arrive, so a frame of the usual form (ASCII text, a tag 0 time) is copied into the JSON byte
 * for byte, without building strings, arrays or Dates; anything else goes through
 * `decodeMessage`, which validates and explains (`ProtocolError`).
 * @module
 */
import type { AccessLogJson } from "../db/mod.ts";
import { decodeMessage, lumberjackProtocol } from "../protocols/mod.ts";
import { parseDatetime } from "../protocols/values.ts";

/** The lumberjack messages, in the order of their buffers. */
export const LOG_NAMES = ["LOGDOWNLOAD", "LOGSEARCH", "LOGPROJECT", "LOGJSON", "LOGPAGE"] as const;

/** The name of a lumberjack message. */
export type LogName = typeof LOG_NAMES[number];

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();
const NAME_BYTES = LOG_NAMES.map((name) => ENCODER.encode(name));
/** Fields of each message's tuple: client details for downloads and searches, else an agent. */
const SIZES = [13, 13, 4, 4, 4];
const [OPEN, CLOSE, COMMA, QUOTE, BACKSLASH] = [0x5b, 0x5d, 0x2c, 0x22, 0x5c];
const NULL_JSON = ENCODER.encode("null");
const TAG_DATETIME_TEXT = 0xc0;
const CBOR_NULL = 0xf6;

class Fallback extends Error {}

/** One message's rows: `row,row,...` as UTF-8 JSON, and where each row starts. */
class JsonRows {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  starts: number[] = [];

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  /** The rows `[from, to)` as a JSON array. */
  json(from = 0, to = this.starts.length): string {
    if (from >= to) return "[]";
    const start = this.starts[from];
    const end = to < this.starts.length ? this.starts[to] - 1 : this.length;
    return `[${DECODER.decode(this.bytes.subarray(start, end))}]`;
  }
}

/** Access-log rows waiting to be written, as JSON per message name. */
export class AccessLogRows {
  #rows = LOG_NAMES.map(() => new JsonRows());
  #count = 0;
  /** The last time text seen, and its bytes: lines mostly share their second. */
  #lastTime = new Uint8Array(0);

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

  /** Add the record in one lumberjack frame; its name. Throws `ProtocolError` when malformed. */
  add(frame: Uint8Array): LogName {
    let kind: number;
    try {
      kind = this.#addFast(frame);
    } catch (error) {
      if (!(error instanceof Fallback) && !(error instanceof RangeError)) throw error;
      kind = this.#addDecoded(frame);
    }
    this.#count++;
    return LOG_NAMES[kind];
  }

  /** Every buffered row as JSON per message name (one write's worth). */
  json(): AccessLogJson {
    const json: AccessLogJson = {};
    this.#rows.forEach((rows, kind) => {
      if (rows.starts.length) json[LOG_NAMES[kind]] = rows.json();
    });
    return json;
  }

  /** Each buffered row on its own, with its message name (to find the bad one in a batch). */
  *rows(): Generator<[LogName, AccessLogJson]> {
    for (let kind = 0; kind < LOG_NAMES.length; kind++) {
      const rows = this.#rows[kind];
      for (let i = 0; i < rows.starts.length; i++) {
        yield [LOG_NAMES[kind], { [LOG_NAMES[kind]]: rows.json(i, i + 1) }];
      }
    }
  }

  #startRow(rows: JsonRows): void {
    if (rows.starts.length) {
      rows.reserve(1);
      rows.bytes[rows.length++] = COMMA;
    }
    rows.starts.push(rows.length);
  }

  #addDecoded(frame: Uint8Array): number {
    const msg = decodeMessage(lumberjackProtocol, frame);
    const kind = LOG_NAMES.indexOf(msg.name as LogName);
    const rows = this.#rows[kind];
    const json = ENCODER.encode(JSON.stringify(msg.data));
    this.#startRow(rows);
    rows.reserve(json.length);
    rows.bytes.set(json, rows.length);
    rows.length += json.length;
    return kind;
  }

  #addFast(b: Uint8Array): number {
    let pos = 0;
    const fail = (): never => {
      throw new Fallback();
    };
    /** The length of the text item at `pos` (≤ 65535 bytes), moving `pos` to its bytes. */
    const textLength = (): number => {
      const head = b[pos++];
      if (head >> 5 !== 3) fail();
      const info = head & 31;
      if (info < 24) return info;
      if (info === 24) return b[pos++];
      if (info === 25) return (b[pos++] << 8) | b[pos++];
      return fail();
    };
    if (b[pos++] !== 0x82) fail();
    const nameLength = textLength();
    const kind = NAME_BYTES.findIndex((name) =>
      name.length === nameLength && name.every((byte, i) => b[pos + i] === byte)
    );
    if (kind < 0) fail();
    pos += nameLength;
    const size = SIZES[kind];
    if (b[pos++] !== (0x80 | size)) fail();
    const rows = this.#rows[kind];
    const rowStart = rows.length;
    const hadRows = rows.starts.length > 0;
    // Room for the whole frame as JSON: each text gains two quotes and a comma, nulls grow.
    rows.reserve(b.length * 2 + 64);
    const out = rows.bytes;
    let at = rowStart;
    if (hadRows) out[at++] = COMMA;
    const start = at;
    out[at++] = OPEN;
    for (let field = 0; field < size; field++) {
      if (field) out[at++] = COMMA;
      if (field === 2 && b[pos++] !== TAG_DATETIME_TEXT) fail();
      if (field >= 3 && size === 13 && b[pos] === CBOR_NULL) {
        pos++;
        out.set(NULL_JSON, at);
        at += NULL_JSON.length;
        continue;
      }
      const n = textLength();
      const end = pos + n;
      if (end > b.length) fail();
      if (field === 2) this.#checkTime(b.subarray(pos, end));
      out[at++] = QUOTE;
      // Only printable ASCII without quotes or backslashes is copied; JSON needs nothing else.
      for (; pos < end; pos++) {
        const byte = b[pos];
        if (byte < 0x20 || byte > 0x7e || byte === QUOTE || byte === BACKSLASH) fail();
        out[at++] = byte;
      }
      out[at++] = QUOTE;
    }
    out[at++] = CLOSE;
    if (pos !== b.length) fail();
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
