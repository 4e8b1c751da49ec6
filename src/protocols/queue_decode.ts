/**
 * A decoder of its own for TheArchitect's QUEUE (`["QUEUE", {abi: [[pkg, ver], …]}]`), used by
 * SlaveDriver. A QUEUE holds up to 100,000 versions per ABI, all of them long-lived; decoded by
 * the general decoder, they would teach V8 that the general decoder's objects live long, and
 * V8 would from then on allocate every decoded slave message straight into the old generation
 * (allocation-site pretenuring): garbage that is only freed by full collections and that makes
 * each young-generation collection slower (measured: 1 ms became 10–17 ms, the SlaveDriver's
 * p99 latency doubled). Decoding here keeps those allocation sites apart.
 * @module
 */
import type { BuildQueue } from "./internal.ts";
import type { PackageVersion } from "./shapes.ts";

const TEXT_DECODER = new TextDecoder("utf-8", { fatal: true });
const QUEUE_NAME = [0x51, 0x55, 0x45, 0x55, 0x45]; // "QUEUE"

class NotPlain extends Error {}

/**
 * The build queue in a QUEUE frame written the usual way (definite lengths, text strings,
 * pairs); null for anything else, which the general decoder then validates and explains.
 */
export function decodeQueueFrame(frame: Uint8Array): BuildQueue | null {
  try {
    return new QueueReader(frame).read();
  } catch (error) {
    if (error instanceof NotPlain || error instanceof RangeError || error instanceof TypeError) {
      return null;
    }
    throw error;
  }
}

class QueueReader {
  #bytes: Uint8Array;
  #pos = 0;
  /** Versions repeat a great deal ("1.0"): one string each. */
  #versions = new Map<string, string>();

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  read(): BuildQueue {
    const b = this.#bytes;
    if (b[this.#pos++] !== 0x82 || b[this.#pos++] !== 0x65) throw new NotPlain();
    for (const byte of QUEUE_NAME) if (b[this.#pos++] !== byte) throw new NotPlain();
    const abis = this.#head(5);
    const queue: BuildQueue = {};
    for (let a = 0; a < abis; a++) {
      const abi = this.#text();
      const count = this.#head(4);
      const items: PackageVersion[] = new Array(count);
      for (let i = 0; i < count; i++) {
        if (b[this.#pos++] !== 0x82) throw new NotPlain();
        const pkg = this.#text();
        const version = this.#text();
        let shared = this.#versions.get(version);
        if (shared === undefined) this.#versions.set(version, shared = version);
        items[i] = [pkg, shared];
      }
      if (Object.hasOwn(queue, abi)) throw new NotPlain();
      queue[abi] = items;
    }
    if (this.#pos !== b.length) throw new NotPlain();
    return queue;
  }

  /** A definite-length head of `major`; its argument. */
  #head(major: number): number {
    const b = this.#bytes;
    const initial = b[this.#pos++];
    if (initial >> 5 !== major) throw new NotPlain();
    const info = initial & 31;
    if (info < 24) return info;
    if (info === 24) return b[this.#pos++];
    if (info === 25) return (b[this.#pos++] << 8) | b[this.#pos++];
    if (info === 26) {
      const n = ((b[this.#pos] << 24) >>> 0) + (b[this.#pos + 1] << 16) +
        (b[this.#pos + 2] << 8) + b[this.#pos + 3];
      this.#pos += 4;
      if (n > b.length) throw new NotPlain();
      return n;
    }
    throw new NotPlain();
  }

  #text(): string {
    const n = this.#head(3);
    const end = this.#pos + n;
    if (end > this.#bytes.length) throw new NotPlain();
    const text = TEXT_DECODER.decode(this.#bytes.subarray(this.#pos, end));
    this.#pos = end;
    return text;
  }
}
