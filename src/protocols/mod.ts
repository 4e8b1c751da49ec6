/**
 * Every message of every piw queue, and the codec that puts them on the wire exactly as
 * piwheels 0.23 does. Nobody builds a message shape anywhere else.
 *
 * - {@link encodeMessage} / {@link decodeMessage}: one CBOR frame per message, validated against
 *   a {@link Protocol} (stated from the receiving side; `.reversed()` for the sender).
 * - {@link encodeFileFrames} / {@link parseFileFrames}: the raw ASCII frames of file transfer.
 * - Values: `Date` ({@link PreciseDate} when decoded, keeping microseconds), {@link TimeDelta},
 *   {@link NO_DATA}, `Set` (tag 258); whole floats are kept apart from ints by {@link Float64}
 *   inside `any` data and by the schemas everywhere else.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage, slaveDriverProtocol } from "./mod.ts";
 * const bytes = encodeMessage(slaveDriverProtocol, "BUILD", ["numpy", "1.14.0"]);
 * const msg = decodeMessage(slaveDriverProtocol.reversed(), bytes);
 * if (msg.name === "BUILD") console.log(msg.data[0]); // "numpy"
 * ```
 * @module
 */

export {
  decodeData,
  decodeMessage,
  encodeData,
  encodeMessage,
  encodeMessageOf,
  Protocol,
  ProtocolError,
} from "./protocol.ts";
export type { DataArgs, DataOf, MessageOf, MessageTable } from "./protocol.ts";
export {
  CborTag,
  Float64,
  formatDatetime,
  NO_DATA,
  parseDatetime,
  PreciseDate,
  TimeDelta,
} from "./values.ts";
export type { NoData } from "./values.ts";
export { CborError, cborItemEnd, decodeCbor, encodeCbor } from "./cbor.ts";
export { SchemaError } from "./schema.ts";
export type { Infer, Schema } from "./schema.ts";
/** Schema combinators (`int`, `float`, `str`, `tuple`, `mapOf`, …) for stating new messages. */
export * as schema from "./schema.ts";
export * from "./shapes.ts";
export {
  lumberjackProtocol,
  masterControlProtocol,
  monitorStatsProtocol,
  mrChaseProtocol,
  rebuildRequest,
  slaveDriverProtocol,
  slaveEvent,
  slaveEventData,
  slaveExtrasProtocol,
} from "./external.ts";
export type { RebuildRequest, SlaveEvent } from "./external.ts";
export {
  bigBrotherControlProtocol,
  bigBrotherProtocol,
  buildQueue,
  cloudGazerProtocol,
  fileJugglerFsProtocol,
  metricsProtocol,
  searchIndex,
  slaveDriverControlProtocol,
  taskControlProtocol,
  theArchitectControlProtocol,
  theArchitectProtocol,
  theScribeProtocol,
} from "./internal.ts";
export type { BuildQueue, HomeStats, SearchIndex } from "./internal.ts";
export { decodeQueueFrame } from "./queue_decode.ts";
export { decodeOracleResult, ORACLE_READY, theOracleProtocol, theOracleResults } from "./oracle.ts";
export type { OracleRequest, OracleResult, RewritePending } from "./oracle.ts";
export * from "./project.ts";
export {
  encodeFileFrames,
  FILE_CHUNK_SIZE,
  fileJugglerProtocol,
  FrameProtocol,
  parseFileFrames,
} from "./file_juggler.ts";
export type {
  FieldValue,
  FileTransferMessage,
  FrameField,
  FrameMessageOf,
  FrameTable,
} from "./file_juggler.ts";
export {
  LOG_FRAME_TARGET,
  MAX_BUILD_OUTPUT,
  MAX_HELLO_TEXT,
  MAX_LOG_LINE,
  MAX_MESSAGE_SIZE,
  MAX_PRIORITY,
  PENDING_LOGS_PAGE,
} from "./limits.ts";
