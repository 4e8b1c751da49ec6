/**
 * A fast encoder for lumberjack messages. `encodeMessage` validates and walks any value; the
 * logger sends millions of records of two fixed shapes, so it writes their CBOR directly —
 * byte for byte what `encodeMessage(lumberjackProtocol.reversed(), …)` gives (the tests
 * compare the two).
 * @module
 */
import { formatDatetime } from "../protocols/values.ts";
import { CBOR_NULL, CborWriter, MAJOR_ARRAY, TAG_DATETIME_HEAD } from "../protocols/cbor_io.ts";
import type { LogMessage } from "./classify.ts";

const writer = new CborWriter(1024);
let lastTime = 0;
let lastTimeText = "";

/** The CBOR frame of a lumberjack message (`[name, data]`). */
export function encodeLogMessage(msg: LogMessage): Uint8Array {
  writer.pos = 0;
  writeLogMessage(writer, msg);
  return writer.result();
}

/**
 * Lumberjack messages back to back in one frame (a CBOR sequence): what piw's logger sends, as
 * one frame per record costs ZeroMQ (and the FFI) more than encoding the record.
 */
export class LogFrame {
  #writer = new CborWriter(1024);
  /** How many records it holds. */
  count = 0;

  /** Append one message. */
  add(msg: LogMessage): void {
    writeLogMessage(this.#writer, msg);
    this.count++;
  }

  /** Its length in bytes. */
  get size(): number {
    return this.#writer.pos;
  }

  /** The frame so far: a view, valid until the next `add` or `clear`. */
  bytes(): Uint8Array {
    return this.#writer.buf.subarray(0, this.#writer.pos);
  }

  /** Empty it, keeping the memory. */
  clear(): void {
    this.#writer.pos = 0;
    this.count = 0;
  }
}

function writeLogMessage(w: CborWriter, msg: LogMessage): void {
  w.head(MAJOR_ARRAY, 2);
  w.text(msg.name);
  const data = msg.data;
  w.head(MAJOR_ARRAY, data.length);
  for (const value of data) {
    if (value === null) w.byte(CBOR_NULL);
    else if (typeof value === "string") w.text(value);
    else {
      // Times repeat from line to line; format each second once.
      const ms = value.getTime();
      if (ms !== lastTime || lastTimeText === "") {
        lastTimeText = formatDatetime(value);
        lastTime = ms;
      }
      w.byte(TAG_DATETIME_HEAD);
      w.text(lastTimeText);
    }
  }
}
