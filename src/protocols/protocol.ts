/**
 * Protocols (per-queue message tables) and the one-frame message codec of piwheels 0.23:
 * a bare CBOR text string for a message without data, `[name, data]` otherwise.
 * @module
 */

import { PiwError } from "../errors.ts";
import { CborError, decodeCbor, encodeCbor } from "./cbor.ts";
import { type Schema, SchemaError } from "./schema.ts";
import { NO_DATA, type NoData } from "./values.ts";

/** Message name → schema of its data, or `null` for a message that carries no data. */
export type MessageTable = { readonly [name: string]: Schema<unknown> | null };

/** The typed data of a table entry: the schema's type, or {@link NO_DATA} for `null`. */
export type DataOf<X> = X extends Schema<infer T> ? T : NoData;

/** Every message of a table as a `{name, data}` union, discriminated by `name`. */
export type MessageOf<T extends MessageTable> = {
  [K in keyof T & string]: { name: K; data: DataOf<T[K]> };
}[keyof T & string];

/** The data argument(s) {@link encodeMessage} takes for a table entry. */
export type DataArgs<X> = X extends Schema<infer T> ? [data: T] : [data?: NoData];

/**
 * One queue's messages, stated from the receiving side: `recv` lists what that side accepts,
 * `send` what it replies with. The other side uses {@link Protocol.reversed}.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage(slaveDriverProtocol.reversed(), "BYE"); // the slave's side
 * decodeMessage(slaveDriverProtocol, bytes); // { name: "BYE", data: NO_DATA } on the master
 * ```
 */
export class Protocol<
  R extends MessageTable = MessageTable,
  S extends MessageTable = MessageTable,
> {
  /** The queue's name, used in every error. */
  readonly name: string;
  /** Messages this side receives. */
  readonly recv: R;
  /** Messages this side sends. */
  readonly send: S;

  /** A protocol named `name` receiving `recv` and sending `send`. */
  constructor(name: string, recv: R, send: S) {
    this.name = name;
    this.recv = Object.freeze(recv);
    this.send = Object.freeze(send);
  }

  /** The same queue seen from the other end (recv and send swapped). */
  reversed(): Protocol<S, R> {
    return new Protocol(this.name, this.send, this.recv);
  }
}

/**
 * A message that cannot be sent or was received malformed. The message names the protocol
 * (queue), the message when known, and what is wrong, e.g.
 * `slave_driver: IDLE: invalid data: load_avg_1min: expected float, got int 0`.
 */
export class ProtocolError extends PiwError {
  /** Always `"ProtocolError"`. */
  override name = "ProtocolError";
  /** The protocol (queue) name. */
  readonly protocol: string;
  /** The message name, when it could be read. */
  readonly messageName: string | undefined;
  /** What is wrong. */
  readonly reason: string;

  /** Report `reason` about `messageName` (if known) on `protocol`. */
  constructor(protocol: string, messageName: string | undefined, reason: string) {
    super(`${protocol}: ${messageName === undefined ? "" : messageName + ": "}${reason}`);
    this.protocol = protocol;
    this.messageName = messageName;
    this.reason = reason;
  }
}

function lookup(protocol: Protocol, table: MessageTable, name: string): Schema<unknown> | null {
  if (!Object.hasOwn(table, name)) {
    throw new ProtocolError(protocol.name, name, "unknown message");
  }
  return table[name];
}

function schemaFailure(protocol: Protocol, name: string, e: unknown): never {
  if (e instanceof SchemaError) {
    throw new ProtocolError(protocol.name, name, `invalid data: ${e.message}`);
  }
  throw e;
}

/**
 * Encode message `name` with `data` as one CBOR frame, checking both against `protocol.send`.
 * Omit `data` (or pass {@link NO_DATA}) for a message without data. With a typed protocol
 * constant, `name` and `data` are type-checked; code that forwards names it only knows at run
 * time can pass the protocol as a plain `Protocol`.
 */
export function encodeMessage<S extends MessageTable, N extends keyof S & string>(
  protocol: Protocol<MessageTable, S>,
  name: N,
  ...args: DataArgs<S[N]>
): Uint8Array {
  const data: unknown = args[0];
  const schema = lookup(protocol, protocol.send, name);
  let payload: unknown;
  if (schema === null) {
    if (data !== undefined && data !== NO_DATA) {
      throw new ProtocolError(protocol.name, name, "data not expected");
    }
    payload = name;
  } else {
    if (data === undefined) {
      throw new ProtocolError(protocol.name, name, `missing data (expected ${schema.description})`);
    }
    try {
      payload = [name, schema.toWire(data)];
    } catch (e) {
      schemaFailure(protocol, name, e);
    }
  }
  try {
    return encodeCbor(payload);
  } catch (e) {
    if (e instanceof CborError) {
      throw new ProtocolError(protocol.name, name, `cannot encode data: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Encode a `{name, data}` message (one received, or built as such) as {@link encodeMessage}
 * does, e.g. to forward it: its name and data belong together by construction.
 */
export function encodeMessageOf<S extends MessageTable>(
  protocol: Protocol<MessageTable, S>,
  msg: MessageOf<S>,
): Uint8Array {
  return encodeMessage(protocol as Protocol, msg.name, msg.data as never);
}

/**
 * Decode one CBOR frame into `{name, data}`, checking it against `protocol.recv`. A message
 * without data yields `data: NO_DATA`. Like piwheels, `[name, <tag 2002>]` counts as no data.
 */
export function decodeMessage<R extends MessageTable>(
  protocol: Protocol<R, MessageTable>,
  bytes: Uint8Array,
): MessageOf<R> {
  let frame: unknown;
  try {
    frame = decodeCbor(bytes);
  } catch (e) {
    if (e instanceof CborError) {
      throw new ProtocolError(protocol.name, undefined, `unable to deserialize data: ${e.message}`);
    }
    throw e;
  }
  let name: unknown, raw: unknown;
  if (typeof frame === "string") {
    [name, raw] = [frame, NO_DATA];
  } else if (Array.isArray(frame) && frame.length === 2 && typeof frame[0] === "string") {
    [name, raw] = frame;
  } else {
    const what = Array.isArray(frame)
      ? `an array of ${frame.length}`
      : "not a name or [name, data]";
    throw new ProtocolError(protocol.name, undefined, `invalid message structure (${what})`);
  }
  const msg = name as string;
  const schema = lookup(protocol, protocol.recv, msg);
  if (schema === null) {
    if (raw !== NO_DATA) throw new ProtocolError(protocol.name, msg, "data not expected");
    return { name: msg, data: NO_DATA } as MessageOf<R>;
  }
  try {
    return { name: msg, data: schema.fromWire(raw) } as MessageOf<R>;
  } catch (e) {
    // piwheels validates NoData like any other data; only `any` accepts it.
    if (raw === NO_DATA && e instanceof SchemaError) {
      throw new ProtocolError(protocol.name, msg, `missing data (expected ${schema.description})`);
    }
    return schemaFailure(protocol, msg, e);
  }
}

/**
 * Check received `any` data against a more precise schema afterwards (e.g. an oracle `OK` reply
 * against the result schema of the request); throws {@link ProtocolError} naming `protocol` and
 * `message`.
 */
export function decodeData<T>(
  schema: Schema<T>,
  raw: unknown,
  protocol: string,
  message: string,
): T {
  try {
    return schema.fromWire(raw);
  } catch (e) {
    if (e instanceof SchemaError) {
      throw new ProtocolError(protocol, message, `invalid data: ${e.message}`);
    }
    throw e;
  }
}

/** Check data against `schema` before sending it as `any` data; returns the encodable form. */
export function encodeData(
  schema: Schema<unknown>,
  value: unknown,
  protocol: string,
  message: string,
): unknown {
  try {
    return schema.toWire(value);
  } catch (e) {
    if (e instanceof SchemaError) {
      throw new ProtocolError(protocol, message, `invalid data: ${e.message}`);
    }
    throw e;
  }
}
