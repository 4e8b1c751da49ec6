/**
 * Issue 16, as an operator meets it through the real `piw` process: bad input is refused at the
 * door with one line, prompts that destroy default to No, waits say what they wait for.
 * @module
 */
import { assertEquals, assertNotIncludes, assertStringIncludes } from "./assert.ts";
import { flat, runProcess } from "./helpers.ts";
import { freePort, PiwProcess } from "../fixtures/piw_process.ts";
import { diskStats } from "../../src/system/stats.ts";

/** Assert a usage error: exit 2, and one line (plus the --help hint) naming `part`. */
function assertOneLine(result: { code: number; stderr: string }, part: string, code = 2): void {
  assertEquals(result.code, code, result.stderr);
  const lines = result.stderr.trim().split("\n").filter((line) => !line.startsWith("Try 'piw"));
  assertEquals(lines.length, 1, result.stderr);
  assertStringIncludes(lines[0], part);
  assertNotIncludes(result.stderr, "    at ");
}

Deno.test("piw add refuses an invalid name or version at the door", async () => {
  const queue = ["--import-queue", "ipc:///tmp/piw-no-master-here", "--timeout", "2s", "-y"];
  for (const name of ["bad name!", "../../etc", "foo."]) {
    const result = await runProcess(["add", name, ...queue]);
    assertOneLine(result, `invalid package name ${JSON.stringify(name)}`);
    assertNotIncludes(result.stdout, "Adding");
  }
  const version = await runProcess(["add", "foo", "not a version", ...queue]);
  assertOneLine(version, `invalid version "not a version"`);
  const alias = await runProcess(["add", "foo", "--alias", "fo o", ...queue]);
  assertOneLine(alias, `invalid package name "fo o"`);
});

Deno.test("piw remove asks [y/N]: Enter keeps the package", async () => {
  const queue = ["--import-queue", "ipc:///tmp/piw-no-master-here", "--timeout", "2s"];
  const result = await runProcess(["remove", "foo", ...queue], { stdin: "\n" });
  assertEquals([result.code, result.stderr], [2, "Cancelled\n"]);
  assertStringIncludes(result.stdout, "Proceed? [y/N] ");
  const skip = await runProcess(["remove", "foo", "1.0", "-s", "licence", ...queue], {
    stdin: "\n",
  });
  assertEquals([skip.code, skip.stderr], [2, "Cancelled\n"]);
});

Deno.test("piw remove --help says -s keeps the published files, unlike piwheels", async () => {
  const help = flat((await runProcess(["remove", "--help"])).stdout);
  assertStringIncludes(help, "unlike piwheels, its published files stay published");
  assertStringIncludes(help, "-b -s REASON");
});

Deno.test("piw slave says what it waits for: the master's address, and how often it retries", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-first-week-slave-" });
  const port = freePort();
  const slave = new PiwProcess("slave", ["slave", "--master", `127.0.0.1:${port}`, "--dir", dir], {
    PIW_REPLY_TIMEOUT: "1s",
    PIW_ALLOW_ROOT: "1",
  });
  try {
    // No -v: an operator sees it by default.
    const line = await slave.waitForLine("no reply to HELLO", 30_000);
    assertStringIncludes(line, `master at tcp://127.0.0.1:${port}`);
    assertStringIncludes(line, "every 1 s until it answers");
  } finally {
    await slave.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("piw slave with a missing build directory says so in one line", async () => {
  const result = await runProcess(["slave", "--dir", "/nonexistent/piw-build"], {
    env: { PIW_ALLOW_ROOT: "1" },
  });
  assertOneLine(result, "the build directory /nonexistent/piw-build does not exist", 1);
});

Deno.test("the disk usage of a missing directory is one line in piw's words, not df's", async () => {
  const error = await diskStats("/nonexistent/piw-output").then(() => null, (e: Error) => e);
  assertEquals(
    error?.message,
    "cannot read the disk usage of /nonexistent/piw-output: No such file or directory",
  );
});

Deno.test("a directory given as a configuration file is one line, prefixed", async () => {
  const config = await runProcess(["slave", "-c", "/tmp"]);
  assertOneLine(config, "piw slave: cannot read configuration file /tmp: it is a directory", 1);
});
