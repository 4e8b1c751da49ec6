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
