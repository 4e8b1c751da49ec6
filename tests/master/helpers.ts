/**
 * Shared helpers of the master tests: a config with unique addresses, captured logs, tasks run
 * in-process, an initialised PGlite database in a temporary directory, and waiting.
 * @module
 */
import { configureLogging } from "../../src/log.ts";
import { openClient, type SqlClient } from "../../src/db/mod.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";
import { makeMasterConfig, type MasterConfig } from "../../src/master/config.ts";
import type { Task } from "../../src/master/task.ts";
import type { Context } from "../../src/transport/mod.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import {
  addAbis,
  MASTER_ROLE,
  PG_USER,
  pgDsn,
  pgliteTemplate,
  scratchDatabase,
  SKIP_PG,
} from "../db/harness.ts";

export { SKIP_PG };

/** A config whose external addresses are unique to this test (inproc ones are per context). */
export function testConfig(overrides: Partial<MasterConfig> = {}): MasterConfig {
  const id = crypto.randomUUID().slice(0, 8);
  return makeMasterConfig({
    dsn: "pglite:",
    outputPath: "/tmp",
    statusQueue: `ipc:///tmp/piw-test-status-${id}`,
    controlQueue: `ipc:///tmp/piw-test-control-${id}`,
    importQueue: `ipc:///tmp/piw-test-import-${id}`,
    logQueue: `ipc:///tmp/piw-test-logger-${id}`,
    slaveQueue: "tcp://127.0.0.1:0",
    fileQueue: "tcp://127.0.0.1:0",
    extrasQueue: "tcp://127.0.0.1:0",
    logging: { level: "error", file: "", fileLevel: "info", debug: [], showNames: true },
    ...overrides,
  });
}

/** Log lines (`master.<task>: message`) captured from now on; `stop()` restores stderr. */
export function captureLogs(level: "debug" | "info" | "warning" | "error" = "info") {
  const lines: string[] = [];
  configureLogging({ level, showNames: true, sink: (line) => lines.push(line) });
  return {
    lines,
    stop: () => configureLogging({ level: "error", sink: null }),
  };
}

/** A task started in-process: `init()` done, `run()` going; `stop()` quits and awaits it. */
export async function startTask<T extends Task>(task: T): Promise<T & { stop(): Promise<void> }> {
  await task.init();
  const running = task.run();
  return Object.assign(task, {
    async stop() {
      task.quit();
      await running;
    },
  });
}

/** Wait until `check()` is truthy (polling every 10 ms) or fail after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sleep `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seraph and `count` oracles on `context`, the master's database side; `stop()` stops them. */
export async function startOracles(
  context: Context,
  config: MasterConfig,
  count = config.oracleCount,
): Promise<{ stop(): Promise<void> }> {
  const seraph = await startTask(new Seraph(context, config));
  const oracles: { stop(): Promise<void> }[] = [];
  for (let i = 0; i < count; i++) {
    oracles.push(await startTask(new TheOracle(context, config, { instance: i })));
  }
  return {
    async stop() {
      for (const oracle of oracles.reverse()) await oracle.stop();
      await seraph.stop();
    },
  };
}

/** A test database with piw's schema: the master's DSN and a way to remove it. */
export interface TestDatabase {
  kind: "postgres" | "pglite";
  /** What the master connects with (the unprivileged role on PostgreSQL). */
  dsn: string;
  remove(): Promise<void>;
}

/**
 * A fixture for {@link testDatabase}: build ABI cp311 and `n` packages `<prefix>-1`…`<prefix>-n`,
 * each with version 1.0 pending (benchmarks and tests that keep slaves busy).
 */
export function pendingVersions(n: number, prefix = "bench"): (admin: SqlClient) => Promise<void> {
  return async (admin) => {
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
    await admin.query(
      `INSERT INTO packages (package) SELECT $1 || '-' || i FROM generate_series(1, ${n}) i`,
      [prefix],
    );
    await admin.query(
      `INSERT INTO versions (package, version)
         SELECT $1 || '-' || i, '1.0' FROM generate_series(1, ${n}) i`,
      [prefix],
    );
  };
}

/**
 * A fresh database with piw's schema, after `fixture` ran on a superuser connection (PGlite
 * allows one connection at a time, so fixtures go in before any task opens it).
 */
export async function testDatabase(
  kind: "postgres" | "pglite",
  fixture: (admin: SqlClient) => Promise<void> = async () => {},
): Promise<TestDatabase> {
  if (kind === "pglite") {
    const dir = Deno.makeTempDirSync({ prefix: "piw-master-db-" });
    await copyDir(await pgliteTemplate(), dir);
    const admin = await openClient(`pglite://${dir}`);
    try {
      await fixture(admin);
    } finally {
      await admin.close();
    }
    return {
      kind,
      dsn: `pglite://${dir}`,
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  }
  const scratch = await scratchDatabase("master");
  const admin = await openClient(pgDsn(scratch.name));
  try {
    await initializeDatabase(admin, { user: PG_USER, yes: true });
    await fixture(admin);
  } finally {
    await admin.close();
  }
  return { kind, dsn: pgDsn(scratch.name, MASTER_ROLE), remove: () => scratch.drop() };
}

/**
 * A test database (see {@link testDatabase}) whose one build ABI is this machine's python3's,
 * the one a real `piw slave` here builds for; `abi` says which it is.
 */
export async function farmDatabase(
  kind: "postgres" | "pglite",
  fixture: (admin: SqlClient) => Promise<void> = async () => {},
): Promise<TestDatabase & { abi: string }> {
  const { abi } = await interpreterFacts("python3");
  const db = await testDatabase(kind, async (admin) => {
    await addAbis(admin, abi);
    await fixture(admin);
  });
  return { ...db, abi };
}

/** The engines to test against: PGlite always, PostgreSQL unless PIW_SKIP_PG=1. */
export const ENGINES: ("postgres" | "pglite")[] = SKIP_PG ? ["pglite"] : ["pglite", "postgres"];

async function copyDir(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-a", `${from}/.`, to] }).output();
  if (!out.success) throw new Error(`cp ${from} ${to}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A fresh PGlite database directory with piw's schema; `dsn` is `pglite://<dir>`. */
export async function pgliteDatabase(): Promise<{ dir: string; dsn: string; remove(): void }> {
  const dir = Deno.makeTempDirSync({ prefix: "piw-master-db-" });
  await copyDir(await pgliteTemplate(), dir);
  return { dir, dsn: `pglite://${dir}`, remove: () => Deno.removeSync(dir, { recursive: true }) };
}
