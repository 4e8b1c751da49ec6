/**
 * The records the database layer takes and returns. Durations are milliseconds; timestamps are
 * `Date`s (the database keeps microseconds, JavaScript milliseconds).
 * @module
 */

// The queue, the search index, project data and statistics travel as they are returned: one
// definition, in protocols/.
export type { BuildQueue, SearchIndex } from "../protocols/internal.ts";
export type * from "../protocols/project.ts";
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
  /**
   * The build's output: kept (logs_pending) until TheScribe has written its log file, so a
   * crash between the commit and that write loses nothing. None: no log to keep.
   */
  output?: string | null;
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
