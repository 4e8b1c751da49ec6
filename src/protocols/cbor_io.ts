/**
 * CBOR's byte-level primitives: item heads in the shortest form (as piwheels' cbor2 writes them)
 * and text strings, written into a growable buffer or read at a position. The general codec
 * (`cbor.ts`) is built on them, and so are the fast paths that write or read fixed message
 * shapes directly (`queue_decode.ts`, `logger/encode.ts`, `logger/rows.ts`).
 * @module
 */

/** Malformed CBOR, or a value that has no CBOR encoding. */
export class CborError extends Error {
  /** Always `"CborError"`. */
  override name = "CborError";
}

/** Major types (the top three bits of an item's first byte). */
export const MAJOR_UINT = 0;
/** Negative integers. */
export const MAJOR_NEGINT = 1;
/** Byte strings. */
export const MAJOR_BYTES = 2;
/** Text strings. */
export const MAJOR_TEXT = 3;
/** Arrays. */
export const MAJOR_ARRAY = 4;
/** Maps. */
export const MAJOR_MAP = 5;
/** Tags. */
export const MAJOR_TAG = 6;
/** The whole item `null`. */
export const CBOR_NULL = 0xf6;
/** The head of tag 0 (a datetime as RFC 3339 text), one byte. */
export const TAG_DATETIME_HEAD = 0xc0;

/**
 * Texts up to this length are tried as ASCII first, copied char by char rather than through a
 * TextEncoder or TextDecoder call (an op, which costs more than the loop for short texts).
 */
const ASCII_FAST_MAX = 1024;
/** Decoding texts up to this length by hand stays cheaper than a TextDecoder call. */
const ASCII_DECODE_MAX = 64;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A growable buffer CBOR items are written into; `buf[0, pos)` holds what was written. */
export class CborWriter {
  /** The bytes (replaced by a bigger array as it grows). */
  buf: Uint8Array;
  /** A view of {@link buf}, for 64-bit numbers. */
  view: DataView;
  /** Bytes written so far. */
  pos = 0;

  /** An empty writer with room for `size` bytes to start with. */
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Make room for `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  /** One byte (a whole simple item such as {@link CBOR_NULL}, or a one-byte head). */
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** An item head of `major` with argument `n` (a safe integer ≥ 0) in its shortest form. */
  head(major: number, n: number): void {
    this.reserve(9);
    const mt = major << 5;
    const b = this.buf;
    if (n < 24) {
      b[this.pos++] = mt | n;
    } else if (n < 0x100) {
      b[this.pos++] = mt | 24;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = mt | 25;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else if (n < 0x100000000) {
      b[this.pos++] = mt | 26;
      b[this.pos++] = n >>> 24;
      b[this.pos++] = (n >> 16) & 0xff;
      b[this.pos++] = (n >> 8) & 0xff;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = mt | 27;
      this.view.setBigUint64(this.pos, BigInt(n));
      this.pos += 8;
    }
  }

  /** Raw bytes (the content of a byte string, after its head). */
  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** A text string item; throws {@link CborError} for a string with lone surrogates. */
  text(s: string): void {
    if (s.length <= ASCII_FAST_MAX && this.#ascii(s)) return;
    if (!s.isWellFormed()) throw new CborError("cannot encode a string with lone surrogates");
    const data = textEncoder.encode(s);
    this.head(MAJOR_TEXT, data.length);
    this.bytes(data);
  }

  /** Write `s` as a text string if it is all ASCII (then its UTF-8 is its char codes). */
  #ascii(s: string): boolean {
    const start = this.pos;
    this.head(MAJOR_TEXT, s.length);
    this.reserve(s.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.pos = start;
        return false;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
    return true;
  }

  /** A copy of what was written. */
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** UTF-8 bytes as text; throws {@link CborError} (saying before which `offset`) if invalid. */
export function utf8Text(bytes: Uint8Array, offset: number): string {
  if (bytes.length <= ASCII_DECODE_MAX) {
    // Short ASCII text (names, dates, versions) without a TextDecoder call.
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new CborError(`invalid UTF-8 in text string before offset ${offset}`);
  }
}

/** A read position in CBOR bytes. */
export class CborReader {
  /** The bytes read. */
  readonly data: Uint8Array;
  /** A view of {@link data}, for multi-byte numbers. */
  readonly view: DataView;
  /** Where the next item starts (initialised here: V8 then keeps it a small integer). */
  pos = 0;

  /** Read `data` from `pos`. */
  constructor(data: Uint8Array, pos = 0) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos = pos;
  }

  /** Throw {@link CborError} unless `n` more bytes are left. */
  need(n: number): void {
    if (this.pos + n > this.data.length) {
      throw new CborError(`truncated CBOR: need ${n} more byte(s) at offset ${this.pos}`);
    }
  }

  /**
   * The argument of a definite head of `major` with at most a 32-bit argument, moving past it;
   * -1 (not moving) for any other item or a head cut short, which the caller leaves to the
   * general decoder.
   */
  head(major: number): number {
    const b = this.data;
    const pos = this.pos;
    if (pos >= b.length) return -1;
    const initial = b[pos];
    if (initial >> 5 !== major) return -1;
    const info = initial & 31;
    if (info < 24) {
      this.pos = pos + 1;
      return info;
    }
    if (info === 24 && pos + 2 <= b.length) {
      this.pos = pos + 2;
      return b[pos + 1];
    }
    if (info === 25 && pos + 3 <= b.length) {
      this.pos = pos + 3;
      return (b[pos + 1] << 8) | b[pos + 2];
    }
    if (info === 26 && pos + 5 <= b.length) {
      this.pos = pos + 5;
      return this.view.getUint32(pos + 1);
    }
    return -1;
  }

  /** The `n` bytes at the position as UTF-8 text, moving past them; throws {@link CborError}. */
  text(n: number): string {
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return utf8Text(this.data.subarray(start, this.pos), this.pos);
  }
}
