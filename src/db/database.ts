/**
 * `Database`: piw's database API (piwheels' `Database` class, camelCase), one method per
 * operation, over either engine. The SQL lives in the modules it delegates to.
 * @module
 */
import { type ClientOptions, openClient, type SqlClient } from "./client.ts";
import type { Dsn } from "./dsn.ts";
import { checkSchemaVersion } from "./schema.ts";
import * as access from "./access.ts";
import * as builds from "./builds.ts";
import * as changelog from "./changelog.ts";
import * as packages from "./packages.ts";
import * as project from "./project.ts";
import * as stats from "./stats.ts";
import type {
  BuildCount,
  BuildQueue,
  BuildRecord,
  DownloadRecord,
  PackageQueueEntry,
  PageHitRecord,
  ProjectData,
  ProjectFile,
  ProjectHitRecord,
  RetryCount,
  RewritePendingRecord,
  SearchIndex,
  SearchRecord,
  Statistics,
} from "./types.ts";

/** Options of `openDatabase`. */
export interface OpenOptions extends ClientOptions {
  /** Check the schema version against piw's (default true; only initdb and tests skip it). */
  checkVersion?: boolean;
}

/**
 * Connect to a piw database and check its schema version (refusing a mismatch with a message
 * naming both versions).
 * @example
 * const db = await openDatabase("postgres:///piwheels");
 * const queue = await db.getBuildQueue(100000);
 * await db.close();
 */
export async function openDatabase(
  dsn: string | Dsn,
  options: OpenOptions = {},
): Promise<Database> {
  const client = await openClient(dsn, options);
  try {
    if (options.checkVersion ?? true) await checkSchemaVersion(client);
  } catch (error) {
    await client.close();
    throw error;
  }
  return new Database(client);
}

/** piw's database operations over one `SqlClient`. */
export class Database {
  /** Wrap an open client (see `openDatabase`, which also checks the schema version). */
  constructor(readonly client: SqlClient) {}

  /** Close the connection; queries still running fail. */
  close(): Promise<void> {
    return this.client.close();
  }

  // Packages, versions and names

  /** Every known package name. */
  getAllPackages(): Promise<Set<string>> {
    return packages.getAllPackages(this.client);
  }
  /** Every known `[package, version]`. */
  getAllPackageVersions(): Promise<[string, string][]> {
    return packages.getAllPackageVersions(this.client);
  }
  /** Add a package; false if it was known already. */
  addNewPackage(pkg: string, skip = "", description = ""): Promise<boolean> {
    return packages.addNewPackage(this.client, pkg, skip, description);
  }
  /** Add a version (released null: unknown); false if it was known already. */
  addNewPackageVersion(
    pkg: string,
    version: string,
    released: Date | null = null,
    skip = "",
  ): Promise<boolean> {
    return packages.addNewPackageVersion(this.client, pkg, version, released, skip);
  }
  /** Record that `pkg` was seen under `name` at `seen` (default 1970; a later sighting wins). */
  addPackageName(pkg: string, name: string, seen?: Date): Promise<void> {
    return packages.addPackageName(this.client, pkg, name, seen);
  }
  /** Names `pkg` was seen under, except its canonical name, sorted. */
  getPackageAliases(pkg: string): Promise<string[]> {
    return packages.getPackageAliases(this.client, pkg);
  }
  /** The most recently seen name of `pkg` (else its canonical name); null if unknown. */
  getProjectDisplayName(pkg: string): Promise<string | null> {
    return packages.getProjectDisplayName(this.client, pkg);
  }
  /** The description of `pkg`; null if unknown. */
  getPackageDescription(pkg: string): Promise<string | null> {
    return packages.getPackageDescription(this.client, pkg);
  }
  /** Replace the description of `pkg`. */
  setPackageDescription(pkg: string, description: string): Promise<void> {
    return packages.setPackageDescription(this.client, pkg, description);
  }
  /** Stop (or, with `""`, resume) building every version of `pkg`. */
  skipPackage(pkg: string, reason: string): Promise<void> {
    return packages.skipPackage(this.client, pkg, reason);
  }
  /** Stop (or, with `""`, resume) building one version. */
  skipPackageVersion(pkg: string, version: string, reason: string): Promise<void> {
    return packages.skipPackageVersion(this.client, pkg, version, reason);
  }
  /** Remove a package with its versions, builds and files. */
  deletePackage(pkg: string): Promise<void> {
    return packages.deletePackage(this.client, pkg);
  }
  /** Remove one version with its builds and files. */
  deleteVersion(pkg: string, version: string): Promise<void> {
    return packages.deleteVersion(this.client, pkg, version);
  }
  /** Mark a version yanked (it leaves the build queue). */
  yankVersion(pkg: string, version: string): Promise<void> {
    return packages.yankVersion(this.client, pkg, version);
  }
  /** Clear a version's yanked mark. */
  unyankVersion(pkg: string, version: string): Promise<void> {
    return packages.unyankVersion(this.client, pkg, version);
  }
  /** Whether `pkg` is known. */
  testPackage(pkg: string): Promise<boolean> {
    return packages.testPackage(this.client, pkg);
  }
  /** Whether a version of `pkg` is known. */
  testPackageVersion(pkg: string, version: string): Promise<boolean> {
    return packages.testPackageVersion(this.client, pkg, version);
  }
  /** Whether `pkg` is skipped as `deleted`. */
  packageMarkedDeleted(pkg: string): Promise<boolean> {
    return packages.packageMarkedDeleted(this.client, pkg);
  }
  /** Versions of `pkg` skipped as `deleted`. */
  getVersionsDeleted(pkg: string): Promise<string[]> {
    return packages.getVersionsDeleted(this.client, pkg);
  }
  /** Why a version is not built (its reason, else its package's; '' if buildable). */
  getVersionSkip(pkg: string, version: string): Promise<string | null> {
    return packages.getVersionSkip(this.client, pkg, version);
  }

  // CloudGazer's batches

  /** Apply one PyPI changelog batch and its serial in one transaction; outcomes per event. */
  applyChangelog(batch: changelog.ChangelogBatch): Promise<number[]> {
    return changelog.applyChangelog(this.client, batch);
  }
  /** Mark packages (version null) and versions 'deleted' ahead of their removal. */
  markDeleted(targets: [pkg: string, version: string | null][]): Promise<void> {
    return changelog.markDeleted(this.client, targets);
  }

  // PyPI and build ABIs

  /** The serial of the last PyPI event processed. */
  getPypiSerial(): Promise<number> {
    return packages.getPypiSerial(this.client);
  }
  /** Store the last PyPI serial; refuses to go backwards. */
  setPypiSerial(serial: number): Promise<void> {
    return packages.setPypiSerial(this.client, serial);
  }
  /** Build ABIs in build order, by default only those not skipped. */
  getBuildAbis(options?: { excludeSkipped?: boolean }): Promise<string[]> {
    return packages.getBuildAbis(this.client, options);
  }

  // Builds, files and the queue

  /** Log a build with its files and dependencies (one transaction); resolves to its id. */
  logBuild(build: BuildRecord): Promise<number> {
    return builds.logBuild(this.client, build);
  }
  /** Log many builds in one transaction (one commit for all); resolves to their ids in order. */
  logBuilds(records: BuildRecord[]): Promise<number[]> {
    return builds.logBuilds(this.client, records);
  }
  /**
   * The logs still to be written of builds at least `minAgeMs` old, after build `afterId`: at
   * most `maxRows`, and no more once `maxBytes` of output are reached (one at least).
   */
  getPendingLogs(afterId: number, minAgeMs: number, maxRows: number, maxBytes: number) {
    return builds.getPendingLogs(this.client, afterId, minAgeMs, maxRows, maxBytes);
  }
  /** The log files of these builds are written: forget their output; resolves to how many. */
  logsWritten(ids: number[]): Promise<number> {
    return builds.logsWritten(this.client, ids);
  }
  /** Queue again the versions whose failed builds' retry time has come; resolves to how many. */
  requeueDueRetries(): Promise<number> {
    return builds.requeueDueRetries(this.client);
  }
  /**
   * Retry now the failed builds that keep versions from being built: of one version, a package
   * (`version` null) or all (`pkg` null), optionally of one failure class; resolves to how many.
   */
  retryBuilds(pkg: string | null, version: string | null, failureClass: string | null) {
    return builds.retryBuilds(this.client, pkg, version, failureClass);
  }
  /** Retry now the "no sdist" failures of these versions (they just got a source file). */
  retryNoSdist(targets: [string, string][]): Promise<number> {
    return builds.retryNoSdist(this.client, targets);
  }
  /** Retry now `abi`'s missing-library failures for any of `names`; how many builds. */
  retryMissingLibraries(abi: string, names: string[]): Promise<number> {
    return builds.retryMissingLibraries(this.client, abi, names);
  }
  /** Failed builds of the last 7 days by class, and "retries pending". */
  getFailureCounts(): Promise<Record<string, number>> {
    return builds.getFailureCounts(this.client);
  }
  /** Forget every build of a version (and its files); it is queued again. */
  deleteBuild(pkg: string, version: string): Promise<void> {
    return builds.deleteBuild(this.client, pkg, version);
  }
  /** Per active ABI, the first `limit` versions to build, in queue order. */
  getBuildQueue(limit = 1000): Promise<BuildQueue> {
    return builds.getBuildQueue(this.client, limit);
  }
  /** Set the operator's priority of `pkg`; false if it is unknown. */
  setPackagePriority(pkg: string, priority: number): Promise<boolean> {
    return builds.setPackagePriority(this.client, pkg, priority);
  }
  /** Where `pkg` stands in the build queues. */
  getPackageQueue(pkg: string): Promise<PackageQueueEntry[]> {
    return builds.getPackageQueue(this.client, pkg);
  }
  /** Recount downloads per package and re-rank the queue; how many versions changed rank. */
  refreshQueueRanks(): Promise<number> {
    return builds.refreshQueueRanks(this.client);
  }
  /** The files of a package's successful builds: filename to SHA-256. */
  getPackageFiles(pkg: string): Promise<Record<string, string>> {
    return builds.getPackageFiles(this.client, pkg);
  }
  /** The filenames of a version's successful builds. */
  getVersionFiles(pkg: string, version: string): Promise<string[]> {
    return builds.getVersionFiles(this.client, pkg, version);
  }
  /** A file's apt dependencies, less those preinstalled for its builder's ABI. */
  getFileAptDependencies(filename: string): Promise<string[]> {
    return builds.getFileAptDependencies(this.client, filename);
  }

  // Project pages

  /** Everything a project page needs, in one query; null for an unknown package. */
  getProjectData(pkg: string): Promise<ProjectData | null> {
    return project.getProjectData(this.client, pkg);
  }
  /** The data of several projects in one query, in order (null for an unknown package). */
  getProjectsData(pkgs: string[]): Promise<(ProjectData | null)[]> {
    return project.getProjectsData(this.client, pkgs);
  }
  /** Per release, which ABIs built and which failed (piwheels 0.18 shape). */
  getProjectVersions(pkg: string): Promise<project.ProjectVersion[]> {
    return project.getProjectVersions(this.client, pkg);
  }
  /** Every file of a project with its version (piwheels 0.18 shape). */
  getProjectFiles(pkg: string): Promise<(ProjectFile & { version: string; yanked: boolean })[]> {
    return project.getProjectFiles(this.client, pkg);
  }

  // Statistics and search

  /** The database's part of the master's statistics. */
  getStatistics(): Promise<Statistics> {
    return stats.getStatistics(this.client);
  }
  /** Builds of the last hour per builder ABI, result and failure class. */
  getBuildsLastHour(): Promise<BuildCount[]> {
    return stats.getBuildsLastHour(this.client);
  }
  /** Retries pending per ABI. */
  getRetriesPending(): Promise<RetryCount[]> {
    return stats.getRetriesPending(this.client);
  }
  /** All-time downloads, fetched once when the master starts. */
  getInitialStatistics(): Promise<{ downloadsAll: number }> {
    return stats.getInitialStatistics(this.client);
  }
  /** `{package: [downloads in 30 days, all time]}` for every package. */
  getSearchIndex(): Promise<SearchIndex> {
    return stats.getSearchIndex(this.client);
  }

  // Access logs and the secretary's buffer

  /** Log batches of access-log rows (JSON per message name) in one statement; the count. */
  logAccess(rows: access.AccessLogJson): Promise<number> {
    return access.logAccess(this.client, rows);
  }

  /** Log many access-log rows with COPY (see `canCopyAccess`); returns the count. */
  copyAccess(rows: access.AccessLogText): Promise<number> {
    return access.copyAccess(this.client, rows);
  }

  /** Whether this connection may COPY access-log rows (PostgreSQL, INSERT on the log tables). */
  canCopyAccess(): Promise<boolean> {
    return access.canCopyAccess(this.client);
  }

  /** Log a wheel download. */
  logDownload(download: DownloadRecord): Promise<void> {
    return access.logDownload(this.client, download);
  }
  /** Log a fetch of a wheel's PEP 658 metadata (`filename`: the wheel's). */
  logMetadataFetch(fetch: DownloadRecord): Promise<void> {
    return access.logMetadataFetch(this.client, fetch);
  }
  /** Log a pip search. */
  logSearch(search: SearchRecord): Promise<void> {
    return access.logSearch(this.client, search);
  }
  /** Log a project page hit. */
  logProject(hit: ProjectHitRecord): Promise<void> {
    return access.logProject(this.client, hit);
  }
  /** Log a project JSON download. */
  logJson(hit: ProjectHitRecord): Promise<void> {
    return access.logJson(this.client, hit);
  }
  /** Log a hit on another web page. */
  logPage(hit: PageHitRecord): Promise<void> {
    return access.logPage(this.client, hit);
  }
  /** Replace the saved secretary buffer. */
  saveRewritesPending(rows: RewritePendingRecord[]): Promise<void> {
    return access.saveRewritesPending(this.client, rows);
  }
  /** The saved secretary buffer, oldest first. */
  loadRewritesPending(): Promise<RewritePendingRecord[]> {
    return access.loadRewritesPending(this.client);
  }
}
