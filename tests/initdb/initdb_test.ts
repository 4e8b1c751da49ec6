import { assert, assertEquals, assertIncludes, assertRejects } from "../db/assert.ts";
import {
  MASTER_ROLE,
  PG_USER,
  pgDsn,
  SKIP_PG,
  superDsn,
  withScratchDatabase,
} from "../db/harness.ts";
import { detectSchemaVersion, openClient, openDatabase, parseDsn } from "../../src/db/mod.ts";
import type { SqlClient } from "../../src/db/client.ts";
import type { PostgresDsn } from "../../src/db/dsn.ts";
import { DeclinedError, PiwError } from "../../src/errors.ts";
import { PIW_VERSION } from "../../src/version.ts";
import { initializeDatabase, type InitializeOptions } from "../../src/initdb/initdb.ts";
import { run } from "../../src/initdb/main.ts";
import { textPromptIO } from "../../src/cli/prompt.ts";
import { configureLogging } from "../../src/log.ts";

const NEXT = `${PIW_VERSION}.1`;
const LATER = `${PIW_VERSION}.2`;

/** Upgrade steps from piw's schema: a column, a function granted to the master, a comment. */
const STEPS: Record<string, string> = {
  [`update_${PIW_VERSION}_${NEXT}.sql`]: `
    UPDATE configuration SET version = '${NEXT}';
    ALTER TABLE packages ADD COLUMN homepage VARCHAR(200) DEFAULT '' NOT NULL;
    CREATE FUNCTION set_homepage(pkg VARCHAR, url VARCHAR) RETURNS VOID
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $sql$ UPDATE packages SET homepage = url WHERE package = pkg $sql$;
    REVOKE ALL ON FUNCTION set_homepage(VARCHAR, VARCHAR) FROM PUBLIC;
    DO $sql$ BEGIN
        EXECUTE format('GRANT EXECUTE ON FUNCTION set_homepage(VARCHAR, VARCHAR) TO %I',
            current_setting('piw.username'));
    END $sql$;`,
  [`update_${NEXT}_${LATER}.sql`]: `
    -- second step; semicolons in comments and strings are not statement ends
    UPDATE configuration SET version = '${LATER}';
    COMMENT ON COLUMN packages.homepage IS 'where it''s from; a URL';`,
};

/** A step that fails half-way, after changing things that must be rolled back. */
const FAILING: Record<string, string> = {
  [`update_${PIW_VERSION}_${NEXT}.sql`]: `
    UPDATE configuration SET version = '${NEXT}';
    ALTER TABLE packages ADD COLUMN homepage VARCHAR(200);
    DELETE FROM packages;
    SELECT 1 / 0;`,
};

async function stepsDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "piw_steps_" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

const quiet = (extra: Partial<InitializeOptions> = {}): InitializeOptions => ({
  user: PG_USER,
  yes: true,
  ...extra,
});

async function hasColumn(client: SqlClient, table: string, column: string): Promise<boolean> {
  const rows = await client.query(
    "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
    [table, column],
  );
  return rows.length > 0;
}

/** Cases run on both engines, each on an emptied database (public schema dropped). */
/** A database of piw's schema claiming `version` is refused with `message`. */
async function refusesVersion(client: SqlClient, version: string, message: string) {
  await initializeDatabase(client, quiet());
  await client.query("UPDATE configuration SET version = $1", [version]);
  await assertRejects(() => initializeDatabase(client, quiet()), PiwError, message);
}

const cases: Record<string, (client: SqlClient, kind: "postgres" | "pglite") => Promise<void>> = {
  "creates the schema, reporting each statement, then finds it current": async (client) => {
    let calls = 0, total = 0;
    const result = await initializeDatabase(
      client,
      quiet({
        progress: (done, all) => {
          calls++;
          total = all;
          assertEquals(done, calls);
        },
      }),
    );
    assertEquals(result, "created");
    assert(calls > 50 && calls === total, `${calls} of ${total}`);
    assertEquals(await detectSchemaVersion(client), PIW_VERSION);
    // Current: no question asked (end of input would refuse), nothing run.
    const again = await initializeDatabase(client, {
      user: PG_USER,
      yes: false,
      promptIO: textPromptIO("", () => {}),
      progress: () => assert(false, "ran a statement"),
    });
    assertEquals(again, "current");
  },

  "asks first, and a no leaves the database empty": async (client) => {
    let asked = "";
    await assertRejects(
      () =>
        initializeDatabase(client, {
          user: PG_USER,
          yes: false,
          promptIO: textPromptIO("n\n", (text) => asked += text),
        }),
      DeclinedError,
    );
    assertIncludes(asked, "Do you wish to initialize the database? [Y/n]");
    assertEquals(await detectSchemaVersion(client), null);
    const result = await initializeDatabase(client, {
      user: PG_USER,
      yes: false,
      promptIO: textPromptIO("\n", () => {}),
    });
    assertEquals(result, "created");
  },

  "upgrades through a chain of steps, keeping the data": async (client, kind) => {
    await initializeDatabase(client, quiet());
    await client.query("SELECT add_new_package('foo', '', 'kept')");
    const dir = await stepsDir(STEPS);
    try {
      let asked = "";
      const result = await initializeDatabase(client, {
        user: PG_USER,
        yes: false,
        sqlDir: dir,
        targetVersion: LATER,
        promptIO: textPromptIO("y\n", (text) => asked += text),
      });
      assertEquals(result, "upgraded");
      assertIncludes(asked, `Do you wish to proceed with the upgrade to ${LATER}?`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    assertEquals(await detectSchemaVersion(client), LATER);
    assertEquals(await client.query("SELECT package, description, homepage FROM packages"), [
      { package: "foo", description: "kept", homepage: "" },
    ]);
    const [comment] = await client.query<{ c: string }>(
      "SELECT col_description(attrelid, attnum) AS c FROM pg_attribute " +
        "WHERE attrelid = 'packages'::regclass AND attname = 'homepage'",
    );
    assertEquals(comment.c, "where it's from; a URL");
    if (kind === "postgres") {
      const master = await openClient(pgDsn(client.database, MASTER_ROLE));
      try {
        await master.query("SELECT set_homepage('foo', 'https://example.org')");
      } finally {
        await master.close();
      }
      const [row] = await client.query<{ homepage: string }>("SELECT homepage FROM packages");
      assertEquals(row.homepage, "https://example.org");
    }
  },

  "rolls a failing upgrade back completely": async (client) => {
    await initializeDatabase(client, quiet());
    await client.query("SELECT add_new_package('foo')");
    const dir = await stepsDir(FAILING);
    try {
      const error = await assertRejects(
        () => initializeDatabase(client, quiet({ sqlDir: dir, targetVersion: NEXT })),
        PiwError,
        `update_${PIW_VERSION}_${NEXT}.sql line 5: division by zero`,
      );
      assertIncludes(error.message, "the database is unchanged");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    assertEquals(await detectSchemaVersion(client), PIW_VERSION);
    assertEquals(await hasColumn(client, "packages", "homepage"), false);
    assertEquals(await client.query("SELECT package FROM packages"), [{ package: "foo" }]);
  },

  "refuses to downgrade": (client) =>
    refusesVersion(
      client,
      "99.0",
      `Database version 99.0 is newer than piw's (${PIW_VERSION}); piw initdb never downgrades`,
    ),

  "refuses a version it has no upgrade path from": (client) =>
    refusesVersion(
      client,
      "0.0.5",
      `Unable to find an upgrade path from version 0.0.5 to ${PIW_VERSION}`,
    ),

  "refuses databases that are not piw's": async (client) => {
    await client.query("CREATE TABLE configuration (id INTEGER, version VARCHAR(16))");
    await client.query("INSERT INTO configuration VALUES (1, '0.23')");
    await assertRejects(
      () => initializeDatabase(client, quiet()),
      PiwError,
      "is not a piw database (its configuration says version 0.23",
    );
    await client.query("DROP TABLE configuration");
    await client.query("CREATE TABLE other (x INTEGER)");
    await assertRejects(() => initializeDatabase(client, quiet()), PiwError, "no piw schema");
  },
};

async function emptySchema(client: SqlClient): Promise<void> {
  await client.query("DROP SCHEMA public CASCADE");
  await client.query("CREATE SCHEMA public");
}

configureLogging({ level: "error" });

Deno.test({
  name: "piw initdb (postgres)",
  ignore: SKIP_PG,
  async fn(t) {
    await withScratchDatabase("initdb", async (client, name) => {
      for (const [name, fn] of Object.entries(cases)) {
        await t.step(name, async () => {
          await emptySchema(client);
          await fn(client, "postgres");
        });
      }

      await t.step("run() creates the schema the master can then use", async () => {
        await emptySchema(client);
        assertEquals(await run({ dsn: pgDsn(name), user: PG_USER, yes: true }), 0);
        const db = await openDatabase(pgDsn(name, MASTER_ROLE));
        assertEquals(await db.addNewPackage("foo"), true);
        await db.close();
      });

      await t.step("refuses a superuser or missing master role", async () => {
        await emptySchema(client);
        const superUser = (parseDsn(superDsn()) as PostgresDsn).user!;
        await assertRejects(
          () => initializeDatabase(client, quiet({ user: superUser })),
          PiwError,
          `User ${superUser} is a cluster superuser`,
        );
        await assertRejects(
          () => initializeDatabase(client, quiet({ user: "piw_no_such_role" })),
          PiwError,
          "User piw_no_such_role doesn't exist as a cluster user",
        );
        assertEquals(await detectSchemaVersion(client), null);
      });

      await t.step("refuses a DSN that is not a cluster superuser", async () => {
        await emptySchema(client);
        await client.query(`GRANT CONNECT ON DATABASE "${name}" TO ${PG_USER}`);
        await assertRejects(
          () => run({ dsn: pgDsn(name, MASTER_ROLE), user: PG_USER, yes: true }),
          PiwError,
          `User ${PG_USER} is not a cluster superuser`,
        );
      });

      await t.step("says when the database does not exist", async () => {
        await assertRejects(
          () => run({ dsn: pgDsn("piw_test_missing_db"), user: PG_USER, yes: true }),
          PiwError,
          "Database piw_test_missing_db does not exist",
        );
      });
    });
  },
});

Deno.test({
  name: "piw initdb (pglite)",
  async fn(t) {
    const client = await openClient("pglite:");
    try {
      for (const [name, fn] of Object.entries(cases)) {
        await t.step(name, async () => {
          await emptySchema(client);
          await fn(client, "pglite");
        });
      }
    } finally {
      await client.close();
    }

    await t.step("run() on a directory says the role checks do not apply", async () => {
      const dir = await Deno.makeTempDir({ prefix: "piw_pglite_" });
      const logFile = `${dir}.log`;
      configureLogging({ file: logFile, fileLevel: "warning" });
      try {
        // The directory is created: a PGlite database is a directory.
        assertEquals(await run({ dsn: `pglite://${dir}/db`, user: "piwheels", yes: true }), 0);
        const db = await openDatabase(`pglite://${dir}/db`);
        assertEquals(await db.addNewPackage("foo"), true);
        await db.close();
        const log = await Deno.readTextFile(logFile);
        assertIncludes(log, "the superuser and --user checks do not apply");
      } finally {
        configureLogging({ file: "" });
        await Deno.remove(dir, { recursive: true });
        await Deno.remove(logFile).catch(() => {});
      }
    });
  },
});
