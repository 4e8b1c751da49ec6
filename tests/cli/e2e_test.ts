/** End-to-end checks of the real `piw` process: exit codes, output streams, real stdin. */
import { assertEquals, assertNotIncludes, assertStringIncludes } from "./assert.ts";
import { runProcess } from "./helpers.ts";
import { PIW_VERSION } from "../../src/version.ts";

const promptCli = new URL("./fixtures/prompt_cli.ts", import.meta.url).pathname;
const crashCli = new URL("./fixtures/crash_cli.ts", import.meta.url).pathname;

Deno.test("piw --version and piw slave --version print the bare version", async () => {
  assertEquals(await runProcess(["--version"]), {
    code: 0,
    stdout: `${PIW_VERSION}\n`,
    stderr: "",
  });
  assertEquals((await runProcess(["slave", "--version"])).stdout, `${PIW_VERSION}\n`);
});

Deno.test("deno task piw runs the program", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "piw", "initdb", "--help"],
    cwd: root,
    env: { PIW_CONFIG_PATHS: "", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 0);
  assertStringIncludes(new TextDecoder().decode(output.stdout), "Usage: piw initdb [options]");
});

Deno.test("a bad option exits 2 with one line and the hint, on stderr", async () => {
  const result = await runProcess(["slave", "--foo"]);
  assertEquals(result, {
    code: 2,
    stdout: "",
    stderr: "piw slave: unknown option '--foo'\nTry 'piw slave --help' for more information.\n",
  });
});

Deno.test("answering no to a prompt exits 2", async () => {
  const result = await runProcess(["remove", "foo"], { script: promptCli, stdin: "n\n" });
  assertEquals(result.code, 2);
  assertEquals(result.stdout, "Proceed? [Y/n] ");
  assertEquals(result.stderr, "Cancelled\n");
});

Deno.test("end of input at a prompt exits 2, not a crash", async () => {
  const result = await runProcess(["import", "a.whl"], { script: promptCli, stdin: "" });
  assertEquals(result.code, 2);
  assertEquals(result.stderr.trim().split("\n").length, 1);
  assertNotIncludes(result.stderr, "    at ");
});

Deno.test("yes at a prompt (after an invalid answer) proceeds; -y never asks", async () => {
  const result = await runProcess(["add", "foo"], { script: promptCli, stdin: "what\n\n" });
  assertEquals(result.code, 0);
  assertEquals(result.stdout, "Proceed? [Y/n] Invalid response\nProceed? [Y/n] proceeding\n");
  const yes = await runProcess(["add", "foo", "-y"], { script: promptCli });
  assertEquals([yes.code, yes.stdout], [0, "proceeding\n"]);
});

Deno.test("a runtime error exits 1 with one line and no stack trace", async () => {
  const missing = await runProcess(["slave", "-c", "/nonexistent/piw.conf"]);
  assertEquals(missing, {
    code: 1,
    stdout: "",
    stderr: "piw slave: cannot read configuration file /nonexistent/piw.conf: no such file\n",
  });
  const crash = await runProcess(["master"], { script: crashCli });
  assertEquals([crash.code, crash.stderr], [1, "piw master: TypeError: something broke\n"]);
  const traced = await runProcess(["master", "-v"], { script: crashCli });
  assertEquals(traced.code, 1);
  assertStringIncludes(traced.stderr, "    at ");
});
