/**
 * Project data (everything a project page needs, from one query) and the database's statistics:
 * the oracle's replies to PROJDATA, PROJDATAS, GETSTATS and INITSTATS, and the one definition
 * of their types, which the database, the master and the web pages use.
 * @module
 */
import type { WheelFacts } from "../wheel/facts.ts";
import {
  bool,
  datetime,
  type Infer,
  int,
  list,
  literal,
  mapOf,
  nullable,
  number,
  object,
  oneOf,
  optional,
  type Schema,
  str,
} from "./schema.ts";

/** A build of a release, for project pages (and their log links). */
export const projectBuild = object({
  buildId: int,
  abiTag: str,
  status: bool,
  builtAt: datetime,
  builtBy: int,
  durationMs: number,
  /** A failure's class (null for a success, or one recorded before classes). */
  failureClass: optional(nullable(str)),
  /** What was missing (header, library, requirement), or "". */
  failureDetail: optional(str),
  /** The lines of the log that show the failure. */
  failureLines: optional(str),
  /** When a transient failure is tried again, or null. */
  retryAt: optional(nullable(datetime)),
});

/** A build of a release, for project pages (and their log links). */
export type ProjectBuild = Infer<typeof projectBuild>;

/** The fields of {@link WheelFacts} (checked against it), which a project's file shares. */
const wheelFacts = {
  filename: str,
  /** Bytes. */
  filesize: int,
  /** SHA-256, lower-case hex. */
  filehash: str,
  packageTag: str,
  packageVersionTag: str,
  pyVersionTag: str,
  abiTag: str,
  platformTag: str,
  requiresPython: nullable(str),
} satisfies { [K in keyof WheelFacts]-?: Schema<WheelFacts[K]> };

/** A file of a release, for project pages and the project JSON. */
export const projectFile = object({
  ...wheelFacts,
  buildId: int,
  location: str,
  /** ABI of the builder that made it. */
  builderAbi: str,
  /** Sorted; apt packages preinstalled on the builder ABI's OS image are left out. */
  aptDependencies: list(str),
  pipDependencies: list(str),
});

/** A file of a release, for project pages and the project JSON. */
export type ProjectFile = Infer<typeof projectFile>;

/** How a release stands for one build ABI. */
export const abiStatus = object({
  /** success: a wheel serves the ABI; fail: its builder tried and failed; skip; pending. */
  status: oneOf(literal("success"), literal("fail"), literal("skip"), literal("pending")),
  /** The build that decided it (its log), or null for skip and pending. */
  buildId: nullable(int),
});

/** How a release stands for one build ABI. */
export type AbiStatus = Infer<typeof abiStatus>;

/** One release (version) of a project. */
export const projectRelease = object({
  version: str,
  released: datetime,
  /** The version's skip reason, else the package's; '' when buildable. */
  skip: str,
  yanked: bool,
  /** The ABI it is queued for now, if any. */
  queuedAbi: nullable(str),
  builds: list(projectBuild),
  files: list(projectFile),
  /** Per build ABI (active and historical), in ABI order. */
  abis: mapOf(abiStatus),
});

/** One release (version) of a project. */
export type ProjectRelease = Infer<typeof projectRelease>;

/** Everything a project page needs, from one query. */
export const projectData = object({
  package: str,
  /** Display name: the most recently seen name, else the canonical one. */
  name: str,
  description: str,
  /** The package's skip reason; '' when buildable. */
  skip: str,
  /** Other names the package was seen under (not the canonical one), sorted. */
  aliases: list(str),
  /** Newest release first. */
  releases: list(projectRelease),
});

/** Everything a project page needs, from one query. */
export type ProjectData = Infer<typeof projectData>;

/** The database's part of the master's statistics (`STATS`). */
export const statistics = object({
  /** Packages with at least one successful build. */
  packagesBuilt: int,
  /** Builds logged in the last hour, per active ABI. */
  buildsLastHour: mapOf(int),
  /** Total duration of all builds shorter than a week, in milliseconds. */
  buildsTime: number,
  /** Total size of all files in bytes (armv6l twins of armv7l files not counted). */
  buildsSize: int,
  /** Versions waiting in the build queue, per active ABI. */
  buildsPending: mapOf(int),
  /** Versions released in the last hour. */
  newLastHour: int,
  filesCount: int,
  downloadsLastHour: int,
  /** Downloads in the last 30 days. */
  downloadsLastMonth: int,
  downloadsAll: int,
  /** pip's fetches of wheels' PEP 658 metadata in the last 30 days (not downloads). */
  metadataFetchesLastMonth: int,
  metadataFetchesAll: int,
});

/** The database's part of the master's statistics (`STATS`). */
export type Statistics = Infer<typeof statistics>;

/** The statistics BigBrother fetches once at start: all-time downloads. */
export const initialStatistics = object({ downloadsAll: int });
