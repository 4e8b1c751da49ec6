/**
 * PEP 658 metadata files: `<wheel>.metadata` beside each wheel in `simple/<pkg>/`, holding the
 * wheel's METADATA exactly as stored in it. An index may only advertise one
 * (`data-core-metadata`) when the file is really there, or pip fails, so the hash the index
 * shows is always that of the file on disk, checked each time the index is written.
 * @module
 */
import { extractWheelMetadata } from "../wheel/mod.ts";
import type { Logger } from "../log.ts";
import { writeFileAtomic } from "./atomic.ts";

/** SHA-256 of `bytes`, lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Writes `.metadata` files on demand and remembers their hashes. */
export class MetadataStore {
  /** Hash of each `.metadata` file by path; wheels never change, so neither do these. */
  readonly #known = new Map<string, string>();
  readonly #log: Logger | null;

  /** A store that logs wheels it cannot read to `log`. */
  constructor(log: Logger | null = null) {
    this.#log = log;
  }

  /**
   * The SHA-256 of `<dir>/<published>.metadata`, first extracting it from the wheel
   * `<dir>/<stored>` when it is missing; null when there is no wheel to extract it from or the
   * wheel is unreadable (then nothing may be advertised). `present` is the set of names in
   * `dir` (one directory read per project instead of two stats per file); the store adds the
   * metadata files it writes to it.
   */
  async ensure(
    dir: string,
    published: string,
    stored: string,
    present: Set<string>,
  ): Promise<string | null> {
    const name = `${published}.metadata`;
    const path = `${dir}/${name}`;
    if (present.has(name)) {
      let hash = this.#known.get(path);
      if (hash === undefined) {
        hash = await sha256Hex(Deno.readFileSync(path));
        this.#known.set(path, hash);
      }
      return hash;
    }
    if (!present.has(stored)) return null;
    let bytes: Uint8Array;
    try {
      bytes = await extractWheelMetadata(`${dir}/${stored}`);
    } catch (error) {
      this.#log?.warning(`no metadata for ${dir}/${stored}: ${(error as Error).message}`);
      return null;
    }
    writeFileAtomic(path, bytes);
    present.add(name);
    const hash = await sha256Hex(bytes);
    this.#known.set(path, hash);
    return hash;
  }

  /** Forget the metadata file at `path` (it was deleted). */
  forget(path: string): void {
    this.#known.delete(path);
  }

  /** Forget every metadata file below `dir` (a package's directory was removed). */
  forgetDir(dir: string): void {
    const prefix = `${dir}/`;
    for (const path of this.#known.keys()) if (path.startsWith(prefix)) this.#known.delete(path);
  }
}

/** The names in `dir`, empty when it does not exist. */
export function listDir(dir: string): Set<string> {
  const names = new Set<string>();
  try {
    for (const entry of Deno.readDirSync(dir)) names.add(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}
