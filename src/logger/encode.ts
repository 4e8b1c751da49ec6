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
  return encodeLogFrame(msg).slice();
}

/**
 * The CBOR frame of a lumberjack message as a view of a buffer that the next call overwrites:
 * send (or copy) it before encoding another. Saves an allocation per line.
 */
export function encodeLogFrame(msg: LogMessage): Uint8Array {
  const w = writer;
  w.length = 0;
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
  return w.bytes.subarray(0, w.length);
}
