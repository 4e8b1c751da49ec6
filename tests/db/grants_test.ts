import { assertEquals, assertRejects } from "./assert.ts";
import { SKIP_PG, withPostgres } from "./harness.ts";
import { type Database, DatabaseError } from "../../src/db/mod.ts";
import type { SqlClient } from "../../src/db/client.ts";

/** Functions that write, each of which must run as its (superuser) owner. */
const WRITERS = [
  "add_new_package",
  "add_new_package_version",
  "add_package_name",
  "apply_changelog",
  "delete_build",
  "delete_package",
  "delete_version",
  "downloads_trigger",
  "fold_statistics",
  "get_statistics",
  "log_build",
  "log_downloads",
  "log_json_downloads",
  "log_metadata_fetches",
  "log_page_hits",
  "log_project_hits",
  "log_searches",
  "logs_written",
  "mark_deleted",
  "metadata_fetches_trigger",
  "refresh_build_queue",
  "refresh_queue_ranks",
  "refresh_statistics",
  "requeue_due_retries",
  "retry_builds",
  "retry_missing_libraries",
  "retry_no_sdist",
  "save_rewrites_pending",
  "set_package_description",
  "set_package_priority",
  "set_pypi_serial",
  "skip_package",
  "skip_package_version",
  "unyank_version",
  "yank_version",
];

function withMaster(fn: (db: Database, admin: SqlClient) => Promise<void>): Promise<void> {
  return withPostgres("grants", ({ db, admin }) => fn(db, admin));
}

Deno.test({
  name: "the master's role reads tables and calls functions but cannot write directly",
  ignore: SKIP_PG,
  fn: () =>
    withMaster(async (db, admin) => {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
      assertEquals(await db.addNewPackage("foo"), true);
      assertEquals(await db.client.query("SELECT package FROM packages"), [{ package: "foo" }]);
      for (
        const statement of [
          "INSERT INTO packages (package) VALUES ('bar')",
          "UPDATE packages SET skip = 'x'",
          "DELETE FROM packages",
          "UPDATE configuration SET pypi_serial = 1",
          "INSERT INTO statistics_deltas (counter, value) VALUES ('files_count', 1)",
          "TRUNCATE downloads",
          "UPDATE downloads SET arch = 'x'",
          "DELETE FROM searches",
          "DELETE FROM metadata_fetches",
          "DELETE FROM logs_pending",
          "CREATE TABLE mine (x INTEGER)",
          "SELECT refresh_build_queue()",
          "SELECT refresh_statistics()",
          "SELECT retry_now(ARRAY[1])",
        ]
      ) {
        const error = await assertRejects(() => db.client.query(statement), DatabaseError);
        assertEquals(error.code, "42501", `${statement}: ${error.message}`);
      }
      assertEquals(await db.getAllPackages(), new Set(["foo"]));
      // The access logs take rows (Lumberjack COPYs them), and the download statistics follow
      // through the (owner's) trigger.
      assertEquals(await db.canCopyAccess(), true);
      const line = "foo-1.0-py3-none-any.whl\t10.0.0.1\t2026-11-24T10:00:00Z" + "\t\\N".repeat(10);
      assertEquals(await db.copyAccess({ LOGDOWNLOAD: `${line}\n${line}\n` }), 2);
      const [{ n }] = await admin.query<{ n: number }>(
        "SELECT sum(value) AS n FROM statistics_deltas WHERE counter = 'downloads'",
      );
      assertEquals(Number(n), 2);
      // So do PEP 658 metadata fetches, into their own table and counter.
      assertEquals(await db.copyAccess({ LOGMETADATA: `${line}\n` }), 1);
      const stats = await db.getStatistics();
      assertEquals([stats.metadataFetchesAll, stats.downloadsAll], [1, 2]);
    }),
});

Deno.test({
  name: "writing functions run as their owner with a fixed search_path; PUBLIC has nothing",
  ignore: SKIP_PG,
  fn: () =>
    withMaster(async (_db, admin) => {
      const definers = await admin.query<{ name: string }>(
        `SELECT proname AS name FROM pg_proc
         WHERE pronamespace = 'public'::regnamespace AND prosecdef ORDER BY proname`,
      );
      assertEquals(definers.map((r) => r.name), WRITERS);
      const unpinned = await admin.query<{ name: string }>(
        `SELECT proname AS name FROM pg_proc
         WHERE pronamespace = 'public'::regnamespace
         AND NOT COALESCE('search_path=public, pg_temp' = ANY(proconfig), false)
         AND proname NOT IN ('abi_order', 'abi3_covers', 'utc_date', 'utc_day',
           'queue_popularity', 'queue_rank')`,
      );
      assertEquals(unpinned, []);
      const [publicGrants] = await admin.query<{ n: number }>(
        `SELECT count(*) AS n FROM (
           SELECT (aclexplode(datacl)).grantee FROM pg_database WHERE datname = current_database()
           UNION ALL
           SELECT (aclexplode(relacl)).grantee FROM pg_class
           WHERE relnamespace = 'public'::regnamespace
           UNION ALL
           SELECT (aclexplode(proacl)).grantee FROM pg_proc
           WHERE pronamespace = 'public'::regnamespace
         ) g WHERE grantee = 0`,
      );
      assertEquals(publicGrants.n, 0);
    }),
});
