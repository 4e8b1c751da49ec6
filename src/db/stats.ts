/**
 * Statistics for the homepage and monitors, and download counts for the search index.
 * @module
 */
import { queryValue, type SqlClient } from "./client.ts";
import type { BuildCount, RetryCount, SearchIndex, Statistics } from "./types.ts";

interface StatisticsRow {
  packages_built: number;
  builds_last_hour: Record<string, number> | string;
  builds_time_ms: number;
  builds_size: number;
  builds_pending: Record<string, number> | string;
  new_last_hour: number;
  files_count: number;
  downloads_last_hour: number;
  downloads_last_month: number;
  downloads_all: number;
}

const json = <T>(value: T | string): T =>
  typeof value === "string" ? JSON.parse(value) as T : value;

/** Builds of the last hour per builder ABI, result and failure class (empty groups left out). */
export async function getBuildsLastHour(sql: SqlClient): Promise<BuildCount[]> {
  const rows = await sql.query<
    { abi_tag: string; status: boolean; failure_class: string | null; builds: number }
  >(
    "SELECT abi_tag, status, failure_class, builds::INTEGER AS builds FROM get_builds_last_hour()",
  );
  return rows.map((r) => [r.abi_tag, r.status, r.failure_class, r.builds]);
}

/** Retries pending per ABI of the failed build (ABIs with none are left out). */
export async function getRetriesPending(sql: SqlClient): Promise<RetryCount[]> {
  const rows = await sql.query<{ abi_tag: string; retries: number }>(
    "SELECT abi_tag, retries::INTEGER AS retries FROM get_retries_pending()",
  );
  return rows.map((r) => [r.abi_tag, r.retries]);
}

/** The database's part of the master's statistics, from one function call. */
export async function getStatistics(sql: SqlClient): Promise<Statistics> {
  const [row] = await sql.query<StatisticsRow>("SELECT * FROM get_statistics()");
  // After get_statistics(), which folds the counters this sums.
  const [metadata] = await sql.query<{ last_month: number; total: number }>(
    "SELECT last_month, total FROM get_metadata_fetches()",
  );
  return {
    packagesBuilt: row.packages_built,
    buildsLastHour: json(row.builds_last_hour),
    buildsTime: row.builds_time_ms,
    buildsSize: row.builds_size,
    buildsPending: json(row.builds_pending),
    newLastHour: row.new_last_hour,
    filesCount: row.files_count,
    downloadsLastHour: row.downloads_last_hour,
    downloadsLastMonth: row.downloads_last_month,
    downloadsAll: row.downloads_all,
    metadataFetchesLastMonth: Number(metadata.last_month),
    metadataFetchesAll: Number(metadata.total),
  };
}

/** The statistics BigBrother fetches once at start: all-time downloads. */
export async function getInitialStatistics(sql: SqlClient): Promise<{ downloadsAll: number }> {
  const downloadsAll = await queryValue<number>(
    sql,
    "SELECT downloads_all AS value FROM get_statistics()",
  );
  return { downloadsAll };
}

/** Downloads of every package: `{package: [last 30 days, all time]}`. */
export async function getSearchIndex(sql: SqlClient): Promise<SearchIndex> {
  const rows = await sql.query<
    { package: string; downloads_recent: number; downloads_all: number }
  >(
    "SELECT package, downloads_recent, downloads_all FROM get_search_index()",
  );
  const index: SearchIndex = {};
  for (const r of rows) index[r.package] = [r.downloads_recent, r.downloads_all];
  return index;
}
