import { assertEquals, assertStringIncludes } from "./assert.ts";
import { flat, run } from "./helpers.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { allOptions } from "../../src/cli/parse.ts";
import { longName } from "../../src/cli/spec.ts";
import { PIW_VERSION } from "../../src/version.ts";

/** The option entries of a help text's "Options:" section, each as one flattened string. */
function optionEntries(help: string): string[] {
  const section = help.split("\nOptions:\n")[1].split("\n\n")[0];
  return section.split(/\n(?= {2}-)/).map(flat);
}

for (const spec of Object.values(COMMANDS)) {
  Deno.test(`piw ${spec.name} --help lists every option with its default`, async () => {
    const result = await run([spec.name, "--help"]);
    assertEquals(result.code, 0);
    assertEquals(result.command, undefined);
    const entries = optionEntries(result.stdout);
    for (const option of allOptions(spec)) {
      const entry = entries.find((e) => e.includes(`--${longName(option)} `));
      assertEquals(entry !== undefined, true, `--${longName(option)} missing from help`);
      assertStringIncludes(entry!, "(default: ");
    }
    assertStringIncludes(result.stdout, `Usage: piw ${spec.name} [options]`);
    assertStringIncludes(result.stdout, "-h, --help");
    assertStringIncludes(result.stdout, "--version");
    assertStringIncludes(flat(result.stdout), `[${spec.name}] section`);
  });

  Deno.test(`piw ${spec.name} --version prints the bare version`, async () => {
    const result = await run([spec.name, "--version"]);
    assertEquals(result, { code: 0, stdout: `${PIW_VERSION}\n`, stderr: "" });
  });
}

Deno.test("piw --version and piw --help work without a subcommand", async () => {
  assertEquals((await run(["--version"])).stdout, `${PIW_VERSION}\n`);
  const help = await run(["--help"]);
  assertEquals(help.code, 0);
  for (const name of Object.keys(COMMANDS)) assertStringIncludes(help.stdout, `  ${name} `);
});

Deno.test("piw help <command> shows that command's help", async () => {
  const result = await run(["help", "remove"]);
  assertEquals(result.code, 0);
  assertStringIncludes(result.stdout, "Usage: piw remove [options] <package> [version]");
});

/** Defaults the help must show, as piwheels' docs give them (flags and defaults). */
const DOCUMENTED: Record<string, [string, string][]> = {
  master: [
    ["-d, --dsn <DSN>", "postgres:///piwheels"],
    ["-o, --output-path <PATH>", "/var/www"],
    ["--site-url <URL>", "https://www.piwheels.org"],
    ["--pypi-xmlrpc <URL>", "https://pypi.org/pypi"],
    ["--pypi-simple <URL>", "https://pypi.org/simple"],
    ["--pypi-json <URL>", "https://pypi.org/pypi"],
    ["--status-queue <ADDR>", "ipc:///tmp/piw-status"],
    ["--control-queue <ADDR>", "ipc:///tmp/piw-control"],
    ["--import-queue <ADDR>", "ipc:///tmp/piw-import"],
    ["--log-queue <ADDR>", "ipc:///tmp/piw-logger"],
    ["--slave-queue <ADDR>", "tcp://*:5555"],
    ["--file-queue <ADDR>", "tcp://*:5556"],
    ["--web-queue <ADDR>", "inproc://web"],
    ["--builds-queue <ADDR>", "inproc://builds"],
    ["--db-queue <ADDR>", "inproc://db"],
    ["--fs-queue <ADDR>", "inproc://fs"],
    ["--stats-queue <ADDR>", "inproc://stats"],
    ["--max-file-size <SIZE>", "2G"],
    ["--max-slave-timeout <DURATION>", "6h"],
    ["--max-slaves <N>", "1000"],
    ["--dev-mode", "off"],
    ["--debug <TASK>", "none"],
  ],
  slave: [
    ["-m, --master <HOST>", "localhost"],
    ["-t, --timeout <DURATION>", "3h"],
    ["--python <PATH>", "python3"],
    ["--memory-limit <SIZE>", "1G"],
    ["--extra-index-url <URL>", "https://www.piwheels.org/simple"],
    ["--debug", "off"],
  ],
  monitor: [["--status-queue <ADDR>", "ipc:///tmp/piw-status"]],
  sense: [["-r, --rotate <DEGREES>", "0"], ["--emulate", "off"]],
  initdb: [["-d, --dsn <DSN>", "postgres:///piwheels"], ["-u, --user <NAME>", "piwheels"]],
  import: [["--duration <DURATION>", "0s"], ["--timeout <DURATION>", "30s"]],
  add: [["-r, --released <TIMESTAMP>", "now"], ["-a, --alias <NAME>", "none"]],
  rebuild: [["--import-queue <ADDR>", "ipc:///tmp/piw-import"]],
  remove: [["-b, --builds", "off"], ["--yank", "off"]],
  logger: [["--format <FORMAT>", "combined"], ["--log-queue <ADDR>", "ipc:///tmp/piw-logger"]],
};

Deno.test("help shows the documented flags and defaults", async () => {
  for (const [name, expected] of Object.entries(DOCUMENTED)) {
    const entries = optionEntries((await run([name, "--help"])).stdout);
    for (const [flags, value] of expected) {
      const entry = entries.find((e) => e.startsWith(` ${flags} `));
      assertEquals(entry !== undefined, true, `piw ${name}: ${flags} missing`);
      assertStringIncludes(entry!, `(default: ${value})`, `piw ${name} ${flags}`);
    }
  }
});

Deno.test("monitor and sense have no logging options", async () => {
  for (const name of ["monitor", "sense"]) {
    const help = (await run([name, "--help"])).stdout;
    for (const flag of ["--quiet", "--verbose", "--log-file", "--debug"]) {
      assertEquals(help.includes(flag), false, `piw ${name} has ${flag}`);
    }
  }
});

Deno.test("the slave's help names its environment variables", async () => {
  const help = flat((await run(["slave", "--help"])).stdout);
  assertStringIncludes(help, "(env: PIW_MASTER) (default: localhost)");
  assertStringIncludes(help, "(env: PIW_TIMEOUT) (default: 3h)");
});
