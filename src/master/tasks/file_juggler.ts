/**
 * FileJuggler: receives built wheels from slaves (and piw-import) and publishes them
 * (piwheels' `file_juggler`). Two queues:
 * - the file queue (ROUTER, `config.fileQueue`, tcp 5556) speaks the raw ASCII protocol of
 *   piwheels' file protocol: the sender says `HELLO <slave id>`, FileJuggler asks
 *   `FETCH <offset> <length>` for 64 KiB chunks with up to ten in flight, the sender answers
 *   `CHUNK <offset> <bytes>`, and `DONE` ends it;
 * - the fs queue (REP, `config.fsQueue`) where SlaveDriver and MrChase say EXPECT (a file is
 *   coming from a slave) and VERIFY (check it and stage it: src/master/build_journal.ts
 *   publishes it once its build is recorded).
 * Transfers are written to `<output>/.piw-incoming/*.part` (deleted at start: a crash left them).
 * Nothing a slave says becomes a path unchecked, and published bytes never change. A file above
 * `config.maxFileSize`, or bigger than the output path can hold while keeping
 * `config.minFreeSpace` free, is refused at EXPECT; while the disk is that low, no FETCH goes out.
 * Nothing a slave sends is larger than `MAX_MESSAGE_SIZE.fileQueue` (libzmq cuts it off).
 * @module
 */

import type { Context, Socket } from "../../transport/mod.ts";
import {
  bigBrotherProtocol,
  encodeFileFrames,
  encodeMessage,
  fileJugglerFsProtocol,
  fileJugglerProtocol,
  type FileStateTuple,
  MAX_MESSAGE_SIZE,
  type MessageOf,
  metricsProtocol,
  parseFileFrames,
  ProtocolError,
} from "../../protocols/mod.ts";
import { diskStats } from "../../system/stats.ts";
import { RateLimitedLog } from "../../log.ts";
import { diskUsage } from "../system.ts";
import { Task, type TaskOptions } from "../task.ts";
import type { QueueOf } from "../../transport/mod.ts";
import type { MasterConfig } from "../config.ts";
import { FileState, TransferError, TransferState, type TransferTuning } from "../states.ts";
import { PublishRefusedError } from "../publish.ts";
import { REFUSED_PREFIX } from "../../clients/fs.ts";
import {
  incomingDir,
  removeIncomingParts,
  removeLegacyParts,
  stagedPath,
  syncDir,
} from "../build_journal.ts";
import { crashPoint } from "../crash_point.ts";
import { isCanonicalName } from "../../wheel/names.ts";

type FsMessage = MessageOf<typeof fileJugglerFsProtocol.recv>;

/** Tuning of {@link FileJuggler}. */
export interface FileJugglerOptions extends TaskOptions {
  /** Silence after which FileJuggler asks again for what is missing, ms (default 3 s). */
  refetchAfterMs?: number;
  /** Silence after which a transfer (pending, running or awaiting VERIFY) is dropped (15 min). */
  transferTimeoutMs?: number;
  /** How often silent transfers are looked for, ms (default 500). */
  tickMs?: number;
  /** How often free space is checked while idle, ms (default 5 s, as the master's check). */
  diskCheckMs?: number;
  /** Chunk size and FETCHes in flight. */
  tuning?: TransferTuning;
}

/** A running transfer and the peer sending it. */
interface Active {
  address: Uint8Array;
  transfer: TransferState;
  /** When FileJuggler last asked again after silence (ms since the epoch). */
  nudged: number;
}

const statsSide = bigBrotherProtocol.reversed();
const metricsSide = metricsProtocol.reversed();

function addressKey(address: Uint8Array): string {
  return String.fromCharCode(...address);
}

/** File transfers from slaves into `<output>/.piw-incoming/staged/`. */
export class FileJuggler extends Task {
  readonly name = "file_juggler";
  override readonly kind = "nonstop";
  /** The file queue's bound endpoint (with a wildcard port resolved). */
  readonly fileEndpoint: string;
  /** EXPECTed transfers not started yet, by slave id. */
  readonly pending = new Map<number, TransferState>();
  /** Transfers under way, by the sender's routing address. */
  readonly active = new Map<string, Active>();
  /** Transfers received in full and awaiting VERIFY, by slave id. */
  readonly complete = new Map<number, TransferState>();
  readonly #simpleDir: string;
  readonly #incomingDir: string;
  readonly #fileQueue: Socket;
  readonly #statsQueue: Socket;
  readonly #refetchAfterMs: number;
  readonly #timeoutMs: number;
  readonly #tuning: TransferTuning;
  readonly #diskCheckMs: number;
  /** Slaves can repeat bad messages at will: these cost a few lines a minute. */
  readonly #peerErrors = new RateLimitedLog(this.log);
  /**
   * Set while the output path has no more than `config.minFreeSpace` free (when the master
   * pauses): EXPECT is refused and no FETCH is sent until space comes back.
   */
  lowDisk = false;
  #diskCheckedAt = -Infinity;
  /** Bytes of the files received in full since start, and the total last told the exporter. */
  #transferred = 0;
  #transferredSent = -1;
  #metricsQueue: Socket | null = null;

  /** Bind the file and fs queues; connect to BigBrother's stats queue. */
  constructor(context: Context, config: MasterConfig, options: FileJugglerOptions = {}) {
    super(context, config, options);
    this.#simpleDir = `${config.outputPath}/simple`;
    this.#incomingDir = incomingDir(config.outputPath);
    this.#refetchAfterMs = options.refetchAfterMs ?? 3_000;
    this.#timeoutMs = options.transferTimeoutMs ?? 15 * 60_000;
    this.#tuning = options.tuning ?? {};
    this.#diskCheckMs = options.diskCheckMs ?? 5_000;
    this.#fileQueue = this.socket("ROUTER", { hwm: 500, maxMsgSize: MAX_MESSAGE_SIZE.fileQueue });
    this.#fileQueue.bind(config.fileQueue);
    this.fileEndpoint = this.#fileQueue.lastEndpoint;
    // Not one CBOR frame a message: the transfer's own frames (parseFileFrames, below).
    this.registerRaw(this.#fileQueue, (frames) => this.#handleFile(frames));
    const fs = this.queue("REP", fileJugglerFsProtocol, { hwm: 10 });
    fs.socket.bind(config.fsQueue);
    this.register(fs, (msg) => this.#handleFs(fs, msg), {
      refused: (error) => {
        this.logRefusal(fs.name, error);
        return fs.send("ERROR", error.message);
      },
    });
    this.#statsQueue = this.socket("PUSH", { hwm: 10 });
    this.#statsQueue.connect(config.statsQueue);
    if (config.metrics) {
      // The running total is sent again at the next tick if the exporter is busy: never block.
      this.#metricsQueue = this.socket("PUSH", { hwm: 1, linger: 0 });
      this.#metricsQueue.connect(config.metricsQueue);
    }
    this.every(options.tickMs ?? 500, () => this.#tick());
  }

  /** Delete what transfers a crash interrupted left; STATFS once at start. */
  protected override async setup(): Promise<void> {
    const parts = await removeIncomingParts(this.config.outputPath);
    if (parts) this.log.warning(`removed ${parts} files of interrupted transfers`);
    // Older piw versions received into simple/ itself: reading it may take a while.
    removeLegacyParts(this.config.outputPath).then(
      (n) => n && this.log.warning(`removed ${n} files of interrupted transfers in simple/`),
      (e) => this.log.warning(`cannot clean ${this.#simpleDir}: ${(e as Error).message}`),
    );
    await this.#sendDiskStats();
  }

  /** Delete the temporary files of unfinished transfers. */
  protected override async teardown(): Promise<void> {
    const all = [
      ...this.pending.values(),
      ...[...this.active.values()].map((a) => a.transfer),
      ...this.complete.values(),
    ];
    for (const transfer of all) await transfer.rollback();
  }

  async #sendDiskStats(): Promise<void> {
    try {
      await Deno.mkdir(this.#simpleDir, { recursive: true });
      const { size, free } = await diskStats(this.config.outputPath);
      this.#statsQueue.trySend([encodeMessage(statsSide, "STATFS", [size, free])]);
    } catch (e) {
      this.log.warning(`cannot measure ${this.config.outputPath}: ${(e as Error).message}`);
    }
  }

  // -- the file queue -------------------------------------------------------------------------

  #handleFile(frames: Uint8Array[]): void {
    const [address, ...rest] = frames;
    const key = addressKey(address);
    let msg;
    try {
      msg = parseFileFrames(fileJugglerProtocol, rest);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#peerErrors.warning("bad message", `ignored a bad file-transfer message: ${e.message}`);
      return;
    }
    const entry = this.active.get(key);
    if (!entry) {
      if (msg.name === "CHUNK") {
        this.log.debug(`ignored a stray CHUNK at ${msg.offset}`);
        return;
      }
      this.#start(address, key, msg.slaveId);
      return;
    }
    const transfer = entry.transfer;
    if (msg.name === "HELLO") {
      // The sender heard nothing for a while: FETCHes (or its CHUNKs) were lost.
      if (msg.slaveId !== transfer.slaveId) {
        this.log.warning(
          `HELLO from slave ${msg.slaveId} during slave ${transfer.slaveId}'s transfer`,
        );
      }
      transfer.lastActivity = Date.now();
      transfer.rewind();
      this.#fetch(entry);
      return;
    }
    if (!transfer.chunk(msg.offset, msg.data)) {
      this.#peerErrors.warning(
        "bad chunk",
        `ignored a CHUNK of ${msg.data.length} bytes at ${msg.offset} for ` +
          `${transfer.fileState.filename} (${transfer.fileState.filesize} bytes)`,
      );
      return;
    }
    if (transfer.done) {
      this.#transferred += transfer.fileState.filesize;
      this.active.delete(key);
      this.complete.set(transfer.slaveId, transfer);
      this.log.info(`transfer complete: ${transfer.fileState.filename}`);
      this.#send(address, encodeFileFrames(fileJugglerProtocol, { name: "DONE" }));
      return;
    }
    this.#fetch(entry);
  }

  /** HELLO from a new sender: start the transfer EXPECTed for its slave id. */
  #start(address: Uint8Array, key: string, slaveId: number): void {
    const finished = this.complete.get(slaveId);
    if (finished) {
      // Our DONE was lost; say it again.
      this.#send(address, encodeFileFrames(fileJugglerProtocol, { name: "DONE" }));
      return;
    }
    const transfer = this.pending.get(slaveId);
    if (!transfer) {
      this.#peerErrors.error("unexpected", `unexpected transfer from slave ${slaveId}`);
      return;
    }
    this.pending.delete(slaveId);
    transfer.lastActivity = Date.now();
    this.log.info(`transfer started: ${transfer.fileState.filename} from slave ${slaveId}`);
    if (transfer.done) { // an empty file
      this.complete.set(slaveId, transfer);
      this.#send(address, encodeFileFrames(fileJugglerProtocol, { name: "DONE" }));
      return;
    }
    const entry = { address, transfer, nudged: 0 };
    this.active.set(key, entry);
    this.#fetch(entry);
  }

  /** Spend the transfer's credit on FETCHes (none while the disk is low). */
  #fetch(entry: Active): void {
    if (this.lowDisk) return;
    for (let range = entry.transfer.fetch(); range; range = entry.transfer.fetch()) {
      this.#send(entry.address, encodeFileFrames(fileJugglerProtocol, { name: "FETCH", ...range }));
    }
  }

  #send(address: Uint8Array, frames: Uint8Array[]): void {
    // A ROUTER drops what it cannot queue; a lost FETCH is asked again after silence.
    this.#fileQueue.trySend([address, ...frames]);
  }

  /** Ask again after silence; drop transfers silent for too long. */
  async #tick(): Promise<void> {
    this.#peerErrors.flush();
    if (this.#metricsQueue && this.#transferred !== this.#transferredSent) {
      const frame = encodeMessage(metricsSide, "TRANSFERRED", this.#transferred);
      if (this.#metricsQueue.trySend([frame])) this.#transferredSent = this.#transferred;
    }
    if (performance.now() - this.#diskCheckedAt >= this.#diskCheckMs) await this.#checkDisk();
    const now = Date.now();
    for (const [key, entry] of this.active) {
      const silent = now - entry.transfer.lastActivity;
      if (silent > this.#timeoutMs) {
        this.log.warning(`transfer of ${entry.transfer.fileState.filename} timed out`);
        this.active.delete(key);
        await entry.transfer.rollback();
      } else if (silent > this.#refetchAfterMs && now - entry.nudged > this.#refetchAfterMs) {
        this.log.debug(`re-requesting ${entry.transfer.fileState.filename} after silence`);
        entry.nudged = now;
        entry.transfer.rewind();
        this.#fetch(entry);
      }
    }
    for (const map of [this.pending, this.complete]) {
      for (const [slaveId, transfer] of map) {
        if (now - transfer.lastActivity <= this.#timeoutMs) continue;
        this.log.warning(`dropping stale transfer of ${transfer.fileState.filename}`);
        map.delete(slaveId);
        await transfer.rollback();
      }
    }
  }

  /** Free space on the output path, updating {@link lowDisk}; resumes transfers when it ends. */
  async #checkDisk(): Promise<number | null> {
    let free: number;
    try {
      free = (await diskUsage(this.config.outputPath)).free;
    } catch (e) {
      this.log.warning(`cannot check free space: ${(e as Error).message}`);
      return null;
    }
    this.#diskCheckedAt = performance.now();
    const low = free <= this.config.minFreeSpace;
    if (low !== this.lowDisk) {
      this.lowDisk = low;
      if (low) {
        this.log.error(
          `transfers stopped: only ${Math.round(free / 2 ** 20)} MiB free on ` +
            `${this.config.outputPath}`,
        );
      } else {
        this.log.warning(`transfers resumed: ${Math.round(free / 2 ** 20)} MiB free`);
        for (const entry of this.active.values()) {
          entry.transfer.rewind();
          this.#fetch(entry);
        }
      }
    }
    return free;
  }

  /**
   * Why a file of this size cannot be taken now, or null: above `config.maxFileSize`, or more
   * than the output path can hold while keeping `config.minFreeSpace` free once the other
   * transfers have their bytes.
   */
  async #roomProblem(slaveId: number, state: FileState): Promise<string | null> {
    const max = this.config.maxFileSize;
    if (state.filesize > max) {
      return `${state.filename}: ${state.filesize} bytes is more than the maximum ${max} ` +
        `(--max-file-size)`;
    }
    const free = await this.#checkDisk();
    if (free === null) return null; // no measure: the master's own check still pauses it
    let promised = 0;
    for (const transfer of this.#transfers()) {
      if (transfer.slaveId !== slaveId) promised += transfer.missingBytes;
    }
    const room = free - this.config.minFreeSpace - promised;
    if (this.lowDisk || state.filesize > room) {
      return `${state.filename}: ${state.filesize} bytes do not fit on ` +
        `${this.config.outputPath} (${free} bytes free, ${promised} promised to other ` +
        `transfers, ${this.config.minFreeSpace} to keep free)`;
    }
    return null;
  }

  /** Every transfer not yet verified (pending or running). */
  *#transfers(): Generator<TransferState> {
    yield* this.pending.values();
    for (const entry of this.active.values()) yield entry.transfer;
  }

  // -- the fs queue ---------------------------------------------------------------------------

  async #handleFs(fs: QueueOf<typeof fileJugglerFsProtocol>, msg: FsMessage): Promise<void> {
    let reply: Uint8Array;
    try {
      const result = msg.name === "EXPECT"
        ? await this.doExpect(...msg.data)
        : await this.doVerify(...msg.data);
      reply = encodeMessage(fileJugglerFsProtocol, "OK", result);
    } catch (e) {
      if (!(e instanceof PublishRefusedError || e instanceof TransferError)) {
        this.log.error(`fs request failed: ${(e as Error).stack ?? e}`);
      }
      reply = encodeMessage(fileJugglerFsProtocol, "ERROR", (e as Error).message);
    }
    // A REP socket must answer every request before it can receive the next.
    await fs.sendFrame(reply);
  }

  /** EXPECT: slave `slaveId` will send `file`; any earlier transfer of that slave is dropped. */
  protected async doExpect(slaveId: number, file: FileStateTuple): Promise<null> {
    const state = FileState.fromMessage(file);
    const problem = state.problem() ?? await this.#roomProblem(slaveId, state);
    if (problem) {
      this.log.error(`refusing a transfer from slave ${slaveId}: ${problem}`);
      throw new PublishRefusedError(problem);
    }
    await this.#drop(slaveId);
    const transfer = await TransferState.create(slaveId, state, this.#incomingDir, this.#tuning);
    this.pending.set(slaveId, transfer);
    this.log.info(`expecting transfer: ${state.filename} from slave ${slaveId}`);
    return null;
  }

  async #drop(slaveId: number): Promise<void> {
    for (const map of [this.pending, this.complete]) {
      await map.get(slaveId)?.rollback();
      map.delete(slaveId);
    }
    for (const [key, entry] of this.active) {
      if (entry.transfer.slaveId !== slaveId) continue;
      this.active.delete(key);
      await entry.transfer.rollback();
    }
  }

  /**
   * VERIFY: check the file slave `slaveId` sent and stage it for `pkg` (made durable, under its
   * content's name; published only once its build is recorded). Answers "staged" or
   * "refused: <why>"; a file that did not arrive intact is deleted and answered ERROR, so the
   * slave is asked again.
   */
  protected async doVerify(slaveId: number, pkg: string): Promise<string> {
    const transfer = this.complete.get(slaveId);
    if (!transfer) {
      await this.#drop(slaveId); // a half-done transfer cannot be verified: start again
      throw new TransferError(`no finished transfer from slave ${slaveId}`);
    }
    this.complete.delete(slaveId);
    const file = transfer.fileState;
    try {
      await transfer.verify();
    } catch (e) {
      await transfer.rollback();
      this.log.warning(`verification failed: ${(e as Error).message}`);
      throw e;
    }
    transfer.close();
    const problem = isCanonicalName(pkg)
      ? file.problem()
      : `${JSON.stringify(pkg)} is not a canonical package name`;
    if (problem) {
      await transfer.rollback();
      this.log.error(`not publishing ${file.filename} for ${pkg}: ${problem}`);
      return REFUSED_PREFIX + problem;
    }
    await this.#stage(transfer.tempPath, stagedPath(this.config.outputPath, file));
    crashPoint("after-stage");
    this.log.info(`verified: ${file.filename} (staged)`);
    await this.#sendDiskStats();
    return "staged";
  }

  /** The bytes reach the disk before the name does, and the name before the reply. */
  async #stage(tempPath: string, staged: string): Promise<void> {
    try {
      await Deno.chmod(tempPath, 0o644);
      {
        using handle = await Deno.open(tempPath, { read: true });
        await handle.syncData();
      }
      const dir = staged.slice(0, staged.lastIndexOf("/"));
      await Deno.mkdir(dir, { recursive: true });
      await Deno.rename(tempPath, staged);
      await syncDir(dir);
    } finally {
      await Deno.remove(tempPath).catch(() => {});
    }
  }
}
