/**
 * `piw logger`: reads Apache access logs (standard input or files), classifies each line
 * (`classify.ts`) and PUSHes the hits worth recording to the master's Lumberjack. Meant to run
 * as an Apache piped log; with `--drop` a record the master cannot take within 10 ms is dropped
 * rather than holding Apache up.
 *
 * Records go as piwheels' lumberjack messages, but up to {@link RECORDS_PER_FRAME} of them back to
 * back in one frame (what was read at once): a message per record costs ZeroMQ and its I/O
 * threads more than the record, which at 100,000 lines a second was most of the logger's time.
 * Lumberjack takes either.
 * @module
 */
import type { LoggerOptions } from "../cli/options.ts";
import { fileErrorReason, PiwError, UsageError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { Context, SocketOption } from "../transport/mod.ts";
import { LOG_FRAME_TARGET, MAX_LOG_LINE } from "../protocols/mod.ts";
import { classify } from "./classify.ts";
import { LogFrame } from "./encode.ts";
import { compileFormat, LogFormatError } from "./format.ts";
import { openLog, readLineBatches } from "./lines.ts";

const log = getLogger("logger");

/** How long `--drop` waits for the queue to take a record. */
export const DROP_AFTER_MS = 10;
/** How long a send may wait for the master before the logger says what it is waiting for. */
export const WAIT_NOTICE_MS = 5_000;
/** Most records sent in one frame. */
export const RECORDS_PER_FRAME = 100;

/** What happened to the lines read. */
export interface LoggerCounts {
  lines: number;
  malformed: number;
  ignored: number;
  sent: number;
  dropped: number;
}

async function open(file: string): Promise<ReadableStream<Uint8Array>> {
  try {
    // Opening a directory succeeds; only its first read would fail, naming nothing.
    if (file !== "-" && (await Deno.stat(file)).isDirectory) {
      throw new Deno.errors.IsADirectory();
    }
    return await openLog(file);
  } catch (error) {
    throw new PiwError(`cannot read ${file}: ${fileErrorReason(error)}`);
  }
}

/** Run `piw logger` with parsed options; resolves to the exit code. */
export async function run(options: LoggerOptions): Promise<number> {
  let parser;
  try {
    parser = compileFormat(options.format);
  } catch (error) {
    if (error instanceof LogFormatError) throw new UsageError(error.message);
    throw error;
  }
  const context = new Context();
  // A frame holds up to RECORDS_PER_FRAME records: about 100,000 may wait here.
  const queue = context.socket("PUSH", { hwm: 1_000 });
  // With --drop, queue nothing for a master that is not connected (it may be down for hours);
  // send only succeeds once the master has taken the connection.
  if (options.drop) queue.setIntOption(SocketOption.IMMEDIATE, 1);
  queue.connect(options.logQueue);
  const counts: LoggerCounts = { lines: 0, malformed: 0, ignored: 0, sent: 0, dropped: 0 };
  let dropping = false;
  /** Records dropped since the master last took one. */
  let dropped = 0;
  const frame = new LogFrame();
  /** Send the records gathered, waiting (or, with --drop, dropping them) if the queue is full. */
  const flush = async () => {
    if (frame.count === 0) return;
    const records = frame.count;
    // Only wait (asynchronously) when the queue is full: most frames go straight in.
    let sent = queue.trySend([frame.bytes()]) ||
      await queue.send([frame.bytes()], {
        timeoutMs: options.drop ? DROP_AFTER_MS : WAIT_NOTICE_MS,
      });
    // Without --drop every record waits for the master, however long: say so, and where.
    for (let waited = WAIT_NOTICE_MS; !sent && !options.drop; waited += WAIT_NOTICE_MS) {
      if (waited === WAIT_NOTICE_MS || waited % 60_000 === 0) {
        log.warning(
          `waiting for the master to take log records at ${options.logQueue} ` +
            `(${waited / 1000} s so far; is it running? --drop drops records instead)`,
        );
      }
      sent = await queue.send([frame.bytes()], { timeoutMs: WAIT_NOTICE_MS });
    }
    frame.clear();
    if (sent) {
      counts.sent += records;
      if (dropping) {
        log.warning(`the master at ${options.logQueue} takes records again; ${dropped} dropped`);
      }
      dropping = false;
      dropped = 0;
      return;
    }
    // One warning per run of drops, so a stopped master does not flood Apache's error log.
    if (!dropping) {
      log.warning(
        `dropping log records: the master at ${options.logQueue} is not taking them ` +
          `(not running, or not keeping up)`,
      );
    }
    dropping = true;
    dropped += records;
    counts.dropped += records;
  };
  try {
    for (const file of options.files.length ? options.files : ["-"]) {
      for await (const lines of readLineBatches(await open(file))) {
        for (const line of lines) {
          counts.lines++;
          // The master cuts off a logger whose frame is too big (MAX_MESSAGE_SIZE.logQueue).
          if (line.length > MAX_LOG_LINE) {
            counts.malformed++;
            log.debug(`line of ${line.length} characters skipped: ${line.slice(0, 200)}`);
            continue;
          }
          const entry = parser.parse(line);
          if (entry === null) {
            counts.malformed++;
            // The first shows by default (a wrong --format makes every line malformed).
            log[counts.malformed === 1 ? "warning" : "debug"](
              `malformed line (not in --format ${options.format}): ${line.slice(0, 200)}`,
            );
            continue;
          }
          const msg = classify(entry);
          if (msg === null) {
            counts.ignored++;
            continue;
          }
          frame.add(msg);
          if (frame.count === RECORDS_PER_FRAME || frame.size >= LOG_FRAME_TARGET) {
            await flush();
          }
        }
        // What was read at once goes at once: a quiet web server's lines are not held back.
        await flush();
      }
    }
  } finally {
    // Without --drop every record must reach the master, however long that takes; with it,
    // give what is queued a second to go, then leave (Apache may be restarting).
    queue.close(options.drop ? 1000 : -1);
    const started = Date.now();
    const notice = setInterval(() => {
      log.warning(
        `waiting for the master to take the last log records at ${options.logQueue} ` +
          `(${Math.round((Date.now() - started) / 1000)} s so far; is it running? ` +
          `--drop drops records instead)`,
      );
    }, WAIT_NOTICE_MS);
    try {
      await context.close();
    } finally {
      clearInterval(notice);
    }
  }
  // Lost lines are worth a warning; a clean run is reported with -v.
  log[counts.dropped || counts.malformed ? "warning" : "info"](
    `${counts.lines} lines: ${counts.sent} sent, ${counts.dropped} dropped, ` +
      `${counts.ignored} ignored, ${counts.malformed} malformed`,
  );
  return 0;
}
