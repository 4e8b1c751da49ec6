/**
 * A socket bound to its protocol, as piwheels binds each socket to its protocol: what it
 * receives is unwrapped (piwheels' `recv_msg`/`recv_addr_msg` envelopes), decoded and checked
 * here, once, and what it sends is encoded through the same protocol. Master tasks create
 * queues with `Task.queue` and give `Task.register` one typed handler per message name (or one
 * for the whole `{name, data}` union), which {@link dispatch} calls.
 * @module
 */
import type { Socket } from "./socket.ts";
import {
  type DataArgs,
  type DataOf,
  decodeMessage,
  encodeMessage,
  encodeMessageOf,
  type MessageOf,
  type MessageTable,
  type Protocol,
  ProtocolError,
} from "../protocols/mod.ts";

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * How a queue's messages are wrapped: `plain` one frame; `addressed` `[peer, empty, payload]`
 * (a ROUTER's REQ peers, or a REQ behind a broker such as an oracle behind Seraph); `delimited`
 * `[empty, payload]` (a DEALER talking to a REP).
 */
export type Envelope = "plain" | "addressed" | "delimited";

/** Handles message `K` of table `R`: its decoded data and its peer (addressed queues only). */
export type MessageHandlerOf<R extends MessageTable, K extends keyof R> = (
  data: DataOf<R[K]>,
  peer: Uint8Array,
) => void | Promise<void>;

/** One typed handler per message name (piwheels' `do_<MSG>`). */
export type HandlerMap<R extends MessageTable> = {
  [K in keyof R & string]: MessageHandlerOf<R, K>;
};

/** One handler for every message, as the `{name, data}` union (for tasks that `switch`). */
export type MessageHandler<R extends MessageTable> = (
  msg: MessageOf<R>,
  peer: Uint8Array,
) => void | Promise<void>;

/** What `Task.register` takes for a queue receiving table `R`. */
export type Handlers<R extends MessageTable> = HandlerMap<R> | MessageHandler<R>;

/** A decoder of a queue's own for a hot message; null leaves the frame to `decodeMessage`. */
export type FastDecoder<R extends MessageTable> = (frame: Uint8Array) => MessageOf<R> | null;

/** A socket with the protocol of its queue (stated from this side) and its envelope. */
export class Queue<R extends MessageTable = MessageTable, S extends MessageTable = MessageTable> {
  /** The socket (bind, connect, endpoints). */
  readonly socket: Socket;
  /** The queue's protocol from this side: `recv` is decoded, `send` encoded. */
  readonly protocol: Protocol<R, S>;
  /** How messages are wrapped. */
  readonly envelope: Envelope;
  /** An optional decoder tried before the general one. */
  readonly fastDecode: FastDecoder<R> | null;

  /** Bind `socket` to `protocol`. */
  constructor(
    socket: Socket,
    protocol: Protocol<R, S>,
    envelope: Envelope,
    fastDecode: FastDecoder<R> | null = null,
  ) {
    this.socket = socket;
    this.protocol = protocol;
    this.envelope = envelope;
    this.fastDecode = fastDecode;
  }

  /** The queue's name (its protocol's), used in every log line about it. */
  get name(): string {
    return this.protocol.name;
  }

  /**
   * The message in `frames` and its peer (EMPTY unless addressed); throws `ProtocolError`
   * naming the queue for a wrong envelope, an unknown message or invalid data.
   */
  read(frames: Uint8Array[]): [MessageOf<R>, Uint8Array] {
    let peer: Uint8Array = EMPTY;
    let payload: Uint8Array;
    if (this.envelope === "plain") {
      if (frames.length !== 1) throw this.#structure(`${frames.length} frames`);
      payload = frames[0];
    } else if (this.envelope === "addressed") {
      if (frames.length !== 3 || frames[1].length !== 0) {
        throw this.#structure(`${frames.length} frames`);
      }
      [peer, , payload] = frames;
    } else {
      if (frames.length !== 2 || frames[0].length !== 0) {
        throw this.#structure(`${frames.length} frames`);
      }
      payload = frames[1];
    }
    const msg = this.fastDecode?.(payload) ?? decodeMessage(this.protocol, payload);
    return [msg, peer];
  }

  /** The peer of a message `read` refused, if its envelope was intact (else EMPTY). */
  peerOf(frames: Uint8Array[]): Uint8Array {
    const intact = this.envelope === "addressed" && frames.length === 3 && !frames[1].length;
    return intact ? frames[0] : EMPTY;
  }

  /** Encode message `name` of this side's `send` table (e.g. a constant reply). */
  encode<N extends keyof S & string>(name: N, ...data: DataArgs<S[N]>): Uint8Array {
    return encodeMessage(this.protocol, name, ...data);
  }

  /** Encode a `{name, data}` message (one received, or built as such), to forward it. */
  encodeMessage(msg: MessageOf<S>): Uint8Array {
    return encodeMessageOf(this.protocol, msg);
  }

  /** Send message `name`, waiting while the queue is full (plain and delimited queues). */
  async send<N extends keyof S & string>(name: N, ...data: DataArgs<S[N]>): Promise<void> {
    await this.sendFrame(this.encode(name, ...data));
  }

  /** Send message `name` unless the queue is full; false if it was not taken. */
  trySend<N extends keyof S & string>(name: N, ...data: DataArgs<S[N]>): boolean {
    return this.trySendFrame(this.encode(name, ...data));
  }

  /** Send message `name` to `peer` (addressed queues), waiting while the queue is full. */
  async sendTo<N extends keyof S & string>(
    peer: Uint8Array,
    name: N,
    ...data: DataArgs<S[N]>
  ): Promise<void> {
    await this.sendFrame(this.encode(name, ...data), peer);
  }

  /** Send message `name` to `peer` unless full or gone (a ROUTER never waits). */
  trySendTo<N extends keyof S & string>(
    peer: Uint8Array,
    name: N,
    ...data: DataArgs<S[N]>
  ): boolean {
    return this.trySendFrame(this.encode(name, ...data), peer);
  }

  /** Send a frame from `encode`/`encodeMessage`, wrapped for this queue (peer if addressed). */
  async sendFrame(frame: Uint8Array, peer: Uint8Array = EMPTY): Promise<void> {
    await this.socket.send(this.#wrap(frame, peer));
  }

  /** `sendFrame` unless the queue is full; false if it was not taken. */
  trySendFrame(frame: Uint8Array, peer: Uint8Array = EMPTY): boolean {
    return this.socket.trySend(this.#wrap(frame, peer));
  }

  #wrap(frame: Uint8Array, peer: Uint8Array): Uint8Array[] {
    if (this.envelope === "plain") return [frame];
    if (this.envelope === "addressed") return [peer, EMPTY, frame];
    return [EMPTY, frame];
  }

  #structure(detail: string): ProtocolError {
    return new ProtocolError(this.name, undefined, `invalid message structure (${detail})`);
  }
}

/** The queue type of a protocol constant: `QueueOf<typeof theScribeProtocol>`. */
export type QueueOf<P> = P extends Protocol<infer R, infer S> ? Queue<R, S> : never;

/** Call the handler of `msg` (from a map by name, or the one handler of every message). */
export function dispatch<R extends MessageTable>(
  handlers: Handlers<R>,
  msg: MessageOf<R>,
  peer: Uint8Array,
): void | Promise<void> {
  if (typeof handlers === "function") return handlers(msg, peer);
  return (handlers[msg.name] as MessageHandlerOf<R, string>)(msg.data as never, peer);
}
