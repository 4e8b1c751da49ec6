/**
 * `piw import`, `add`, `remove` and `rebuild` end to end against a running `piw master`
 * (PGlite, dev mode): the web output while it runs, the database once it has stopped.
 */
import assert from "node:assert/strict";
import { openClient } from "../../src/db/mod.ts";
import { waitFor } from "../master/helpers.ts";
import { adminWheel, exists, runTool, withMaster } from "./harness.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const PKG = "piw-admin-pkg";

Deno.test({
  name: "admin tools import, add, skip, yank, rebuild and remove against a running master",
  ...options,
  async fn() {
    const wheel = await adminWheel();
    const work = await Deno.makeTempDir({ prefix: "piw-admin-work-" });
    const copy = `${work}/${wheel.filename}`;
    await Deno.copyFile(wheel.path, copy);
    try {
      await withMaster(async (master) => {
        const www = master.outputPath;
        const ok = async (args: string[]) => {
          const r = await master.tool(args);
          assert.equal(r.code, 0, `piw ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
          return r;
        };
        const fails = async (args: string[], pattern: RegExp) => {
          const r = await master.tool(args);
          assert.equal(r.code, 1, `piw ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
          assert.match(r.stderr, pattern);
          return r;
        };

        // Importing a version the master does not know fails and keeps the file.
        await fails(["import", "-y", "-d", "--abi", "cp311", copy], /unknown package version/);
        assert.ok(exists(copy));
        // Without -y (and no terminal) the prompt is declined: exit 2, nothing sent.
        assert.equal((await master.tool(["add", PKG])).code, 2);

        assert.match(
          (await ok(["add", "-y", PKG, "-d", "A test package"])).stdout,
          /added package/,
        );
        assert.match((await ok(["add", "-y", PKG])).stdout, /updated package/);
        assert.match((await ok(["add", "-y", PKG, "1.0"])).stdout, /added version/);
        await fails(["add", "-y", "no-such-pkg", "1.0"], /unknown package/);
        await fails(["add", "-y", PKG, "1.0", "--yank"], /piw remove --yank/);

        // An ABI outside build_abis, a pure wheel without --abi, a broken wheel: refused.
        await fails(["import", "-y", "-d", "--abi", "cp39", copy], /invalid ABI: cp39/);
        assert.equal((await master.tool(["import", "-y", copy])).code, 2);
        const broken = `${work}/${PKG.replaceAll("-", "_")}-9.9-py3-none-any.whl`;
        await Deno.writeTextFile(broken, "not a zip");
        await fails(["import", "-y", "-d", "--abi", "cp311", broken], /not a usable wheel/);
        assert.ok(exists(copy) && exists(broken));

        const imported = await ok(["import", "-y", "-d", "--abi", "cp311", copy]);
        assert.match(imported.stdout, /imported piw-admin-pkg 1\.0/);
        assert.match(imported.stderr, /sent \d+ bytes/);
        assert.ok(!exists(copy), "the original is deleted after a successful import");
        assert.ok(exists(`${www}/simple/${PKG}/${wheel.filename}`));
        await waitFor(
          () => {
            try {
              return Deno.readTextFileSync(`${www}/project/${PKG}/index.html`)
                .includes(wheel.filename);
            } catch {
              return false;
            }
          },
          30_000,
          "the wheel on the project page",
        );
        const simple = Deno.readTextFileSync(`${www}/simple/${PKG}/index.html`);
        assert.ok(simple.includes(wheel.filename));

        // Yank, unyank, skip (files stay), unskip.
        assert.match((await ok(["remove", "-y", PKG, "1.0", "--yank"])).stdout, /yanked/);
        assert.match((await ok(["add", "-y", PKG, "1.0", "--unyank"])).stdout, /updated version/);
        assert.match((await ok(["remove", "-y", PKG, "--skip", "broken"])).stdout, /skip/);
        assert.ok(exists(`${www}/simple/${PKG}/${wheel.filename}`), "skip keeps the files");
        assert.match((await ok(["add", "-y", PKG, "--unskip"])).stdout, /updated package/);
        await fails(["remove", "-y", "no-such-pkg"], /unknown package/);
        await fails(["remove", "-y", PKG, "9.9"], /unknown version/);

        // Rebuilds are queued; an unknown package is an error.
        await ok(["rebuild", "-y", "home"]);
        await ok(["rebuild", "-y", "search"]);
        await ok(["rebuild", "project", PKG]);
        assert.match((await ok(["rebuild", "-y", "index"])).stdout, /every package/);
        assert.equal((await master.tool(["rebuild", "index"])).code, 2, "asks before all");
        await fails(["rebuild", "project", "no-such-pkg"], /unknown package no-such-pkg/);
        await master.waitForLine("queued 1 index and project rebuilds");

        // Removing the version's builds takes its files away and keeps the version.
        assert.match((await ok(["remove", "-y", PKG, "1.0", "--builds"])).stdout, /builds/);
        await waitFor(
          () => !exists(`${www}/simple/${PKG}/${wheel.filename}`),
          30_000,
          "the wheel removed from disk",
        );

        // A second package to leave skipped and yanked for the database check.
        await ok(["add", "-y", "Other_Pkg", "--alias", "other.pkg"]);
        await ok(["add", "-y", "other-pkg", "2.0", "-r", "2024-01-02 03:04:05"]);
        await ok(["remove", "-y", "other-pkg", "2.0", "--yank"]);
        await ok(["remove", "-y", "other-pkg", "--skip", "not wanted"]);

        assert.match((await ok(["remove", "-y", PKG])).stdout, /removed package/);
        await waitFor(() => !exists(`${www}/project/${PKG}`), 30_000, "the project removed");
      }, async (db) => {
        const sql = await openClient(db.dsn);
        try {
          assert.deepEqual(
            await sql.query("SELECT package, skip FROM packages ORDER BY package"),
            [{ package: "other-pkg", skip: "not wanted" }],
          );
          const [version] = await sql.query<{ version: string; yanked: boolean; released: Date }>(
            "SELECT version, yanked, released FROM versions WHERE package = 'other-pkg'",
          );
          assert.equal(version.yanked, true);
          assert.equal(version.released.toISOString(), "2024-01-02T03:04:05.000Z");
          const names = await sql.query<{ name: string }>(
            "SELECT name FROM package_names WHERE package = 'other-pkg' ORDER BY name",
          );
          assert.deepEqual(names.map((r) => r.name), ["Other_Pkg", "other-pkg", "other.pkg"]);
          assert.deepEqual(await sql.query("SELECT build_id FROM builds"), []);
        } finally {
          await sql.close();
        }
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name: "a client with no master gives up after --timeout with exit 1",
  ...options,
  async fn() {
    const queue = `ipc:///tmp/piw-test-nobody-${crypto.randomUUID().slice(0, 8)}`;
    for (const args of [["rebuild", "home"], ["remove", "-y", "foo"], ["add", "-y", "foo"]]) {
      const started = performance.now();
      const r = await runTool([...args, "--import-queue", queue, "--timeout", "1s"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`no answer from the master at ${queue}`));
      assert.ok(performance.now() - started < 15_000);
    }
  },
});
