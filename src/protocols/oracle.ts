/**
 * the_oracle: database RPC between each task's DbClient and TheOracle workers (via Seraph).
 * Every request is answered `OK <result>` or `ERROR <message>`. Internal only; piw defines the
 * request schemas here and the result of each request in {@link theOracleResults}. To add a
 * request, add it to both tables. Besides piwheels' requests it has piw's own batched ones
 * (GETQUEUE, LOGBATCH, LOGBUILDS, MARKDEL, PYPIBATCH, RETRYSDIST, RETRYLIBS, FAILCOUNTS,
 * PENDINGLOGS, LOGSWRITTEN).
 * @module
 */

import {
  any,
  bool,
  datetime,
  type Infer,
  int,
  list,
  mapOf,
  none,
  nullable,
  orError,
  type Schema,
  setOf,
  str,
  tuple,
} from "./schema.ts";
import {
  buildState,
  downloadLog,
  jsonLog,
  packageVersion,
  pageHitLog,
  projectLog,
  searchLog,
} from "./shapes.ts";
import { decodeData, Protocol } from "./protocol.ts";
import { buildQueue, searchIndex } from "./internal.ts";
import { initialStatistics, projectData, statistics } from "./project.ts";

/**
 * The raw (not CBOR) frame an oracle sends Seraph's back end when it is ready for work; Seraph
 * forwards the oracle's requests and takes its replies as `the_oracle` messages.
 */
export const ORACLE_READY: Uint8Array = new TextEncoder().encode("READY");

/** A pending web rewrite saved across restarts: package, when queued, PROJECT or BOTH. */
export type RewritePending = [pkg: string, addedAt: Date, command: string];

const rewritePending: Schema<RewritePending> = tuple(
  ["package", str],
  ["added_at", datetime],
  ["command", str],
);

/** A package or version (`null`: the whole package) CloudGazer is about to remove. */
const removalTarget = tuple(["package", str], ["version", nullable(str)]);

/**
 * One PyPI package event of a PYPIBATCH (src/pypi's `PackageEvent`, less alias and serial). Plain
 * text and integers rather than literals and datetimes, which cost several times as much to
 * check and encode at 50,000 events a message; the database refuses any other action.
 */
const changelogEvent = tuple(
  ["action", str], // create, source, remove, yank or unyank
  ["package", str],
  ["version", nullable(str)],
  ["timestamp_ms", int], // Unix time in milliseconds
  ["description", nullable(str)],
);

/** A name a package was seen under, with its latest sighting (Unix time in milliseconds). */
const nameSighting = tuple(["package", str], ["name", str], ["seen_ms", int]);

/** The oracle's requests (from TheOracle's side; DbClient uses `.reversed()`). */
export const theOracleProtocol = new Protocol("the_oracle", {
  ALLPKGS: null,
  ALLVERS: null,
  NEWPKG: tuple(["package", str], ["skip", str], ["description", str]),
  NEWVER: tuple(
    ["package", str],
    ["version", str],
    ["released", nullable(datetime)],
    ["skip", str],
  ),
  NEWPKGNAME: tuple(["package", str], ["name", str], ["seen", nullable(datetime)]),
  GETPKGNAMES: str,
  SETDESC: tuple(["package", str], ["description", str]),
  SKIPPKG: tuple(["package", str], ["reason", str]),
  SKIPVER: tuple(["package", str], ["version", str], ["reason", str]),
  DELPKG: str,
  DELVER: packageVersion,
  YANKVER: packageVersion,
  UNYANKVER: packageVersion,
  LOGDOWNLOAD: downloadLog,
  LOGSEARCH: searchLog,
  LOGPROJECT: projectLog,
  LOGJSON: jsonLog,
  LOGPAGE: pageHitLog,
  LOGBUILD: buildState,
  // piw: LOGBUILD for many builds in one transaction (SlaveDriver's group commit).
  LOGBUILDS: list(buildState),
  DELBUILD: packageVersion,
  PKGFILES: str,
  PROJDATA: str,
  // piw: PROJDATA for many packages at once (a full website rebuild).
  PROJDATAS: list(str),
  VERFILES: packageVersion,
  GETSKIP: packageVersion,
  PKGEXISTS: str,
  PKGDELETED: str,
  VEREXISTS: packageVersion,
  VERSDELETED: str,
  GETABIS: bool,
  GETPYPI: null,
  SETPYPI: int,
  INITSTATS: null,
  GETSTATS: null,
  GETSEARCH: null,
  FILEDEPS: str,
  SAVERWP: list(rewritePending),
  LOADRWP: null,
  // piw's own requests. TheArchitect's build queue (`limit` packages per ABI): with PGlite the
  // database has one connection, owned by the single oracle.
  GETQUEUE: int,
  // Queue priorities (issue 17): TheArchitect's hourly recount of downloads and re-ranking
  // (→ versions re-ranked), piw add --priority's setting (→ false: no such package) and where a
  // package stands (→ [[abi, queued versions, first position], ...]).
  RANKQUEUE: null,
  SETPRIO: tuple(["package", str], ["priority", int]),
  PKGQUEUE: str,
  // The metrics exporter: builds of the last hour (→ [[abi, success, failure class, builds], ...])
  // and retries pending (→ [[abi, retries], ...]).
  BUILDSHOUR: null,
  RETRIESPEND: null,
  // Lumberjack's batched writes: `{message name: JSON array of its tuples}` (→ rows written).
  LOGBATCH: mapOf(str),
  // CloudGazer: mark `[[package, version|None], ...]` 'deleted' before telling the queues.
  MARKDEL: list(removalTarget),
  // CloudGazer: one changelog fetch, applied in order in one transaction with its serial by
  // `apply_changelog` in sql/create_piw.sql (→ one outcome per event: 1 package added +
  // 2 version added + 4 'binary only' cleared).
  PYPIBATCH: tuple(
    ["events", list(changelogEvent)],
    ["names", list(nameSighting)],
    ["new_package_skip", str],
    ["from_serial", int],
    ["to_serial", int],
  ),
  // CloudGazer: `[[package, version], ...]` got a source file on PyPI: retry their "no sdist"
  // failures now (→ how many builds).
  RETRYSDIST: list(packageVersion),
  // SlaveDriver, on a piw slave's HAVE: retry [abi, names]'s missing-library failures (→ builds).
  RETRYLIBS: tuple(["abi", str], ["names", list(str)]),
  // TheScribe's homepage: failed builds of the last 7 days by class, and "retries pending".
  FAILCOUNTS: null,
  // TheScribe: the logs still to be written (logs_pending) of builds at least min_age_ms old,
  // after build `after` in id order (→ [[build_id, output], ...]: a page bounded by
  // PENDING_LOGS_PAGE; none left once empty), and the builds whose log files are written
  // (→ how many rows went).
  PENDINGLOGS: tuple(["after", int], ["min_age_ms", int]),
  LOGSWRITTEN: list(int),
}, {
  OK: any,
  ERROR: str,
});

/** Name of an oracle request. */
export type OracleRequest = keyof typeof theOracleProtocol.recv;

/**
 * The data of the `OK` reply to each oracle request. `null` results are Python's `None`.
 */
export const theOracleResults = {
  ALLPKGS: setOf(str),
  ALLVERS: setOf(packageVersion),
  NEWPKG: bool,
  NEWVER: bool,
  NEWPKGNAME: none,
  GETPKGNAMES: list(str),
  SETDESC: none,
  SKIPPKG: none,
  SKIPVER: none,
  DELPKG: none,
  DELVER: none,
  YANKVER: none,
  UNYANKVER: none,
  LOGDOWNLOAD: none,
  LOGSEARCH: none,
  LOGPROJECT: none,
  LOGJSON: none,
  LOGPAGE: none,
  LOGBUILD: int,
  LOGBUILDS: list(int),
  DELBUILD: none,
  PKGFILES: mapOf(str),
  // null: no such package; PROJDATAS's readers take each project's data by itself.
  PROJDATA: nullable(projectData),
  PROJDATAS: list(orError(nullable(projectData))),
  VERFILES: setOf(str),
  GETSKIP: str,
  PKGEXISTS: bool,
  PKGDELETED: bool,
  VEREXISTS: bool,
  VERSDELETED: setOf(str),
  GETABIS: setOf(str),
  GETPYPI: int,
  SETPYPI: none,
  INITSTATS: initialStatistics,
  GETSTATS: statistics,
  GETSEARCH: searchIndex,
  FILEDEPS: mapOf(list(str)),
  SAVERWP: none,
  LOADRWP: list(rewritePending),
  GETQUEUE: buildQueue,
  RANKQUEUE: int,
  SETPRIO: bool,
  PKGQUEUE: list(tuple(["abi", str], ["queued", int], ["position", int])),
  BUILDSHOUR: list(
    tuple(["abi", str], ["status", bool], ["failureClass", nullable(str)], ["builds", int]),
  ),
  RETRIESPEND: list(tuple(["abi", str], ["retries", int])),
  LOGBATCH: int,
  MARKDEL: none,
  PYPIBATCH: list(int),
  RETRYSDIST: int,
  RETRYLIBS: int,
  FAILCOUNTS: mapOf(int),
  PENDINGLOGS: list(tuple(["build_id", int], ["output", str])),
  LOGSWRITTEN: int,
} as const satisfies Record<OracleRequest, Schema<unknown>>;

/** The typed result of oracle request `N`. */
export type OracleResult<N extends OracleRequest> = Infer<(typeof theOracleResults)[N]>;

/**
 * Check the data of an `OK` reply against the result schema of `request` and return it typed
 * (sets as `Set`, floats unwrapped); throws `ProtocolError` if it does not match.
 */
export function decodeOracleResult<N extends OracleRequest>(
  request: N,
  data: unknown,
): OracleResult<N> {
  return decodeData(
    theOracleResults[request] as Schema<unknown>,
    data,
    theOracleProtocol.name,
    `OK (${request})`,
  ) as OracleResult<N>;
}
