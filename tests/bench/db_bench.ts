/**
 * Benchmark: the build queue and statistics queries on PyPI-scale data. Creates a scratch
 * database on the test cluster (PIW_TEST_PG_SUPER_DSN), runs initdb for the master's role
 * (PIW_TEST_PG_USER, default piw_test), fills it with `generate.ts` and times the queries as
 * the master would run them. Targets: build queue and statistics within 1 s each.
 *
 * Run: `deno run -A tests/bench/db_bench.ts` (PIW_BENCH_SCALE=0.01 for a quick run;
 * PIW_BENCH_KEEP=1 keeps the database and prints its name; PIW_BENCH_REUSE=<name> times the
 * queries on a kept database without generating anything).
 * @module
 */
import { type Database, openClient, openDatabase, parseDsn } from "../../src/db/mod.ts";
import type { PostgresDsn } from "../../src/db/dsn.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";
import { configureLogging } from "../../src/log.ts";
import { generateData, type GenerateResult, type Scale, scaleFromEnv } from "./generate.ts";

/** Seconds per run of one query: fastest, median and slowest of the timed runs. */
export interface Timing {
  min: number;
  median: number;
  max: number;
}

/** What one benchmark run measured. */
export interface DbBenchResult {
  /** Null when an existing database was reused. */
  generated: GenerateResult | null;
  /** getBuildQueue(100000), as TheArchitect asks, and getBuildQueue(1000). */
  buildQueue: Timing;
  buildQueueSmall: Timing;
  /** Entries returned by getBuildQueue(100000), per ABI. */
  queueSizes: Record<string, number>;
  statistics: Timing;
  /** Writes that maintain the derived data through triggers. */
  addVersion: Timing;
  logBuild: Timing;
  /** Informational: the hourly search index and one big project page. */
  searchIndex: Timing;
  /** Informational: TheArchitect's hourly recount of downloads and re-ranking of the queue. */
  queueRanks: Timing;
  projectData: Timing;
}

async function time(runs: number, fn: () => Promise<unknown>): Promise<Timing> {
  await fn();
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    seconds.push((performance.now() - started) / 1000);
  }
  seconds.sort((a, b) => a - b);
  return { min: seconds[0], median: seconds[Math.floor(runs / 2)], max: seconds[runs - 1] };
}

/** Where to run, from the test-cluster environment. */
function clusterDsns(name: string): { admin: string; master: string; user: string } {
  const superDsn = Deno.env.get("PIW_TEST_PG_SUPER_DSN");
  if (!superDsn) {
    throw new Error('PIW_TEST_PG_SUPER_DSN is not set: eval "$(bash scripts/test-services)"');
  }
  const base = parseDsn(superDsn) as PostgresDsn;
  const user = Deno.env.get("PIW_TEST_PG_USER") ?? "piw_test";
  const password = Deno.env.get("PIW_TEST_PG_PASSWORD") ?? "piw_test";
  const at = `${base.host}:${base.port}/${name}`;
  return {
    admin: `postgres://${base.user}:${base.password}@${at}`,
    master: `postgres://${user}:${password}@${at}`,
    user,
  };
}

async function benchQueries(db: Database, pkg: string, runs: number) {
  let serial = 0;
  const queue = await db.getBuildQueue(100_000);
  return {
    queueSizes: Object.fromEntries(Object.entries(queue).map(([abi, q]) => [abi, q.length])),
    buildQueue: await time(runs, () => db.getBuildQueue(100_000)),
    buildQueueSmall: await time(runs, () => db.getBuildQueue(1000)),
    statistics: await time(runs, () => db.getStatistics()),
    addVersion: await time(runs, () => db.addNewPackageVersion(pkg, `bench.${serial++}`)),
    logBuild: await time(runs, () =>
      db.logBuild({
        package: pkg,
        version: `bench.${serial - 1}`,
        builtBy: 1,
        duration: 1000,
        status: false,
        abiTag: "cp39",
        files: [],
      })),
    searchIndex: await time(Math.min(runs, 3), () => db.getSearchIndex()),
    queueRanks: await time(Math.min(runs, 3), () => db.refreshQueueRanks()),
    projectData: await time(runs, () => db.getProjectData(pkg)),
  };
}

async function timeOn(dsn: string, runs: number, log: (message: string) => void) {
  const db = await openDatabase(dsn);
  try {
    // The package with the most versions: the heaviest project page.
    const [big] = await db.client.query<{ package: string }>(
      "SELECT package FROM versions GROUP BY package ORDER BY count(*) DESC LIMIT 1",
    );
    log("timing queries");
    return await benchQueries(db, big.package, runs);
  } finally {
    await db.close();
  }
}

/**
 * Generate `scale` worth of data in a scratch database and time the master's queries (or, with
 * `reuse`, time them on a database kept by an earlier run).
 */
export async function benchDb(
  scale: Scale,
  options: {
    runs?: number;
    keep?: boolean;
    reuse?: string;
    log?: (message: string) => void;
  } = {},
): Promise<DbBenchResult> {
  const log = options.log ?? (() => {});
  if (options.reuse) {
    const dsn = clusterDsns(options.reuse).master;
    return { generated: null, ...await timeOn(dsn, options.runs ?? 5, log) };
  }
  const name = `piw_bench_${crypto.randomUUID().slice(0, 8)}`;
  const dsns = clusterDsns(name);
  const server = await openClient(clusterDsns("postgres").admin);
  await server.query(`CREATE DATABASE "${name}"`);
  try {
    const admin = await openClient(dsns.admin);
    try {
      await initializeDatabase(admin, { user: dsns.user, yes: true });
    } finally {
      await admin.close();
    }
    log(`generating ${JSON.stringify(scale)} into ${name}`);
    const generated = await generateData(dsns.admin, scale, { log });
    return { generated, ...await timeOn(dsns.master, options.runs ?? 5, log) };
  } finally {
    if (options.keep) {
      log(`kept database ${name}`);
    } else {
      await server.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
    await server.close();
  }
}

const ms = (t: Timing) =>
  `${(t.median * 1000).toFixed(1)} ms (min ${(t.min * 1000).toFixed(1)}, max ${
    (t.max * 1000).toFixed(1)
  })`;

if (import.meta.main) {
  configureLogging({ level: "error" });
  const scale = scaleFromEnv();
  const result = await benchDb(scale, {
    keep: Deno.env.get("PIW_BENCH_KEEP") === "1",
    reuse: Deno.env.get("PIW_BENCH_REUSE"),
    log: (message) => console.log(message),
  });
  if (result.generated) {
    const { counts, seconds, abis } = result.generated;
    const n = (x: number) => x.toLocaleString("en");
    console.log(
      `db: generated ${n(counts.packages)} packages, ${n(counts.versions)} versions, ` +
        `${abis.length} ABIs, ${n(counts.builds)} builds, ${n(counts.files)} files, ` +
        `${n(counts.downloads)} downloads in ${seconds.total.toFixed(1)} s ` +
        `(COPY ${seconds.load.toFixed(1)} s, derive ${seconds.derive.toFixed(1)} s, ` +
        `VACUUM ANALYZE ${seconds.vacuum.toFixed(1)} s)`,
    );
  }
  console.log(`db: queue sizes at limit 100000: ${JSON.stringify(result.queueSizes)}`);
  const verdict = (t: Timing) => t.median <= 1 ? "ok, target 1 s" : "OVER the 1 s target";
  console.log(`db: getBuildQueue(100000) ${ms(result.buildQueue)}: ${verdict(result.buildQueue)}`);
  console.log(`db: getBuildQueue(1000) ${ms(result.buildQueueSmall)}`);
  console.log(`db: getStatistics() ${ms(result.statistics)}: ${verdict(result.statistics)}`);
  console.log(`db: addNewPackageVersion ${ms(result.addVersion)}; logBuild ${ms(result.logBuild)}`);
  console.log(
    `db: getSearchIndex() ${ms(result.searchIndex)}; getProjectData (largest project) ` +
      ms(result.projectData),
  );
  console.log(`db: refreshQueueRanks() (hourly) ${ms(result.queueRanks)}`);
}
