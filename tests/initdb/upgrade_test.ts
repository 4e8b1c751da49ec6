/**
 * A real upgrade (issue 18 item 5): a database made by 0.1.0's create script and filled through
 * piw's own functions is refused by the master, upgraded by the real `piw initdb`, keeps every
 * row, and ends with exactly the schema a fresh `piw initdb` makes (catalogs compared object by
 * object, so any difference between `sql/create_piw.sql` and the update scripts fails here).
 * @module
 */
import { gunzipSync } from "node:zlib";
import { assert, assertEquals } from "../db/assert.ts";
import {
  addAbis,
  build,
  MASTER_ROLE,
  PG_USER,
  pgDsn,
  pgliteTemplate,
  scratchDatabase,
  SKIP_PG,
  wheel,
} from "../db/harness.ts";
import { Database, detectSchemaVersion, openClient, openDatabase } from "../../src/db/mod.ts";
import type { SqlClient } from "../../src/db/client.ts";
import type { BuildRecord } from "../../src/db/types.ts";
import { logBuildFiles } from "../../src/db/builds.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";
import { PIW_VERSION } from "../../src/version.ts";
import { masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { diffLines, schemaLines, tableColumns, tableData } from "./catalog.ts";

const OLD = "0.1.0";
/** 0.1.0's create script as released (gzipped: a frozen copy, never edited). */
const OLD_SCRIPT = new URL("../fixtures/sql/create_piw_0.1.0.sql.gz", import.meta.url);

/** A directory holding 0.1.0's create script as `create_piw.sql`, as 0.1.0 shipped it. */
async function oldSqlDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "piw_sql_010_" });
  await Deno.writeFile(`${dir}/create_piw.sql`, gunzipSync(await Deno.readFile(OLD_SCRIPT)));
  return dir;
}

/** Create the 0.1.0 schema with 0.1.0's script (what 0.1.0's `piw initdb` ran). */
async function createOld(client: SqlClient, user: string): Promise<void> {
  const dir = await oldSqlDir();
  try {
    await initializeDatabase(client, { user, yes: true, sqlDir: dir, targetVersion: OLD });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(await detectSchemaVersion(client), OLD);
}

const at = (s: string) => new Date(`2026-0${s}Z`);

/**
 * Log a build as piw 0.1.0 did: its `log_build` had seven parameters (later releases add some,
 * so today's `Database.logBuild` cannot call a 0.1.0 database).
 */
async function logBuild010(db: Database, b: BuildRecord): Promise<void> {
  await db.client.query("SELECT log_build($1, $2, $3, $4, $5, $6, $7::text::jsonb)", [
    b.package,
    b.version,
    b.builtBy,
    b.duration,
    b.status,
    b.abiTag,
    JSON.stringify(logBuildFiles(b)),
  ]);
}

/**
 * Fill a 0.1.0 database through piw's own functions (the master's role where there is one):
 * packages (skipped, described, aliased), versions (skipped, yanked, deleted), builds with and
 * without files, files with apt and pip dependencies, every access log, pending rewrites, the
 * PyPI serial.
 */
async function fill(db: Database, admin: SqlClient): Promise<void> {
  await addAbis(admin, "cp311", "cp39");
  await admin.query(
    "INSERT INTO preinstalled_apt_packages (abi_tag, apt_package) VALUES ($1, $2)",
    [
      "cp311",
      "libc6",
    ],
  );
  await db.addNewPackage("foo", "", "Foo does things");
  await db.addNewPackage("bar-baz");
  await db.addNewPackage("skipped", "binary only");
  await db.addPackageName("bar-baz", "Bar_Baz", at("1-02T10:00:00"));
  await db.addNewPackageVersion("foo", "1.0", at("1-01T00:00:00"));
  await db.addNewPackageVersion("foo", "1.1", at("2-01T00:00:00"));
  await db.addNewPackageVersion("foo", "2.0b1", at("3-01T00:00:00"), "broken");
  await db.addNewPackageVersion("bar-baz", "0.1", at("1-05T00:00:00"));
  await db.addNewPackageVersion("bar-baz", "0.2", null);
  await db.addNewPackageVersion("skipped", "3.0", at("1-06T00:00:00"));
  await db.yankVersion("foo", "1.0");
  await db.skipPackageVersion("bar-baz", "0.2", "too big");
  await db.addNewPackageVersion("bar-baz", "0.3", at("1-07T00:00:00"));
  await db.deleteVersion("bar-baz", "0.3");
  await db.setPackageDescription("bar-baz", "Bars and bazzes");
  await logBuild010(
    db,
    build("foo", "1.0", "cp311", [
      wheel("foo", "1.0", "cp311", {
        filehash: "a".repeat(64),
        requiresPython: ">=3.9",
        dependencies: { apt: ["libc6", "libfoo1"], pip: ["requests"] },
      }),
      wheel("foo", "1.0", "none", { filehash: "b".repeat(64) }),
    ]),
  );
  await logBuild010(db, build("foo", "1.1", "cp39", [], { builtBy: 3 }));
  await logBuild010(
    db,
    build("bar-baz", "0.1", "cp39", [wheel("bar-baz", "0.1", "cp39", { filesize: 123456 })], {
      builtBy: 7,
      duration: 1234,
    }),
  );
  const client = { host: "10.0.0.1", arch: "armv7l", distroName: "Raspbian GNU/Linux" };
  await db.logDownload({
    filename: "foo-1.0-cp311-cp311-linux_armv7l.whl",
    timestamp: at("3-01T12:00:00.123456"),
    ...client,
    pyName: "CPython",
    pyVersion: "3.11.2",
    installerName: "pip",
    installerVersion: "23.0.1",
  });
  await db.logDownload({
    filename: "bar_baz-0.1-cp39-cp39-linux_armv7l.whl",
    host: "::1",
    timestamp: at("3-02T00:00:00"),
  });
  await db.logSearch({ package: "foo", timestamp: at("3-01T12:00:01"), ...client });
  await db.logProject({
    package: "foo",
    host: "10.0.0.2",
    timestamp: at("3-03T00:00:00"),
    userAgent: "Firefox",
  });
  await db.logJson({
    package: "bar-baz",
    host: "10.0.0.3",
    timestamp: at("3-04T00:00:00"),
    userAgent: null,
  });
  await db.logPage({
    page: "faq.html",
    host: "10.0.0.4",
    timestamp: at("3-05T00:00:00"),
    userAgent: "curl/8",
  });
  await db.saveRewritesPending([
    { package: "foo", addedAt: at("3-06T00:00:00"), command: "BOTH" },
    { package: "bar-baz", addedAt: at("3-06T00:00:01"), command: "PROJECT" },
  ]);
  await db.setPypiSerial(123456789);
}

/** Tables the fill must have reached, so that "the data is preserved" means something. */
const FILLED = [
  "build_abis",
  "builds",
  "built_packages",
  "dependencies",
  "downloads",
  "files",
  "package_names",
  "packages",
  "preinstalled_apt_packages",
  "project_json_downloads",
  "project_page_hits",
  "rewrites_pending",
  "searches",
  "versions",
  "web_page_hits",
];

/** `piw master` on the old database: exits non-zero with one line saying to run piw initdb. */
async function masterRefuses(dsn: string): Promise<void> {
  const output = await Deno.makeTempDir({ prefix: "piw_up_out_" });
  const queues = masterQueues(`${output}/q-`);
  const master = new PiwProcess("master", masterCommand(dsn, output, queues));
  try {
    const code = await master.exit(60_000);
    assert(code !== 0, `the master ran on a ${OLD} database:\n${master.tail()}`);
    const line = master.lines.find((l) =>
      l.includes(`Database version (${OLD}) does not match piw's (${PIW_VERSION})`)
    );
    assert(line?.includes('run "piw initdb" to upgrade the database'), master.tail());
    assert(!master.lines.some((l) => /^\s+at /.test(l)), `stack trace:\n${master.tail()}`);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

/** The real `piw initdb --yes` on `dsn`; the exit code must be 0. */
async function piwInitdb(dsn: string, user: string): Promise<PiwProcess> {
  const initdb = new PiwProcess("initdb", ["initdb", "--dsn", dsn, "--user", user, "--yes"]);
  const code = await initdb.exit(120_000);
  assertEquals(code, 0, initdb.tail());
  assert(initdb.lines.some((l) => l.includes(`Detected database version ${OLD}`)), initdb.tail());
  assert(initdb.lines.some((l) => l.includes(`Upgrading database to version ${PIW_VERSION}`)));
  return initdb;
}

/** Compare the upgraded database with a fresh one: same schema, object by object. */
async function assertSameSchema(upgraded: SqlClient, fresh: SqlClient): Promise<void> {
  const diff = diffLines(
    await schemaLines(upgraded),
    await schemaLines(fresh),
    `the database upgraded from ${OLD}`,
    `a fresh ${PIW_VERSION} database (sql/create_piw.sql)`,
  );
  assertEquals(diff, "", `the upgraded schema differs from a fresh one:\n${diff}`);
}

/** The rows the old database held, by table; asserts the fill reached every table it should. */
async function snapshot(client: SqlClient) {
  const columns = await tableColumns(client);
  const data = await tableData(client, columns);
  for (const table of FILLED) assert(data[table]?.length, `no rows in ${table}`);
  // The one row an upgrade changes: its version.
  data.configuration = data.configuration.map((row) => row.replace(`"${OLD}"`, `"${PIW_VERSION}"`));
  return { columns, data };
}

/** After the upgrade the master's API reads the old data at the new version. */
async function assertReadable(db: Database): Promise<void> {
  const foo = await db.getProjectData("foo");
  assert(foo, "foo is gone");
  assertEquals(await db.getPypiSerial(), 123456789);
  assertEquals(Object.keys(await db.getPackageFiles("foo")).length, 2);
  assertEquals(await db.getPackageAliases("bar-baz"), ["Bar_Baz"]);
  assertEquals((await db.loadRewritesPending()).map((r) => r.package), ["foo", "bar-baz"]);
  const stats = await db.getStatistics();
  assertEquals(stats.downloadsAll, 2);
}

Deno.test({
  name: `upgrade ${OLD} -> ${PIW_VERSION} with data (postgres)`,
  ignore: SKIP_PG,
  async fn() {
    const old = await scratchDatabase("upgrade_old");
    const fresh = await scratchDatabase("upgrade_fresh");
    try {
      const admin = await openClient(pgDsn(old.name));
      let before;
      try {
        await createOld(admin, PG_USER);
        // Filled as the master fills it: through its role and piw's functions.
        const master = await openClient(pgDsn(old.name, MASTER_ROLE));
        try {
          await fill(new Database(master), admin);
        } finally {
          await master.close();
        }
        before = await snapshot(admin);
      } finally {
        await admin.close();
      }
      await masterRefuses(pgDsn(old.name, MASTER_ROLE));

      await piwInitdb(pgDsn(old.name), PG_USER);

      const upgraded = await openClient(pgDsn(old.name));
      const clean = await openClient(pgDsn(fresh.name));
      try {
        assertEquals(await detectSchemaVersion(upgraded), PIW_VERSION);
        assertEquals(await tableData(upgraded, before.columns), before.data);
        await initializeDatabase(clean, { user: PG_USER, yes: true });
        await assertSameSchema(upgraded, clean);
      } finally {
        await upgraded.close();
        await clean.close();
      }
      const db = await openDatabase(pgDsn(old.name, MASTER_ROLE));
      try {
        await assertReadable(db);
      } finally {
        await db.close();
      }
      // Upgraded: a second run finds it current and changes nothing.
      const again = new PiwProcess("initdb", [
        "initdb",
        "--dsn",
        pgDsn(old.name),
        "--user",
        PG_USER,
        "--yes",
      ]);
      assertEquals(await again.exit(60_000), 0, again.tail());
      assert(again.lines.some((l) => l.includes("Database is the current version")), again.tail());
    } finally {
      await old.drop();
      await fresh.drop();
    }
  },
});

Deno.test({
  name: `upgrade ${OLD} -> ${PIW_VERSION} with data (pglite)`,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "piw_upgrade_pglite_" });
    const dsn = `pglite://${dir}/old`;
    try {
      let before;
      const client = await openClient(dsn, { create: true });
      try {
        await createOld(client, "piw");
        await fill(new Database(client), client);
        before = await snapshot(client);
      } finally {
        await client.close();
      }
      await masterRefuses(dsn);

      await piwInitdb(dsn, "piw");

      await Deno.mkdir(`${dir}/fresh`);
      const copy = await new Deno.Command("cp", {
        args: ["-a", `${await pgliteTemplate()}/.`, `${dir}/fresh`],
      }).output();
      assert(copy.success, "copying the PGlite template");
      const upgraded = await openClient(dsn);
      const clean = await openClient(`pglite://${dir}/fresh`);
      try {
        assertEquals(await detectSchemaVersion(upgraded), PIW_VERSION);
        assertEquals(await tableData(upgraded, before.columns), before.data);
        await assertSameSchema(upgraded, clean);
        await assertReadable(new Database(upgraded));
      } finally {
        await upgraded.close();
        await clean.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
