import { assertEquals, assertNotIncludes, assertStringIncludes } from "./assert.ts";
import { run, tempFiles } from "./helpers.ts";
import { getLogger } from "../../src/log.ts";

/** A stand-in subcommand that logs one message at each level. */
function logEachLevel(name = "piw.test") {
  return () => {
    const log = getLogger(name);
    log.debug("a debug message");
    log.info("an info message");
    log.warning("a warning message");
    log.error("an error message");
    return Promise.resolve(0);
  };
}

Deno.test("the console shows warnings by default, errors with -q, info with -v", async () => {
  const plain = await run(["slave"], { body: logEachLevel() });
  assertEquals(plain.stderr, "a warning message\nan error message\n");
  const quiet = await run(["slave", "-q"], { body: logEachLevel() });
  assertEquals(quiet.stderr, "an error message\n");
  const verbose = await run(["slave", "-v"], { body: logEachLevel() });
  assertEquals(verbose.stderr, "an info message\na warning message\nan error message\n");
  const debug = await run(["slave", "--debug"], { body: logEachLevel() });
  assertStringIncludes(debug.stderr, "a debug message\n");
});

Deno.test("logging options can come from a configuration file", async () => {
  const dir = await tempFiles({ "piw.conf": "[slave]\nverbose = yes\n" });
  const result = await run(["slave"], {
    body: logEachLevel(),
    env: { PIW_CONFIG_PATHS: `${dir}/piw.conf` },
  });
  assertStringIncludes(result.stderr, "an info message\n");
});

Deno.test("-l adds a log file with timestamps, names and levels, and keeps long lines", async () => {
  const dir = await tempFiles({});
  const path = `${dir}/piw.log`;
  const long = "x".repeat(500);
  const result = await run(["slave", "-q", "-l", path], {
    body: () => {
      getLogger("slave").info(long);
      getLogger("slave").debug("not at info level");
      return Promise.resolve(0);
    },
  });
  assertEquals([result.code, result.stderr], [0, ""]);
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assertEquals(lines.length, 1);
  const match = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) slave INFO: (x+)$/.exec(lines[0]);
  assertEquals(match?.[2], long);
});

Deno.test("the master's --debug TASK enables debug for matching tasks, names shown", async () => {
  const result = await run(["master", "--debug", "master.the_*"], {
    body: () => {
      getLogger("master.the_scribe").debug("scribe detail");
      getLogger("master.cloud_gazer").debug("gazer detail");
      getLogger("master.cloud_gazer").warning("gazer warning");
      return Promise.resolve(0);
    },
  });
  assertEquals(
    result.stderr,
    "master.the_scribe: scribe detail\nmaster.cloud_gazer: gazer warning\n",
  );
});

Deno.test("the master's --dev-mode logs debug messages", async () => {
  const result = await run(["master", "--dev-mode"], { body: logEachLevel("master.seraph") });
  assertStringIncludes(result.stderr, "master.seraph: a debug message");
});

Deno.test("an unwritable log file is a runtime error", async () => {
  const result = await run(["slave", "-l", "/nonexistent/dir/piw.log"]);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "cannot open log file /nonexistent/dir/piw.log");
  assertEquals(result.command, undefined);
});

Deno.test("logging settles back to defaults after runCli returns", async () => {
  await run(["slave", "--debug"]);
  const after = await run(["monitor"], { body: logEachLevel() });
  assertNotIncludes(after.stderr, "debug");
  assertNotIncludes(after.stderr, "info");
});
