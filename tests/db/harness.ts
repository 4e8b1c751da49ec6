/**
 * Runs one database test suite against PostgreSQL 15 (a fresh database per suite, set up with
 * initdb for role piw_test, used as piw_test) and against PGlite (a copy of a template made by
 * initdb; the in-memory engine is covered by the initdb tests).
 * @module
 */
import { configureLogging } from "../../src/log.ts";
import { Database, openClient, openDatabase, parseDsn, type SqlClient } from "../../src/db/mod.ts";
import type { PostgresDsn } from "../../src/db/dsn.ts";
import type { BuildRecord, FileRecord } from "../../src/db/types.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";

configureLogging({ level: "error" });

/** PIW_SKIP_PG=1 skips the PostgreSQL half of every suite. */
export const SKIP_PG = Deno.env.get("PIW_SKIP_PG") === "1";

/** The master's role in the test cluster (scripts/test-services creates it). */
export const PG_USER = Deno.env.get("PIW_TEST_PG_USER") ?? "piw_test";
const PG_PASSWORD = Deno.env.get("PIW_TEST_PG_PASSWORD") ?? "piw_test";

/** The superuser DSN of the test cluster, or an error saying how to start it. */
export function superDsn(): string {
  const dsn = Deno.env.get("PIW_TEST_PG_SUPER_DSN");
  if (!dsn) {
    throw new Error(
      'PIW_TEST_PG_SUPER_DSN is not set: start PostgreSQL with eval "$(bash scripts/test-services)" ' +
        "(or set PIW_SKIP_PG=1 to skip the PostgreSQL tests)",
    );
  }
  return dsn;
}

/** The DSN of database `name` on the test cluster, as `user` (default: the superuser). */
export function pgDsn(name: string, user?: { user: string; password: string }): string {
  const base = parseDsn(superDsn()) as PostgresDsn;
  const who = user ?? { user: base.user ?? "", password: base.password ?? "" };
  return `postgres://${encodeURIComponent(who.user)}:${encodeURIComponent(who.password)}@` +
    `${base.host}:${base.port}/${name}`;
}

/** The master role's credentials. */
export const MASTER_ROLE = { user: PG_USER, password: PG_PASSWORD };

/** A fresh, empty database on the test cluster; `drop` removes it. */
export async function scratchDatabase(
  label: string,
): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `piw_test_${label}_${crypto.randomUUID().slice(0, 8)}`;
  const server = await openClient(superDsn());
  try {
    await server.query(`CREATE DATABASE "${name}"`);
  } finally {
    await server.close();
  }
  return {
    name,
    async drop() {
      const server = await openClient(superDsn());
      try {
        await server.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await server.close();
      }
    },
  };
}

/** Run `fn` on a superuser connection to a fresh, empty scratch database, then drop it. */
export async function withScratchDatabase<T>(
  label: string,
  fn: (admin: SqlClient, name: string) => Promise<T>,
): Promise<T> {
  const scratch = await scratchDatabase(label);
  const admin = await openClient(pgDsn(scratch.name));
  try {
    return await fn(admin, scratch.name);
  } finally {
    await admin.close();
    await scratch.drop();
  }
}

/** Run `fn` on a fresh PostgreSQL database with piw's schema (see {@link Backend}), then drop it. */
export async function withPostgres<T>(label: string, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await postgresBackend(label);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

/** A database ready for a suite: the master's API and a superuser connection for fixtures. */
export interface Backend {
  kind: "postgres" | "pglite";
  /** The master's view (role piw_test on PostgreSQL). */
  db: Database;
  /** Superuser connection to the same database, for fixtures the API has no writes for. */
  admin: SqlClient;
  /** Remove every row (and counter) so each test starts from an empty schema. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function postgresBackend(label: string): Promise<Backend> {
  const scratch = await scratchDatabase(label);
  const admin = await openClient(pgDsn(scratch.name));
  await initializeDatabase(admin, { user: PG_USER, yes: true });
  const db = await openDatabase(pgDsn(scratch.name, MASTER_ROLE));
  return {
    kind: "postgres",
    db,
    admin,
    reset: () => resetData(admin),
    async close() {
      await db.close();
      await admin.close();
      await scratch.drop();
    },
  };
}

async function pgliteBackend(): Promise<Backend> {
  const dir = await Deno.makeTempDir({ prefix: "piw-db-test-" });
  await copyDir(await pgliteTemplate(), dir);
  const client = await openClient(`pglite://${dir}`);
  const db = new Database(client);
  return {
    kind: "pglite",
    db,
    admin: client,
    reset: () => resetData(client),
    async close() {
      await client.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

let template: Promise<string> | undefined;

/**
 * A PGlite data directory with piw's schema, made once (creating a PGlite cluster costs seconds,
 * copying one milliseconds) and shared by test processes: keyed by the SQL scripts' contents.
 */
export function pgliteTemplate(): Promise<string> {
  return template ??= (async () => {
    const sql = new URL("../../sql/", import.meta.url);
    const parts: string[] = [];
    for (const entry of [...Deno.readDirSync(sql)].sort((a, b) => a.name.localeCompare(b.name))) {
      parts.push(entry.name, Deno.readTextFileSync(new URL(entry.name, sql)));
    }
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0"))),
    );
    const key = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const path = `/tmp/piw-test-pglite-template-${key}`;
    try {
      Deno.statSync(`${path}/PG_VERSION`);
      return path;
    } catch {
      // Not made yet: make it below.
    }
    const building = Deno.makeTempDirSync({ prefix: "piw-test-pglite-building-" });
    const client = await openClient(`pglite://${building}`);
    try {
      await initializeDatabase(client, { user: "piw", yes: true });
    } finally {
      await client.close();
    }
    try {
      Deno.renameSync(building, path);
    } catch {
      // Another test process made it first; use that one.
      Deno.removeSync(building, { recursive: true });
    }
    return path;
  })();
}

async function copyDir(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-a", `${from}/.`, to] }).output();
  if (!out.success) throw new Error(`cp ${from} ${to}: ${new TextDecoder().decode(out.stderr)}`);
}

async function resetData(admin: SqlClient): Promise<void> {
  await admin.query(
    `TRUNCATE packages, build_abis, downloads, searches, project_page_hits,
       project_json_downloads, web_page_hits, metadata_fetches, rewrites_pending, statistics_deltas
       CASCADE`,
  );
  await admin.query("UPDATE configuration SET pypi_serial = 0");
}

/** A test case of a suite: gets a backend whose data was just reset. */
export type Case = (backend: Backend) => Promise<void>;

/**
 * Register `cases` as one Deno test per engine (`<suite> (postgres)`, `<suite> (pglite)`), each
 * case a step run on an emptied database.
 */
export function suite(name: string, cases: Record<string, Case>): void {
  for (const kind of ["postgres", "pglite"] as const) {
    Deno.test({
      name: `${name} (${kind})`,
      ignore: kind === "postgres" && SKIP_PG,
      async fn(t) {
        const backend = kind === "postgres"
          ? await postgresBackend(name.replace(/\W+/g, "_").slice(0, 20))
          : await pgliteBackend();
        try {
          for (const [caseName, fn] of Object.entries(cases)) {
            await t.step(caseName, async () => {
              await backend.reset();
              await fn(backend);
            });
          }
        } finally {
          await backend.close();
        }
      },
    });
  }
}

/** Insert build ABIs (the administrator's job, so there is no API for it). */
export async function addAbis(admin: SqlClient, ...abis: string[]): Promise<void> {
  for (const abi of abis) await admin.query("INSERT INTO build_abis (abi_tag) VALUES ($1)", [abi]);
}

/** A wheel of `pkg` `version` for `abi` (file ABI; py tag derived), overridable field by field. */
export function wheel(
  pkg: string,
  version: string,
  abi: string,
  overrides: Partial<FileRecord> = {},
): FileRecord {
  const py = overrides.pyVersionTag ?? (abi === "none" ? "py3" : abi.replace(/m$/, ""));
  const platform = overrides.platformTag ?? (abi === "none" ? "any" : "linux_armv7l");
  return {
    filename: `${pkg.replace(/-/g, "_")}-${version}-${py}-${abi}-${platform}.whl`,
    filesize: 1000,
    filehash: "0".repeat(64),
    packageTag: pkg.replace(/-/g, "_"),
    packageVersionTag: version,
    pyVersionTag: py,
    abiTag: abi,
    platformTag: platform,
    requiresPython: null,
    dependencies: {},
    ...overrides,
  };
}

/** A build record: successful when files are given, failed otherwise. */
export function build(
  pkg: string,
  version: string,
  builderAbi: string,
  files: FileRecord[] = [],
  overrides: Partial<BuildRecord> = {},
): BuildRecord {
  return {
    package: pkg,
    version,
    builtBy: 1,
    duration: 60_000,
    status: files.length > 0,
    abiTag: builderAbi,
    files,
    ...overrides,
  };
}
