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

const THIRTEEN = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13";

/** Log a download of a wheel. */
export async function logDownload(sql: SqlClient, download: DownloadRecord): Promise<void> {
  await sql.query(`SELECT log_download(${THIRTEEN})`, [
    download.filename,
    ...clientDetails(download),
  ]);
}

/** Log a pip search. */
export async function logSearch(sql: SqlClient, search: SearchRecord): Promise<void> {
  await sql.query(`SELECT log_search(${THIRTEEN})`, [search.package, ...clientDetails(search)]);
}

/** Log a hit on a project page. */
export async function logProject(sql: SqlClient, hit: ProjectHitRecord): Promise<void> {
  await sql.query("SELECT log_project($1, $2, $3, $4)", [
    hit.package,
    hit.host,
    hit.timestamp,
    hit.userAgent,
  ]);
}

/** Log a download of a project's JSON. */
export async function logJson(sql: SqlClient, hit: ProjectHitRecord): Promise<void> {
  await sql.query("SELECT log_json($1, $2, $3, $4)", [
    hit.package,
    hit.host,
    hit.timestamp,
    hit.userAgent,
  ]);
}

/** Log a hit on another web page. */
export async function logPage(sql: SqlClient, hit: PageHitRecord): Promise<void> {
  await sql.query("SELECT log_page($1, $2, $3, $4)", [
    hit.page,
    hit.host,
    hit.timestamp,
    hit.userAgent,
  ]);
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

/**
 * A batch of access-log rows as the lumberjack queue carries them: `[message name, wire tuple]`
 * with the tuple of LOGDOWNLOAD/LOGSEARCH (13 fields) or LOGPROJECT/LOGJSON/LOGPAGE (4 fields).
 */
export type AccessLogBatch = [name: string, data: unknown[]][];

const DETAILS = "r->>3, r->>4, r->>5, r->>6, r->>7, r->>8, r->>9, r->>10, r->>11, r->>12";
const BATCH_CALLS: Record<string, string> = {
  LOGDOWNLOAD: `log_download(r->>0, (r->>1)::inet, (r->>2)::timestamptz, ${DETAILS})`,
  LOGSEARCH: `log_search(r->>0, (r->>1)::inet, (r->>2)::timestamptz, ${DETAILS})`,
  LOGPROJECT: "log_project(r->>0, (r->>1)::inet, (r->>2)::timestamptz, r->>3)",
  LOGJSON: "log_json(r->>0, (r->>1)::inet, (r->>2)::timestamptz, r->>3)",
  LOGPAGE: "log_page(r->>0, (r->>1)::inet, (r->>2)::timestamptz, r->>3)",
};

const BATCH_SQL = (() => {
  const kinds = Object.keys(BATCH_CALLS);
  // A CTE holding a volatile call is evaluated in full when it is counted, so every row is
  // logged though only the count comes back; one statement makes the batch all or nothing.
  const ctes = kinds.map((kind, i) =>
    `${kind} AS (SELECT ${BATCH_CALLS[kind]} FROM jsonb_array_elements($${i + 1}::text::jsonb) r)`
  );
  const counts = kinds.map((kind) => `(SELECT count(*) FROM ${kind})`);
  return `WITH ${ctes.join(", ")} SELECT ${counts.join(" + ")} AS n`;
})();

/**
 * Log many access-log rows in one statement (thousands of single calls would each pay a round
 * trip). The rows go through the same `log_*` functions as single calls, so truncation,
 * triggers and grants are the same; one bad row fails the whole batch. Returns the row count.
 */
export async function logAccessBatch(sql: SqlClient, batch: AccessLogBatch): Promise<number> {
  const byKind = new Map<string, unknown[][]>(Object.keys(BATCH_CALLS).map((k) => [k, []]));
  for (const [name, data] of batch) {
    const rows = byKind.get(name);
    if (!rows) throw new Error(`not an access-log message: ${name}`);
    rows.push(data);
  }
  const params = [...byKind.values()].map((rows) => JSON.stringify(rows));
  const [row] = await sql.query<{ n: number | string }>(BATCH_SQL, params);
  return Number(row.n);
}
