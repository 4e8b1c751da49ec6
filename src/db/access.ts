/**
 * The web server's access logs (for `piw logger`) and the secretary's saved buffer.
 * @module
 */
import type { SqlClient } from "./client.ts";
import type {
  DownloadRecord,
  PageHitRecord,
  ProjectHitRecord,
  RewritePending,
  SearchRecord,
} from "./types.ts";

/** The set-based `log_*` function of each lumberjack message. */
const LOG_FUNCTIONS = {
  LOGDOWNLOAD: "log_downloads",
  LOGSEARCH: "log_searches",
  LOGPROJECT: "log_project_hits",
  LOGJSON: "log_json_downloads",
  LOGPAGE: "log_page_hits",
} as const;

type LogName = keyof typeof LOG_FUNCTIONS;
const LOG_NAMES = Object.keys(LOG_FUNCTIONS) as LogName[];

/**
 * Access-log rows per lumberjack message name (LOGDOWNLOAD, LOGSEARCH, LOGPROJECT, LOGJSON,
 * LOGPAGE): each a JSON array of that message's wire tuples, times as ISO 8601 text.
 */
export type AccessLogJson = Partial<Record<LogName, string>>;

// One statement for every kind, so a batch is all or nothing. The rows go as text cast to jsonb
// (postgres.js would encode a string bound to a jsonb parameter a second time).
const BATCH_SQL = "SELECT " +
  LOG_NAMES.map((name, i) => `${LOG_FUNCTIONS[name]}($${i + 1}::text::jsonb)`).join(" + ") +
  " AS n";

/**
 * Log many access-log rows in one statement: one set-based insert per table rather than a
 * function call (and a trigger) per row. One bad row fails the whole batch. Returns the count.
 */
export async function logAccess(sql: SqlClient, rows: AccessLogJson): Promise<number> {
  for (const name of Object.keys(rows)) {
    if (!(name in LOG_FUNCTIONS)) throw new Error(`not an access-log message: ${name}`);
  }
  const params = LOG_NAMES.map((name) => rows[name] ?? "[]");
  const [row] = await sql.query<{ n: number | string }>(BATCH_SQL, params);
  return Number(row.n);
}

/** Write rows of one kind (wire tuples; Dates become ISO 8601 text in the JSON). */
async function logRows(sql: SqlClient, name: LogName, rows: unknown[][]): Promise<void> {
  await sql.query(`SELECT ${LOG_FUNCTIONS[name]}($1::text::jsonb)`, [JSON.stringify(rows)]);
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
export async function saveRewritesPending(sql: SqlClient, rows: RewritePending[]): Promise<void> {
  const json = rows.map((r) => ({
    package: r.package,
    added_at: r.addedAt.toISOString(),
    command: r.command,
  }));
  await sql.query("SELECT save_rewrites_pending($1::text::jsonb)", [JSON.stringify(json)]);
}

/** The saved secretary buffer, oldest first. */
export async function loadRewritesPending(sql: SqlClient): Promise<RewritePending[]> {
  const rows = await sql.query<{ package: string; added_at: Date; command: "PROJECT" | "BOTH" }>(
    "SELECT package, added_at, command FROM rewrites_pending ORDER BY added_at, package",
  );
  return rows.map((r) => ({ package: r.package, addedAt: r.added_at, command: r.command }));
}
