/**
 * Protocol messages over sockets, framed as piwheels' `send_msg`/`recv_msg` (one CBOR frame)
 * and `send_addr_msg`/`recv_addr_msg` (ROUTER: `[peer identity, empty, payload]`).
 * @module
 */

import {
  type DataArgs,
  decodeMessage,
  encodeMessage,
  type MessageOf,
  type MessageTable,
  type Protocol,
  ProtocolError,
} from "../protocols/mod.ts";
import type { Socket } from "./socket.ts";

const EMPTY = new Uint8Array(0);

/** A message received on a ROUTER socket, with the identity of the peer that sent it. */
export type AddressedMessage<R extends MessageTable> = MessageOf<R> & { address: Uint8Array };

/**
 * Sends message `name` (with its data, if the protocol gives it one) as one frame.
 * @example
 * await sendMsg(socket, slaveDriverProtocol.reversed(), "IDLE", stats);
 */
export async function sendMsg<S extends MessageTable, N extends keyof S & string>(
  socket: Socket,
  protocol: Protocol<MessageTable, S>,
  name: N,
  ...data: DataArgs<S[N]>
): Promise<void> {
  await socket.send([encodeMessage(protocol, name, ...data)]);
}

/**
 * Receives one message; null if none arrives within `timeoutMs` (default: wait forever).
 * Throws `ProtocolError` for a malformed message (which is consumed).
 */
export async function recvMsg<R extends MessageTable>(
  socket: Socket,
  protocol: Protocol<R, MessageTable>,
  timeoutMs?: number,
): Promise<MessageOf<R> | null> {
  const frames = await socket.recv(timeoutMs);
  if (frames === null) return null;
  if (frames.length !== 1) throw structureError(protocol, `${frames.length} frames`);
  return decodeMessage(protocol, frames[0]);
}

/** Sends message `name` from a ROUTER to the peer with identity `address`. */
export async function sendAddrMsg<S extends MessageTable, N extends keyof S & string>(
  socket: Socket,
  address: Uint8Array,
  protocol: Protocol<MessageTable, S>,
  name: N,
  ...data: DataArgs<S[N]>
): Promise<void> {
  await socket.send([address, EMPTY, encodeMessage(protocol, name, ...data)]);
}

/**
 * Receives one message on a ROUTER: `{address, name, data}`; null on timeout. Anything but
 * `[identity, empty, payload]` is an "invalid message structure" `ProtocolError`.
 */
export async function recvAddrMsg<R extends MessageTable>(
  socket: Socket,
  protocol: Protocol<R, MessageTable>,
  timeoutMs?: number,
): Promise<AddressedMessage<R> | null> {
  const frames = await socket.recv(timeoutMs);
  if (frames === null) return null;
  if (frames.length !== 3) throw structureError(protocol, `${frames.length} frames`);
  if (frames[1].length !== 0) throw structureError(protocol, "no empty delimiter frame");
  return { ...decodeMessage(protocol, frames[2]), address: frames[0] };
}

function structureError(protocol: Protocol, detail: string): ProtocolError {
  return new ProtocolError(protocol.name, undefined, `invalid message structure (${detail})`);
}
