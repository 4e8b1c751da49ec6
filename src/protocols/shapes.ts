/**
 * Data shapes shared by several queues (slave HELLO and stats, file and build states, master
 * stats, access-log records), with the TypeScript types the master and slave use for them.
 * Labels are piwheels' field names; they appear in validation errors.
 * @module
 */

import {
  bool,
  datetime,
  float,
  int,
  list,
  mapOf,
  nullable,
  type Schema,
  str,
  timedelta,
  tuple,
} from "./schema.ts";
import type { TimeDelta } from "./values.ts";

/** Slave HELLO data (unchanged since 0.17). */
export type SlaveHello = [
  buildTimeout: TimeDelta,
  busyTimeout: TimeDelta,
  pyVersion: string,
  abi: string,
  platform: string,
  label: string,
  osName: string,
  osVersion: string,
  boardRevision: string,
  boardSerial: string,
];

/** Slave HELLO: its timeouts and what it builds for. */
export const slaveHello: Schema<SlaveHello> = tuple(
  ["build_timeout", timedelta],
  ["busy_timeout", timedelta],
  ["py_version", str],
  ["abi", str],
  ["platform", str],
  ["label", str],
  ["os_name", str],
  ["os_version", str],
  ["board_revision", str],
  ["board_serial", str],
);

/** A machine's disk, memory and swap in bytes, in slave and master statistics alike. */
export type MachineSpace = [
  diskSize: number,
  diskFree: number,
  memSize: number,
  memFree: number,
  swapSize: number,
  swapFree: number,
];

/** A machine's disk, memory and swap fields. */
const machineSpace = [
  ["disk_size", int],
  ["disk_free", int],
  ["mem_size", int],
  ["mem_free", int],
  ["swap_size", int],
  ["swap_free", int],
] as const;

/** Slave stats, the data of IDLE and BUSY (sizes in bytes, temperature in °C). */
export type SlaveStats = [
  timestamp: Date,
  ...space: MachineSpace,
  loadAverage: number,
  cpuTemperature: number,
];

/** Slave stats; the last two are floats and must travel as float64 even when whole. */
export const slaveStats: Schema<SlaveStats> = tuple(
  ["timestamp", datetime],
  ...machineSpace,
  ["load_avg_1min", float],
  ["cpu_temp_C", float],
);

/** A wheel's dependencies by tool: `{apt: […], pip: […], "": [orphan libraries]}`. */
export type Dependencies = Record<string, string[]>;

/** A built file as it travels (0.22+, 11 fields; the internal "transferred" flag is never sent). */
export type FileStateTuple = [
  filename: string,
  filesize: number,
  filehash: string,
  packageTag: string,
  packageVersionTag: string,
  pyVersionTag: string,
  abiTag: string,
  platformTag: string,
  requiresPython: string | null,
  dependencies: Dependencies,
  location: string,
];

/** A built file: name, size, sha256, wheel tags, Requires-Python, dependencies, location. */
export const fileState: Schema<FileStateTuple> = tuple(
  ["filename", str],
  ["filesize", int],
  ["filehash", str],
  ["package_tag", str],
  ["package_version_tag", str],
  ["py_version_tag", str],
  ["abi_tag", str],
  ["platform_tag", str],
  ["requires_python", nullable(str)],
  ["dependencies", mapOf(list(str))],
  ["location", str],
);

/** Slave BUILT data: the build result and its files (empty for a failure). */
export type BuiltData = [
  status: boolean,
  duration: TimeDelta,
  output: string,
  files: FileStateTuple[],
];

/** A build's result fields: all of BUILT, the end of a whole build. */
const buildResult = [
  ["status", bool],
  ["duration", timedelta],
  ["output", str],
  ["files", list(fileState)],
] as const;

/** Slave BUILT data. */
export const builtData: Schema<BuiltData> = tuple(...buildResult);

/** A whole build (import IMPORT, oracle LOGBUILD); the internal build id is never sent. */
export type BuildStateTuple = [
  slaveId: number,
  pkg: string,
  version: string,
  abiTag: string,
  ...result: BuiltData,
];

/** A whole build: who built it, what, for which ABI, the result and its files. */
export const buildState: Schema<BuildStateTuple> = tuple(
  ["slave_id", int],
  ["package", str],
  ["version", str],
  ["abi_tag", str],
  ...buildResult,
);

/** Master HELLO as published to monitors. */
export type MasterHello = [
  started: Date,
  label: string,
  osName: string,
  osVersion: string,
  boardRevision: string,
  boardSerial: string,
];

/** Master HELLO: when it started and where it runs. */
export const masterHello: Schema<MasterHello> = tuple(
  ["started", datetime],
  ["label", str],
  ["os_name", str],
  ["os_version", str],
  ["board_revision", str],
  ["board_serial", str],
);

/** Master statistics (19 fields), published as STATS and drawn on the homepage. */
export type MasterStats = [
  timestamp: Date,
  packagesBuilt: number,
  buildsLastHour: Record<string, number>,
  buildsTime: TimeDelta,
  buildsSize: number,
  buildsPending: Record<string, number>,
  newLastHour: number,
  filesCount: number,
  downloadsLastHour: number,
  downloadsLastMonth: number,
  downloadsAll: number,
  ...space: MachineSpace,
  loadAverage: number,
  cpuTemperature: number,
];

/** Master statistics; per-ABI counts are maps, the last two fields floats. */
export const masterStats: Schema<MasterStats> = tuple(
  ["timestamp", datetime],
  ["packages_built", int],
  ["builds_last_hour", mapOf(int)],
  ["builds_time", timedelta],
  ["builds_size", int],
  ["builds_pending", mapOf(int)],
  ["new_last_hour", int],
  ["files_count", int],
  ["downloads_last_hour", int],
  ["downloads_last_month", int],
  ["downloads_all", int],
  ...machineSpace,
  ["load_average", float],
  ["cpu_temp", float],
);

/** A download or search record: the first field is the filename (download) or package (search). */
export type DownloadLog = [
  filenameOrPackage: string,
  host: string,
  timestamp: Date,
  arch: string | null,
  distroName: string | null,
  distroVersion: string | null,
  osName: string | null,
  osVersion: string | null,
  pyName: string | null,
  pyVersion: string | null,
  installerName: string | null,
  installerVersion: string | null,
  setuptoolsVersion: string | null,
];

/** The same 13 fields serve LOGSEARCH, with `package` first instead of `filename`. */
export type SearchLog = DownloadLog;

function accessLog(first: string): Schema<DownloadLog> {
  return tuple(
    [first, str],
    ["host", str],
    ["timestamp", datetime],
    ["arch", nullable(str)],
    ["distro_name", nullable(str)],
    ["distro_version", nullable(str)],
    ["os_name", nullable(str)],
    ["os_version", nullable(str)],
    ["py_name", nullable(str)],
    ["py_version", nullable(str)],
    ["installer_name", nullable(str)],
    ["installer_version", nullable(str)],
    ["setuptools_version", nullable(str)],
  );
}

/** LOGDOWNLOAD data: a wheel download seen in the web server log. */
export const downloadLog: Schema<DownloadLog> = accessLog("filename");

/** LOGSEARCH data: a `pip` search (simple index hit) for a package. */
export const searchLog: Schema<SearchLog> = accessLog("package");

/** LOGMETADATA data (piw): a fetch of a wheel's PEP 658 metadata, naming the wheel. */
export const metadataLog: Schema<DownloadLog> = accessLog("filename");

/** A page hit (LOGPROJECT, LOGJSON: package first; LOGPAGE: page first). */
export type PageLog = [packageOrPage: string, host: string, timestamp: Date, userAgent: string];

function pageLog(first: string): Schema<PageLog> {
  return tuple([first, str], ["host", str], ["timestamp", datetime], ["user_agent", str]);
}

/** LOGPROJECT data: a project page hit. */
export const projectLog: Schema<PageLog> = pageLog("package");

/** LOGJSON data: a project JSON download. */
export const jsonLog: Schema<PageLog> = pageLog("package");

/** LOGPAGE data: any other page hit. */
export const pageHitLog: Schema<PageLog> = pageLog("page");

/** A (package, version) pair. */
export type PackageVersion = [pkg: string, version: string];

/** A (package, version) pair. */
export const packageVersion: Schema<PackageVersion> = tuple(["package", str], ["version", str]);
