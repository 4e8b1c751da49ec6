/**
 * Benchmark: CloudGazer ingesting a recorded-like PyPI journal (1,000,000 events by default)
 * from the stand-in into PostgreSQL, through Seraph and TheOracle running in Workers as in
 * `piw master`, with REP listeners answering at the web and skip queues. Target: ≤ 2 minutes.
 *
 * CloudGazer keeps PyPI's 2 requests/s limit (at 50,000 events per answer it hardly matters).
 * Summaries come from the stand-in's JSON API for every project unless `--no-describe`.
 *
 * Needs PostgreSQL: `eval "$(bash scripts/test-services)"` (a scratch database is created and
 * dropped). Run: `deno run -A tests/bench/cloud_gazer_bench.ts [--events N] [--no-describe]
 * [--db-profile]` (`--db-profile`: time spent per SQL function, from pg_stat_user_functions).
 * @module
 */
import { Context } from "../../src/transport/mod.ts";
import { openClient } from "../../src/db/mod.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";
import { cloudGazerProtocol, theScribeProtocol } from "../../src/protocols/mod.ts";
import { makeMasterConfig, type MasterConfig } from "../../src/master/config.ts";
import { TaskWorker } from "../../src/master/supervisor.ts";
import { CloudGazer } from "../../src/master/tasks/cloud_gazer.ts";
import { type PyPIEvent, XmlRpcChangelogSource } from "../../src/pypi/mod.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { MASTER_ROLE, PG_USER, pgDsn, scratchDatabase } from "../db/harness.ts";
import { listen } from "../master/cloud_gazer_helpers.ts";
import { startTask } from "../master/helpers.ts";
import { syntheticJournal, TimedChangelogSource } from "./pypi_bench.ts";

/** What one run measured. */
export interface CloudGazerBenchResult {
  /** Journal entries replayed. */
  events: number;
  /** Package events applied (after mapping and duplicate suppression). */
  packageEvents: number;
  /** Oracle requests CloudGazer made. */
  oracleCalls: number;
  /** The same, by request name. */
  byRequest: Record<string, number>;
  /** Wall-clock seconds from start to the last serial stored. */
  seconds: number;
  /** Of which in XML-RPC calls (transfer and parsing). */
  sourceSeconds: number;
  /** Journal entries ingested per second. */
  eventsPerSecond: number;
  /** Rows in `versions` afterwards. */
  versions: number;
  /** Summaries fetched from the stand-in's JSON API. */
  jsonRequests: number;
  /** With `dbProfile`: seconds the database spent in each function (total, children included). */
  dbSeconds?: Record<string, number>;
}

/** Ingest `count` journal events into a scratch PostgreSQL database; see the module doc. */
export async function benchCloudGazer(
  count = 1_000_000,
  options: { describe?: boolean; oracles?: number; asyncCommit?: boolean; dbProfile?: boolean } =
    {},
): Promise<CloudGazerBenchResult> {
  const describe = options.describe ?? true;
  const journal = syntheticJournal(count);
  const lastTime = journal[journal.length - 1][2];
  await using pypi = await startPyPIStandIn({ batchSize: 50_000, cacheAnswers: true });
  pypi.addEvents(journal);
  // One late event lets the 5-minute window release everything before it.
  const last = pypi.addEvent("flush", null, lastTime + 3600, "docupdate");
  if (describe) {
    for (const name of new Set(journal.map((e: PyPIEvent) => e[0]))) {
      pypi.setJson(name, { summary: `Summary of ${name}` });
    }
  }

  const scratch = await scratchDatabase("cloud_gazer_bench");
  const context = new Context();
  const workers: TaskWorker[] = [];
  try {
    const admin = await openClient(pgDsn(scratch.name));
    await initializeDatabase(admin, { user: PG_USER, yes: true });
    if (options.asyncCommit) {
      // What-if: commits no longer wait for the WAL to reach the disk.
      await admin.query(`ALTER DATABASE "${scratch.name}" SET synchronous_commit = off`);
    }
    if (options.dbProfile) {
      await admin.query(`ALTER DATABASE "${scratch.name}" SET track_functions = 'all'`);
    }
    const config = makeMasterConfig({
      dsn: pgDsn(scratch.name, MASTER_ROLE),
      outputPath: Deno.makeTempDirSync({ prefix: "piw-bench-out-" }),
      pypiXmlrpc: pypi.xmlrpcUrl,
      pypiJson: describe ? pypi.jsonUrl : "",
      oracleCount: options.oracles ?? 3,
      pypiInterval: 100,
      logging: { level: "error", file: "", fileLevel: "info", debug: [], showNames: true },
    } as Partial<MasterConfig>);
    let failure: string | null = null;
    const failed = (task: TaskWorker, reason: string) => failure = `${task.name} failed: ${reason}`;
    for (const module of ["seraph", "the_oracle"] as const) {
      const instances = module === "seraph" ? 1 : config.oracleCount;
      for (let instance = 0; instance < instances; instance++) {
        const worker = new TaskWorker({ module, instance }, context, config, failed);
        workers.push(worker);
        await worker.ready(60_000);
      }
    }
    const web = listen(context, config.webQueue, theScribeProtocol, "DONE");
    const skip = listen(context, config.skipQueue, cloudGazerProtocol, "OK");

    const source = new TimedChangelogSource(new XmlRpcChangelogSource({ url: pypi.xmlrpcUrl }));
    const started = performance.now();
    const gazer = await startTask(new CloudGazer(context, config, { source }));
    while (gazer.storedSerial < last) {
      if (failure) throw new Error(failure);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    await gazer.stop();
    await web.close();
    await skip.close();
    const [{ versions }] = await admin.query<{ versions: number }>(
      "SELECT count(*)::int AS versions FROM versions",
    );
    let dbSeconds: Record<string, number> | undefined;
    if (options.dbProfile) {
      // The oracles' sessions report their statistics when they end.
      for (const worker of workers.splice(0).reverse()) await worker.stop(5000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const rows = await admin.query<{ name: string; ms: number }>(
        `SELECT funcname AS name, total_time AS ms FROM pg_stat_user_functions
         ORDER BY total_time DESC LIMIT 6`,
      );
      dbSeconds = Object.fromEntries(rows.map((r) => [r.name, Number(r.ms) / 1000]));
    }
    await admin.close();
    return {
      events: count,
      packageEvents: gazer.counts.events,
      oracleCalls: gazer.counts.calls,
      byRequest: gazer.counts.byRequest,
      seconds,
      sourceSeconds: source.ms / 1000,
      eventsPerSecond: count / seconds,
      versions,
      jsonRequests: pypi.requestsTo("json").length,
      dbSeconds,
    };
  } finally {
    for (const worker of workers.reverse()) await worker.stop(5000);
    await context.close();
    await scratch.drop();
  }
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--events");
  const count = at >= 0 ? Number(Deno.args[at + 1]) : 1_000_000;
  const describe = !Deno.args.includes("--no-describe");
  const asyncCommit = Deno.args.includes("--async-commit");
  const dbProfile = Deno.args.includes("--db-profile");
  const result = await benchCloudGazer(count, { describe, asyncCommit, dbProfile });
  console.log(
    `cloud_gazer: ingested ${result.events.toLocaleString("en")} journal events ` +
      `(${result.packageEvents.toLocaleString("en")} package events, ` +
      `${result.oracleCalls.toLocaleString("en")} oracle calls, ` +
      `${result.versions.toLocaleString("en")} versions${describe ? ", with summaries" : ""}) ` +
      `into PostgreSQL in ${result.seconds.toFixed(1)} s, ${result.sourceSeconds.toFixed(1)} s ` +
      `of it in XML-RPC calls: ${
        Math.round(result.eventsPerSecond).toLocaleString("en")
      } events/s` +
      `${asyncCommit ? " (synchronous_commit off)" : ""}`,
  );
  const perCall = (result.seconds - result.sourceSeconds) * 1000 / result.oracleCalls;
  console.log(
    `  oracle calls: ${JSON.stringify(result.byRequest)}; ` +
      `${perCall.toFixed(2)} ms of the rest per call; ` +
      `${result.jsonRequests.toLocaleString("en")} summaries fetched`,
  );
  if (result.dbSeconds) {
    const parts = Object.entries(result.dbSeconds).map(([f, t]) => `${f} ${t.toFixed(1)} s`);
    console.log(`  database time by function (children included): ${parts.join(", ")}`);
  }
}
