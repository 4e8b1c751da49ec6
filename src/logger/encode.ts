/**
 * A fast encoder for lumberjack messages. `encodeMessage` validates and walks any value; the
 * logger sends millions of records of two fixed shapes, so it writes their CBOR directly —
 * byte for byte what `encodeMessage(lumberjackProtocol.reversed(), …)` gives (the tests
 * compare the two).
 * @module
 */
import { formatDatetime } from "../protocols/values.ts";
import type { LogMessage } from "./classify.ts";

const TAG_DATETIME_TEXT = 0xc0;
const NULL = 0xf6;
const ENCODER = new TextEncoder();

class Writer {
  bytes = new Uint8Array(1024);
  length = 0;

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.bytes[this.length++] = b;
  }

  /** A CBOR head: major type and argument, in the shortest form (as cbor2 writes). */
  head(major: number, n: number): void {
    this.reserve(5);
    const m = major << 5;
    const b = this.bytes;
    if (n < 24) b[this.length++] = m | n;
    else if (n < 0x100) {
      b[this.length++] = m | 24;
      b[this.length++] = n;
    } else if (n < 0x10000) {
      b[this.length++] = m | 25;
      b[this.length++] = n >> 8;
      b[this.length++] = n & 0xff;
    } else {
      b[this.length++] = m | 26;
      b[this.length++] = n >>> 24;
      b[this.length++] = (n >> 16) & 0xff;
      b[this.length++] = (n >> 8) & 0xff;
      b[this.length++] = n & 0xff;
    }
  }

  text(s: string): void {
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const utf8 = ENCODER.encode(s);
      this.head(3, utf8.length);
      this.reserve(utf8.length);
      this.bytes.set(utf8, this.length);
      this.length += utf8.length;
      return;
    }
    this.head(3, s.length);
    this.reserve(s.length);
    const b = this.bytes;
    for (let i = 0; i < s.length; i++) b[this.length++] = s.charCodeAt(i);
  }
}

const writer = new Writer();
let lastTime = 0;
let lastTimeText = "";

/** The CBOR frame of a lumberjack message (`[name, data]`). */
export function encodeLogMessage(msg: LogMessage): Uint8Array {
  writer.length = 0;
  writeLogMessage(writer, msg);
  return writer.bytes.slice(0, writer.length);
}

/**
 * Lumberjack messages back to back in one frame (a CBOR sequence): what piw's logger sends, as
 * one frame per record costs ZeroMQ (and the FFI) more than encoding the record.
 */
export class LogFrame {
  #writer = new Writer();
  /** How many records it holds. */
  count = 0;

  /** Append one message. */
  add(msg: LogMessage): void {
    writeLogMessage(this.#writer, msg);
    this.count++;
  }

  /** Its length in bytes. */
  get size(): number {
    return this.#writer.length;
  }

  /** The frame so far: a view, valid until the next `add` or `clear`. */
  bytes(): Uint8Array {
    return this.#writer.bytes.subarray(0, this.#writer.length);
  }

  /** Empty it, keeping the memory. */
  clear(): void {
    this.#writer.length = 0;
    this.count = 0;
  }
}

function writeLogMessage(w: Writer, msg: LogMessage): void {
  w.head(4, 2);
  w.text(msg.name);
  const data = msg.data;
  w.head(4, data.length);
  for (const value of data) {
    if (value === null) w.byte(NULL);
    else if (typeof value === "string") w.text(value);
    else {
      // Times repeat from line to line; format each second once.
      const ms = value.getTime();
      if (ms !== lastTime || lastTimeText === "") {
        lastTimeText = formatDatetime(value);
        lastTime = ms;
      }
      w.byte(TAG_DATETIME_TEXT);
      w.text(lastTimeText);
    }
  }
}
