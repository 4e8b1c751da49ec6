/**
 * What a database's `public` schema is, as comparable lines read from the system catalogs, and
 * what its tables hold: the upgrade test compares an upgraded database with a fresh one through
 * these, so any difference between `create_piw.sql` and the update scripts shows up here.
 * Works on PostgreSQL and PGlite (no pg_dump needed). Names only, never OIDs or attnums.
 * @module
 */
import type { SqlClient } from "../../src/db/client.ts";

/** ACL entries as sorted text (`grantee:privilege[:grant option]`), the default ACL when NULL. */
const acl = (column: string, kind: string, owner: string) =>
  aclText(`coalesce(${column}, acldefault('${kind}', ${owner}))`);

/** An aclitem[] as sorted text (whatever order the grants were made in). */
const aclText = (items: string) =>
  `(SELECT coalesce(string_agg(e, ',' ORDER BY e), '') FROM (
      SELECT pg_get_userbyid(a.grantee) || ':' || a.privilege_type ||
        CASE WHEN a.is_grantable THEN ':grantable' ELSE '' END AS e
      FROM aclexplode(${items}) a) entries)`;

/** One query per kind of schema object; each row becomes one line `kind {json}`. */
const CATALOG: Record<string, string> = {
  relation: `
    SELECT c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
           c.reloptions::text AS options, pg_get_userbyid(c.relowner) AS owner,
           obj_description(c.oid, 'pg_class') AS comment,
           CASE WHEN c.relkind = 'i' THEN NULL
                ELSE ${acl("c.relacl", "r", "c.relowner")} END AS acl,
           c.relrowsecurity AS row_security
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind <> 'c'`,
  column: `
    SELECT c.relname AS relation,
           row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) AS position,
           a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
           a.attidentity AS identity, a.attgenerated AS generated,
           CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END
             AS collation,
           col_description(c.oid, a.attnum) AS comment,
           ${aclText("a.attacl")} AS acl
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')`,
  constraint: `
    SELECT coalesce(c.relname, t.typname) AS owner, k.conname AS name, k.contype AS type,
           pg_get_constraintdef(k.oid) AS definition, k.condeferrable AS deferrable,
           k.condeferred AS deferred
    FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
    LEFT JOIN pg_class c ON c.oid = k.conrelid
    LEFT JOIN pg_type t ON t.oid = k.contypid
    WHERE n.nspname = 'public'`,
  index: `
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
           i.indisclustered AS clustered
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'`,
  function: `
    SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
           regexp_replace(pg_get_functiondef(p.oid), '\\s+', ' ', 'g') AS definition,
           pg_get_userbyid(p.proowner) AS owner, obj_description(p.oid, 'pg_proc') AS comment,
           ${acl("p.proacl", "f", "p.proowner")} AS acl
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')`,
  aggregate: `
    SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
           a.aggtransfn::text AS transition, a.aggfinalfn::text AS final,
           format_type(a.aggtranstype, NULL) AS state, a.agginitval AS initial
    FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public'`,
  trigger: `
    SELECT c.relname AS relation, t.tgname AS name, pg_get_triggerdef(t.oid) AS definition,
           t.tgenabled AS enabled
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT t.tgisinternal`,
  view: `
    SELECT c.relname AS name, regexp_replace(pg_get_viewdef(c.oid), '\\s+', ' ', 'g') AS definition
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')`,
  rule: `
    SELECT tablename AS relation, rulename AS name, definition FROM pg_rules
    WHERE schemaname = 'public'`,
  policy: `
    SELECT tablename AS relation, policyname AS name, permissive, roles::text, cmd, qual,
           with_check FROM pg_policies WHERE schemaname = 'public'`,
  sequence: `
    SELECT c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
           s.seqincrement AS increment, s.seqmax AS max, s.seqmin AS min, s.seqcache AS cache,
           s.seqcycle AS cycle,
           (SELECT r.relname || '.' || a.attname FROM pg_depend d
              JOIN pg_class r ON r.oid = d.refobjid
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned_by
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'`,
  type: `
    SELECT t.typname AS name, t.typtype AS kind, format_type(t.typbasetype, t.typtypmod) AS base,
           t.typnotnull AS not_null, t.typdefault AS default,
           (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
            WHERE e.enumtypid = t.oid) AS labels
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_class c ON c.oid = t.typrelid
    WHERE n.nspname = 'public' AND (t.typtype IN ('e', 'd', 'r', 'm') OR c.relkind = 'c')`,
  schema: `
    SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner,
           ${acl("n.nspacl", "n", "n.nspowner")} AS acl
    FROM pg_namespace n WHERE n.nspname = 'public'`,
  default_acl: `
    SELECT pg_get_userbyid(d.defaclrole) AS role, d.defaclobjtype AS kind,
           ${aclText("d.defaclacl")} AS acl
    FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    WHERE n.nspname IS NULL OR n.nspname = 'public'`,
  extension: "SELECT extname AS name, extversion AS version FROM pg_extension",
  event_trigger: `
    SELECT evtname AS name, evtevent AS event, evtfoid::regproc::text AS function,
           evtenabled AS enabled FROM pg_event_trigger`,
};

/** The schema as sorted lines, one per object (a column's line holds its position). */
export async function schemaLines(client: SqlClient): Promise<string[]> {
  const lines: string[] = [];
  for (const [kind, query] of Object.entries(CATALOG)) {
    for (const row of await client.query<Record<string, unknown>>(query)) {
      lines.push(`${kind} ${JSON.stringify(row)}`);
    }
  }
  return lines.sort();
}

/**
 * What `a` has that `b` lacks and the other way round, as a readable report ("" when equal).
 */
export function diffLines(a: string[], b: string[], aName: string, bName: string): string {
  const inB = new Set(b), inA = new Set(a);
  const onlyA = a.filter((line) => !inB.has(line));
  const onlyB = b.filter((line) => !inA.has(line));
  if (!onlyA.length && !onlyB.length) return "";
  return [
    `only in ${aName}:`,
    ...onlyA.map((line) => `  ${line}`),
    `only in ${bName}:`,
    ...onlyB.map((line) => `  ${line}`),
  ].join("\n");
}

/** The columns of every table in `public`, in order. */
export async function tableColumns(client: SqlClient): Promise<Map<string, string[]>> {
  const rows = await client.query<{ table: string; columns: string[] }>(
    `SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     GROUP BY c.relname ORDER BY c.relname`,
  );
  return new Map(rows.map((row) => [row.table, row.columns]));
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The rows of these tables (only these columns of each), as sorted JSON lines per table, and
 * every sequence's position: what an upgrade must keep.
 */
export async function tableData(
  client: SqlClient,
  tables: Map<string, string[]>,
): Promise<Record<string, string[]>> {
  const data: Record<string, string[]> = {};
  for (const [table, columns] of tables) {
    const rows = await client.query<{ row: string }>(
      `SELECT json_build_array(${columns.map(ident).join(", ")})::text AS row FROM ${ident(table)}`,
    );
    data[table] = rows.map((r) => r.row).sort();
  }
  const sequences = await client.query<{ name: string }>(
    "SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
  );
  for (const { name } of sequences) {
    const [row] = await client.query<{ position: string }>(
      `SELECT last_value || ':' || is_called AS position FROM ${ident(name)}`,
    );
    data[`sequence ${name}`] = [row.position];
  }
  return data;
}
