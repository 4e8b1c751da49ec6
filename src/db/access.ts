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

/**
 * A batch of access-log rows as the lumberjack queue carries them: `[message name, wire tuple]`
 * with the tuple of LOGDOWNLOAD/LOGSEARCH (13 fields) or LOGPROJECT/LOGJSON/LOGPAGE (4 fields).
 */
export type AccessLogBatch = [name: string, data: unknown[]][];

/** The set-based `log_*` function of each message, in the order of {@link BATCH_SQL}'s args. */
const LOG_FUNCTIONS = {
  LOGDOWNLOAD: "log_downloads",
  LOGSEARCH: "log_searches",
  LOGPROJECT: "log_project_hits",
  LOGJSON: "log_json_downloads",
  LOGPAGE: "log_page_hits",
} as const;

type LogName = keyof typeof LOG_FUNCTIONS;
const LOG_NAMES = Object.keys(LOG_FUNCTIONS) as LogName[];

// One statement for every kind, so a batch is all or nothing; the functions take the rows as
// JSON text (postgres.js would encode a string bound to a jsonb parameter a second time).
const BATCH_SQL = "SELECT " +
  LOG_NAMES.map((name, i) => `${LOG_FUNCTIONS[name]}($${i + 1}::text::jsonb)`).join(" + ") +
  " AS n";

/** Write rows of one kind (wire tuples; Dates become ISO 8601 text in the JSON). */
async function logRows(sql: SqlClient, name: LogName, rows: unknown[][]): Promise<number> {
  const [row] = await sql.query<{ n: number }>(
    `SELECT ${LOG_FUNCTIONS[name]}($1::text::jsonb) AS n`,
    [JSON.stringify(rows)],
  );
  return Number(row.n);
}

/**
 * Log many access-log rows in one statement: one set-based insert per table rather than a
 * function call (and a trigger) per row. One bad row fails the whole batch. Returns the count.
 */
export async function logAccessBatch(sql: SqlClient, batch: AccessLogBatch): Promise<number> {
  const byName: Record<LogName, unknown[][]> = {
    LOGDOWNLOAD: [],
    LOGSEARCH: [],
    LOGPROJECT: [],
    LOGJSON: [],
    LOGPAGE: [],
  };
  for (const [name, data] of batch) {
    const rows = byName[name as LogName];
    if (!rows) throw new Error(`not an access-log message: ${name}`);
    rows.push(data);
  }
  const params = LOG_NAMES.map((name) => JSON.stringify(byName[name]));
  const [row] = await sql.query<{ n: number | string }>(BATCH_SQL, params);
  return Number(row.n);
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
