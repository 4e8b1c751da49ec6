import { assertEquals, assertRejects } from "../db/assert.ts";
import {
  CREATE_SCRIPT,
  DEFAULT_SQL_DIR,
  loadScript,
  planUpgrade,
  readUpdateSteps,
  splitStatements,
} from "../../src/initdb/scripts.ts";
import { PiwError } from "../../src/errors.ts";
import { PIW_VERSION } from "../../src/version.ts";

Deno.test("splitStatements cuts on semicolons outside quotes, comments and bodies", () => {
  const script = [
    "-- a comment; not a statement",
    "CREATE TABLE t (x TEXT DEFAULT 'a;b''c');",
    "/* block; /* nested; */ still comment; */",
    'SELECT "odd;name" FROM t;',
    "CREATE FUNCTION f() RETURNS TEXT LANGUAGE sql AS $body$ SELECT 'x;y' $body$;",
    "DO $$ BEGIN PERFORM 1; END $$;",
    "SELECT E'it\\'s; fine', $1;",
    "-- trailing comment only",
    "SELECT 1",
  ].join("\n");
  assertEquals(splitStatements(script), [
    { text: "CREATE TABLE t (x TEXT DEFAULT 'a;b''c')", line: 2 },
    { text: 'SELECT "odd;name" FROM t', line: 4 },
    {
      text: "CREATE FUNCTION f() RETURNS TEXT LANGUAGE sql AS $body$ SELECT 'x;y' $body$",
      line: 5,
    },
    { text: "DO $$ BEGIN PERFORM 1; END $$", line: 6 },
    { text: "SELECT E'it\\'s; fine', $1", line: 7 },
    { text: "SELECT 1", line: 9 },
  ]);
});

Deno.test("splitStatements refuses unterminated quotes and bodies", () => {
  for (const script of ["SELECT 'abc", "SELECT $x$ abc", "/* abc", 'SELECT "abc']) {
    let error: unknown;
    try {
      splitStatements(script);
    } catch (e) {
      error = e;
    }
    assertEquals(error instanceof PiwError, true, script);
  }
});

Deno.test("planUpgrade chains steps and reports a missing link", () => {
  const steps = new Map([
    ["0.1.0", { to: "0.1.1", file: "update_0.1.0_0.1.1.sql" }],
    ["0.1.1", { to: "0.2.0", file: "update_0.1.1_0.2.0.sql" }],
    ["0.3.0", { to: "0.3.0", file: "update_0.3.0_0.3.0.sql" }],
  ]);
  assertEquals(planUpgrade(steps, "0.1.0", "0.2.0"), [
    "update_0.1.0_0.1.1.sql",
    "update_0.1.1_0.2.0.sql",
  ]);
  assertEquals(planUpgrade(steps, "0.1.1", "0.2.0"), ["update_0.1.1_0.2.0.sql"]);
  for (const [from, to] of [["0.0.9", "0.2.0"], ["0.1.0", "0.3.0"], ["0.3.0", "0.4.0"]]) {
    let error: unknown;
    try {
      planUpgrade(steps, from, to);
    } catch (e) {
      error = e;
    }
    assertEquals(
      (error as Error).message,
      `Unable to find an upgrade path from version ${from} to ${to}`,
    );
  }
});

Deno.test("readUpdateSteps finds update_<from>_<to>.sql files and refuses forks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/update_0.1.0_0.1.1.sql`, "");
    await Deno.writeTextFile(`${dir}/create_piw.sql`, "");
    await Deno.writeTextFile(`${dir}/notes.txt`, "");
    assertEquals(
      await readUpdateSteps(dir),
      new Map([["0.1.0", { to: "0.1.1", file: "update_0.1.0_0.1.1.sql" }]]),
    );
    await Deno.writeTextFile(`${dir}/update_0.1.0_0.2.0.sql`, "");
    await assertRejects(
      () => readUpdateSteps(dir),
      PiwError,
      "Two upgrade steps start at version 0.1.0",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("create_piw.sql creates the schema version piw runs (PIW_VERSION)", async () => {
  const statements = await loadScript(DEFAULT_SQL_DIR, CREATE_SCRIPT);
  const versions = statements.flatMap((s) =>
    [...s.text.matchAll(/INSERT INTO configuration \(id, version\) VALUES \(1, '([^']+)'\)/g)]
      .map((m) => m[1])
  );
  assertEquals(versions, [PIW_VERSION]);
  const header = (await Deno.readTextFile(new URL(CREATE_SCRIPT, DEFAULT_SQL_DIR))).split("\n")[0];
  assertEquals(header.includes(`version ${PIW_VERSION}`), true, header);
});
