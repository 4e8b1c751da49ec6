/**
 * The records the database layer takes and returns. Durations are milliseconds; timestamps are
 * `Date`s (the database keeps microseconds, JavaScript milliseconds).
 * @module
 */

// The queue and the search index travel as they are returned: one definition, in protocols/.
export type { BuildQueue, SearchIndex } from "../protocols/internal.ts";
import type { Dependencies } from "../protocols/shapes.ts";
import type { WheelFacts } from "../wheel/facts.ts";

/** One wheel produced by a build, as the slave reports it (file_state). */
export interface FileRecord extends WheelFacts {
  /** Dependencies by tool: `apt`, `pip`, and `""` for libraries nothing provides. */
  dependencies: Dependencies;
  /** Web path the file is served under (default `/simple`). */
  location?: string;
}

/** One build attempt to log (build_state): failed builds have no files. */
export interface BuildRecord {
  package: string;
  version: string;
  /** Slave id; 0 for `piw import`. */
  builtBy: number;
  /** Milliseconds. */
  duration: number;
  status: boolean;
  /** The builder's ABI. */
  abiTag: string;
  files: FileRecord[];
  /** Why a failed build failed (see src/failures/classify.ts); none for a success. */
  failure?: BuildFailure | null;
  /** When to try a failed build again (ms after it, one per try); none or empty: never. */
  retryDelays?: number[];
}

/** What is stored of a failure: its class, what was missing, and the lines that show it. */
export interface BuildFailure {
  failureClass: string;
  detail: string;
  lines: string;
}

/** A pip download, from the web server's log (`LOGDOWNLOAD`). */
export interface DownloadRecord {
  filename: string;
  /** Client IP address. */
  host: string;
  timestamp: Date;
  arch?: string | null;
  distroName?: string | null;
  distroVersion?: string | null;
  osName?: string | null;
  osVersion?: string | null;
  pyName?: string | null;
  pyVersion?: string | null;
  installerName?: string | null;
  installerVersion?: string | null;
  setuptoolsVersion?: string | null;
}

/** A pip search (`LOGSEARCH`): a download record naming a package instead of a file. */
export type SearchRecord = Omit<DownloadRecord, "filename"> & { package: string };

/** A hit on a project page or its JSON (`LOGPROJECT`, `LOGJSON`). */
export interface ProjectHitRecord {
  package: string;
  host: string;
  timestamp: Date;
  userAgent: string | null;
}

/** A hit on another web page (`LOGPAGE`). */
export interface PageHitRecord {
  page: string;
  host: string;
  timestamp: Date;
  userAgent: string | null;
}

/** A saved entry of the secretary's buffer, as stored (on the oracle's wire: `RewritePending`). */
export interface RewritePendingRecord {
  package: string;
  addedAt: Date;
  command: "PROJECT" | "BOTH";
}

/** Builds of one builder ABI with one result (true: success) in some period, and how many. */
export type BuildCount = [
  abi: string,
  status: boolean,
  failureClass: string | null,
  builds: number,
];

/** Retries pending (automatic retries not yet due) of one ABI. */
export type RetryCount = [abi: string, retries: number];

/** A package in one ABI's build queue: the ABI, its queued versions, the first one's position. */
export type PackageQueueEntry = [abi: string, queued: number, firstPosition: number];

/** The database's part of the master's statistics (`STATS`). */
export interface Statistics {
  /** Packages with at least one successful build. */
  packagesBuilt: number;
  /** Builds logged in the last hour, per active ABI. */
  buildsLastHour: Record<string, number>;
  /** Total duration of all builds shorter than a week, in milliseconds. */
  buildsTime: number;
  /** Total size of all files in bytes (armv6l twins of armv7l files not counted). */
  buildsSize: number;
  /** Versions waiting in the build queue, per active ABI. */
  buildsPending: Record<string, number>;
  /** Versions released in the last hour. */
  newLastHour: number;
  filesCount: number;
  downloadsLastHour: number;
  /** Downloads in the last 30 days. */
  downloadsLastMonth: number;
  downloadsAll: number;
  /** pip's fetches of wheels' PEP 658 metadata in the last 30 days (not downloads). */
  metadataFetchesLastMonth: number;
  metadataFetchesAll: number;
}

/** A build of a release, for project pages (and their log links). */
export interface ProjectBuild {
  buildId: number;
  abiTag: string;
  status: boolean;
  builtAt: Date;
  builtBy: number;
  durationMs: number;
  /** A failure's class (null for a success, or one recorded before classes). */
  failureClass?: string | null;
  /** What was missing (header, library, requirement), or "". */
  failureDetail?: string;
  /** The lines of the log that show the failure. */
  failureLines?: string;
  /** When a transient failure is tried again, or null. */
  retryAt?: Date | null;
}

/** A file of a release, for project pages and the project JSON. */
export interface ProjectFile extends WheelFacts {
  buildId: number;
  location: string;
  /** ABI of the builder that made it. */
  builderAbi: string;
  /** Sorted; apt packages preinstalled on the builder ABI's OS image are left out. */
  aptDependencies: string[];
  pipDependencies: string[];
}

/** How a release stands for one build ABI. */
export interface AbiStatus {
  /** success: a wheel serves the ABI; fail: its builder tried and failed; skip; pending. */
  status: "success" | "fail" | "skip" | "pending";
  /** The build that decided it (its log), or null for skip and pending. */
  buildId: number | null;
}

/** One release (version) of a project. */
export interface ProjectRelease {
  version: string;
  released: Date;
  /** The version's skip reason, else the package's; '' when buildable. */
  skip: string;
  yanked: boolean;
  /** The ABI it is queued for now, if any. */
  queuedAbi: string | null;
  builds: ProjectBuild[];
  files: ProjectFile[];
  /** Per build ABI (active and historical), in ABI order. */
  abis: Record<string, AbiStatus>;
}

/** Everything a project page needs, from one query. */
export interface ProjectData {
  package: string;
  /** Display name: the most recently seen name, else the canonical one. */
  name: string;
  description: string;
  /** The package's skip reason; '' when buildable. */
  skip: string;
  /** Other names the package was seen under (not the canonical one), sorted. */
  aliases: string[];
  /** Newest release first. */
  releases: ProjectRelease[];
}
