/**
 * The names operators already use (issue 18 item 4): `scripts/install` puts `piw` and piwheels'
 * `piw-*` names on PATH, each runs its command with the options piwheels documents, and the
 * `[master]` section's database and queue keys reach the tools that read them in piwheels.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../../src/cli/commands.ts";
import { detectSchemaVersion, openClient } from "../../src/db/mod.ts";
import { PIW_VERSION } from "../../src/version.ts";
import { PG_USER, pgDsn, scratchDatabase, SKIP_PG } from "../db/harness.ts";
import { adminWheel, runCommand, withMaster } from "../admin/harness.ts";

const TOP = new URL("../../", import.meta.url).pathname;
const MAIN = `${TOP}main.ts`;
/** piwheels' names for its tools, as scripts/install puts them. */
const NAMES = [
  "master",
  "slave",
  "monitor",
  "sense",
  "initdb",
  "import",
  "add",
  "rebuild",
  "remove",
  "logger",
  "audit",
];

/** `cmd <args>` as a user runs it: no config files, no colours, anywhere but the checkout. */
function exec(cmd: string, args: string[], env: Record<string, string> = {}) {
  return runCommand(cmd, args, {
    env: { PIW_CONFIG_PATHS: "", NO_COLOR: "1", PIW_ALLOW_ROOT: "1", ...env },
    // Anywhere but the checkout: the installed commands must not depend on the directory.
    cwd: "/",
  });
}

/** `scripts/install --prefix <temp>`; the bin directory. */
async function install(): Promise<string> {
  const prefix = await Deno.makeTempDir({ prefix: "piw-install-" });
  const result = await exec("bash", [`${TOP}scripts/install`, "--prefix", prefix]);
  assert.equal(result.code, 0, result.stderr);
  return `${prefix}/bin`;
}

Deno.test("scripts/install puts piw and every piw-* name in PREFIX/bin, each running its command", async () => {
  const bin = await install();
  try {
    for (const name of ["piw", ...NAMES.map((n) => `piw-${n}`)]) {
      const info = Deno.statSync(`${bin}/${name}`);
      assert.ok(info.isFile && (info.mode! & 0o111) !== 0, `${name} is not executable`);
    }
    const version = await exec(`${bin}/piw`, ["--version"]);
    assert.equal(version.stdout.trim(), PIW_VERSION, version.stderr);
    // Found on PATH by the bare name, as systemd units and Apache's piped log call them.
    const path = `${bin}:${Deno.env.get("PATH")}`;
    const known = NAMES.filter((name) => name in COMMANDS);
    const helps = await Promise.all(
      known.map((name) => exec(`piw-${name}`, ["--help"], { PATH: path })),
    );
    helps.forEach((help, i) => {
      assert.equal(help.code, 0, `piw-${known[i]}: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: piw ${known[i]} `), known[i]);
    });
    assert.match(helps[known.indexOf("master")].stdout, /--output-path/);
    assert.match(helps[known.indexOf("rebuild")].stdout, /--import-queue/);
    // Installing again replaces what is there.
    const again = await exec("bash", [`${TOP}scripts/install`, "--prefix", `${bin}/..`]);
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await Deno.remove(`${bin}/..`, { recursive: true });
  }
});

Deno.test("scripts/install refuses bad arguments in one line", async () => {
  for (const args of [["--prefix"], ["--bogus"]]) {
    const result = await exec("bash", [`${TOP}scripts/install`, ...args]);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /^piw install: .*\nusage: scripts\/install \[--prefix DIR\]/);
  }
});

Deno.test("piw dispatches on the name it was called by (a piw-* symlink, as to the binary)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-argv0-" });
  try {
    // Deno itself under a piw-* name stands for the compiled binary under one: what the name
    // says is the command, before any argument.
    await Deno.symlink(Deno.execPath(), `${dir}/piw-rebuild`);
    const help = await exec(`${dir}/piw-rebuild`, ["run", "-A", "--quiet", MAIN, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: piw rebuild /);
    const bad = await exec(`${dir}/piw-rebuild`, ["run", "-A", "--quiet", MAIN, "nonsense"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^piw rebuild: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "the piw-* names pass piwheels' options to a real master; [master]'s queue reaches them",
  async fn() {
    const bin = await install();
    const wheel = await adminWheel();
    const work = await Deno.makeTempDir({ prefix: "piw-install-work-" });
    try {
      await withMaster(
        async (master) => {
          const run = (name: string, args: string[], env: Record<string, string> = {}) =>
            exec(`${bin}/${name}`, [...args, "--timeout", "20s"], env);
          // Options on the command line, as piwheels documents them.
          const added = await run("piw-add", [
            "-y",
            "--import-queue",
            master.importQueue,
            "-d",
            "Added through piw-add",
            "piw-admin-pkg",
          ]);
          assert.equal(added.code, 0, added.stderr);
          assert.match(added.stdout, /added package/);
          const rebuilt = await run("piw-rebuild", ["--import-queue", master.importQueue, "home"]);
          assert.equal(rebuilt.code, 0, rebuilt.stderr);

          // The import queue from the [master] section of a configuration file, as an operator
          // coming from piwheels has it.
          await Deno.writeTextFile(
            `${work}/piwheels.conf`,
            `[master]\nimport-queue = ${master.importQueue}\n`,
          );
          const env = { PIW_CONFIG_PATHS: `${work}/piwheels.conf` };
          const version = await run("piw-add", ["-y", "piw-admin-pkg", "1.0"], env);
          assert.equal(version.code, 0, version.stderr);
          assert.match(version.stdout, /added version/);
          const imported = await run("piw", [
            "import",
            "-y",
            "--abi",
            "cp311",
            "--file-queue",
            master.fileQueue,
            wheel.path,
          ], env);
          assert.equal(imported.code, 0, imported.stderr);
          assert.match(imported.stdout, /imported piw-admin-pkg 1\.0/);
        },
        async (db) => {
          const client = await openClient(db.dsn);
          try {
            const rows = await client.query<{ description: string; filename: string }>(
              "SELECT p.description, f.filename FROM packages p " +
                "JOIN builds b USING (package) JOIN files f USING (build_id)",
            );
            assert.deepEqual(rows, [
              { description: "Added through piw-add", filename: wheel.filename },
            ]);
          } finally {
            await client.close();
          }
        },
      );
    } finally {
      await Deno.remove(`${bin}/..`, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name: "piw-initdb takes its DSN from the [master] section, as piwheels' does",
  ignore: SKIP_PG,
  async fn() {
    const bin = await install();
    const scratch = await scratchDatabase("install_initdb");
    const work = await Deno.makeTempDir({ prefix: "piw-install-conf-" });
    try {
      await Deno.writeTextFile(
        `${work}/piwheels.conf`,
        `[master]\ndsn = ${pgDsn(scratch.name)}\n`,
      );
      const initdb = await exec(`${bin}/piw-initdb`, ["-y", "--user", PG_USER], {
        PIW_CONFIG_PATHS: `${work}/piwheels.conf`,
      });
      assert.equal(initdb.code, 0, initdb.stderr);
      const client = await openClient(pgDsn(scratch.name));
      try {
        assert.equal(await detectSchemaVersion(client), PIW_VERSION);
      } finally {
        await client.close();
      }
    } finally {
      await scratch.drop();
      await Deno.remove(`${bin}/..`, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  },
});
