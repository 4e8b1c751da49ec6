/**
 * `piw logger`: reads Apache access logs (standard input or files), classifies each line
 * (`classify.ts`) and PUSHes the hits worth recording to the master's Lumberjack. Meant to run
 * as an Apache piped log; with `--drop` a record the master cannot take within 10 ms is dropped
 * rather than holding Apache up.
 * @module
 */
import type { LoggerOptions } from "../cli/options.ts";
import { PiwError, UsageError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { Context, SocketOption } from "../transport/mod.ts";
import { classify } from "./classify.ts";
import { encodeLogFrame } from "./encode.ts";
import { compileFormat, LogFormatError } from "./format.ts";
import { openLog, readLineBatches } from "./lines.ts";

const log = getLogger("logger");

/** How long `--drop` waits for the queue to take a record. */
export const DROP_AFTER_MS = 10;

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
    return await openLog(file);
  } catch (error) {
    throw new PiwError(`cannot read ${file}: ${(error as Error).message}`);
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
  const queue = context.socket("PUSH", { hwm: 10_000 });
  // With --drop, queue nothing for a master that is not connected (it may be down for hours);
  // send only succeeds once the master has taken the connection.
  if (options.drop) queue.setIntOption(SocketOption.IMMEDIATE, 1);
  queue.connect(options.logQueue);
  const counts: LoggerCounts = { lines: 0, malformed: 0, ignored: 0, sent: 0, dropped: 0 };
  let dropping = false;
  try {
    for (const file of options.files.length ? options.files : ["-"]) {
      for await (const lines of readLineBatches(await open(file))) {
        for (const line of lines) {
          counts.lines++;
          const entry = parser.parse(line);
          if (entry === null) {
            counts.malformed++;
            log.debug(`malformed line: ${line.slice(0, 200)}`);
            continue;
          }
          const msg = classify(entry);
          if (msg === null) {
            counts.ignored++;
            continue;
          }
          const frame = encodeLogFrame(msg);
          // Only wait (asynchronously) when the queue is full: most records go straight in.
          if (
            queue.trySend([frame]) ||
            await queue.send([frame.slice()], options.drop ? { timeoutMs: DROP_AFTER_MS } : {})
          ) {
            counts.sent++;
            dropping = false;
            continue;
          }
          // One warning per run of drops, so a stopped master does not flood Apache's error log.
          if (!dropping) log.warning(`dropping records: the master is not keeping up`);
          dropping = true;
          counts.dropped++;
        }
      }
    }
  } finally {
    // Without --drop every record must reach the master, however long that takes; with it,
    // give what is queued a second to go, then leave (Apache may be restarting).
    queue.close(options.drop ? 1000 : -1);
    await context.close();
  }
  log.info(
    `${counts.lines} lines: ${counts.sent} sent, ${counts.dropped} dropped, ` +
      `${counts.ignored} ignored, ${counts.malformed} malformed`,
  );
  return 0;
}
