import { assertEquals, assertStringIncludes } from "./assert.ts";
import { run } from "./helpers.ts";

const H = 3_600_000;

Deno.test("piw master runs with the documented defaults", async () => {
  const result = await run(["master"]);
  assertEquals(result.code, 0);
  assertEquals(result.command, "master");
  assertEquals(result.options, {
    configuration: undefined,
    quiet: false,
    verbose: false,
    logFile: undefined,
    debug: [],
    dsn: "postgres:///piwheels",
    outputPath: "/var/www",
    devMode: false,
    siteUrl: "https://www.piwheels.org",
    pypiXmlrpc: "https://pypi.org/pypi",
    pypiSimple: "https://pypi.org/simple",
    pypiJson: "https://pypi.org/pypi",
    statusQueue: "ipc:///tmp/piw-status",
    controlQueue: "ipc:///tmp/piw-control",
    importQueue: "ipc:///tmp/piw-import",
    logQueue: "ipc:///tmp/piw-logger",
    slaveQueue: "tcp://*:5555",
    fileQueue: "tcp://*:5556",
    extrasQueue: "tcp://*:5559",
    webQueue: "inproc://web",
    buildsQueue: "inproc://builds",
    dbQueue: "inproc://db",
    fsQueue: "inproc://fs",
    statsQueue: "inproc://stats",
    metrics: "",
    maxFileSize: 2 * 1024 ** 3,
    maxSlaveTimeout: 6 * H,
    maxSlaves: 1000,
  });
});

Deno.test("piw master takes its bounds from the command line or a configuration file", async () => {
  const cli = await run(["master", "--max-slaves", "5", "--max-slave-timeout", "90s"]);
  assertEquals([cli.options!.maxSlaves, cli.options!.maxSlaveTimeout], [5, 90_000]);
  const dir = await Deno.makeTempDir({ prefix: "piw-cli-bounds-" });
  try {
    await Deno.writeTextFile(
      `${dir}/piw.conf`,
      "[master]\nmax-file-size = 100M\nmetrics = 127.0.0.1:9100\n",
    );
    const file = await run(["master"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
    assertEquals(file.stderr, "");
    assertEquals(file.options!.maxFileSize, 100 * 1024 ** 2);
    assertEquals(file.options!.metrics, "127.0.0.1:9100");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("piw slave parses durations, sizes and repeatable options", async () => {
  const result = await run([
    "slave",
    "-m",
    "10.0.0.1",
    "-t",
    "90m",
    "-d",
    "/srv/build",
    "-L",
    "pi4",
    "--python",
    "/usr/bin/python3.11",
    "--extra-index-url",
    "https://a/simple",
    "--extra-index-url=https://b/simple",
    "--memory-limit",
    "2G",
    "--debug",
  ]);
  assertEquals(result.code, 0);
  const o = result.options!;
  assertEquals(o.master, "10.0.0.1");
  assertEquals(o.timeout, 1.5 * H);
  assertEquals(o.dir, "/srv/build");
  assertEquals(o.label, "pi4");
  assertEquals(o.python, "/usr/bin/python3.11");
  assertEquals(o.extraIndexUrl, ["https://a/simple", "https://b/simple"]);
  assertEquals(o.memoryLimit, 2 * 1024 ** 3);
  assertEquals(o.debug, true);
});

Deno.test("piw slave defaults: localhost, 3h, host name, temp dir, piwheels' 1G and index", async () => {
  const o = (await run(["slave"])).options!;
  assertEquals(o.master, "localhost");
  assertEquals(o.timeout, 3 * H);
  assertEquals(o.label, Deno.hostname());
  assertEquals(typeof o.dir, "string");
  assertEquals(o.python, "python3");
  // piwheels' slaves: RLIMIT_DATA of 1 GiB, and piwheels.org's index for build dependencies.
  assertEquals(o.extraIndexUrl, ["https://www.piwheels.org/simple"]);
  assertEquals(o.memoryLimit, 1024 ** 3);
  const none = (await run(["slave", "--memory-limit", "none", "--extra-index-url", "none"]))
    .options!;
  assertEquals(none.memoryLimit, 0);
  assertEquals(none.extraIndexUrl, ["none"]);
  assertEquals(o.debug, false);
});

Deno.test("piw master --debug is repeatable and -o expands ~", async () => {
  const result = await run(
    ["master", "--debug", "master.the_scribe", "--debug", "master.cloud*", "-o", "~/www"],
  );
  assertEquals(result.options!.debug, ["master.the_scribe", "master.cloud*"]);
  assertEquals(result.options!.outputPath, `${Deno.env.get("HOME")}/www`);
});

Deno.test("piw import takes files and its options", async () => {
  const o = (await run([
    "import",
    "a.whl",
    "b.whl",
    "--package",
    "foo",
    "--package-version",
    "1.0",
    "--abi",
    "cp311",
    "--duration",
    "2:30",
    "--output",
    "build.log",
    "--dependencies",
    "deps.txt",
    "-y",
    "-d",
    "--timeout",
    "5s",
  ])).options!;
  assertEquals(o.files, ["a.whl", "b.whl"]);
  assertEquals(
    [o.package, o.packageVersion, o.abi, o.duration, o.output, o.dependencies],
    ["foo", "1.0", "cp311", 2.5 * H, "build.log", "deps.txt"],
  );
  assertEquals([o.yes, o.delete, o.timeout, o.importQueue], [
    true,
    true,
    5000,
    "ipc:///tmp/piw-import",
  ]);
});

Deno.test("piw import defaults", async () => {
  const o = (await run(["import", "x.whl"])).options!;
  assertEquals([o.duration, o.timeout, o.yes, o.delete, o.package], [
    0,
    30_000,
    false,
    false,
    undefined,
  ]);
});

Deno.test("piw add takes aliases, a release time and flags", async () => {
  const o = (await run([
    "add",
    "Foo_Bar",
    "1.0",
    "-a",
    "foo-bar",
    "-a",
    "FOO.BAR",
    "-r",
    "2024-03-01 12:30:00",
    "-s",
    "binary only",
    "--yank",
    "-d",
    "A package",
  ])).options!;
  assertEquals([o.package, o.version], ["Foo_Bar", "1.0"]);
  assertEquals(o.alias, ["foo-bar", "FOO.BAR"]);
  assertEquals(o.released, new Date(Date.UTC(2024, 2, 1, 12, 30, 0)));
  assertEquals([o.skip, o.yank, o.unyank, o.unskip, o.description], [
    "binary only",
    true,
    false,
    false,
    "A package",
  ]);
  const plain = (await run(["add", "foo"])).options!;
  assertEquals([plain.version, plain.released, plain.alias], [undefined, undefined, []]);
});

Deno.test("piw add rejects a bad release time as a usage error", async () => {
  const result = await run(["add", "foo", "1.0", "-r", "2024-02-30 00:00:00"]);
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, "invalid timestamp '2024-02-30 00:00:00'");
});

Deno.test("piw remove and piw rebuild take their positional arguments", async () => {
  const remove = (await run(["remove", "foo", "1.0", "-b", "-s", "broken", "--yank", "-y"]))
    .options!;
  assertEquals([remove.package, remove.version, remove.builds, remove.skip, remove.yank], [
    "foo",
    "1.0",
    true,
    "broken",
    true,
  ]);
  const rebuild = (await run(["rebuild", "project", "foo"])).options!;
  assertEquals([rebuild.part, rebuild.package, rebuild.yes], ["project", "foo", false]);
  assertEquals((await run(["rebuild", "home"])).options!.package, undefined);
});

Deno.test("piw logger reads stdin by default and takes files", async () => {
  const o = (await run(["logger"])).options!;
  assertEquals([o.files, o.format, o.drop, o.logQueue], [
    ["-"],
    "combined",
    false,
    "ipc:///tmp/piw-logger",
  ]);
  const files = (await run(["logger", "--drop", "a.log", "b.log.gz"])).options!;
  assertEquals([files.files, files.drop], [["a.log", "b.log.gz"], true]);
});

Deno.test("piw sense --rotate is a number from the allowed set", async () => {
  assertEquals((await run(["sense"])).options, {
    configuration: undefined,
    statusQueue: "ipc:///tmp/piw-status",
    controlQueue: "ipc:///tmp/piw-control",
    rotate: 0,
    emulate: false,
  });
  assertEquals((await run(["sense", "-r", "270", "--emulate"])).options!.rotate, 270);
});

Deno.test("piw initdb options", async () => {
  const o = (await run(["initdb", "-d", "postgres://su@db/piw", "-u", "piw", "-y"])).options!;
  assertEquals([o.dsn, o.user, o.yes, o.debug], ["postgres://su@db/piw", "piw", true, false]);
});

Deno.test("piw master --site-url takes an origin, from the command line or a file", async () => {
  const cli = await run(["master", "--site-url", "https://piw.example.org/"]);
  assertEquals(cli.code, 0);
  assertEquals(cli.options!.siteUrl, "https://piw.example.org");
  const dir = await Deno.makeTempDir({ prefix: "piw-cli-site-" });
  try {
    await Deno.writeTextFile(`${dir}/piw.conf`, "[master]\nsite_url = http://localhost:8080\n");
    const file = await run(["master"], { env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` } });
    assertEquals(file.stderr, "");
    assertEquals(file.options!.siteUrl, "http://localhost:8080");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("piw master refuses a site URL that is not an http(s) origin", async () => {
  for (const bad of ["www.example.org", "ftp://example.org", "https://example.org/piw", ""]) {
    const result = await run(["master", `--site-url=${bad}`]);
    assertEquals(result.code, 2, bad);
    assertEquals(result.command, undefined);
    const first = result.stderr.split("\n")[0];
    assertStringIncludes(first, `--site-url`);
    assertStringIncludes(first, `invalid site URL '${bad}'`);
  }
});
