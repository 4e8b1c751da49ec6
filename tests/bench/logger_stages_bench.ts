/**
 * Benchmark: the stages of `piw logger` → Lumberjack one at a time, in-process, to see where the
 * time goes — (1) read + parse + classify, (2) encode, (3) decode into Lumberjack's rows (COPY
 * text on PostgreSQL, JSON on PGlite), (4) the database write (`copyAccess` or `logAccess`,
 * Lumberjack's BATCH_SIZE rows a statement). Each stage shows its wall time and the CPU time it took (this process, plus the PostgreSQL backend for
 * the write), which says more than wall time on a busy machine.
 *
 * Run: `deno run -A tests/bench/logger_stages_bench.ts [lines]` (default 200,000). Uses the test
 * cluster (PIW_TEST_PG_SUPER_DSN); with PIW_SKIP_PG=1 the write stage uses PGlite.
 * @module
 */
import process from "node:process";
import { compileFormat } from "../../src/logger/format.ts";
import { classify, type LogMessage } from "../../src/logger/classify.ts";
import { LogFrame } from "../../src/logger/encode.ts";
import { RECORDS_PER_FRAME } from "../../src/logger/main.ts";
import { AccessLogRows } from "../../src/logger/rows.ts";
import { openLog, readLineBatches } from "../../src/logger/lines.ts";
import { type AccessLogJson, type AccessLogText, openDatabase } from "../../src/db/mod.ts";
import { BATCH_SIZE } from "../../src/master/tasks/lumberjack.ts";
import { testDatabase } from "../master/helpers.ts";
import { SKIP_PG } from "../db/harness.ts";
import { writeLog } from "./logger_corpus.ts";

const count = Number(Deno.args.find((arg) => /^\d+$/.test(arg)) ?? 200_000);
const kind = SKIP_PG ? "pglite" : "postgres";

/** CPU seconds used so far by this process and, when given, another one (a backend). */
function cpuSeconds(pid?: number): number {
  const { user, system } = process.cpuUsage();
  let seconds = (user + system) / 1e6;
  if (pid !== undefined) {
    // Fields 14 and 15 of /proc/<pid>/stat: user and system time in clock ticks (100 a second).
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    seconds += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return seconds;
}

async function stage<T>(label: string, fn: () => Promise<T> | T, pid?: number): Promise<T> {
  const cpu = cpuSeconds(pid);
  const started = performance.now();
  const result = await fn();
  const wall = (performance.now() - started) / 1000;
  const used = cpuSeconds(pid) - cpu;
  const perSecond = (seconds: number) => Math.round(count / seconds).toLocaleString("en");
  const backend = pid === undefined
    ? ""
    : ` (backend ${(cpuSeconds(pid) - cpuSeconds()).toFixed(2)} s)`;
  console.log(
    `${label.padEnd(40)} wall ${wall.toFixed(2).padStart(6)} s (${perSecond(wall)} lines/s)  ` +
      `cpu ${used.toFixed(2).padStart(6)} s (${perSecond(used)} lines/s)${backend}`,
  );
  return result;
}

const dir = Deno.makeTempDirSync({ prefix: "piw-logger-stages-" });
const logPath = `${dir}/access.log`;
writeLog(logPath, count);
const db = await testDatabase(kind);
try {
  const parser = compileFormat("combined");
  const msgs = await stage("read + parse + classify", async () => {
    const msgs: LogMessage[] = [];
    for await (const lines of readLineBatches(await openLog(logPath))) {
      for (const line of lines) {
        const entry = parser.parse(line);
        const msg = entry && classify(entry);
        if (msg) msgs.push(msg);
      }
    }
    return msgs;
  });
  const frames = await stage(`encode (${RECORDS_PER_FRAME} records a frame)`, () => {
    const frames: Uint8Array[] = [];
    const frame = new LogFrame();
    for (const msg of msgs) {
      frame.add(msg);
      if (frame.count === RECORDS_PER_FRAME) frames.push(frame.bytes().slice()), frame.clear();
    }
    frames.push(frame.bytes().slice());
    return frames;
  });
  const format = kind === "postgres" ? "copy" : "json";
  const batches = await stage(`decode to rows (${format})`, () => {
    const batches: (AccessLogText | AccessLogJson)[] = [];
    let rows = new AccessLogRows(format);
    const counts = new Map<string, number>();
    for (const frame of frames) {
      rows.addFrame(frame, counts);
      if (rows.length >= BATCH_SIZE) {
        batches.push(rows.text());
        rows = new AccessLogRows(format);
      }
    }
    batches.push(rows.text());
    return batches;
  });
  const database = await openDatabase(db.dsn);
  try {
    let pid: number | undefined;
    if (kind === "postgres") {
      [{ pid }] = await database.client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    }
    await stage(`database write (${kind}, ${BATCH_SIZE}/batch)`, async () => {
      for (const batch of batches) {
        await (format === "copy" ? database.copyAccess(batch) : database.logAccess(batch));
      }
    }, pid);
  } finally {
    await database.close();
  }
} finally {
  await db.remove();
  Deno.removeSync(dir, { recursive: true });
}
