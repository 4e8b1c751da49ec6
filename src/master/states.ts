/**
 * Protocol state carried between messages, each with the methods that change it (piwheels'
 * `states` module): a built file ({@link FileState}), a build ({@link BuildState}), a build
 * slave's progress through the slave protocol ({@link SlaveState}) and one incoming file
 * transfer ({@link TransferState}). Handlers in the tasks stay short because the rules live here.
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import {
  type BuildStateTuple,
  type BuiltData,
  type Dependencies,
  FILE_CHUNK_SIZE,
  type FileStateTuple,
  type MessageOf,
  NO_DATA,
  type PackageVersion,
  PreciseDate,
  type slaveDriverProtocol,
  type SlaveEvent,
  type SlaveHello,
  type SlaveStats,
  type TimeDelta,
} from "../protocols/mod.ts";
import { PiwError } from "../errors.ts";
import { isNormalisedVersion, parseWheelFilename } from "../wheel/mod.ts";
import { InvalidWheelFilenameError } from "../wheel/errors.ts";
import type { WheelFacts } from "../wheel/facts.ts";

const ARMV7L = "linux_armv7l";
const ARMV6L = "linux_armv6l";
const SHA256_RE = /^[0-9a-f]{64}$/;

/** The armv6l name of an armv7l wheel (piwheels serves armv7l builds to armv6l Pis too). */
export function armv6lTwinName(filename: string): string {
  return filename.slice(0, -`${ARMV7L}.whl`.length) + `${ARMV6L}.whl`;
}

/** One file a build produced: its name, size, hash, tags, dependencies and transfer flag. */
export class FileState implements WheelFacts {
  /** Set once the master holds a verified copy (or, for an armv6l twin, from the start). */
  transferred: boolean;

  /** A file state from its fields; `transferred` is never sent on the wire. */
  constructor(
    readonly filename: string,
    readonly filesize: number,
    readonly filehash: string,
    readonly packageTag: string,
    readonly packageVersionTag: string,
    readonly pyVersionTag: string,
    readonly abiTag: string,
    readonly platformTag: string,
    readonly requiresPython: string | null,
    readonly dependencies: Dependencies,
    readonly location = "/simple",
    transferred = false,
  ) {
    this.transferred = transferred;
  }

  /** The file state of a BUILT or EXPECT message. */
  static fromMessage(t: FileStateTuple): FileState {
    return new FileState(...t);
  }

  /** The 11-field wire form (without the transferred flag). */
  asMessage(): FileStateTuple {
    return [
      this.filename,
      this.filesize,
      this.filehash,
      this.packageTag,
      this.packageVersionTag,
      this.pyVersionTag,
      this.abiTag,
      this.platformTag,
      this.requiresPython,
      this.dependencies,
      this.location,
    ];
  }

  /** Mark the file as safely on the master. */
  verified(): void {
    this.transferred = true;
  }

  /**
   * Why this file must not be accepted from a slave, or null if it may: the name becomes a path
   * on the master, so it must be a real wheel filename (no separators, no `..`) with a PEP 440
   * normalised version, and the hash must be a sha256 the transfer can be checked against.
   */
  problem(): string | null {
    try {
      const w = parseWheelFilename(this.filename);
      if (!isNormalisedVersion(w.version)) {
        return `${JSON.stringify(this.filename)}: version ${w.version} is not PEP 440 normalised`;
      }
    } catch (e) {
      if (e instanceof InvalidWheelFilenameError) return e.message;
      throw e;
    }
    if (!Number.isSafeInteger(this.filesize) || this.filesize < 0) {
      return `${this.filename}: bad size ${this.filesize}`;
    }
    if (!SHA256_RE.test(this.filehash)) return `${this.filename}: bad sha256 ${this.filehash}`;
    return null;
  }

  /** The armv6l twin of a linux_armv7l wheel (same bytes, already "transferred"), else null. */
  armv6lTwin(): FileState | null {
    if (this.platformTag !== ARMV7L) return null;
    return new FileState(
      armv6lTwinName(this.filename),
      this.filesize,
      this.filehash,
      this.packageTag,
      this.packageVersionTag,
      this.pyVersionTag,
      this.abiTag,
      ARMV6L,
      this.requiresPython,
      this.dependencies,
      this.location,
      true,
    );
  }
}

/** A build attempt of one package version for one ABI, with its files by name. */
export class BuildState {
  /** The database's id once logged. */
  buildId: number | null = null;

  /** A build with its files (keyed by filename). */
  constructor(
    readonly slaveId: number,
    readonly pkg: string,
    readonly version: string,
    readonly abiTag: string,
    public status: boolean,
    readonly duration: TimeDelta,
    public output: string,
    readonly files: Map<string, FileState>,
  ) {}

  /** The build a slave reports in BUILT for the (package, version) it was told to build. */
  static fromBuilt(
    slaveId: number,
    job: PackageVersion,
    abi: string,
    built: BuiltData,
  ): BuildState {
    const [status, duration, output, files] = built;
    const map = new Map(files.map((f) => [f[0], FileState.fromMessage(f)]));
    return new BuildState(slaveId, job[0], job[1], abi, status, duration, output, map);
  }

  /** The wire form of LOGBUILD/IMPORT; files sorted by name so logs are reproducible. */
  asMessage(): BuildStateTuple {
    const files = [...this.files.keys()].sort().map((n) => this.files.get(n)!.asMessage());
    return [
      this.slaveId,
      this.pkg,
      this.version,
      this.abiTag,
      this.status,
      this.duration,
      this.output,
      files,
    ];
  }

  /** Whether every file is on the master. */
  get transfersDone(): boolean {
    return [...this.files.values()].every((f) => f.transferred);
  }

  /** The first (by name) file still to transfer, or null. */
  get nextFile(): string | null {
    return [...this.files.keys()].sort().find((n) => !this.files.get(n)!.transferred) ?? null;
  }

  /** Add an armv6l twin for every linux_armv7l wheel that has no real armv6l file. */
  addArmv6lTwins(): void {
    for (const file of [...this.files.values()]) {
      const twin = file.armv6lTwin();
      if (twin && !this.files.has(twin.filename)) this.files.set(twin.filename, twin);
    }
  }

  /**
   * Turn the build into a failure that publishes nothing, explaining why at the end of its log
   * (a file the master refused, or one that never verified).
   */
  fail(reason: string): void {
    this.status = false;
    this.output += `\n[piw master] ${reason}\n`;
    this.files.clear();
  }

  /** Record the database's id for the build. */
  logged(buildId: number): void {
    this.buildId = buildId;
  }
}

/** A message a slave sent (from the master's side of slave_driver). */
export type SlaveRequest = MessageOf<typeof slaveDriverProtocol.recv>;
/** A reply the master sent a slave. */
export type SlaveReply = MessageOf<typeof slaveDriverProtocol.send>;
/** Where SlaveState publishes its monitor events (SLAVE messages on the status queue). */
export type SlaveEventSink = (event: SlaveEvent) => void;

const STATS_HISTORY = 100;
/** Numbers kept per stats entry: epoch ms, extra microseconds, and the eight figures. */
const STATS_WIDTH = 10;

/**
 * A slave's latest stats (at most {@link STATS_HISTORY}), packed into one Float64Array rather
 * than kept as decoded messages: at a busy master those would pile up in the old generation
 * (about 1 kB each) and slow every young-generation collection.
 */
export class StatsHistory {
  #values = new Float64Array(STATS_HISTORY * STATS_WIDTH);
  #start = 0;
  #length = 0;

  /** How many entries are kept. */
  get length(): number {
    return this.#length;
  }

  /** Keep `stats`, dropping the oldest entry when full. */
  push(stats: SlaveStats): void {
    const slot = (this.#start + this.#length) % STATS_HISTORY;
    if (this.#length < STATS_HISTORY) this.#length++;
    else this.#start = (this.#start + 1) % STATS_HISTORY;
    const at = slot * STATS_WIDTH;
    const time = stats[0];
    this.#values[at] = time.getTime();
    this.#values[at + 1] = time instanceof PreciseDate ? time.extraMicroseconds : 0;
    for (let i = 1; i < 9; i++) this.#values[at + i + 1] = stats[i] as number;
  }

  /** The entries, oldest first, as the stats tuples they came from. */
  *[Symbol.iterator](): Generator<SlaveStats> {
    for (let n = 0; n < this.#length; n++) {
      const at = ((this.#start + n) % STATS_HISTORY) * STATS_WIDTH;
      const v = this.#values;
      yield [
        new PreciseDate(v[at], v[at + 1]),
        v[at + 2],
        v[at + 3],
        v[at + 4],
        v[at + 5],
        v[at + 6],
        v[at + 7],
        v[at + 8],
        v[at + 9],
      ];
    }
  }
}

/**
 * A build slave as the master sees it: what it said in HELLO, when it was last heard from, the
 * last request and reply, its current job and build, its stats history and the monitor's flags
 * (killed, skipped, paused). Every reply but CONT and every stats update is published.
 */
export class SlaveState {
  /** When HELLO arrived. */
  readonly firstSeen: Date;
  /** When the slave last sent anything. */
  lastSeen: Date;
  /** The last request received. */
  request: SlaveRequest | null = null;
  /** The last reply sent other than CONT (CONT changes nothing in the protocol). */
  reply: SlaveReply | null = null;
  /** The (package, version) dispatched with BUILD, until DONE. */
  job: PackageVersion | null = null;
  /** The build reported by BUILT, until DONE. */
  build: BuildState | null = null;
  /** Stats of the latest IDLE/BUSY messages (at most 100). */
  readonly stats = new StatsHistory();
  /** Master clock minus the slave's at the last stats, in ms. */
  clockSkewMs = 0;
  /** Told to die at its next IDLE. */
  killed = false;
  /** Its current build is abandoned (next BUSY → DONE, BUILT discarded). */
  skipped = false;
  /** Paused alone: its IDLE gets SLEEP true. */
  paused = false;
  /** How many times the current file failed to verify. */
  failedVerifies = 0;
  /** The master's cap on both timeouts, ms: a slave may not hold a build for longer. */
  maxTimeoutMs = Infinity;

  /** A slave that just said HELLO with `hello` from routing address `address`. */
  constructor(
    readonly address: Uint8Array,
    readonly slaveId: number,
    readonly hello: SlaveHello,
    private readonly sink: SlaveEventSink,
    now = new Date(),
  ) {
    this.firstSeen = this.lastSeen = now;
  }

  /** How long its builds may take, in ms (it may not get the same version again before). */
  get buildTimeoutMs(): number {
    return Math.min(this.hello[0].toMilliseconds(), this.maxTimeoutMs);
  }
  /** How long it may stay silent before it is presumed dead, in ms. */
  get busyTimeoutMs(): number {
    return Math.min(this.hello[1].toMilliseconds(), this.maxTimeoutMs);
  }
  /** Its Python version tag, e.g. "311". */
  get pyVersion(): string {
    return this.hello[2];
  }
  /** The ABI it builds for, e.g. "cp311". */
  get abi(): string {
    return this.hello[3];
  }
  /** Its platform tag, e.g. "linux_armv7l". */
  get platform(): string {
    return this.hello[4];
  }
  /** Its label (host name by default). */
  get label(): string {
    return this.hello[5];
  }

  /** Whether it has been silent for longer than its busy timeout at `now`. */
  expired(now = new Date()): boolean {
    return now.getTime() - this.lastSeen.getTime() > this.busyTimeoutMs;
  }

  /** Record a request: IDLE/BUSY stats are kept and published, BUILT becomes {@link build}. */
  receive(request: SlaveRequest, now = new Date()): void {
    this.lastSeen = now;
    this.request = request;
    if (request.name === "IDLE" || request.name === "BUSY") {
      this.stats.push(request.data);
      this.clockSkewMs = now.getTime() - request.data[0].getTime();
      this.sink([this.slaveId, now, "STATS", request.data]);
    } else if (request.name === "BUILT" && this.reply?.name === "BUILD" && this.job) {
      this.build = BuildState.fromBuilt(this.slaveId, this.job, this.abi, request.data);
    }
  }

  /** Record and publish a reply; ACK also replays the slave, DONE ends its job. */
  send(reply: SlaveReply): void {
    if (reply.name === "CONT") return;
    this.reply = reply;
    if (reply.name === "BUILD") {
      this.job = reply.data;
      this.skipped = false;
    } else if (reply.name === "DONE") {
      this.job = null;
      this.build = null;
      this.skipped = false;
      this.failedVerifies = 0;
    }
    if (reply.name === "ACK") this.replay();
    else this.publishReply();
  }

  /** Tell monitors it is gone: DIE with null (timed out) or NoData (it said BYE). */
  gone(timedOut: boolean): void {
    this.sink([this.slaveId, this.lastSeen, "DIE", timedOut ? null : NO_DATA]);
  }

  /** Publish HELLO, the stats history and the last reply, for a monitor that just connected. */
  replay(): void {
    this.sink([this.slaveId, this.firstSeen, "HELLO", this.hello]);
    for (const stats of this.stats) this.sink([this.slaveId, this.lastSeen, "STATS", stats]);
    this.publishReply();
  }

  private publishReply(): void {
    if (this.reply) this.sink([this.slaveId, this.lastSeen, this.reply.name, this.reply.data]);
  }

  /** KILL: DIE at the next IDLE. */
  kill(): void {
    this.killed = true;
  }
  /** SKIP: abandon the current build. */
  skip(): void {
    this.skipped = true;
  }
  /** SLEEP: answer its IDLE with SLEEP true until WAKE. */
  sleep(): void {
    this.paused = true;
  }
  /** WAKE: clear killed, skipped and paused. */
  wake(): void {
    this.killed = this.skipped = this.paused = false;
  }
}

/** A file transfer that failed: incomplete, wrong size or hash, or a bad chunk. */
export class TransferError extends PiwError {
  override name = "TransferError";
}

/** Half-open byte range [start, stop). */
type Range = [start: number, stop: number];

/** `ranges` minus [start, stop); `ranges` sorted and disjoint. */
function excludeRange(ranges: Range[], start: number, stop: number): Range[] {
  const out: Range[] = [];
  for (const [a, b] of ranges) {
    if (b <= start || a >= stop) out.push([a, b]);
    else {
      if (a < start) out.push([a, start]);
      if (b > stop) out.push([stop, b]);
    }
  }
  return out;
}

/** Tuning of {@link TransferState}. */
export interface TransferTuning {
  /** Bytes per FETCH (65536 on the wire of piwheels). */
  chunkSize?: number;
  /** FETCHes in flight at most (piwheels: 10). */
  pipelineSize?: number;
}

/**
 * One file coming from a slave: the temporary file it is written to, which byte ranges are still
 * missing, and the credit of FETCHes that may be in flight (the ZeroMQ guide's credit-based
 * transfer: the initial credit is `max(1, min(10, size / 64 KiB))`, each CHUNK returns one).
 * FETCHes walk forward through the missing ranges; ranges already requested are asked for again
 * only after {@link rewind} (the slave said HELLO again, or the master heard nothing for a while).
 * The sha256 is computed as in-order chunks arrive, so verifying a large file costs little.
 */
export class TransferState {
  /** When the last message of this transfer arrived (ms since the epoch). */
  lastActivity = Date.now();
  readonly #chunkSize: number;
  readonly #pipelineSize: number;
  #missing: Range[];
  #credit = 0;
  #frontier = 0;
  #hash: Hash | null = createHash("sha256");
  #hashedUpTo = 0;
  #position = 0;
  #writeError: Error | null = null;
  #closed = false;

  private constructor(
    readonly slaveId: number,
    readonly fileState: FileState,
    readonly tempPath: string,
    private readonly file: Deno.FsFile,
    tuning: TransferTuning,
  ) {
    this.#chunkSize = tuning.chunkSize ?? FILE_CHUNK_SIZE;
    this.#pipelineSize = tuning.pipelineSize ?? 10;
    this.#missing = fileState.filesize > 0 ? [[0, fileState.filesize]] : [];
    this.resetCredit();
  }

  /** Start a transfer of `fileState` from slave `slaveId` into a new temporary file in `dir`. */
  static async create(
    slaveId: number,
    fileState: FileState,
    dir: string,
    tuning: TransferTuning = {},
  ): Promise<TransferState> {
    await Deno.mkdir(dir, { recursive: true });
    // Hidden and in the output tree: on the destination's filesystem, so the final rename is
    // atomic, and never mistaken for a published file.
    const tempPath = await Deno.makeTempFile({ dir, prefix: ".piw-transfer-", suffix: ".part" });
    const file = await Deno.open(tempPath, { read: true, write: true });
    return new TransferState(slaveId, fileState, tempPath, file, tuning);
  }

  /** Whether every byte has arrived. */
  get done(): boolean {
    return this.#missing.length === 0;
  }

  /** Bytes still missing. */
  get missingBytes(): number {
    return this.#missing.reduce((n, [a, b]) => n + b - a, 0);
  }

  /** Refill the credit (start, HELLO mid-transfer, silence). */
  resetCredit(): void {
    this.#credit = Math.max(
      1,
      Math.min(this.#pipelineSize, Math.floor(this.fileState.filesize / this.#chunkSize)),
    );
  }

  /** Forget what was requested: missing ranges will be asked for again, credit refilled. */
  rewind(): void {
    this.#frontier = 0;
    this.resetCredit();
  }

  /** The next range to FETCH, spending one credit, or null (no credit, or nothing new to ask). */
  fetch(): { offset: number; length: number } | null {
    if (this.#credit <= 0 || this.done) return null;
    const range = this.#missing.find(([, b]) => b > this.#frontier);
    if (!range) return null;
    const offset = Math.max(range[0], this.#frontier);
    const length = Math.min(range[1], offset + this.#chunkSize) - offset;
    this.#frontier = offset + length;
    this.#credit--;
    return { offset, length };
  }

  /**
   * Take a received chunk: returns false (changing nothing) for a stray chunk that lies outside
   * the file or is empty; a duplicate still returns its FETCH's credit (and only the first copy
   * of a range is written). A failed write is reported by {@link verify}.
   */
  chunk(offset: number, data: Uint8Array): boolean {
    const stop = offset + data.length;
    if (data.length === 0 || stop > this.fileState.filesize || this.#closed) return false;
    this.lastActivity = Date.now();
    const needed = this.#missing.some(([a, b]) => a < stop && b > offset);
    this.#missing = excludeRange(this.#missing, offset, stop);
    this.#credit = this.done ? 0 : this.#credit + 1;
    if (!needed) return true;
    if (offset < this.#hashedUpTo) this.#hash = null; // rewriting hashed bytes: rehash at verify
    else if (offset === this.#hashedUpTo && this.#hash) {
      this.#hash.update(data);
      this.#hashedUpTo = stop;
    }
    try {
      this.#writeAt(offset, data);
    } catch (e) {
      this.#writeError ??= e as Error;
    }
    return true;
  }

  // Synchronous: a 64 KiB write lands in the page cache at once, and an async write per chunk
  // costs the receiving thread more than the write itself.
  #writeAt(offset: number, data: Uint8Array): void {
    if (this.#position !== offset) this.file.seekSync(offset, Deno.SeekMode.Start);
    let written = 0;
    while (written < data.length) written += this.file.writeSync(data.subarray(written));
    this.#position = offset + data.length;
  }

  /** Check size and sha256 against the file state; throws {@link TransferError}. */
  async verify(): Promise<void> {
    const name = this.fileState.filename;
    if (this.#writeError) throw new TransferError(`${name}: write failed: ${this.#writeError}`);
    if (!this.done) throw new TransferError(`${name}: ${this.missingBytes} bytes never arrived`);
    const size = (await this.file.stat()).size;
    if (size !== this.fileState.filesize) {
      throw new TransferError(`${name}: wrong size ${size}, expected ${this.fileState.filesize}`);
    }
    const hash = this.#hash ?? createHash("sha256");
    const from = this.#hash ? this.#hashedUpTo : 0;
    await hashFileInto(hash, this.tempPath, from);
    this.#hash = null;
    const digest = hash.digest("hex");
    if (digest !== this.fileState.filehash.toLowerCase()) {
      throw new TransferError(
        `${name}: sha256 ${digest} does not match ${this.fileState.filehash}`,
      );
    }
  }

  /** Close the temporary file (keeping it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.file.close();
    } catch {
      // already closed
    }
  }

  /** Close and delete the temporary file. */
  async rollback(): Promise<void> {
    this.close();
    await Deno.remove(this.tempPath).catch(() => {});
  }
}

/** Feed `path` from byte `from` to its end into `hash`. */
export async function hashFileInto(hash: Hash, path: string, from = 0): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    if (from) await file.seek(from, Deno.SeekMode.Start);
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
}

/** The sha256 of a file, lower-case hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await hashFileInto(hash, path);
  return hash.digest("hex");
}
