/**
 * the_oracle: database RPC between each task's DbClient and TheOracle workers (via Seraph).
 * Every request is answered `OK <result>` or `ERROR <message>`. Internal only; piw defines the
 * request schemas here and the result of each request in {@link theOracleResults}. To add a
 * request, add it to both tables.
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
import { searchIndex } from "./internal.ts";

/** A pending web rewrite saved across restarts: package, when queued, PROJECT or BOTH. */
export type RewritePending = [pkg: string, addedAt: Date, command: string];

const rewritePending: Schema<RewritePending> = tuple(
  ["package", str],
  ["added_at", datetime],
  ["command", str],
);

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
  DELBUILD: packageVersion,
  PKGFILES: str,
  PROJDATA: str,
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
}, {
  OK: any,
  ERROR: str,
});

/** Name of an oracle request. */
export type OracleRequest = keyof typeof theOracleProtocol.recv;

/**
 * The data of the `OK` reply to each oracle request. `null` results are Python's `None`;
 * statistics and project data stay loosely typed (`{str: any}`) until their users pin them down.
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
  DELBUILD: none,
  PKGFILES: mapOf(str),
  PROJDATA: mapOf(any),
  VERFILES: setOf(str),
  GETSKIP: str,
  PKGEXISTS: bool,
  PKGDELETED: bool,
  VEREXISTS: bool,
  VERSDELETED: setOf(str),
  GETABIS: setOf(str),
  GETPYPI: int,
  SETPYPI: none,
  INITSTATS: mapOf(any),
  GETSTATS: mapOf(any),
  GETSEARCH: searchIndex,
  FILEDEPS: mapOf(list(str)),
  SAVERWP: none,
  LOADRWP: list(rewritePending),
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
