/**
 * Benchmark: the stages of `piw logger` → Lumberjack one at a time, in-process, to see where the
 * time goes — (1) read + parse + classify, (2) encode, (3) decode, (4) the database write
 * (`logAccessBatch` in batches of Lumberjack's BATCH_SIZE) on PostgreSQL.
 *
 * Run: `deno run -A tests/bench/logger_stages_bench.ts [lines]` (default 200,000). Uses the test
 * cluster (PIW_TEST_PG_SUPER_DSN); with PIW_SKIP_PG=1 the write stage uses PGlite.
 * @module
 */
import { compileFormat } from "../../src/logger/format.ts";
import { classify, type LogMessage } from "../../src/logger/classify.ts";
import { encodeLogMessage } from "../../src/logger/encode.ts";
import { decodeLogMessage } from "../../src/logger/decode.ts";
import { openLog, readLineBatches } from "../../src/logger/lines.ts";
import { type AccessLogBatch, openDatabase } from "../../src/db/mod.ts";
import { BATCH_SIZE } from "../../src/master/tasks/lumberjack.ts";
import { testDatabase } from "../master/helpers.ts";
import { SKIP_PG } from "../db/harness.ts";
import { writeLog } from "./logger_corpus.ts";

const count = Number(Deno.args.find((arg) => /^\d+$/.test(arg)) ?? 200_000);
const kind = SKIP_PG ? "pglite" : "postgres";

function rate(label: string, n: number, ms: number): void {
  const perSecond = Math.round(n / (ms / 1000)).toLocaleString("en");
  console.log(`${label.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${perSecond} lines/s`);
}

const dir = Deno.makeTempDirSync({ prefix: "piw-logger-stages-" });
const logPath = `${dir}/access.log`;
writeLog(logPath, count);
const db = await testDatabase(kind);
try {
  const parser = compileFormat("combined");
  let started = performance.now();
  const msgs: LogMessage[] = [];
  for await (const lines of readLineBatches(await openLog(logPath))) {
    for (const line of lines) {
      const entry = parser.parse(line);
      const msg = entry && classify(entry);
      if (msg) msgs.push(msg);
    }
  }
  rate("read + parse + classify", count, performance.now() - started);

  started = performance.now();
  const frames = msgs.map(encodeLogMessage);
  rate("encode", count, performance.now() - started);

  started = performance.now();
  const batch: AccessLogBatch = frames.map((frame) => {
    const msg = decodeLogMessage(frame);
    return [msg.name, msg.data as unknown[]];
  });
  rate("decode", count, performance.now() - started);

  const database = await openDatabase(db.dsn);
  try {
    started = performance.now();
    for (let i = 0; i < batch.length; i += BATCH_SIZE) {
      await database.logAccessBatch(batch.slice(i, i + BATCH_SIZE));
    }
    rate(`database write (${kind}, ${BATCH_SIZE}/batch)`, count, performance.now() - started);
  } finally {
    await database.close();
  }
} finally {
  await db.remove();
  Deno.removeSync(dir, { recursive: true });
}
