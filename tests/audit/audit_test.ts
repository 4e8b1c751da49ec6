/**
 * `piw audit` as a subprocess on a real output tree (a piwheels 0.23 tree) and a real database
 * (PGlite and PostgreSQL): a fault of every kind planted, each found and counted, the extras
 * archived or deleted and the project symlinks repaired, and a clean audit once the rest is
 * repaired by hand.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { acquireLock } from "../../src/lock.ts";
import { CountProgress } from "../../src/importer/progress.ts";
import { ENGINES, testDatabase } from "../master/helpers.ts";
import { runTool } from "../admin/harness.ts";
import { writeWheel } from "../web/helpers.ts";
import { piwheelsLogPath, seedTreeRows, writePiwheelsTree } from "../fixtures/piwheels_tree.ts";

const BAR = "simple/bar/bar-2.0-py3-none-any.whl";
const ZOPE = "simple/zope-interface/zope_interface-4.0-cp311-cp311-linux_armv7l.whl";

/** The lines every planted fault must produce (without --hashes, all but the corrupted wheel). */
const FAULT_LINES = [
  `missing wheel ${BAR}`,
  "extraneous file simple/foo/foo-0.8-py3-none-any.whl",
  "extraneous file simple/tmpk2j3h4",
  "extraneous directory simple/ghost",
  "missing page project/foo/json/index.json",
  "missing project symlink project/Foo",
  "broken project symlink project/zope.interface (→ nowhere)",
  "extraneous symlink project/Gone",
  "missing log logs/0000/0000/0002.txt.gz",
  "extraneous log logs/0000/0000/0099.txt.gz",
  "extraneous log logs/0000/0042/0001.txt.gz",
];

for (const kind of ENGINES) {
  Deno.test({
    name: `piw audit finds a planted fault of every kind and fixes the extras (${kind})`,
    async fn(t) {
      const out = await Deno.makeTempDir({ prefix: "piw-audit-www-" });
      const archive = await Deno.makeTempDir({ prefix: "piw-audit-archive-" });
      const tree = await writePiwheelsTree(out);
      const db = await testDatabase(kind, (admin) => seedTreeRows(admin, tree));
      const audit = (...args: string[]) => runTool(["audit", "-d", db.dsn, "-o", out, ...args]);
      try {
        await t.step("a piwheels tree with its rows is clean", async () => {
          const result = await audit("--hashes");
          assert.equal(result.code, 0, result.stdout + result.stderr);
          assert.match(
            result.stdout,
            /checked 4 packages, 5 wheels and 5 builds' logs in .*: no problems found/,
          );
          // Progress goes to stderr, a count per stage.
          assert.match(result.stderr, /checked 4 of 4 packages in /);
          assert.match(result.stderr, /checked 2 of 2 log directories in /);
        });

        const barBytes = Deno.readFileSync(`${out}/${BAR}`);
        const zopeBytes = Deno.readFileSync(`${out}/${ZOPE}`);
        await t.step("every planted fault is found and counted", async () => {
          Deno.removeSync(`${out}/${BAR}`);
          const corrupt = zopeBytes.slice();
          corrupt[corrupt.length - 1] ^= 0xff;
          Deno.writeFileSync(`${out}/${ZOPE}`, corrupt);
          await writeWheel(`${out}/simple/foo`, "foo-0.8-py3-none-any.whl");
          Deno.writeTextFileSync(`${out}/simple/tmpk2j3h4`, "a piwheels transfer left behind");
          await writeWheel(`${out}/simple/ghost`, "ghost-1.0-py3-none-any.whl");
          Deno.removeSync(`${out}/project/foo/json/index.json`);
          Deno.removeSync(`${out}/project/Foo`);
          Deno.removeSync(`${out}/project/zope.interface`);
          Deno.symlinkSync("nowhere", `${out}/project/zope.interface`);
          Deno.symlinkSync("gone", `${out}/project/Gone`);
          Deno.removeSync(`${out}/logs/0000/0000/0002.txt.gz`);
          Deno.writeFileSync(`${out}/logs/0000/0000/0099.txt.gz`, gzipSync("no such build"));
          Deno.mkdirSync(`${out}/logs/0000/0042`);
          Deno.writeFileSync(`${out}/logs/0000/0042/0001.txt.gz`, gzipSync("nor this"));

          const lists = `${archive}/lists-`;
          const result = await audit(
            "--hashes",
            "--missing-file",
            `${lists}missing`,
            "--extra-file",
            `${lists}extra`,
            "--broken-file",
            `${lists}broken`,
          );
          assert.equal(result.code, 1, result.stdout + result.stderr);
          const lines = result.stdout.split("\n");
          for (const line of FAULT_LINES) {
            assert.ok(lines.includes(line), `${line}\n${result.stdout}`);
          }
          assert.ok(
            lines.some((l) => l.startsWith(`corrupted wheel ${ZOPE} (sha256 `)),
            result.stdout,
          );
          const summary = lines.find((l) => l.startsWith("checked "))!;
          for (
            const count of [
              "12 problems",
              "1 missing wheel",
              "1 corrupted wheel",
              "2 extraneous file",
              "1 extraneous directory",
              "1 missing page",
              "1 missing project symlink",
              "1 broken project symlink",
              "1 extraneous symlink",
              "1 missing log",
              "2 extraneous log",
            ]
          ) {
            assert.ok(summary.includes(count), `${count} in ${summary}`);
          }
          assert.equal(Deno.readTextFileSync(`${lists}missing`).split("\n").length - 1, 4);
          assert.equal(Deno.readTextFileSync(`${lists}extra`).split("\n").length - 1, 6);
          assert.ok(Deno.readTextFileSync(`${lists}broken`).includes(`${out}/${ZOPE}\n`));
          // Without --hashes no wheel is read: the corrupted one goes unnoticed.
          const quick = await audit();
          assert.equal(quick.code, 1);
          assert.doesNotMatch(quick.stdout, /corrupted wheel/);
          assert.match(quick.stdout, /: 11 problems/);
        });

        await t.step("fixing is refused while a master holds the output path", async () => {
          const lock = await acquireLock(`${out}/.piw-master.lock`, `output path ${out}`);
          try {
            const result = await audit("--delete-extras");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /output path .* is in use by process/);
            assert.ok(Deno.statSync(`${out}/simple/tmpk2j3h4`).isFile, "nothing was deleted");
          } finally {
            lock.release();
          }
        });

        await t.step(
          "--archive-dir moves the extras, --ensure-project-symlinks repairs",
          async () => {
            const result = await audit("--archive-dir", archive, "--ensure-project-symlinks");
            assert.equal(result.code, 1, "what cannot be fixed is still a problem");
            assert.match(result.stdout, /: 11 problems \(.*\); 8 fixed/);
            const lines = result.stdout.split("\n");
            assert.ok(lines.includes("extraneous directory simple/ghost: archived"), result.stdout);
            assert.ok(lines.includes("missing project symlink project/Foo: created"));
            assert.ok(
              lines.includes("broken project symlink project/zope.interface (→ nowhere): repaired"),
            );
            for (
              const path of [
                "simple/foo/foo-0.8-py3-none-any.whl",
                "simple/tmpk2j3h4",
                "simple/ghost/ghost-1.0-py3-none-any.whl",
                "logs/0000/0000/0099.txt.gz",
                "logs/0000/0042/0001.txt.gz",
              ]
            ) {
              assert.ok(Deno.statSync(`${archive}/${path}`).isFile, `${path} archived`);
              assert.throws(() => Deno.lstatSync(`${out}/${path}`), Deno.errors.NotFound);
            }
            assert.equal(Deno.readLinkSync(`${archive}/project/Gone`), "gone");
            assert.equal(Deno.readLinkSync(`${out}/project/Foo`), "foo");
            assert.equal(Deno.readLinkSync(`${out}/project/zope.interface`), "zope-interface");
          },
        );

        await t.step("--delete-extras deletes", async () => {
          Deno.writeTextFileSync(`${out}/simple/bar/stray.txt`, "x");
          const result = await audit("--delete-extras");
          assert.ok(
            result.stdout.split("\n").includes("extraneous file simple/bar/stray.txt: deleted"),
            result.stdout,
          );
          assert.throws(() => Deno.lstatSync(`${out}/simple/bar/stray.txt`), Deno.errors.NotFound);
        });

        await t.step("bad input is refused in one line, before anything is touched", async () => {
          const missing = await audit("-o", `${out}/no-such-dir`);
          assert.equal(missing.code, 2);
          assert.match(
            missing.stderr,
            new RegExp(`^piw audit: output path ${out}/no-such-dir does not exist\n`),
          );
          const inside = await audit("--archive-dir", `${out}/simple/attic`);
          assert.equal(inside.code, 2);
          assert.match(
            inside.stderr.trim(),
            /^piw audit: the archive directory .* must be outside /,
          );
          assert.throws(() => Deno.lstatSync(`${out}/simple/attic`), Deno.errors.NotFound);
        });

        await t.step("once the rest is repaired by hand, a second audit is clean", async () => {
          Deno.writeFileSync(`${out}/${BAR}`, barBytes);
          Deno.writeFileSync(`${out}/${ZOPE}`, zopeBytes);
          Deno.writeFileSync(`${out}/${piwheelsLogPath(2)}`, gzipSync(tree.logText(2)));
          Deno.writeTextFileSync(`${out}/project/foo/json/index.json`, "{}");
          const result = await audit("--hashes");
          assert.equal(result.code, 0, result.stdout + result.stderr);
          assert.match(result.stdout, /no problems found/);
        });
      } finally {
        await db.remove();
        await Deno.remove(out, { recursive: true });
        await Deno.remove(archive, { recursive: true });
      }
    },
  });
}

Deno.test("a long audit reports its count every 10 s in a log, and how long it took", () => {
  let clock = 0;
  const out: string[] = [];
  const progress = new CountProgress("packages", 300, {
    write: (text) => out.push(text),
    tty: false,
    now: () => clock,
  });
  for (let i = 0; i < 3; i++) {
    clock += 6_000;
    progress.add(100);
  }
  progress.finish();
  assert.deepEqual(out, [
    "checked 200 of 300 packages\n",
    "checked 300 of 300 packages in 18.0 s\n",
  ]);
});
