/**
 * The oracle queue as the master uses it: `the_oracle` from `src/protocols/oracle.ts` plus
 * GETQUEUE, which TheArchitect needs when the database is PGlite (one connection, owned by the
 * single oracle), and LOGBATCH, Lumberjack's batched writes with PGlite. TODO(protocols): move GETQUEUE into `src/protocols/oracle.ts` and drop this.
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

/** the_oracle plus `GETQUEUE limit` (→ the build queue), from TheOracle's side. */
export const masterOracleProtocol = new Protocol("the_oracle", {
  ...theOracleProtocol.recv,
  GETQUEUE: schema.int,
  // Lumberjack's batched writes: `{message name: JSON array of its tuples}` (→ rows written).
  LOGBATCH: schema.mapOf(schema.str),
}, theOracleProtocol.send);

/** The `OK` data of each request of {@link masterOracleProtocol}. */
export const masterOracleResults = {
  ...theOracleResults,
  GETQUEUE: buildQueue,
  LOGBATCH: schema.int,
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
