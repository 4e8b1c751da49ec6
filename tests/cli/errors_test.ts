import { assertEquals, assertStringIncludes } from "./assert.ts";
import { run } from "./helpers.ts";
import { PiwError } from "../../src/errors.ts";

Deno.test("an unknown option is exit 2: one line naming it, then Try --help", async () => {
  const result = await run(["slave", "--foo"]);
  assertEquals(result.code, 2);
  assertEquals(result.command, undefined);
  assertEquals(
    result.stderr,
    "piw slave: unknown option '--foo'\nTry 'piw slave --help' for more information.\n",
  );
});

Deno.test("usage errors of every kind are exit 2 with the hint", async () => {
  const cases: [string[], string][] = [
    [["frobnicate"], "piw: unknown command 'frobnicate'"],
    [["--nope"], "piw: unknown option '--nope'"],
    [["import"], "piw import: missing required argument 'files'"],
    [["remove", "a", "b", "c"], "piw remove: too many arguments"],
    [["slave", "-t"], "piw slave: option '-t, --timeout <DURATION>' argument missing"],
    [["slave", "-t", "soon"], "piw slave: option '-t, --timeout': invalid duration 'soon'"],
    [["slave", "--memory-limit", "lots"], "piw slave: option '--memory-limit': invalid size"],
    [["sense", "-r", "45"], "piw sense: option '-r, --rotate': '45' is not one of 0, 90"],
    [["rebuild", "all"], "piw rebuild: argument 'part': 'all' is not one of home"],
    [["slave", "--mastr", "x"], "piw slave: unknown option '--mastr' (Did you mean --master?)"],
  ];
  for (const [args, message] of cases) {
    const result = await run(args);
    assertEquals(result.code, 2, args.join(" "));
    const lines = result.stderr.split("\n");
    assertEquals(lines.length, 3, result.stderr);
    assertStringIncludes(lines[0], message);
    assertEquals(lines[1].startsWith("Try 'piw"), true);
    assertEquals(result.command, undefined);
  }
});

Deno.test("piw with no command shows the help on stderr and exits 2", async () => {
  const result = await run([]);
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, "Usage: piw <command> [options]");
});

Deno.test("a runtime error is exit 1 and one line, with no stack trace", async () => {
  const result = await run(["initdb"], {
    body: () => Promise.reject(new PiwError("Database piwheels does not exist")),
  });
  assertEquals([result.code, result.stderr], [1, "piw initdb: Database piwheels does not exist\n"]);
  const unexpected = await run(["add", "foo"], {
    body: () => Promise.reject(new TypeError("x is undefined\nmore detail")),
  });
  assertEquals([unexpected.code, unexpected.stderr], [1, "piw add: TypeError: x is undefined\n"]);
});

Deno.test("-v shows the stack of unexpected errors, --debug of all errors", async () => {
  const unexpected = await run(["add", "foo", "-v"], {
    body: () => Promise.reject(new TypeError("x is undefined")),
  });
  assertEquals(unexpected.code, 1);
  assertStringIncludes(unexpected.stderr, "TypeError: x is undefined\n    at ");
  const expected = await run(["add", "foo", "-v"], {
    body: () => Promise.reject(new PiwError("no such package")),
  });
  assertEquals(expected.stderr, "piw add: no such package\n");
  const debug = await run(["add", "foo", "--debug"], {
    body: () => Promise.reject(new PiwError("no such package")),
  });
  assertStringIncludes(debug.stderr, "PiwError: no such package\n    at ");
});

Deno.test("a subcommand's return value is the exit code", async () => {
  assertEquals((await run(["rebuild", "home"], { body: () => Promise.resolve(3) })).code, 3);
});
