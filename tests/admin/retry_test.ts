/**
 * `piw retry` as an operator runs it: a real `piw` process against PostgreSQL, on failed builds
 * logged through the master's own function; bad input exits 2 with one line.
 */
import assert from "node:assert/strict";
import { openClient } from "../../src/db/mod.ts";
import { testDatabase } from "../master/helpers.ts";
import { addAbis, pgDsn, SKIP_PG } from "../db/harness.ts";
import { runTool } from "./harness.ts";

Deno.test({
  name: "piw retry queues a permanent failure again at once, by version or by class",
  ignore: SKIP_PG,
  async fn() {
    const db = await testDatabase("postgres", async (admin) => {
      await addAbis(admin, "cp311");
      for (const pkg of ["foo", "bar"]) {
        await admin.query("SELECT add_new_package($1)", [pkg]);
        await admin.query("SELECT add_new_package_version($1, '1.0')", [pkg]);
      }
      await admin.query(
        "SELECT log_build('foo', '1.0', 1, 1000, false, 'cp311', '[]', 'missing-library', " +
          "'ffi.h', 'fatal error: ffi.h: No such file or directory')",
      );
      await admin.query(
        "SELECT log_build('bar', '1.0', 1, 1000, false, 'cp311', '[]', 'compiler-error')",
      );
    });
    const admin = await openClient(pgDsn(db.dsn.split("/").pop()!));
    const queued = async () =>
      (await admin.query<{ package: string }>(
        "SELECT package FROM versions WHERE queued_abi IS NOT NULL ORDER BY package",
      )).map((r) => r.package);
    try {
      assert.deepEqual(await queued(), []);

      const one = await runTool(["retry", "-d", db.dsn, "foo", "1.0"]);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /retrying 1 failed build of foo 1\.0/);
      assert.deepEqual(await queued(), ["foo"]);
      // Both tries stay on record.
      const again = await runTool(["retry", "-d", db.dsn, "foo"]);
      assert.match(again.stdout, /no failed builds of foo to retry/);

      // A whole class asks first; with -y it goes ahead.
      assert.equal(
        (await runTool(["retry", "-d", db.dsn, "--class", "compiler-error"])).code,
        2,
      );
      assert.deepEqual(await queued(), ["foo"]);
      const cls = await runTool(["retry", "-y", "-d", db.dsn, "--class", "compiler-error"]);
      assert.equal(cls.code, 0, cls.stderr);
      assert.match(cls.stdout, /retrying 1 compiler-error failed build/);
      assert.deepEqual(await queued(), ["bar", "foo"]);
      assert.deepEqual(
        await admin.query("SELECT count(*)::INTEGER AS n FROM builds"),
        [{ n: 2 }],
      );

      for (
        const [args, pattern] of [
          [["retry", "-d", db.dsn], /name a package, or a failure class with --class/],
          [["retry", "-d", db.dsn, "--class", "bogus", "foo"], /'bogus' is not one of/],
          [["retry", "-d", db.dsn, "no/such"], /invalid package name/],
        ] as const
      ) {
        const r = await runTool([...args]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, pattern);
        // One line (and the CLI's usual pointer to --help), never a stack trace.
        assert.doesNotMatch(r.stderr, /^\s+at /m, r.stderr);
      }
    } finally {
      await admin.close();
      await db.remove();
    }
  },
});
