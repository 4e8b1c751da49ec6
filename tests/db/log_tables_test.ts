/**
 * The access-log column limits stated in TypeScript (src/db/log_tables.ts) match the SQL: the
 * tables and `log_*` functions of the create script, and those the upgrade script creates.
 */
import assert from "node:assert/strict";
import { LOG_TABLES } from "../../src/db/log_tables.ts";

const SCRIPTS = await Promise.all(
  ["create_piw.sql", "update_0.1.0_0.2.0.sql"].map(async (file) => ({
    file,
    text: await Deno.readTextFile(new URL(`../../sql/${file}`, import.meta.url)),
  })),
);
const CREATE = SCRIPTS[0];

/** The text between `start` and the first `end` after it, or null when the script lacks it. */
function block(script: { file: string; text: string }, start: string, end: string): string | null {
  const from = script.text.indexOf(start);
  if (from < 0) return null;
  const to = script.text.indexOf(end, from);
  assert.ok(to > from, `sql/${script.file}: ${start} has no end`);
  return script.text.slice(from + start.length, to);
}

/** Each column of a CREATE TABLE body and its VARCHAR length (0 for any other type). */
function tableColumns(body: string): Map<string, number> {
  const columns = new Map<string, number>();
  for (const line of body.split("\n")) {
    const m = /^\s*(\w+)\s+(\w+)(?:\((\d+)\))?/.exec(line);
    if (m) columns.set(m[1], m[2].toUpperCase() === "VARCHAR" ? Number(m[3] ?? 0) : 0);
  }
  return columns;
}

for (const [name, { table, logFunction, columns }] of Object.entries(LOG_TABLES)) {
  Deno.test(`${name}: ${table}'s columns and their limits match the SQL`, () => {
    assert.ok(block(CREATE, `CREATE TABLE ${table} (`, "\n);"), `create_piw.sql lacks ${table}`);
    for (const script of SCRIPTS) {
      const body = block(script, `CREATE TABLE ${table} (`, "\n);");
      if (body === null) continue;
      const sqlColumns = tableColumns(body);
      for (const [column, limit] of columns) {
        assert.ok(sqlColumns.has(column), `sql/${script.file}: ${table} has no column ${column}`);
        assert.equal(limit, sqlColumns.get(column), `sql/${script.file}: ${table}.${column}`);
      }
    }
  });

  Deno.test(`${name}: ${logFunction} inserts the same columns and cuts texts alike`, () => {
    const start = `FUNCTION ${logFunction}(`;
    assert.ok(block(CREATE, start, "$sql$;"), `create_piw.sql lacks ${logFunction}`);
    for (const script of SCRIPTS) {
      const body = block(script, start, "$sql$;");
      if (body === null) continue;
      const where = `sql/${script.file}: ${logFunction}`;
      const inserted = /INSERT INTO \w+ \(([^)]*)\)/.exec(body);
      assert.ok(inserted, `${where} has no INSERT`);
      assert.deepEqual(
        inserted[1].split(",").map((column) => column.trim()),
        columns.map(([column]) => column),
        `${where}'s columns`,
      );
      const cuts = new Map<number, number>();
      for (const m of body.matchAll(/left\(r->>(\d+), (\d+)\)/g)) {
        cuts.set(Number(m[1]), Number(m[2]));
      }
      columns.forEach(([column, limit], i) => {
        assert.equal(cuts.get(i) ?? 0, limit, `${where}: field ${i} (${column})`);
      });
      assert.ok(
        [...cuts.keys()].every((i) => i < columns.length),
        `${where} cuts a field too many`,
      );
    }
  });
}
