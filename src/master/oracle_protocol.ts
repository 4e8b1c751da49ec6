/**
 * The oracle queue as the master uses it: `the_oracle` from `src/protocols/oracle.ts` plus
 * GETQUEUE, which TheArchitect needs when the database is PGlite (one connection, owned by the
 * single oracle), LOGBATCH, Lumberjack's batched writes with PGlite, and CloudGazer's batches
 * (MARKDEL, PYPIBATCH: one changelog fetch in one transaction, `apply_changelog` in
 * sql/create_piw.sql). TODO(protocols): move GETQUEUE into `src/protocols/oracle.ts` and drop this.
 * @module
 */
import {
  buildQueue,
  decodeData,
  type Infer,
  Protocol,
  type Schema,
  schema,
  theOracleProtocol,
  theOracleResults,
} from "../protocols/mod.ts";

/** A package or version (`null`: the whole package) CloudGazer is about to remove. */
const removalTarget = schema.tuple(["package", schema.str], [
  "version",
  schema.nullable(schema.str),
]);

/**
 * One PyPI package event of a PYPIBATCH (src/pypi's `PackageEvent`, less alias and serial). Plain
 * text and integers rather than literals and datetimes, which cost several times as much to
 * check and encode at 50,000 events a message; the database refuses any other action.
 */
const changelogEvent = schema.tuple(
  ["action", schema.str], // create, source, remove, yank or unyank
  ["package", schema.str],
  ["version", schema.nullable(schema.str)],
  ["timestamp_ms", schema.int], // Unix time in milliseconds
  ["description", schema.nullable(schema.str)],
);

/** A name a package was seen under, with its latest sighting (Unix time in milliseconds). */
const nameSighting = schema.tuple(
  ["package", schema.str],
  ["name", schema.str],
  ["seen_ms", schema.int],
);

/** the_oracle plus `GETQUEUE limit` (→ the build queue), from TheOracle's side. */
export const masterOracleProtocol = new Protocol("the_oracle", {
  ...theOracleProtocol.recv,
  GETQUEUE: schema.int,
  // Lumberjack's batched writes: `{message name: JSON array of its tuples}` (→ rows written).
  LOGBATCH: schema.mapOf(schema.str),
  // CloudGazer: mark `[[package, version|None], ...]` 'deleted' before telling the queues.
  MARKDEL: schema.list(removalTarget),
  // CloudGazer: one changelog fetch, applied in order in one transaction with its serial
  // (→ one outcome per event: 1 package added + 2 version added + 4 'binary only' cleared).
  PYPIBATCH: schema.tuple(
    ["events", schema.list(changelogEvent)],
    ["names", schema.list(nameSighting)],
    ["new_package_skip", schema.str],
    ["from_serial", schema.int],
    ["to_serial", schema.int],
  ),
}, theOracleProtocol.send);

/** The `OK` data of each request of {@link masterOracleProtocol}. */
export const masterOracleResults = {
  ...theOracleResults,
  GETQUEUE: buildQueue,
  LOGBATCH: schema.int,
  MARKDEL: schema.none,
  PYPIBATCH: schema.list(schema.int),
} as const satisfies Record<MasterOracleRequest, Schema<unknown>>;

/** Name of a request the master's oracle answers. */
export type MasterOracleRequest = keyof typeof masterOracleProtocol.recv;

/** The typed result of request `N`. */
export type MasterOracleResult<N extends MasterOracleRequest> = Infer<
  (typeof masterOracleResults)[N]
>;

/** Check an `OK` reply's data against the result schema of `request`; throws ProtocolError. */
export function decodeMasterOracleResult<N extends MasterOracleRequest>(
  request: N,
  data: unknown,
): MasterOracleResult<N> {
  return decodeData(
    masterOracleResults[request] as Schema<unknown>,
    data,
    masterOracleProtocol.name,
    `OK (${request})`,
  ) as MasterOracleResult<N>;
}
