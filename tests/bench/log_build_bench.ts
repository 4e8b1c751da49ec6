/**
 * Benchmark: what PostgreSQL spends recording failed builds (issue 15), by batch size. Runs
 * LOGBUILDS' statement (`logBuilds`, src/db/builds.ts: `log_build` over a JSON array, one
 * statement and one commit a batch) one batch after another on a scratch database of the test
 * cluster with 20,000 pending versions, and prints for batches of 1, 4, 16 and 100 builds the
 * server backend's CPU per build (/proc/<pid>/stat) and the wall time per statement; then the
 * fixed (per statement) and marginal (per build) CPU fitted from batches of 1 and 16; then each
 * SQL function's own time per call (`track_functions`, which itself adds a little). Nothing is
 * stubbed: the master's role and statement, the real schema and triggers.
 *
 * Run: `deno run -A tests/bench/log_build_bench.ts` (PostgreSQL from
 * `eval "$(bash scripts/test-services)"`).
 * @module
 */
import { openClient } from "../../src/db/mod.ts";
import { logBuilds } from "../../src/db/builds.ts";
import type { BuildRecord } from "../../src/db/types.ts";
import { pendingVersions, testDatabase } from "../master/helpers.ts";

const VERSIONS = 20_000;
/** Builds recorded per batch size. */
const PER_SIZE = 4_000;
const SIZES = [1, 4, 16, 100];

/** CPU time (user + system) of process `pid`, ms. */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A failed build of `bench-<i>` 1.0, as a slave's "no matching distribution" arrives. */
function failedBuild(i: number): BuildRecord {
  return {
    package: `bench-${i}`,
    version: "1.0",
    builtBy: 1,
    duration: 1_000,
    status: false,
    abiTag: "cp311",
    files: [],
    failure: {
      failureClass: "no-dist",
      detail: "",
      lines: "ERROR: No matching distribution found for bench",
    },
    retryDelays: [3_600_000, 86_400_000],
  };
}

async function main(): Promise<void> {
  if (!Deno.env.get("PIW_TEST_PG_SUPER_DSN")) {
    console.error('log_build bench: no PostgreSQL: eval "$(bash scripts/test-services)"');
    Deno.exit(2);
  }
  const db = await testDatabase("postgres", async (admin) => {
    await admin.query(
      `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = %L',
         current_database(), 'all'); END $$`,
    );
    await pendingVersions(VERSIONS)(admin);
  });
  const sql = await openClient(db.dsn);
  try {
    const [{ pid }] = await sql.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    console.log(
      `log_build: PostgreSQL backend CPU per recorded failed build, ${
        PER_SIZE.toLocaleString("en")
      } ` +
        `builds per batch size, one statement (one commit) per batch, as LOGBUILDS; ` +
        `load ${Deno.loadavg()[0].toFixed(2)} on ${navigator.hardwareConcurrency} CPUs`,
    );
    let next = 1;
    const perBuild = new Map<number, number>();
    for (const size of SIZES) {
      const cpu0 = cpuMs(pid);
      const t0 = performance.now();
      for (let done = 0; done < PER_SIZE; done += size) {
        await logBuilds(sql, Array.from({ length: size }, () => failedBuild(next++)));
      }
      const us = (cpuMs(pid) - cpu0) / PER_SIZE * 1000;
      perBuild.set(size, us);
      const wall = (performance.now() - t0) / (PER_SIZE / size);
      console.log(
        `  batches of ${String(size).padStart(3)}: ${us.toFixed(0).padStart(4)} µs CPU a build, ` +
          `${wall.toFixed(2)} ms a statement`,
      );
    }
    // cost(batch of n) = fixed + n · marginal, from the batches of 1 and 16.
    const marginal = (16 * perBuild.get(16)! - perBuild.get(1)!) / 15;
    const fixed = perBuild.get(1)! - marginal;
    console.log(
      `  fitted: ${fixed.toFixed(0)} µs a statement (commit, JSON, call) + ` +
        `${marginal.toFixed(0)} µs a build`,
    );
    await sql.query("SELECT pg_stat_force_next_flush()");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const rows = await sql.query<{ name: string; calls: number; self: number; total: number }>(
      `SELECT funcname AS name, calls, self_time AS self, total_time AS total
         FROM pg_stat_user_functions WHERE calls > 0 ORDER BY self_time DESC`,
    );
    console.log("  SQL functions, µs a call (own time; with what they call):");
    for (const r of rows) {
      console.log(
        `    ${r.name.padEnd(26)} ${(r.self / r.calls * 1000).toFixed(1).padStart(6)}; ` +
          `${(r.total / r.calls * 1000).toFixed(1).padStart(6)}  (${r.calls} calls)`,
      );
    }
  } finally {
    await sql.close();
    await db.remove();
  }
}

if (import.meta.main) await main();
