/**
 * CBOR codec producing byte-for-byte what piwheels' Python cbor2 (5.4) produces, with its
 * tags: 0/1 datetimes, 2/3 bignums, 258 sets, 2001 timedelta, 2002 NoData. Hand-written
 * rather than npm `cbor2` because decoding must keep whether a number was a CBOR float
 * (`1.0` vs `1`), which that library only offers by boxing every string and number.
 *
 * Decoded values: unsigned/negative ints → `number` (`bigint` beyond 2^53), floats →
 * {@link Float64}, text → `string`, bytes → `Uint8Array`, arrays → arrays, maps → plain objects
 * when every key is text (else `Map`), tag 0/1 → {@link PreciseDate}, 258 → `Set`,
 * 2001 → {@link TimeDelta}, 2002 → {@link NO_DATA}, other tags → {@link CborTag}.
 * @module
 */

import {
  CborTag,
  datetimeFromEpoch,
  Float64,
  formatDatetime,
  NO_DATA,
  parseDatetime,
  TimeDelta,
} from "./values.ts";
import { CborError, CborReader, CborWriter, utf8Text } from "./cbor_io.ts";

export { CborError };

const MAX_DEPTH = 256;
const TAG_DATETIME = 0;
const TAG_EPOCH = 1;
const TAG_BIGNUM = 2;
const TAG_NEG_BIGNUM = 3;
const TAG_SET = 258;
const TAG_TIMEDELTA = 2001;
const TAG_NODATA = 2002;
const UINT64_MAX = (1n << 64n) - 1n;

/** A head whose argument may be a bigint (up to 2^64 - 1). */
function bigHead(w: CborWriter, major: number, n: bigint): void {
  if (n <= 0xffffffffn) return w.head(major, Number(n));
  w.reserve(9);
  w.buf[w.pos++] = (major << 5) | 27;
  w.view.setBigUint64(w.pos, n);
  w.pos += 8;
}

function writeFloat(w: CborWriter, x: number): void {
  // cbor2 writes NaN and the infinities as half floats, every other float as float64.
  if (Number.isNaN(x)) return w.bytes(Uint8Array.of(0xf9, 0x7e, 0x00));
  if (x === Infinity) return w.bytes(Uint8Array.of(0xf9, 0x7c, 0x00));
  if (x === -Infinity) return w.bytes(Uint8Array.of(0xf9, 0xfc, 0x00));
  w.reserve(9);
  w.buf[w.pos++] = 0xfb;
  w.view.setFloat64(w.pos, x);
  w.pos += 8;
}

function describeForError(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return `symbol ${String(value)}`;
  const ctor = (value as object).constructor?.name;
  return ctor ? `a ${ctor}` : "an object";
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function writeInt(w: CborWriter, n: number | bigint): void {
  if (typeof n === "number") {
    if (n >= 0) w.head(0, n);
    else w.head(1, -1 - n);
    return;
  }
  if (n >= 0n) {
    if (n <= UINT64_MAX) return bigHead(w, 0, n);
    w.head(6, TAG_BIGNUM);
    return writeBytes(w, bigintBytes(n));
  }
  const m = -1n - n;
  if (m <= UINT64_MAX) return bigHead(w, 1, m);
  w.head(6, TAG_NEG_BIGNUM);
  writeBytes(w, bigintBytes(m));
}

function bigintBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

function writeBytes(w: CborWriter, data: Uint8Array): void {
  w.head(2, data.length);
  w.bytes(data);
}

function writeItem(w: CborWriter, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new CborError(`data nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case "string":
      return w.text(value);
    case "number":
      // Only safe integers are unambiguous ints; anything else is a float, as in Python.
      return Number.isSafeInteger(value) ? writeInt(w, value) : writeFloat(w, value);
    case "boolean":
      return w.byte(value ? 0xf5 : 0xf4);
    case "bigint":
      return writeInt(w, value);
    case "symbol":
      if (value === NO_DATA) {
        w.head(6, TAG_NODATA);
        return w.byte(0xf6);
      }
      break;
    case "object": {
      if (value === null) return w.byte(0xf6);
      if (Array.isArray(value)) {
        w.head(4, value.length);
        for (const item of value) writeItem(w, item, depth + 1);
        return;
      }
      if (value instanceof Float64) return writeFloat(w, value.value);
      if (value instanceof Uint8Array) return writeBytes(w, value);
      if (value instanceof Date) {
        let text: string;
        try {
          text = formatDatetime(value);
        } catch (e) {
          throw new CborError((e as Error).message);
        }
        w.head(6, TAG_DATETIME);
        return w.text(text);
      }
      if (value instanceof TimeDelta) {
        w.head(6, TAG_TIMEDELTA);
        w.head(4, 3);
        writeInt(w, value.days);
        writeInt(w, value.seconds);
        return writeInt(w, value.microseconds);
      }
      if (value instanceof Set) {
        w.head(6, TAG_SET);
        w.head(4, value.size);
        for (const item of value) writeItem(w, item, depth + 1);
        return;
      }
      if (value instanceof Map) {
        w.head(5, value.size);
        for (const [k, v] of value) {
          writeItem(w, k, depth + 1);
          writeItem(w, v, depth + 1);
        }
        return;
      }
      if (value instanceof CborTag) {
        if (typeof value.tag === "bigint") bigHead(w, 6, value.tag);
        else w.head(6, value.tag);
        return writeItem(w, value.value, depth + 1);
      }
      if (isPlainObject(value)) {
        const keys = Object.keys(value);
        w.head(5, keys.length);
        for (const k of keys) {
          w.text(k);
          writeItem(w, value[k], depth + 1);
        }
        return;
      }
    }
  }
  throw new CborError(`cannot encode ${describeForError(value)}`);
}

/**
 * Encode one value as CBOR the way piwheels' encoder would. Safe-integer numbers become ints,
 * other numbers and {@link Float64}s become float64 (so a float field holding a whole number
 * must be wrapped, which the schemas do).
 *
 * @example
 * ```ts
 * encodeCbor(["SLEEP", false]); // 82 65 534c454550 f4
 * ```
 */
export function encodeCbor(value: unknown): Uint8Array {
  // One writer reused for every message (allocating a buffer costs about a microsecond).
  const w = sharedWriter ?? new CborWriter();
  sharedWriter = null;
  try {
    w.pos = 0;
    writeItem(w, value, 0);
    return w.result();
  } finally {
    if (w.buf.length <= KEEP_WRITER_BYTES) sharedWriter = w;
  }
}

/** A writer that grew beyond this is dropped after use rather than kept. */
const KEEP_WRITER_BYTES = 1 << 16;
let sharedWriter: CborWriter | null = new CborWriter();

class Reader extends CborReader {
  u8(): number {
    this.need(1);
    return this.data[this.pos++];
  }

  /** An item's argument: a count, length, value or tag number; -1 for indefinite length. */
  argument(ai: number): number | bigint {
    if (ai < 24) return ai;
    let n: number | bigint;
    switch (ai) {
      case 24:
        return this.u8();
      case 25:
        this.need(2);
        n = this.view.getUint16(this.pos);
        this.pos += 2;
        return n;
      case 26:
        this.need(4);
        n = this.view.getUint32(this.pos);
        this.pos += 4;
        return n;
      case 27: {
        this.need(8);
        const big = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case 31:
        return -1;
      default:
        throw new CborError(`reserved additional information ${ai} at offset ${this.pos - 1}`);
    }
  }

  length(ai: number, what: string): number {
    const n = this.argument(ai);
    if (typeof n === "bigint" || (n >= 0 && n > this.data.length - this.pos)) {
      throw new CborError(`truncated CBOR: ${what} of length ${n} at offset ${this.pos}`);
    }
    return n;
  }

  /** The next item is the "break" stop code of an indefinite-length item. */
  atBreak(): boolean {
    this.need(1);
    if (this.data[this.pos] !== 0xff) return false;
    this.pos++;
    return true;
  }

  chunks(major: number): Uint8Array {
    const parts: Uint8Array[] = [];
    while (!this.atBreak()) {
      const ib = this.u8();
      if (ib >> 5 !== major || (ib & 31) === 31) {
        throw new CborError(`invalid chunk in indefinite-length string at offset ${this.pos - 1}`);
      }
      const n = this.length(ib & 31, "string chunk");
      parts.push(this.data.subarray(this.pos, this.pos + n));
      this.pos += n;
    }
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  item(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new CborError(`CBOR nested deeper than ${MAX_DEPTH} levels`);
    const start = this.pos;
    const ib = this.u8();
    const major = ib >> 5;
    const ai = ib & 31;
    switch (major) {
      case 0:
      case 1: {
        if (ai === 31) throw new CborError(`invalid integer at offset ${start}`);
        const n = this.argument(ai);
        if (major === 0) return n;
        return typeof n === "number" && n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n);
      }
      case 2:
      case 3: {
        let bytes: Uint8Array;
        if (ai === 31) {
          bytes = this.chunks(major);
        } else {
          const n = this.length(ai, major === 2 ? "byte string" : "text string");
          bytes = this.data.subarray(this.pos, this.pos + n);
          this.pos += n;
        }
        return major === 2 ? bytes.slice() : utf8Text(bytes, this.pos);
      }
      case 4: {
        const n = this.length(ai, "array");
        const out: unknown[] = [];
        if (n < 0) { while (!this.atBreak()) out.push(this.item(depth + 1)); }
        else for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5:
        return this.map(this.length(ai, "map"), depth);
      case 6: {
        if (ai === 31) throw new CborError(`invalid tag at offset ${start}`);
        const tag = this.argument(ai);
        return convertTag(tag, this.item(depth + 1), start);
      }
      default:
        return this.simple(ai, start);
    }
  }

  map(n: number, depth: number): unknown {
    const keys: unknown[] = [];
    const values: unknown[] = [];
    let textKeys = true;
    for (let i = 0; n < 0 ? !this.atBreak() : i < n; i++) {
      const k = this.item(depth + 1);
      keys.push(k);
      values.push(this.item(depth + 1));
      if (typeof k !== "string") textKeys = false;
    }
    if (!textKeys) return new Map(keys.map((k, i) => [k, values[i]]));
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      // Plain assignment of "__proto__" would replace the prototype instead of adding a key.
      if (k === "__proto__") {
        Object.defineProperty(out, k, {
          value: values[i],
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        out[k] = values[i];
      }
    }
    return out;
  }

  simple(ai: number, start: number): unknown {
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25: {
        this.need(2);
        const half = this.view.getUint16(this.pos);
        this.pos += 2;
        return new Float64(halfToNumber(half));
      }
      case 26: {
        this.need(4);
        const x = this.view.getFloat32(this.pos);
        this.pos += 4;
        return new Float64(x);
      }
      case 27: {
        this.need(8);
        const x = this.view.getFloat64(this.pos);
        this.pos += 8;
        return new Float64(x);
      }
      case 31:
        throw new CborError(`unexpected break at offset ${start}`);
      default:
        throw new CborError(
          `unsupported simple value (additional information ${ai}) at offset ${start}`,
        );
    }
  }
}

function halfToNumber(half: number): number {
  const exp = (half >> 10) & 0x1f;
  const mant = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

function convertTag(tag: number | bigint, content: unknown, offset: number): unknown {
  const fail = (what: string): never => {
    throw new CborError(`invalid tag ${tag} at offset ${offset}: ${what}`);
  };
  switch (tag) {
    case TAG_DATETIME:
      if (typeof content !== "string") return fail("datetime must be a text string");
      try {
        return parseDatetime(content);
      } catch (e) {
        return fail((e as Error).message);
      }
    case TAG_EPOCH: {
      const seconds = content instanceof Float64 ? content.value : content;
      if (typeof seconds !== "number") return fail("epoch must be a number");
      try {
        return datetimeFromEpoch(seconds);
      } catch (e) {
        return fail((e as Error).message);
      }
    }
    case TAG_BIGNUM:
    case TAG_NEG_BIGNUM: {
      if (!(content instanceof Uint8Array)) return fail("bignum must be a byte string");
      let n = 0n;
      for (const b of content) n = (n << 8n) | BigInt(b);
      if (tag === TAG_NEG_BIGNUM) n = -1n - n;
      const small = Number(n);
      return Number.isSafeInteger(small) ? small : n;
    }
    case TAG_SET:
      if (!Array.isArray(content)) return fail("set must be an array");
      return new Set(content);
    case TAG_TIMEDELTA: {
      // piwheels builds timedelta(*value), so 0-3 numbers of any kind are accepted.
      if (!Array.isArray(content) || content.length > 3) {
        return fail("timedelta must be an array of up to 3 numbers");
      }
      const parts = content.map((p) => p instanceof Float64 ? p.value : p);
      if (!parts.every((p) => typeof p === "number")) {
        return fail("timedelta must be an array of up to 3 numbers");
      }
      try {
        return new TimeDelta(...(parts as number[]));
      } catch (e) {
        return fail((e as Error).message);
      }
    }
    case TAG_NODATA:
      return NO_DATA;
    default:
      return new CborTag(tag, content);
  }
}

/**
 * Decode exactly one CBOR item filling `bytes`; throws {@link CborError} on malformed or
 * truncated input, trailing bytes, or an invalid tag 0/1/2001 payload.
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const value = r.item(0);
  if (r.pos !== bytes.length) {
    throw new CborError(`${bytes.length - r.pos} trailing byte(s) after the CBOR item`);
  }
  return value;
}

/**
 * Where the CBOR item starting at `start` in `bytes` ends (to split a CBOR sequence); throws
 * {@link CborError} when it is malformed or truncated.
 */
export function cborItemEnd(bytes: Uint8Array, start: number): number {
  const r = new Reader(bytes);
  r.pos = start;
  r.item(0);
  return r.pos;
}
