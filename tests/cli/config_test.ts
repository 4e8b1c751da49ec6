import { assertEquals, assertNotIncludes, assertStringIncludes, assertThrows } from "./assert.ts";
import { run, tempFiles } from "./helpers.ts";
import { configPaths, DEFAULT_CONFIG_PATHS, parseConfigText } from "../../src/cli/config.ts";
import { PiwError } from "../../src/errors.ts";

Deno.test("configPaths: defaults with ~ expanded, or PIW_CONFIG_PATHS instead", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(configPaths(env({ HOME: "/home/u" })), [
    "/etc/piwheels.conf",
    "/usr/local/etc/piwheels.conf",
    "/home/u/.config/piwheels/piwheels.conf",
  ]);
  assertEquals(DEFAULT_CONFIG_PATHS.length, 3);
  assertEquals(configPaths(env({ PIW_CONFIG_PATHS: "/a.conf::/b.conf" })), ["/a.conf", "/b.conf"]);
  assertEquals(configPaths(env({ PIW_CONFIG_PATHS: "" })), []);
});

Deno.test("parseConfigText reads sections, comments, quotes and both separators", () => {
  const data = parseConfigText(
    [
      "# comment",
      "; another",
      "dsn = postgres://u:p#w@h/db  # trailing comment",
      "",
      "[Slave]",
      "master: 10.0.0.1",
      "label = 'my slave'",
      'format = "%h %l"',
      "log_file = /tmp/x.log",
    ].join("\n"),
    "f.conf",
  );
  assertEquals(
    data.entries.map((e) => [e.line, e.section, e.key, e.value]),
    [
      [3, null, "dsn", "postgres://u:p#w@h/db"],
      [6, "slave", "master", "10.0.0.1"],
      [7, "slave", "label", "my slave"],
      [8, "slave", "format", "%h %l"],
      [9, "slave", "log-file", "/tmp/x.log"],
    ],
  );
  assertEquals(data.sections, [{ file: "f.conf", line: 5, name: "slave" }]);
});

Deno.test("parseConfigText rejects a malformed line naming file and line", () => {
  for (const bad of ["just some words", "[unterminated", "= value", "key with space = 1"]) {
    const error = assertThrows(() => parseConfigText(`a = 1\n${bad}\n`, "bad.conf"), PiwError);
    assertStringIncludes(error.message, "bad.conf:2: malformed line");
  }
});

Deno.test("files are read in order, later ones overriding earlier ones", async () => {
  const dir = await tempFiles({
    "1.conf": "master = one\nlabel = first\n",
    "2.conf": "master = two\n",
    "extra.conf": "[slave]\nlabel = extra\n",
  });
  const env = { PIW_CONFIG_PATHS: `${dir}/1.conf:${dir}/missing.conf:${dir}/2.conf` };
  const result = await run(["slave"], { env });
  assertEquals([result.code, result.stderr], [0, ""]);
  assertEquals([result.options!.master, result.options!.label], ["two", "first"]);
  const withC = await run(["slave", "-c", `${dir}/extra.conf`], { env });
  assertEquals([withC.options!.master, withC.options!.label], ["two", "extra"]);
  assertEquals(withC.options!.configuration, `${dir}/extra.conf`);
});

Deno.test("a [section] applies to its subcommand only, global keys to all", async () => {
  const dir = await tempFiles({
    "piw.conf": [
      "import-queue = ipc:///tmp/global-import",
      "timeout = 1h",
      "[slave]",
      "master = slave-host",
      "timeout = 2h",
      "[master]",
      "output-path = /srv/www",
      "dev-mode = true",
      "debug = [master.the_scribe, master.cloud_gazer]",
      "[remove]",
      "timeout = 5s",
    ].join("\n"),
  });
  const env = { PIW_CONFIG_PATHS: `${dir}/piw.conf` };
  const slave = await run(["slave"], { env });
  assertEquals([slave.options!.master, slave.options!.timeout], ["slave-host", 7_200_000]);
  const master = await run(["master"], { env });
  assertEquals(master.stderr, "");
  assertEquals(master.options!.outputPath, "/srv/www");
  assertEquals(master.options!.devMode, true);
  assertEquals(master.options!.debug, ["master.the_scribe", "master.cloud_gazer"]);
  assertEquals(master.options!.importQueue, "ipc:///tmp/global-import");
  const remove = await run(["remove", "foo"], { env });
  assertEquals(remove.options!.timeout, 5000);
  const add = await run(["add", "foo"], { env });
  assertEquals([add.options!.timeout, add.options!.importQueue], [
    3_600_000,
    "ipc:///tmp/global-import",
  ]);
});

Deno.test("[master]'s database and ipc queues reach the other tools, as in piwheels", async () => {
  const dir = await tempFiles({
    "piw.conf": [
      "[master]",
      "dsn = postgres://master@db/piwheels",
      "import-queue = ipc:///srv/piw-import",
      "status-queue = ipc:///srv/piw-status",
      "control-queue = ipc:///srv/piw-control",
      "log-queue = ipc:///srv/piw-logger",
      // Bind addresses and the master's own settings stay the master's.
      "file-queue = tcp://*:6556",
      "output-path = /srv/www",
      "log-file = /var/log/piw/master.log",
      "[remove]",
      "import-queue = ipc:///srv/remove-only",
    ].join("\n"),
  });
  const env = { PIW_CONFIG_PATHS: `${dir}/piw.conf` };
  const queue = async (args: string[]) => {
    const result = await run(args, { env });
    assertEquals(result.stderr, "", args.join(" "));
    return result.options!;
  };
  for (const args of [["add", "foo"], ["rebuild", "home"], ["import", "x.whl"]]) {
    const options = await queue(args);
    assertEquals(options.importQueue, "ipc:///srv/piw-import", args[0]);
    assertEquals(options.logFile ?? "", "", args[0]);
  }
  // Its own section wins.
  assertEquals((await queue(["remove", "foo"])).importQueue, "ipc:///srv/remove-only");
  assertEquals((await queue(["import", "x.whl"])).fileQueue, "tcp://localhost:5556");
  assertEquals((await queue(["initdb"])).dsn, "postgres://master@db/piwheels");
  for (const command of ["monitor", "sense"]) {
    const options = await queue([command]);
    assertEquals([options.statusQueue, options.controlQueue], [
      "ipc:///srv/piw-status",
      "ipc:///srv/piw-control",
    ]);
  }
  assertEquals((await queue(["logger"])).logQueue, "ipc:///srv/piw-logger");
  // The command line and the tool's own section beat [master].
  const own = await tempFiles({
    "piw.conf":
      "[initdb]\ndsn = postgres://postgres@db/piwheels\n[master]\ndsn = postgres://m@db/p\n",
  });
  const initdb = await run(["initdb"], { env: { PIW_CONFIG_PATHS: `${own}/piw.conf` } });
  assertEquals(initdb.options!.dsn, "postgres://postgres@db/piwheels");
  const cli = await run(["add", "--import-queue", "ipc:///x", "foo"], { env });
  assertEquals(cli.options!.importQueue, "ipc:///x");
});

Deno.test("environment overrides files, the command line overrides both", async () => {
  const dir = await tempFiles({ "piw.conf": "[slave]\nmaster = file-host\ntimeout = 1h\n" });
  const env = { PIW_CONFIG_PATHS: `${dir}/piw.conf`, PIW_MASTER: "env-host", PIW_TIMEOUT: "2h" };
  const fromEnv = (await run(["slave"], { env })).options!;
  assertEquals([fromEnv.master, fromEnv.timeout], ["env-host", 7_200_000]);
  const fromCli = (await run(["slave", "-m", "cli-host", "--timeout=45m"], { env })).options!;
  assertEquals([fromCli.master, fromCli.timeout], ["cli-host", 2_700_000]);
  // PIW_MASTER is the slave's only; the other tools ignore it.
  assertEquals((await run(["master"], { env })).options!.dsn, "postgres:///piwheels");
});

Deno.test("a bad environment value is a usage error naming the variable", async () => {
  const result = await run(["slave"], { env: { PIW_TIMEOUT: "soon" } });
  assertEquals(result.code, 2);
  assertStringIncludes(
    result.stderr,
    "piw slave: environment variable PIW_TIMEOUT: invalid duration",
  );
});

Deno.test("an unknown key is a warning naming file and line, not an error", async () => {
  const dir = await tempFiles({
    "piw.conf": "master = h\nbogus = 1\n[slave]\noutput-path = /x\n[nonsense]\nfoo = 1\n",
  });
  const result = await run(["slave"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
  assertEquals(result.code, 0);
  assertStringIncludes(result.stderr, `${dir}/piw.conf:2: unknown option 'bogus'; ignored`);
  assertStringIncludes(
    result.stderr,
    `${dir}/piw.conf:4: unknown option 'output-path' for piw slave; ignored`,
  );
  assertStringIncludes(result.stderr, `${dir}/piw.conf:5: unknown section [nonsense] ignored`);
  assertEquals(result.stderr.trim().split("\n").length, 3);
  assertEquals(result.options!.master, "h");
});

Deno.test("a key outside sections known to another subcommand is silently fine", async () => {
  const dir = await tempFiles({ "piw.conf": "output-path = /x\nmaster = h\nformat = common\n" });
  const result = await run(["import", "a.whl"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
  assertEquals([result.code, result.stderr], [0, ""]);
});

Deno.test("configuration cannot be set from a configuration file", async () => {
  const dir = await tempFiles({ "piw.conf": "configuration = /other.conf\n" });
  const result = await run(["slave"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
  assertEquals(result.code, 0);
  assertStringIncludes(result.stderr, "piw.conf:1: 'configuration' cannot be set");
});

Deno.test("a malformed file is an error naming file and line (exit 1)", async () => {
  const dir = await tempFiles({ "piw.conf": "master = h\n\nthis is not ini\n" });
  const result = await run(["slave"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
  assertEquals(result.code, 1);
  assertEquals(result.command, undefined);
  assertEquals(
    result.stderr,
    `piw slave: ${dir}/piw.conf:3: malformed line 'this is not ini' (expected 'key = value' or ` +
      `'[section]')\n`,
  );
});

Deno.test("a bad value in a file is an error naming file and line (exit 1)", async () => {
  const dir = await tempFiles({ "piw.conf": "[slave]\ntimeout = whenever\n" });
  const result = await run(["slave"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, `${dir}/piw.conf:2: 'timeout': invalid duration 'whenever'`);
  assertNotIncludes(result.stderr, "Try");
  const flag = await tempFiles({ "piw.conf": "[master]\ndev-mode = perhaps\n" });
  const bad = await run(["master"], { env: { PIW_CONFIG_PATHS: `${flag}/piw.conf` } });
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "piw.conf:2: 'dev-mode': invalid boolean 'perhaps'");
});

Deno.test("a missing -c file is an error; missing default files are not", async () => {
  const result = await run(["slave", "-c", "/nonexistent/piw.conf"], {
    env: { PIW_CONFIG_PATHS: "/nonexistent/a.conf" },
  });
  assertEquals(result.code, 1);
  assertEquals(
    result.stderr,
    "piw slave: cannot read configuration file /nonexistent/piw.conf: no such file\n",
  );
});
