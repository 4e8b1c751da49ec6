/**
 * The master's internal queues (no external wire compatibility needed, same codec): task
 * control, the_scribe, the_architect, big_brother, the skip queue and file_juggler_fs. Each is
 * stated from the side that binds the queue and receives requests.
 * @module
 */

import { any, int, list, mapOf, type Schema, str, tuple } from "./schema.ts";
import {
  fileState,
  type MasterStats,
  masterStats,
  type PackageVersion,
  packageVersion,
} from "./shapes.ts";
import { Protocol } from "./protocol.ts";
import { masterControlProtocol } from "./external.ts";

/** Every task's control queue (`inproc://ctrl-<task>`): pause, resume, quit. */
export const taskControlProtocol = new Protocol("task_control", {
  PAUSE: null,
  RESUME: null,
  QUIT: null,
}, {});

/** SlaveDriver's control queue: task control plus the monitor commands it acts on. */
export const slaveDriverControlProtocol = new Protocol("slave_driver_control", {
  ...taskControlProtocol.recv,
  ...masterControlProtocol.recv,
}, {});

/** BigBrother's control queue: task control plus STATS (re-publish the master stats). */
export const bigBrotherControlProtocol = new Protocol("big_brother_control", {
  ...taskControlProtocol.recv,
  STATS: null,
}, {});

/**
 * TheArchitect's control queue: task control plus REFRESH (versions became buildable: compute
 * the build queue soon, not at the next periodic refresh). Sent by CloudGazer and MrChase.
 */
export const theArchitectControlProtocol = new Protocol("the_architect_control", {
  ...taskControlProtocol.recv,
  REFRESH: null,
}, {});

/** The search index: package → [downloads in the last 30 days, downloads ever]. */
export type SearchIndex = Record<string, [recent: number, all: number]>;

/** The search index sent to the scribe. */
export const searchIndex: Schema<SearchIndex> = mapOf(tuple(["recent", int], ["all", int]));

/**
 * HOME data: the master's statistics and, apart from them (the monitors' STATS keeps piwheels'
 * shape), pip's PEP 658 metadata fetches in the last 30 days and ever.
 */
export type HomeStats = [
  stats: MasterStats,
  metadataFetchesLastMonth: number,
  metadataFetchesAll: number,
];

/** HOME data on the wire. */
export const homeStats: Schema<HomeStats> = tuple(
  ["stats", masterStats],
  ["metadata_fetches_last_month", int],
  ["metadata_fetches_all", int],
);

/**
 * the_scribe (`inproc://web` served by TheSecretary, `inproc://scribe` by TheScribe; REQ → REP).
 * Every request is answered DONE, but piw's PENDING, which TheSecretary answers COUNT: how many
 * page rewrites it holds or has not yet seen written (so `piw rebuild` can report progress).
 */
export const theScribeProtocol = new Protocol("the_scribe", {
  HOME: homeStats,
  SEARCH: searchIndex,
  PROJECT: str,
  BOTH: str,
  // piw: a BOTH for a build that just published files (TheSecretary writes it at once unless
  // the package had one within its hold; never reaches TheScribe).
  PUBLISHED: str,
  // piw: many PROJECT/BOTH at once, `[[command, package], ...]` (the secretary's backlog).
  PROJECTS: list(tuple(["command", str], ["package", str])),
  LOG: tuple(["build_id", int], ["output", str]),
  // piw: the logs of many builds at once (SlaveDriver's per group commit), `[[build_id,
  // output], ...]`.
  LOGS: list(tuple(["build_id", int], ["output", str])),
  DELVER: packageVersion,
  DELPKG: str,
  PENDING: null,
}, {
  DONE: null,
  COUNT: int,
});

/** The build queue: ABI → (package, version) pairs, oldest release first. */
export type BuildQueue = Record<string, PackageVersion[]>;

/** The build queue TheArchitect computes. */
export const buildQueue: Schema<BuildQueue> = mapOf(list(packageVersion));

/** the_architect (`inproc://builds`, SlaveDriver PULL ← TheArchitect PUSH): the build queue. */
export const theArchitectProtocol = new Protocol("the_architect", {
  QUEUE: buildQueue,
}, {});

/**
 * big_brother (`inproc://stats`, BigBrother PULL ← FileJuggler, SlaveDriver, MrChase,
 * Lumberjack PUSH): output disk usage, build-queue sizes per ABI, "rewrite the homepage now",
 * and the download count of the last minute.
 */
export const bigBrotherProtocol = new Protocol("big_brother", {
  STATFS: tuple(["disk_size", int], ["disk_free", int]),
  STATBQ: mapOf(int),
  HOME: null,
  LOGDOWNLOAD: int,
}, {});

/**
 * metrics (`inproc://metrics`, MetricsExporter PULL ← FileJuggler PUSH): the bytes FileJuggler
 * has received from slaves since it started, as a running total (so a message dropped while the
 * exporter is busy, or absent, loses nothing).
 */
export const metricsProtocol = new Protocol("metrics", {
  TRANSFERRED: int,
}, {});

/**
 * The skip queue (`inproc://skip`, SlaveDriver REP ← CloudGazer, MrChase REQ): stop building a
 * deleted version or package; IMPORTED [abi, package, version] (piw-internal): an import was
 * recorded, so do not hand that build out from a queue computed before it. Stated from
 * SlaveDriver's side; piwheels names it cloud_gazer.
 */
export const cloudGazerProtocol = new Protocol("cloud_gazer", {
  DELVER: packageVersion,
  DELPKG: str,
  IMPORTED: tuple(["abi", str], ["package", str], ["version", str]),
}, {
  OK: null,
});

/**
 * file_juggler_fs (`inproc://fs`, FileJuggler REP ← SlaveDriver, MrChase REQ; piw-internal): EXPECT
 * a file from a slave (OK null), then VERIFY it arrived intact and stage it (OK "staged", or OK
 * "refused: <why>" for a file that will never be published), or ERROR with a message.
 */
export const fileJugglerFsProtocol = new Protocol("file_juggler_fs", {
  EXPECT: tuple(["slave_id", int], ["file_state", fileState]),
  VERIFY: tuple(["slave_id", int], ["package", str]),
}, {
  OK: any,
  ERROR: str,
});
