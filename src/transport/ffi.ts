/**
 * The libzmq binding: symbol table, constants and the lazy loader.
 *
 * Nothing here runs at import time, so `piw --help` works on a machine without libzmq; the
 * library is opened by the first `Context`.
 * @module
 */

import { TransportError } from "./errors.ts";

/** Library names tried in order when opening libzmq. */
export const LIBZMQ_NAMES = ["libzmq.so.5", "libzmq.so", "libzmq.5.dylib"];

const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_set: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  // Terminating waits for every socket in every thread to close: never on the event loop.
  zmq_ctx_term: { parameters: ["pointer"], result: "i32", nonblocking: true },
  zmq_ctx_shutdown: { parameters: ["pointer"], result: "i32" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_unbind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_disconnect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32" },
  zmq_socket_monitor: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  // The same call on Deno's blocking thread pool: only ever given raw file descriptors, since
  // a zmq socket must not be touched from a thread other than its owner's.
  zmq_poll_async: {
    name: "zmq_poll",
    parameters: ["buffer", "i32", "i64"],
    result: "i32",
    nonblocking: true,
  },
} as const;

/** The opened libzmq library with its symbols. */
export type Libzmq = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Socket types by name (zmq.h). */
export const SOCKET_TYPES = {
  PAIR: 0,
  PUB: 1,
  SUB: 2,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
  PULL: 7,
  PUSH: 8,
} as const;

/** The socket types piw uses (defined here, beside their numbers, so ffi.ts imports no socket). */
export type SocketType = keyof typeof SOCKET_TYPES;

/** Socket option numbers (zmq.h, libzmq 4.3). */
export const SocketOption = {
  ROUTING_ID: 5,
  IDENTITY: 5,
  SUBSCRIBE: 6,
  UNSUBSCRIBE: 7,
  SNDBUF: 11,
  RCVBUF: 12,
  RCVMORE: 13,
  FD: 14,
  EVENTS: 15,
  TYPE: 16,
  LINGER: 17,
  RECONNECT_IVL: 18,
  BACKLOG: 19,
  RECONNECT_IVL_MAX: 21,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  RCVTIMEO: 27,
  SNDTIMEO: 28,
  LAST_ENDPOINT: 32,
  ROUTER_MANDATORY: 33,
  TCP_KEEPALIVE: 34,
  IMMEDIATE: 39,
  IPV6: 42,
  ROUTER_HANDOVER: 56,
  HANDSHAKE_IVL: 66,
} as const;

/** Flags, poll events and error numbers used by the transport. */
export const ZMQ = {
  DONTWAIT: 1,
  SNDMORE: 2,
  POLLIN: 1,
  POLLOUT: 2,
  POLLERR: 4,
  EINTR: 4,
  EAGAIN: 11,
  EHOSTUNREACH: 113,
  ETERM: 156384712 + 53,
  /** `sizeof(zmq_msg_t)`. */
  MSG_SIZE: 64,
  /** `sizeof(zmq_pollitem_t)` on 64-bit Unix: `{void *socket; int fd; short events, revents}`. */
  POLLITEM_SIZE: 16,
  CTX_BLOCKY: 70,
  /** `zmq_socket_monitor` event: a connection ended (the peer went away). */
  EVENT_DISCONNECTED: 0x0200,
} as const;

let loaded: Libzmq | null = null;

/** Opens libzmq from the first of `names` that loads; throws a one-line `TransportError` if none. */
export function openLibzmq(names: readonly string[] = LIBZMQ_NAMES): Libzmq {
  for (const name of names) {
    try {
      return Deno.dlopen(name, SYMBOLS).symbols;
    } catch {
      // try the next name
    }
  }
  throw new TransportError(
    `libzmq (${names[0]}) could not be loaded: install it with "apt-get install libzmq5"`,
  );
}

/** The process-wide (per thread) libzmq binding, opened on first use. */
export function libzmq(): Libzmq {
  return loaded ??= openLibzmq();
}

/** Whether libzmq has been opened in this thread (tests check that importing does not). */
export function libzmqLoaded(): boolean {
  return loaded !== null;
}

/** The libzmq version as "major.minor.patch". */
export function zmqVersion(): string {
  const parts = [new Int32Array(1), new Int32Array(1), new Int32Array(1)];
  libzmq().zmq_version(parts[0], parts[1], parts[2]);
  return parts.map((p) => p[0]).join(".");
}

/** The `zmq_strerror` text for an error number. */
export function strerror(errno: number): string {
  const ptr = libzmq().zmq_strerror(errno);
  return ptr === null ? `error ${errno}` : Deno.UnsafePointerView.getCString(ptr);
}

const ENCODER = new TextEncoder();

/** A NUL-terminated copy of `text` for `const char *` parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = ENCODER.encodeInto(text, bytes);
  return bytes.subarray(0, written + 1);
}
