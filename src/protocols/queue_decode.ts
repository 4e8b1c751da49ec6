/**
 * A decoder of its own for TheArchitect's QUEUE (`["QUEUE", {abi: [[pkg, ver], …]}]`), used by
 * SlaveDriver. A QUEUE holds up to 100,000 versions per ABI, all of them long-lived; decoded by
 * the general decoder, they would teach V8 that the general decoder's objects live long, and
 * V8 would from then on allocate every decoded slave message straight into the old generation
 * (allocation-site pretenuring): garbage that is only freed by full collections and that makes
 * each young-generation collection slower (measured: 1 ms became 10–17 ms, the SlaveDriver's
 * p99 latency doubled). Decoding here keeps those allocation sites apart; it reads with the
 * primitives of `cbor_io.ts` (heads and texts, which allocate no objects of their own).
 * @module
 */
import type { BuildQueue } from "./internal.ts";
import type { PackageVersion } from "./shapes.ts";
import { CborError, CborReader, MAJOR_ARRAY, MAJOR_MAP, MAJOR_TEXT } from "./cbor_io.ts";

class NotPlain extends Error {}

/**
 * The build queue in a QUEUE frame written the usual way (definite lengths, text strings,
 * pairs); null for anything else, which the general decoder then validates and explains.
 */
export function decodeQueueFrame(frame: Uint8Array): BuildQueue | null {
  try {
    return readQueue(new CborReader(frame));
  } catch (error) {
    if (error instanceof NotPlain || error instanceof CborError) return null;
    throw error;
  }
}

function readQueue(r: CborReader): BuildQueue {
  if (r.head(MAJOR_ARRAY) !== 2 || text(r) !== "QUEUE") throw new NotPlain();
  /** Versions repeat a great deal ("1.0"): one string each. */
  const versions = new Map<string, string>();
  const abis = length(r, MAJOR_MAP);
  const queue: BuildQueue = {};
  for (let a = 0; a < abis; a++) {
    const abi = text(r);
    const count = length(r, MAJOR_ARRAY);
    const items: PackageVersion[] = new Array(count);
    for (let i = 0; i < count; i++) {
      if (r.head(MAJOR_ARRAY) !== 2) throw new NotPlain();
      const pkg = text(r);
      const version = text(r);
      let shared = versions.get(version);
      if (shared === undefined) versions.set(version, shared = version);
      items[i] = [pkg, shared];
    }
    if (Object.hasOwn(queue, abi)) throw new NotPlain();
    queue[abi] = items;
  }
  if (r.pos !== r.data.length) throw new NotPlain();
  return queue;
}

/** The length of the array or map next, at most one entry a byte left. */
function length(r: CborReader, major: number): number {
  const n = r.head(major);
  if (n < 0 || n > r.data.length - r.pos) throw new NotPlain();
  return n;
}

function text(r: CborReader): string {
  const n = r.head(MAJOR_TEXT);
  if (n < 0) throw new NotPlain();
  return r.text(n);
}
