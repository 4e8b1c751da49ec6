/**
 * A fast decoder for lumberjack messages, the counterpart of `encode.ts`: Lumberjack reads
 * millions of records of two fixed shapes, so it reads their CBOR directly and hands anything
 * else (other encodings, bad data) to `decodeMessage`, which validates and explains.
 * @module
 */
import { decodeMessage, lumberjackProtocol } from "../protocols/mod.ts";
import { parseDatetime } from "../protocols/values.ts";
import type { LogMessage } from "./classify.ts";

const DECODER = new TextDecoder("utf-8", { fatal: true });
const SIZES: Record<string, number> = {
  LOGDOWNLOAD: 13,
  LOGSEARCH: 13,
  LOGPROJECT: 4,
  LOGJSON: 4,
  LOGPAGE: 4,
};
let lastTimeText = "";
let lastTime: Date = new Date(0);

class Fallback extends Error {}

/** Decode one lumberjack frame; throws `ProtocolError` as `decodeMessage` does. */
export function decodeLogMessage(frame: Uint8Array): LogMessage {
  try {
    return fastDecode(frame);
  } catch (error) {
    if (!(error instanceof Fallback) && !(error instanceof RangeError)) throw error;
    return decodeMessage(lumberjackProtocol, frame) as LogMessage;
  }
}

function fastDecode(b: Uint8Array): LogMessage {
  let pos = 0;
  const fail = (): never => {
    throw new Fallback();
  };
  const arg = (info: number): number => {
    if (info < 24) return info;
    if (info === 24) return b[pos++];
    if (info === 25) return (b[pos++] << 8) | b[pos++];
    if (info === 26) {
      return ((b[pos++] << 24) >>> 0) + (b[pos++] << 16) + (b[pos++] << 8) + b[pos++];
    }
    return fail();
  };
  const text = (): string => {
    const head = b[pos++];
    if (head >> 5 !== 3) fail();
    const n = arg(head & 31);
    if (pos + n > b.length) fail();
    const s = DECODER.decode(b.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  if (b[pos++] !== 0x82) fail();
  const name = text();
  const size = SIZES[name];
  if (size === undefined || b[pos++] !== (0x80 | size)) fail();
  const data: (string | Date | null)[] = [text(), text()];
  if (b[pos++] !== 0xc0) fail();
  const time = text();
  if (time !== lastTimeText) {
    lastTime = parseDatetime(time);
    lastTimeText = time;
  }
  data.push(new Date(lastTime.getTime()));
  for (let i = 3; i < size; i++) {
    if (size === 13 && b[pos] === 0xf6) {
      pos++;
      data.push(null);
    } else data.push(text());
  }
  if (pos !== b.length) fail();
  return { name, data } as LogMessage;
}
