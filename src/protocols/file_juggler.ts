/**
 * The file-transfer queue (tcp 5556, master FileJuggler ROUTER ← slave/piw-import DEALER).
 * Unlike every other queue it carries no CBOR: each message is a multipart of ASCII frames,
 * a name then decimal numbers, except CHUNK whose last frame is raw file bytes.
 *
 * - slave → master: `HELLO <slave_id>` (piw-import uses 0), `CHUNK <offset> <bytes>`;
 * - master → slave: `FETCH <offset> <length>`, `DONE`.
 *
 * The ROUTER's peer-identity frame is not part of the message: strip it before
 * {@link parseFileFrames} and prepend it after {@link encodeFileFrames}. The slave sends no
 * empty delimiter frame.
 * @module
 */

import { ProtocolError } from "./protocol.ts";

/** Bytes per FETCH: the master asks for the file in chunks of this size. */
export const FILE_CHUNK_SIZE = 65_536;

/** One frame after the name: a decimal ASCII integer, or raw bytes. */
export type FrameField = readonly [key: string, kind: "int" | "bytes"];

/** Message name → the frames after the name. */
export type FrameTable = { readonly [name: string]: readonly FrameField[] };

/** The value type of a frame field kind: numbers for "int", bytes for "bytes". */
export type FieldValue<K> = K extends "int" ? number : Uint8Array;

/** Every message of a frame table as an object: `{name, <field>: value…}`, discriminated by name. */
export type FrameMessageOf<T extends FrameTable> = {
  [N in keyof T & string]: { name: N } & { [F in T[N][number] as F[0]]: FieldValue<F[1]> };
}[keyof T & string];

/** A raw-frame protocol, stated like {@link Protocol} from the receiving (master's) side. */
export class FrameProtocol<R extends FrameTable = FrameTable, S extends FrameTable = FrameTable> {
  /** The queue's name, used in every error. */
  readonly name: string;
  /** Messages this side receives. */
  readonly recv: R;
  /** Messages this side sends. */
  readonly send: S;

  /** A protocol named `name` receiving `recv` and sending `send`. */
  constructor(name: string, recv: R, send: S) {
    this.name = name;
    this.recv = recv;
    this.send = send;
  }

  /** The same queue seen from the other end. */
  reversed(): FrameProtocol<S, R> {
    return new FrameProtocol(this.name, this.send, this.recv);
  }
}

/** The file-transfer queue from the master's side; the slave uses `.reversed()`. */
export const fileJugglerProtocol = new FrameProtocol(
  "file_juggler",
  {
    HELLO: [["slaveId", "int"]],
    CHUNK: [["offset", "int"], ["data", "bytes"]],
  } as const,
  {
    FETCH: [["offset", "int"], ["length", "int"]],
    DONE: [],
  } as const,
);

/** A message of the file-transfer queue, in either direction. */
export type FileTransferMessage =
  | FrameMessageOf<typeof fileJugglerProtocol.recv>
  | FrameMessageOf<typeof fileJugglerProtocol.send>;

const ascii = new TextEncoder();
const NAME_RE = /^[A-Z]+$/;
// At most 15 digits keeps every value a safe integer.
const DECIMAL_RE = /^[0-9]{1,15}$/;

function asciiText(frame: Uint8Array): string | undefined {
  if (frame.length > 32 || frame.some((b) => b > 0x7e || b < 0x20)) return undefined;
  return String.fromCharCode(...frame);
}

function lookup(protocol: FrameProtocol, table: FrameTable, name: string): readonly FrameField[] {
  if (!Object.hasOwn(table, name)) throw new ProtocolError(protocol.name, name, "unknown message");
  return table[name];
}

/**
 * Encode a message as the frames to send, checking it against `protocol.send`.
 *
 * @example
 * ```ts
 * encodeFileFrames(fileJugglerProtocol, { name: "FETCH", offset: 0, length: 65536 });
 * // [ "FETCH", "0", "65536" ] as ASCII frames
 * ```
 */
export function encodeFileFrames<S extends FrameTable>(
  protocol: FrameProtocol<FrameTable, S>,
  message: FrameMessageOf<S>,
): Uint8Array[] {
  const name = message.name;
  const fields = lookup(protocol, protocol.send, name);
  const values = message as unknown as Record<string, unknown>;
  const frames: Uint8Array[] = [ascii.encode(name)];
  for (const [key, kind] of fields) {
    const value = values[key];
    if (kind === "bytes") {
      if (!(value instanceof Uint8Array)) {
        throw new ProtocolError(protocol.name, name, `${key} must be bytes`);
      }
      frames.push(value);
    } else {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
        throw new ProtocolError(protocol.name, name, `${key} must be a non-negative integer`);
      }
      frames.push(ascii.encode(String(value)));
    }
  }
  return frames;
}

/**
 * Parse received frames (without any routing identity) into a message, checking them against
 * `protocol.recv`: known name, exact frame count, decimal ASCII numbers. Throws `ProtocolError`.
 */
export function parseFileFrames<R extends FrameTable>(
  protocol: FrameProtocol<R, FrameTable>,
  frames: readonly Uint8Array[],
): FrameMessageOf<R> {
  if (frames.length === 0) {
    throw new ProtocolError(protocol.name, undefined, "invalid message structure (no frames)");
  }
  const name = asciiText(frames[0]);
  if (name === undefined || !NAME_RE.test(name)) {
    throw new ProtocolError(protocol.name, undefined, "invalid message name frame");
  }
  const fields = lookup(protocol, protocol.recv, name);
  if (frames.length !== fields.length + 1) {
    throw new ProtocolError(
      protocol.name,
      name,
      `invalid message structure (expected ${fields.length + 1} frames, got ${frames.length})`,
    );
  }
  const message: Record<string, unknown> = { name };
  fields.forEach(([key, kind], i) => {
    const frame = frames[i + 1];
    if (kind === "bytes") {
      message[key] = frame;
      return;
    }
    const text = asciiText(frame);
    if (text === undefined || !DECIMAL_RE.test(text)) {
      throw new ProtocolError(protocol.name, name, `${key} is not a decimal number`);
    }
    message[key] = Number(text);
  });
  return message as FrameMessageOf<R>;
}
