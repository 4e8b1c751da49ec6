/**
 * Build results (with their files and dependencies), the build queue, and file lists.
 * @module
 */
import { queryValue, type SqlClient } from "./client.ts";
import type { BuildQueue, BuildRecord, PackageQueueEntry } from "./types.ts";

/**
 * Log a build with its files and their dependencies in one transaction; resolves to the new
 * build id. A file already known under the same name moves to this build. A failure is stored
 * with its class; given retry delays, the database schedules its next try (see log_build).
 */
export async function logBuild(sql: SqlClient, build: BuildRecord): Promise<number> {
  return (await logBuilds(sql, [build]))[0];
}

/**
 * Log many builds (as {@link logBuild}) in one statement, so one transaction, one commit and
 * one round trip for all; resolves to their ids in order.
 */
export async function logBuilds(sql: SqlClient, builds: BuildRecord[]): Promise<number[]> {
  const rows = await sql.query<{ id: number }>(
    `SELECT log_build(b ->> 'package', b ->> 'version', (b ->> 'built_by')::integer,
         (b ->> 'duration')::double precision, (b ->> 'status')::boolean, b ->> 'abi_tag',
         b -> 'files', b ->> 'failure_class', b ->> 'failure_detail', b ->> 'failure_lines',
         ARRAY(SELECT jsonb_array_elements_text(b -> 'retry_delays'))::double precision[],
         b ->> 'output') AS id
       FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS e(b, n)
       ORDER BY n`,
    [JSON.stringify(builds.map(logBuildArgs))],
  );
  return rows.map((row) => Number(row.id));
}

/** A build's files as log_build takes them (its JSON array): empty for a failed build. */
export function logBuildFiles(build: BuildRecord) {
  return build.status
    ? build.files.map((f) => ({
      filename: f.filename,
      filesize: f.filesize,
      filehash: f.filehash,
      package_tag: f.packageTag,
      package_version_tag: f.packageVersionTag,
      py_version_tag: f.pyVersionTag,
      abi_tag: f.abiTag,
      platform_tag: f.platformTag,
      requires_python: f.requiresPython,
      location: f.location ?? "/simple",
      dependencies: f.dependencies,
    }))
    : [];
}

/** log_build's arguments for one build, by name. */
function logBuildArgs(build: BuildRecord) {
  return {
    package: build.package,
    version: build.version,
    built_by: build.builtBy,
    duration: build.duration,
    status: build.status,
    abi_tag: build.abiTag,
    files: logBuildFiles(build),
    failure_class: build.status ? null : build.failure?.failureClass ?? null,
    failure_detail: build.status ? "" : storableText(build.failure?.detail ?? ""),
    failure_lines: build.status ? "" : storableText(build.failure?.lines ?? ""),
    retry_delays: build.status ? [] : build.retryDelays ?? [],
    output: build.output == null ? null : storableText(build.output),
  };
}

/**
 * `text` as jsonb and PostgreSQL's text take it: a NUL, which neither holds, and a lone surrogate
 * (a pair cut in two: JSON escapes it, jsonb refuses it) become U+FFFD.
 */
function storableText(text: string): string {
  return text.toWellFormed().replaceAll("\0", "\uFFFD");
}

/** A build's log still to be written: its id and output. */
export type PendingLog = [buildId: number, output: string];

/**
 * The logs still to be written of builds at least `minAgeMs` old, after build `afterId` in id
 * order: at most `maxRows`, and no more once `maxBytes` of output are reached (one at least).
 */
export async function getPendingLogs(
  sql: SqlClient,
  afterId: number,
  minAgeMs: number,
  maxRows: number,
  maxBytes: number,
): Promise<PendingLog[]> {
  const rows = await sql.query<{ build_id: number; output: string }>(
    "SELECT build_id, output FROM get_pending_logs($1, $2, $3, $4)",
    [afterId, minAgeMs, maxRows, maxBytes],
  );
  return rows.map((r) => [Number(r.build_id), r.output]);
}

/** The log files of these builds are written: forget their output; resolves to how many. */
export function logsWritten(sql: SqlClient, ids: number[]): Promise<number> {
  return queryValue(
    sql,
    "SELECT logs_written(ARRAY(SELECT jsonb_array_elements_text($1::text::jsonb))::integer[]) " +
      "AS value",
    [JSON.stringify(ids)],
  );
}

/** Queue again the versions whose failed builds' retry time has come; resolves to how many. */
export function requeueDueRetries(sql: SqlClient): Promise<number> {
  return queryValue(sql, "SELECT requeue_due_retries() AS value", []);
}

/** Retry now the failed builds that keep versions from being built (see `retry_builds`). */
export function retryBuilds(
  sql: SqlClient,
  pkg: string | null,
  version: string | null,
  failureClass: string | null,
): Promise<number> {
  return queryValue(sql, "SELECT retry_builds($1, $2, $3) AS value", [
    pkg,
    version,
    failureClass,
  ]);
}

/** Retry now the "no sdist" failures of these versions; resolves to how many builds. */
export function retryNoSdist(sql: SqlClient, targets: [string, string][]): Promise<number> {
  return queryValue(sql, "SELECT retry_no_sdist($1::text::jsonb) AS value", [
    JSON.stringify(targets),
  ]);
}

/**
 * Retry now the missing-library failures of builder ABI `abi` whose header, library or tool is
 * one of `names` (a slave of that ABI has them); returns how many builds.
 */
export function retryMissingLibraries(
  sql: SqlClient,
  abi: string,
  names: string[],
): Promise<number> {
  return queryValue(sql, "SELECT retry_missing_libraries($1, $2::text::jsonb) AS value", [
    abi,
    JSON.stringify(names),
  ]);
}

/** Failed builds of the last 7 days by failure class, with "retries pending". */
export async function getFailureCounts(sql: SqlClient): Promise<Record<string, number>> {
  const counts = await queryValue<Record<string, number> | string>(
    sql,
    "SELECT get_failure_counts() AS value",
    [],
  );
  return typeof counts === "string" ? JSON.parse(counts) : counts;
}

/** Forget every build of a version, with their files; the version is queued again. */
export async function deleteBuild(sql: SqlClient, pkg: string, version: string): Promise<void> {
  await sql.query("SELECT delete_build($1, $2)", [pkg, version]);
}

/**
 * The first `limit` entries of each active ABI's build queue, in queue order (highest rank, then
 * oldest release: see queue_rank in sql/create_piw.sql). Every active ABI has an entry, possibly
 * empty.
 */
export async function getBuildQueue(sql: SqlClient, limit = 1000): Promise<BuildQueue> {
  const rows = await sql.query<{ abi_tag: string; entries: string }>(
    "SELECT abi_tag, entries FROM get_build_queue_text($1)",
    [limit],
  );
  const queue: BuildQueue = {};
  for (const { abi_tag, entries } of rows) {
    const lines = entries === "" ? [] : entries.split("\n");
    const pairs: [string, string][] = new Array(lines.length / 2);
    for (let i = 0; i < pairs.length; i++) pairs[i] = [lines[2 * i], lines[2 * i + 1]];
    queue[abi_tag] = pairs;
  }
  return queue;
}

/** Set the operator's priority of `pkg` (-1000 to 1000, default 0); false if it is unknown. */
export function setPackagePriority(
  sql: SqlClient,
  pkg: string,
  priority: number,
): Promise<boolean> {
  return queryValue(sql, "SELECT set_package_priority($1, $2) AS value", [pkg, priority]);
}

/** Where `pkg` stands in the build queues, per ABI that has queued versions of it. */
export async function getPackageQueue(sql: SqlClient, pkg: string): Promise<PackageQueueEntry[]> {
  const rows = await sql.query<{ abi_tag: string; queued: number; first_position: number }>(
    "SELECT abi_tag, queued::INTEGER AS queued, first_position::INTEGER AS first_position " +
      "FROM get_package_queue($1)",
    [pkg],
  );
  return rows.map((r) => [r.abi_tag, r.queued, r.first_position]);
}

/**
 * Recount every package's downloads of the last 30 days and re-rank the queued versions;
 * resolves to how many changed rank.
 */
export async function refreshQueueRanks(sql: SqlClient): Promise<number> {
  return Number(await queryValue(sql, "SELECT refresh_queue_ranks() AS value", []));
}

/** The files of a package's successful builds: filename to SHA-256. */
export async function getPackageFiles(
  sql: SqlClient,
  pkg: string,
): Promise<Record<string, string>> {
  const rows = await sql.query<{ filename: string; filehash: string }>(
    "SELECT filename, filehash FROM get_package_files($1)",
    [pkg],
  );
  return Object.fromEntries(rows.map((r) => [r.filename, r.filehash]));
}

/** The filenames of a version's successful builds, sorted. */
export async function getVersionFiles(
  sql: SqlClient,
  pkg: string,
  version: string,
): Promise<string[]> {
  const rows = await sql.query<{ filename: string }>(
    "SELECT filename FROM get_package_files($1) WHERE version = $2",
    [pkg, version],
  );
  return rows.map((r) => r.filename);
}

/** The apt packages a file needs, less those preinstalled for its builder's ABI; sorted. */
export async function getFileAptDependencies(sql: SqlClient, filename: string): Promise<string[]> {
  const rows = await sql.query<{ dependency: string }>(
    "SELECT d AS dependency FROM get_file_apt_dependencies($1) AS d",
    [filename],
  );
  return rows.map((r) => r.dependency);
}
