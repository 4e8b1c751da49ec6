import { assertEquals, assertRejects } from "./assert.ts";
import { MASTER_ROLE, PG_USER, pgDsn, SKIP_PG, superDsn, withScratchDatabase } from "./harness.ts";
import type { PostgresDsn } from "../../src/db/dsn.ts";
import {
  checkSchemaVersion,
  compareVersions,
  openClient,
  openDatabase,
  parseDsn,
  redactDsn,
  type SqlClient,
} from "../../src/db/mod.ts";
import { PiwError, UsageError } from "../../src/errors.ts";
import { PIW_VERSION } from "../../src/version.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";

Deno.test("parseDsn reads every accepted DSN form", () => {
  assertEquals(parseDsn("postgres://u:p%40ss@db.example:6543/piw?sslmode=require"), {
    kind: "postgres",
    host: "db.example",
    port: 6543,
    database: "piw",
    user: "u",
    password: "p@ss",
    params: { sslmode: "require" },
  });
  const local = parseDsn("postgres:///piwheels");
  assertEquals(local.kind === "postgres" && [local.host.startsWith("/"), local.database], [
    true,
    "piwheels",
  ]);
  const socket = parseDsn("postgresql:///piw?host=/tmp&port=5433");
  assertEquals(socket.kind === "postgres" && [socket.host, socket.port], ["/tmp", 5433]);
  assertEquals(parseDsn("pglite:"), { kind: "pglite", dataDir: null });
  assertEquals(parseDsn("pglite://"), { kind: "pglite", dataDir: null });
  assertEquals(parseDsn("pglite:///var/lib/piw"), { kind: "pglite", dataDir: "/var/lib/piw" });
  assertEquals(parseDsn("pglite:./data"), { kind: "pglite", dataDir: "./data" });
});

Deno.test("parseDsn refuses other DSNs without showing passwords", () => {
  for (const dsn of ["mysql://u:secret@h/db", "pglite://host/x", "piwheels"]) {
    const error = (() => {
      try {
        parseDsn(dsn);
      } catch (e) {
        return e as Error;
      }
    })();
    assertEquals(error instanceof UsageError, true, dsn);
    assertEquals(error!.message.includes("secret"), false);
  }
  assertEquals(redactDsn("postgres://u:secret@h/db"), "postgres://u:***@h/db");
});

Deno.test("compareVersions orders dotted versions numerically", () => {
  assertEquals(compareVersions("0.10.0", "0.9.1"), 1);
  assertEquals(compareVersions("0.1", "0.1.0"), 0);
  assertEquals(compareVersions("0.1.0", "0.2.0"), -1);
});

/** The version check, on an empty database that `init` then initialises. */
async function versionChecks(
  admin: SqlClient,
  openMaster: () => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  await assertRejects(openMaster, PiwError, 'not initialised; run "piw initdb"');
  await initializeDatabase(admin, { user: PG_USER, yes: true });
  await (await openMaster()).close();
  await checkSchemaVersion(admin);

  await admin.query("UPDATE configuration SET version = '0.0.9'");
  const older = await assertRejects(openMaster, PiwError, "piw initdb");
  assertEquals(
    older.message,
    `Database version (0.0.9) does not match piw's (${PIW_VERSION}); run "piw initdb" to ` +
      "upgrade the database",
  );
  await admin.query("UPDATE configuration SET version = '99.0.0'");
  await assertRejects(openMaster, PiwError, `Database version (99.0.0) is newer than piw's`);

  await admin.query(`UPDATE configuration SET version = '${PIW_VERSION}'`);
  await admin.query("COMMENT ON TABLE configuration IS NULL");
  await assertRejects(openMaster, PiwError, "is not a piw database");
}

Deno.test({
  name: "the master refuses a database whose schema is not piw's version (postgres)",
  ignore: SKIP_PG,
  async fn() {
    await withScratchDatabase(
      "schema",
      (admin, name) => versionChecks(admin, () => openDatabase(pgDsn(name, MASTER_ROLE))),
    );
  },
});

Deno.test({
  name: "the master refuses a database whose schema is not piw's version (pglite)",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "piw_pglite_" });
    const admin = await openClient(`pglite://${dir}`);
    try {
      // Same directory in the same isolate: the engine is shared, not opened twice.
      await versionChecks(admin, () => openDatabase(`pglite://${dir}`));
    } finally {
      await admin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "opening a missing database says it does not exist",
  ignore: SKIP_PG,
  async fn() {
    await assertRejects(
      () => openDatabase(pgDsn("piw_test_no_such_database", MASTER_ROLE)),
      PiwError,
      "Database piw_test_no_such_database does not exist",
    );
  },
});

Deno.test({
  name: "postgres:///DB connects through the local socket",
  ignore: SKIP_PG || !existsSync("/var/run/postgresql"),
  async fn() {
    // Reaching the server is what matters: as an OS user without a role, the login itself is
    // refused (peer authentication), which only the server can say.
    try {
      await (await openClient(
        "postgres:///postgres?port=" + (parseDsn(superDsn()) as PostgresDsn)
          .port,
      )).close();
    } catch (error) {
      assertEquals(error instanceof PiwError, true);
      assertEquals((error as Error).message.startsWith("Cannot log in to database postgres"), true);
    }
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("opening a missing PGlite directory says it does not exist, creating nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw_pglite_" });
  try {
    await assertRejects(
      () => openDatabase(`pglite://${dir}/missing`),
      PiwError,
      `Database ${dir}/missing does not exist`,
    );
    assertEquals(existsSync(`${dir}/missing`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
