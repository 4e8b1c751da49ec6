/**
 * `piw import`, `add`, `remove` and `rebuild` end to end against a running `piw master`
 * (PGlite, dev mode): the web output while it runs, the database once it has stopped.
 */
import assert from "node:assert/strict";
import { openClient } from "../../src/db/mod.ts";
import { waitFor } from "../master/helpers.ts";
import { writeWheel } from "../web/helpers.ts";
import { freePort } from "../fixtures/piw_process.ts";
import { adminWheel, exists, runTool, runToolAnswering, withMaster } from "./harness.ts";

const PKG = "piw-admin-pkg";
/** Two wheels of one build of multi-pkg 1.0. */
const [armv7l, aarch64] = ["linux_armv7l", "linux_aarch64"].map((platform) =>
  `multi_pkg-1.0-cp311-cp311-${platform}.whl`
);

Deno.test({
  name: "admin tools import, add, skip, yank, rebuild and remove against a running master",
  async fn() {
    const wheel = await adminWheel();
    const work = await Deno.makeTempDir({ prefix: "piw-admin-work-" });
    const copy = `${work}/${wheel.filename}`;
    await Deno.copyFile(wheel.path, copy);
    try {
      await withMaster(async (master) => {
        const www = master.outputPath;
        const ok = async (args: string[], extra: string[] = []) => {
          const r = await master.tool(args, extra);
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
        // Without --description the summary is asked of PyPI; piw-admin-pkg is not there (404).
        const updated = await ok(["add", "-y", PKG]);
        assert.match(updated.stdout, /updated package/);
        assert.match(updated.stderr, /couldn't fetch the description of piw-admin-pkg/);
        assert.match((await ok(["add", "-y", PKG, "1.0"])).stdout, /added version/);
        await fails(["add", "-y", "no-such-pkg", "1.0"], /unknown package/);
        await fails(["add", "-y", PKG, "1.0", "--yank"], /piw remove --yank/);

        // An ABI outside build_abis, a broken wheel: refused.
        await fails(["import", "-y", "-d", "--abi", "cp39", copy], /invalid ABI: cp39/);
        const broken = `${work}/${PKG.replaceAll("-", "_")}-9.9-py3-none-any.whl`;
        await Deno.writeTextFile(broken, "not a zip");
        await fails(["import", "-y", "-d", "--abi", "cp311", broken], /not a usable wheel/);
        assert.ok(exists(copy) && exists(broken));

        // The file changes between the summary and the transfer: its hash no longer matches,
        // the master gives up on it, and -d keeps the original.
        const size = Deno.statSync(copy).size;
        const changed = await runToolAnswering(
          master.toolArgs(["import", "-d", "--abi", "cp311", copy]),
          async () => {
            const bytes = await Deno.readFile(copy);
            bytes[bytes.length >> 1] ^= 0xff;
            await Deno.writeFile(copy, bytes);
          },
        );
        assert.equal(changed.code, 1, `${changed.stdout}\n${changed.stderr}`);
        assert.match(changed.stderr, /import of piw-admin-pkg 1\.0 failed: .*failed to verify/);
        assert.ok(exists(copy), "a failed import keeps the original");
        assert.ok(!exists(`${www}/simple/${PKG}/${wheel.filename}`));
        await Deno.copyFile(wheel.path, copy);

        // Build log, apt dependencies and duration come from the command line.
        await Deno.writeTextFile(`${work}/build.log`, "built by hand on a Pi 4\n");
        await Deno.writeTextFile(`${work}/deps.txt`, "libfoo1\nlibbar2 libfoo1\n");
        const imported = await ok([
          "import",
          "-y",
          "-d",
          "--abi",
          "cp311",
          "--duration",
          "1m30s",
          "--output",
          `${work}/build.log`,
          "--dependencies",
          `${work}/deps.txt`,
          copy,
        ]);
        assert.match(imported.stdout, /imported piw-admin-pkg 1\.0/);
        assert.match(imported.stderr, new RegExp(`sent ${size} bytes`), "every chunk counted");
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
        const jsonPath = `${www}/project/${PKG}/json/index.json`;
        const release = await waitFor(
          () => {
            try {
              const json = JSON.parse(Deno.readTextFileSync(jsonPath));
              return json.releases["1.0"]?.files[wheel.filename] ? json.releases["1.0"] : null;
            } catch {
              return null;
            }
          },
          30_000,
          `the wheel in the project JSON`,
        );
        assert.deepEqual(release.files[wheel.filename].apt_dependencies, ["libbar2", "libfoo1"]);
        const logUrl: string = release.builds.cp311.log_url;
        const logPath = `${www}${logUrl.startsWith("/") ? logUrl : new URL(logUrl).pathname}`;
        await waitFor(() => exists(logPath), 30_000, "the build log written");
        const log = await new Response(
          (await Deno.open(logPath)).readable.pipeThrough(new DecompressionStream("gzip")),
        ).text();
        assert.equal(log, "built by hand on a Pi 4\n");

        // Yank, unyank, skip (files stay), unskip.
        assert.match((await ok(["remove", "-y", PKG, "1.0", "--yank"])).stdout, /yanked/);
        assert.match((await ok(["add", "-y", PKG, "1.0", "--unyank"])).stdout, /updated version/);
        assert.match((await ok(["remove", "-y", PKG, "--skip", "broken"])).stdout, /skip/);
        // The scribe works in order: once the page shows the skip, any deletion would be done.
        await waitFor(
          () => Deno.readTextFileSync(`${www}/project/${PKG}/index.html`).includes("broken"),
          30_000,
          "the skip on the project page",
        );
        assert.ok(exists(`${www}/simple/${PKG}/${wheel.filename}`), "skip keeps the files");
        assert.ok(
          Deno.readTextFileSync(`${www}/project/${PKG}/index.html`).includes(wheel.filename),
          "skip keeps the files on the project page",
        );
        assert.match((await ok(["add", "-y", PKG, "--unskip"])).stdout, /updated package/);
        await fails(["remove", "-y", "no-such-pkg"], /unknown package/);
        await fails(["remove", "-y", PKG, "9.9"], /unknown version/);

        // Rebuilds are queued; an unknown package is an error.
        await ok(["rebuild", "-y", "home"]);
        await ok(["rebuild", "-y", "search"]);
        await ok(["rebuild", "project", PKG]);
        // A rebuild of every package follows the master's writing to the end.
        const everything = (await ok(["rebuild", "-y", "index"])).stdout;
        assert.match(everything, /^queued 1 index and 1 project page$/m);
        assert.match(everything, /^all pages written$/m);
        assert.ok(exists(`${www}/project/${PKG}/index.html`));
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
        assert.match((await ok(["add", "-y", PKG, "1.0"])).stdout, /updated version/);

        // Imported again, then every build of the package removed: the files go, the package
        // and its version stay.
        await Deno.copyFile(wheel.path, copy);
        await ok(["import", "-y", "--abi", "cp311", copy]);
        assert.ok(exists(`${www}/simple/${PKG}/${wheel.filename}`));
        assert.ok(exists(copy), "without -d the original stays");
        assert.match(
          (await ok(["remove", "-y", PKG, "--builds"])).stdout,
          /removed the builds of package piw-admin-pkg/,
        );
        await waitFor(
          () => !exists(`${www}/simple/${PKG}/${wheel.filename}`),
          30_000,
          "the package's wheel removed from disk",
        );
        assert.match((await ok(["add", "-y", PKG, "1.0"])).stdout, /updated version/);

        // Two wheels are one build. If the second fails, -d keeps both, even the one that went
        // through; once both succeed, both originals go.
        await ok(["add", "-y", "multi-pkg", "-d", "Two wheels"]);
        await ok(["add", "-y", "multi-pkg", "1.0"]);
        const multi = [`${work}/${armv7l}`, `${work}/${aarch64}`];
        await writeWheel(work, armv7l);
        await writeWheel(work, aarch64);
        const half = await runToolAnswering(
          master.toolArgs(["import", "-d", ...multi]),
          async () => {
            const bytes = await Deno.readFile(multi[1]);
            bytes[bytes.length >> 1] ^= 0xff;
            await Deno.writeFile(multi[1], bytes);
          },
        );
        assert.equal(half.code, 1, `${half.stdout}\n${half.stderr}`);
        assert.match(half.stderr, new RegExp(`${aarch64} failed to verify`));
        assert.ok(multi.every(exists), "a half-done import keeps every original");
        await writeWheel(work, aarch64);
        const both = await ok(["import", "-y", "-d", ...multi]);
        assert.match(both.stdout, /imported multi-pkg 1\.0 \(2 files\)/);
        assert.ok(!multi.some(exists), "a complete import deletes every original");
        for (const name of [armv7l, aarch64]) {
          assert.ok(exists(`${www}/simple/multi-pkg/${name}`), name);
        }

        // A second package to leave skipped and yanked for the database check; its description
        // comes from PyPI's JSON API.
        master.pypi.setJson("other-pkg", { summary: "Other package from PyPI" });
        const added = await ok(["add", "-y", "Other_Pkg", "--alias", "other.pkg"]);
        assert.doesNotMatch(added.stderr, /couldn't fetch/);
        assert.ok(master.pypi.requestsTo("json").some((r) => r.path === "/pypi/other-pkg/json"));
        // PyPI failing: a warning, the package is still updated and keeps its description.
        master.pypi.injectFault({ kind: "http", status: 500, target: "json" });
        const failing = await ok(["add", "-y", "other-pkg"]);
        assert.match(failing.stdout, /updated package other-pkg/);
        assert.match(failing.stderr, /couldn't fetch the description of other-pkg .*adding it/);
        // No route to PyPI at all: the package is added without a description.
        const nowhere = `http://127.0.0.1:${freePort()}/pypi`;
        const offline = await ok(["add", "-y", "third-pkg", "-s", "private"], [
          "--pypi-json",
          nowhere,
        ]);
        assert.match(offline.stdout, /added package third-pkg/);
        assert.match(offline.stderr, /couldn't fetch the description of third-pkg/);
        assert.match((await ok(["add", "-y", "third-pkg", "1.0", "--yank"])).stdout, /added/);
        // Rebuilding every project page reports how many were queued.
        assert.match(
          (await ok(["rebuild", "-y", "project"])).stdout,
          /^queued 4 project pages\n(\d+ page rewrites still to write\n)*all pages written$/m,
        );
        await master.waitForLine("queued 4 project rebuilds");
        await ok(["add", "-y", "other-pkg", "2.0", "-r", "2024-01-02 03:04:05"]);
        await ok(["remove", "-y", "other-pkg", "2.0", "--yank"]);
        await ok(["remove", "-y", "other-pkg", "--skip", "not wanted"]);

        // Removing a version takes its files and its row away; the package stays.
        await ok(["import", "-y", "--abi", "cp311", copy]);
        assert.ok(exists(`${www}/simple/${PKG}/${wheel.filename}`));
        assert.match((await ok(["remove", "-y", PKG, "1.0"])).stdout, /removed version/);
        await waitFor(
          () => !exists(`${www}/simple/${PKG}/${wheel.filename}`),
          30_000,
          "the version's wheel removed from disk",
        );
        await fails(["remove", "-y", PKG, "1.0"], /unknown version/);

        assert.match((await ok(["remove", "-y", PKG])).stdout, /removed package/);
        await waitFor(() => !exists(`${www}/project/${PKG}`), 30_000, "the project removed");
      }, async (db) => {
        const sql = await openClient(db.dsn);
        try {
          assert.deepEqual(
            await sql.query("SELECT package, skip, description FROM packages ORDER BY package"),
            [
              { package: "multi-pkg", skip: "", description: "Two wheels" },
              { package: "other-pkg", skip: "not wanted", description: "Other package from PyPI" },
              { package: "third-pkg", skip: "private", description: "" },
            ],
          );
          assert.deepEqual(
            await sql.query("SELECT version, yanked FROM versions WHERE package = 'third-pkg'"),
            [{ version: "1.0", yanked: true }],
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
          const builds = await sql.query<{ package: string; filename: string }>(
            "SELECT b.package, f.filename FROM builds b JOIN files f USING (build_id) " +
              "ORDER BY f.filename",
          );
          assert.deepEqual(new Set(builds.map((b) => b.package)), new Set(["multi-pkg"]));
          const filenames = builds.map((b) => b.filename);
          assert.ok(filenames.includes(armv7l) && filenames.includes(aarch64), `${filenames}`);
          assert.equal(
            (await sql.query("SELECT build_id FROM builds")).length,
            1,
            "one build for both files",
          );
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
  async fn() {
    const queue = `ipc:///tmp/piw-test-nobody-${crypto.randomUUID().slice(0, 8)}`;
    const wheel = await adminWheel();
    for (
      const args of [
        ["rebuild", "home"],
        ["remove", "-y", "foo"],
        ["add", "-y", "foo", "-d", "x"],
        ["import", "-y", "--abi", "cp311", wheel.path],
      ]
    ) {
      const started = performance.now();
      const r = await runTool([...args, "--import-queue", queue, "--timeout", "1s"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`no answer from the master at ${queue}`));
      assert.ok(performance.now() - started < 15_000);
      if (args[0] === "import") {
        // The summary shown before sending: what the wheel itself says.
        assert.match(r.stdout, /^Package: +piw-admin-pkg$/m);
        assert.match(r.stdout, /^Version: +1\.0$/m);
        assert.match(r.stdout, /^ABI: +cp311$/m);
        assert.match(r.stdout, /^ +Tags: +py3-none-any$/m);
      }
    }
    assert.ok(exists(wheel.path));
    // --package and --package-version override the wheel's metadata (the name canonicalised).
    const named = await runTool([
      "import",
      "-y",
      "--abi",
      "cp311",
      "--package",
      "Other.Pkg",
      "--package-version",
      "2.0",
      wheel.path,
      "--import-queue",
      queue,
      "--timeout",
      "1s",
    ]);
    assert.equal(named.code, 1, named.stderr);
    assert.match(named.stdout, /^Package: +other-pkg$/m);
    assert.match(named.stdout, /^Version: +2\.0$/m);
  },
});

Deno.test({
  name: "admin tools refuse contradictory options with exit 2 before asking the master",
  async fn() {
    const queue = `ipc:///tmp/piw-test-nobody-${crypto.randomUUID().slice(0, 8)}`;
    const wheel = await adminWheel();
    const cases: [string[], RegExp][] = [
      [["add", "-y", "foo", "-s", "why", "--unskip"], /--skip and --unskip cannot be used/],
      [["add", "-y", "foo", "--yank"], /apply to versions only/],
      [["add", "-y", "foo", "1.0", "--yank", "--unyank"], /--yank and --unyank cannot/],
      [["add", "-y", "foo", "-a", "bar"], /alias bar does not match the canonical name foo/],
      [["remove", "-y", "foo", "--yank"], /--yank applies to versions only/],
      [["remove", "-y", "foo", "--skip", ""], /--skip needs a reason/],
      [["add", "-y", "bad name!"], /invalid package name "bad name!"/],
      [["import", "-y", "--abi", "cp311", wheel.path, wheel.path], /the same file name/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runTool([...args, "--import-queue", queue, "--timeout", "1s"]);
      assert.equal(r.code, 2, `piw ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(" "));
      assert.doesNotMatch(r.stderr, /no answer from the master/);
    }
  },
});
