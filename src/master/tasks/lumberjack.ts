/**
 * Lumberjack: PULLs the web server's access-log hits from `piw logger` (config.logQueue) and
 * writes them to the database in batches (every {@link BATCH_SIZE} hits or every second), so
 * a busy web server costs one statement per batch rather than one per hit. Once a minute it
 * logs the hit counts and PUSHes `LOGDOWNLOAD <count>` to BigBrother. With PostgreSQL it uses
 * its own connection and COPYs the rows (or, on a database whose role may not insert into the
 * log tables, calls the `log_*` functions); with PGlite (one connection, held by the oracle) it
 * sends LOGBATCH.
 * @module
 */
import { type Context, ipcPath, type Socket } from "../../transport/mod.ts";
import { type AccessLogJson, type AccessLogText, openDatabase } from "../../db/mod.ts";
import { bigBrotherProtocol, encodeMessage, MAX_MESSAGE_SIZE } from "../../protocols/mod.ts";
import { RateLimitedLog } from "../../log.ts";
import {
  AccessLogRows,
  copyLinesToJson,
  LOG_NAMES,
  type LogName,
  type RowFormat,
} from "../../logger/rows.ts";
import { type MasterConfig, Task } from "../task.ts";
import { DbClient } from "../../clients/db.ts";

/**
 * Hits buffered before a write (a busy site's second or so; quieter ones flush every
 * {@link FLUSH_MS}). Each write is a transaction of a few round trips: at 5,000 rows a write
 * those cost more than the rows (measured: 55,000 against 90,000 lines a second).
 */
export const BATCH_SIZE = 50_000;
/** The longest a hit waits in the buffer. */
export const FLUSH_MS = 1000;
/** How often the counts are logged and reported. */
export const REPORT_MS = 60_000;
/**
 * Records read in one go (whole messages) once the queue has one: going back to the task loop
 * for each would cost more than the record itself at a busy web server's rate.
 */
const DRAIN = 10_000;

const statsSide = bigBrotherProtocol.reversed();

/** The access-log writer (Pauseable). */
export class Lumberjack extends Task {
  readonly name = "lumberjack";
  #write: ((rows: AccessLogText | AccessLogJson) => Promise<number>) | null = null;
  /** Writes one row at a time, as JSON (the database explains a refusal there). */
  #writeJson: ((rows: AccessLogJson) => Promise<number>) | null = null;
  #buffer = new AccessLogRows();
  /** The buffer of the last write, kept for the next batch. */
  #spare = new AccessLogRows();
  /** The write in progress: hits keep arriving while the database works. */
  #writing: Promise<void> | null = null;
  #stats: Socket;
  /** Hits per message name since the last report. */
  readonly counts = new Map<string, number>();
  /** Hits received since the task started. */
  received = 0;
  /** Anyone in the web server's group can write to the queue: bad frames are rate-limited. */
  readonly #badFrames = new RateLimitedLog(this.log);

  /** Bind the log queue, connect to BigBrother, schedule flushes and reports. */
  constructor(context: Context, config: MasterConfig) {
    super(context, config);
    // The high-water mark counts frames: 10,000 of piwheels' logger's single records, or up to a
    // million of piw's (100 a frame), some 130 MB, may wait for a slow database.
    const logs = this.socket("PULL", { hwm: 10_000, maxMsgSize: MAX_MESSAGE_SIZE.logQueue });
    logs.bind(config.logQueue);
    const logFile = ipcPath(config.logQueue);
    // piw logger runs as the web server's user; let its group write to the queue.
    if (logFile) Deno.chmodSync(logFile, 0o770);
    this.registerRaw(logs, (frames) => this.#onLogs(logs, frames));
    const stats = this.#stats = this.socket("PUSH", { hwm: 10 });
    stats.connect(config.statsQueue);
    this.every(FLUSH_MS, () => {
      this.#startWrite();
    });
    let first = true;
    this.every(REPORT_MS, () => {
      // Timers run at start too; there is nothing to report then.
      if (first) return void (first = false);
      this.report();
    });
  }

  /** One line per frame, however many bad records it holds (and few lines per minute). */
  #logBadFrame(frame: Uint8Array, errors: Error[]): void {
    const what = errors.length === 1
      ? "dropped malformed message"
      : `dropped ${errors.length} malformed messages of a ${frame.length}-byte frame, the first`;
    this.#badFrames.error("malformed frame", `${what}: ${errors[0].message}`);
  }

  /** Choose where the rows go. */
  protected override async setup(): Promise<void> {
    let format: RowFormat = "json";
    if (this.config.dbEngine === "postgres") {
      const db = this.track(await openDatabase(this.config.dsn));
      this.#writeJson = (rows) => db.logAccess(rows);
      if (await db.canCopyAccess()) {
        format = "copy";
        this.#write = (rows) => db.copyAccess(rows);
      } else {
        // A database initialised before piw granted this: correct, only slower.
        this.log.warning("access logs written through the log_* functions, not COPY");
        this.#write = this.#writeJson;
      }
    } else {
      const db = this.track(new DbClient(this.context, this.config));
      this.#write = this.#writeJson = (rows) => db.call("LOGBATCH", rows);
    }
    this.#buffer = new AccessLogRows(format);
    this.#spare = new AccessLogRows(format);
  }

  /** Write what is still buffered before the connection closes. */
  protected override async teardown(): Promise<void> {
    await this.flush();
  }

  async #onLogs(logs: Socket, first: Uint8Array[]): Promise<void> {
    let frames: Uint8Array[] | null = first;
    let handled = 0;
    while (frames !== null) {
      // piwheels' logger sends one record a message; piw's sends many in a frame.
      for (const frame of frames) {
        const before = this.#buffer.length;
        const errors = this.#buffer.addFrame(frame, this.counts);
        const added = this.#buffer.length - before;
        this.received += added;
        handled += added + errors.length;
        if (errors.length) this.#logBadFrame(frame, errors);
        if (this.#buffer.length >= BATCH_SIZE) {
          // One write at a time: a full buffer waits for the previous write (back-pressure).
          await this.#writing;
          this.#startWrite();
        }
      }
      frames = handled < DRAIN && !this.paused ? logs.tryRecv() : null;
    }
  }

  /** Write every buffered hit; resolves once they are in the database. */
  async flush(): Promise<void> {
    while (this.#write && (this.#writing || this.#buffer.length)) {
      await this.#writing;
      this.#startWrite();
    }
  }

  /** Start writing the buffer, unless a write is under way (it will be the spare buffer). */
  #startWrite(): void {
    if (this.#writing || this.#buffer.length === 0 || !this.#write) return;
    const batch = this.#buffer;
    this.#buffer = this.#spare;
    this.#writing = this.#writeBatch(batch).finally(() => this.#writing = null);
  }

  async #writeBatch(batch: AccessLogRows): Promise<void> {
    try {
      await this.#tryWrite(batch);
    } finally {
      batch.clear();
      this.#spare = batch;
    }
  }

  async #tryWrite(batch: AccessLogRows): Promise<void> {
    try {
      await this.#write!(batch.text());
    } catch (error) {
      // One bad row (say, a host that is not an IP) fails the whole statement: write halves,
      // and halves of the half that fails, so only the bad rows are lost (a few dozen writes
      // for one bad row in 50,000, rather than 50,000).
      this.log.warning(`batch of ${batch.length} failed (${(error as Error).message}); retrying`);
      for (const name of LOG_NAMES) await this.#writeRange(batch, name, 0, batch.count(name));
    }
  }

  /** Write rows `[from, to)` of `name`, in halves until the bad ones are alone; drop those. */
  async #writeRange(batch: AccessLogRows, name: LogName, from: number, to: number) {
    if (from >= to) return;
    const text = batch.slice(name, from, to);
    if (to - from === 1) {
      // Alone, through the log_* functions: the database says why it refuses the row.
      const json = batch.format === "json" ? text : copyLinesToJson(text);
      try {
        await this.#writeJson!({ [name]: json });
      } catch (rowError) {
        const [[first]] = JSON.parse(json) as unknown[][];
        this.log.error(`dropped ${name} ${first}: ${(rowError as Error).message}`);
      }
      return;
    }
    try {
      await this.#write!({ [name]: text });
    } catch {
      const middle = (from + to) >> 1;
      await this.#writeRange(batch, name, from, middle);
      await this.#writeRange(batch, name, middle, to);
    }
  }

  /** Log the counts since the last report, send BigBrother the downloads, start afresh. */
  report(): void {
    const downloads = this.counts.get("LOGDOWNLOAD") ?? 0;
    const text = LOG_NAMES.map((name) => `${name} ${this.counts.get(name) ?? 0}`).join(", ");
    this.log.info(`logged ${text}`);
    this.#badFrames.flush();
    this.counts.clear();
    this.#stats.trySend([encodeMessage(statsSide, "LOGDOWNLOAD", downloads)]);
  }
}
