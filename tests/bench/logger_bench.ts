/**
 * Benchmark: access-log lines from a file into the database, end to end — `piw logger` (a
 * subprocess) parses and classifies combined-format lines and PUSHes them; an in-process
 * Lumberjack PULLs and writes them in batches. Target: ≥ 100,000 lines/s on PostgreSQL.
 *
 * Besides the rate it prints the CPU time each process used per line (the logger, this process,
 * the PostgreSQL backend): on a busy machine those say more than the wall time.
 *
 * Run: `deno run -A tests/bench/logger_bench.ts [lines]` (default 1,000,000). Uses the test
 * cluster (PIW_TEST_PG_SUPER_DSN); with PIW_SKIP_PG=1 it uses PGlite (much slower).
 * @module
 */
import process from "node:process";
import { Context } from "../../src/transport/mod.ts";
import { openClient } from "../../src/db/mod.ts";
import { Lumberjack } from "../../src/master/tasks/lumberjack.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import { startTask, testConfig, testDatabase, waitFor } from "../master/helpers.ts";
import { SKIP_PG } from "../db/harness.ts";
import { writeLog } from "./logger_corpus.ts";

const count = Number(Deno.args.find((arg) => /^\d+$/.test(arg)) ?? 1_000_000);
const kind = SKIP_PG ? "pglite" : "postgres";
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** CPU seconds a process has used so far (0 once it is gone). */
function cpuOf(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat: user and system time in clock ticks (100 a second).
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function ownCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const dir = Deno.makeTempDirSync({ prefix: "piw-logger-bench-" });
const logPath = `${dir}/access.log`;
const hits = writeLog(logPath, count);
console.log(`${count} lines (${hits} hits) written to ${logPath}; database: ${kind}`);

const db = await testDatabase(kind);
const config = testConfig({ dsn: db.dsn, dbEngine: kind });
const context = new Context();
const tasks = [];
if (kind === "pglite") {
  tasks.push(await startTask(new Seraph(context, config)));
  tasks.push(await startTask(new TheOracle(context, config)));
}
const jack = await startTask(new Lumberjack(context, config));
try {
  const backends: number[] = [];
  if (kind === "postgres") {
    const admin = await openClient(db.dsn);
    const rows = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() " +
        "AND pid <> pg_backend_pid()",
    );
    await admin.close();
    backends.push(...rows.map((row) => row.pid));
  }
  const backendCpu = () => backends.reduce((sum, pid) => sum + cpuOf(pid), 0);
  const [masterCpu0, backendCpu0] = [ownCpu(), backendCpu()];
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "logger", "-v", "--log-queue", config.logQueue, logPath],
    env: { PIW_CONFIG_PATHS: "" },
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  let loggerCpu = 0;
  const sampler = setInterval(() => loggerCpu = cpuOf(child.pid) || loggerCpu, 50);
  const logger = await child.status;
  clearInterval(sampler);
  if (logger.code !== 0) throw new Error(`piw logger exited ${logger.code}`);
  const parsed = (performance.now() - started) / 1000;
  await waitFor(() => jack.received === hits, 600_000, "every hit received");
  await jack.flush();
  const seconds = (performance.now() - started) / 1000;
  const cpu = [loggerCpu, ownCpu() - masterCpu0, backendCpu() - backendCpu0];
  const admin = await openClient(db.dsn);
  const [{ n }] = await admin.query<{ n: number }>(
    "SELECT (SELECT count(*) FROM downloads) + (SELECT count(*) FROM searches) + " +
      "(SELECT count(*) FROM project_page_hits) + (SELECT count(*) FROM project_json_downloads) " +
      "+ (SELECT count(*) FROM web_page_hits) AS n",
  );
  await admin.close();
  if (Number(n) !== hits) throw new Error(`${n} rows in the database, expected ${hits}`);
  console.log(
    `logger done in ${parsed.toFixed(2)} s; all ${hits} rows in the database after ` +
      `${seconds.toFixed(2)} s: ${Math.round(count / seconds).toLocaleString("en")} lines/s ` +
      `(target 100,000)`,
  );
  const us = (seconds: number) => (seconds / count * 1e6).toFixed(1);
  console.log(
    `CPU per line: logger ${us(cpu[0])} µs (sampled), master ${us(cpu[1])} µs, ` +
      `database ${us(cpu[2])} µs`,
  );
} finally {
  await jack.stop();
  for (const task of tasks.reverse()) await task.stop();
  await context.close();
  await db.remove();
  Deno.removeSync(dir, { recursive: true });
}
