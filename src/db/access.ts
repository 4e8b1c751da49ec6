/**
 * The web server's access logs (for `piw logger`) and the secretary's saved buffer.
 * @module
 */
import type { SqlClient } from "./client.ts";
import { LOG_TABLES, type LogName } from "./log_tables.ts";
import type {
  DownloadRecord,
  PageHitRecord,
  ProjectHitRecord,
  RewritePendingRecord,
  SearchRecord,
} from "./types.ts";

const LOG_NAMES = Object.keys(LOG_TABLES) as LogName[];

/**
 * Access-log rows per lumberjack message name (LOGDOWNLOAD, LOGSEARCH, LOGPROJECT, LOGJSON,
 * LOGPAGE, LOGMETADATA): each a JSON array of that message's wire tuples, times as ISO 8601 text.
 */
export type AccessLogJson = Partial<Record<LogName, string>>;

/** Access-log rows per lumberjack message name, in PostgreSQL's COPY text format. */
export type AccessLogText = Partial<Record<LogName, string>>;

/** The COPY statement of each lumberjack message: the table and the wire tuple's columns. */
const COPY_STATEMENTS = Object.fromEntries(
  LOG_NAMES.map((name) => {
    const { table, columns } = LOG_TABLES[name];
    return [name, `COPY ${table} (${columns.map(([column]) => column).join(", ")}) FROM STDIN`];
  }),
) as Record<LogName, string>;

/**
 * Whether `sql` can COPY access-log rows: PostgreSQL, with INSERT on every log table and a
 * download-statistics trigger that runs as its owner (databases made by this piw's initdb).
 */
export async function canCopyAccess(sql: SqlClient): Promise<boolean> {
  if (sql.kind !== "postgres" || !sql.copyFrom) return false;
  const [row] = await sql.query<{ ok: boolean }>(
    "SELECT bool_and(has_table_privilege(t, 'INSERT')) AND (SELECT prosecdef FROM pg_proc " +
      "WHERE oid = 'downloads_trigger'::regproc) AS ok FROM unnest($1::text[]) t",
    [LOG_NAMES.map((name) => LOG_TABLES[name].table)],
  );
  return row?.ok === true;
}

/**
 * Log many access-log rows (COPY text, texts already cut to their columns) with one COPY per
 * table in one transaction: about half the database's work of {@link logAccess}. One bad row
 * fails the whole batch. Returns the count.
 */
export async function copyAccess(sql: SqlClient, rows: AccessLogText): Promise<number> {
  const kinds = Object.keys(rows) as LogName[];
  for (const name of kinds) {
    if (!(name in COPY_STATEMENTS)) throw new Error(`not an access-log message: ${name}`);
  }
  const copies = kinds.filter((name) => rows[name] !== "").map((name) => ({
    statement: COPY_STATEMENTS[name],
    data: rows[name]!,
  }));
  return await sql.transaction((tx) => tx.copyFrom!(copies));
}

// One statement for every kind, so a batch is all or nothing. The rows go as text cast to jsonb
// (postgres.js would encode a string bound to a jsonb parameter a second time).
const BATCH_SQL = "SELECT " +
  LOG_NAMES.map((name, i) => `${LOG_TABLES[name].logFunction}($${i + 1}::text::jsonb)`).join(
    " + ",
  ) +
  " AS n";

/**
 * Log many access-log rows in one statement: one set-based insert per table rather than a
 * function call (and a trigger) per row. One bad row fails the whole batch. Returns the count.
 */
export async function logAccess(sql: SqlClient, rows: AccessLogJson): Promise<number> {
  for (const name of Object.keys(rows)) {
    if (!(name in LOG_TABLES)) throw new Error(`not an access-log message: ${name}`);
  }
  const params = LOG_NAMES.map((name) => rows[name] ?? "[]");
  const [row] = await sql.query<{ n: number | string }>(BATCH_SQL, params);
  return Number(row.n);
}

/** Write rows of one kind (wire tuples; Dates become ISO 8601 text in the JSON). */
async function logRows(sql: SqlClient, name: LogName, rows: unknown[][]): Promise<void> {
  await sql.query(`SELECT ${LOG_TABLES[name].logFunction}($1::text::jsonb)`, [
    JSON.stringify(rows),
  ]);
}

function clientDetails(r: Omit<DownloadRecord, "filename">): unknown[] {
  return [
    r.host,
    r.timestamp,
    r.arch ?? null,
    r.distroName ?? null,
    r.distroVersion ?? null,
    r.osName ?? null,
    r.osVersion ?? null,
    r.pyName ?? null,
    r.pyVersion ?? null,
    r.installerName ?? null,
    r.installerVersion ?? null,
    r.setuptoolsVersion ?? null,
  ];
}

/** Log a download of a wheel. */
export async function logDownload(sql: SqlClient, download: DownloadRecord): Promise<void> {
  await logRows(sql, "LOGDOWNLOAD", [[download.filename, ...clientDetails(download)]]);
}

/** Log a fetch of a wheel's PEP 658 metadata. */
export async function logMetadataFetch(sql: SqlClient, fetch: DownloadRecord): Promise<void> {
  await logRows(sql, "LOGMETADATA", [[fetch.filename, ...clientDetails(fetch)]]);
}

/** Log a pip search. */
export async function logSearch(sql: SqlClient, search: SearchRecord): Promise<void> {
  await logRows(sql, "LOGSEARCH", [[search.package, ...clientDetails(search)]]);
}

/** Log a hit on a project page. */
export async function logProject(sql: SqlClient, hit: ProjectHitRecord): Promise<void> {
  await logRows(sql, "LOGPROJECT", [[hit.package, hit.host, hit.timestamp, hit.userAgent]]);
}

/** Log a download of a project's JSON. */
export async function logJson(sql: SqlClient, hit: ProjectHitRecord): Promise<void> {
  await logRows(sql, "LOGJSON", [[hit.package, hit.host, hit.timestamp, hit.userAgent]]);
}

/** Log a hit on another web page. */
export async function logPage(sql: SqlClient, hit: PageHitRecord): Promise<void> {
  await logRows(sql, "LOGPAGE", [[hit.page, hit.host, hit.timestamp, hit.userAgent]]);
}

/** Replace the saved secretary buffer with `rows`. */
export async function saveRewritesPending(
  sql: SqlClient,
  rows: RewritePendingRecord[],
): Promise<void> {
  const json = rows.map((r) => ({
    package: r.package,
    added_at: r.addedAt.toISOString(),
    command: r.command,
  }));
  await sql.query("SELECT save_rewrites_pending($1::text::jsonb)", [JSON.stringify(json)]);
}

/** The saved secretary buffer, oldest first. */
export async function loadRewritesPending(sql: SqlClient): Promise<RewritePendingRecord[]> {
  const rows = await sql.query<{ package: string; added_at: Date; command: "PROJECT" | "BOTH" }>(
    "SELECT package, added_at, command FROM rewrites_pending ORDER BY added_at, package",
  );
  return rows.map((r) => ({ package: r.package, addedAt: r.added_at, command: r.command }));
}
