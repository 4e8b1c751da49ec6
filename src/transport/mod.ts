/**
 * ZeroMQ for piw: libzmq (`libzmq.so.5`) bound with `Deno.dlopen`, loaded on first use.
 *
 * A `Context` makes sockets and can be shared with Workers; `Socket.recv` and `Poller.poll`
 * wait without blocking the event loop; `sendMsg`/`recvMsg`/`sendAddrMsg`/`recvAddrMsg` move
 * protocol messages (see `src/protocols`).
 * @module
 */

export { Context } from "./context.ts";
export { TransportError, type TransportErrorDetails } from "./errors.ts";
export { libzmqLoaded, SocketOption, ZMQ, zmqVersion } from "./ffi.ts";
export { Poller, type PollerOptions } from "./poller.ts";
export {
  configureReactor,
  defaultWaitMode,
  type ReactorSettings,
  setDefaultWaitMode,
  type WaitMode,
} from "./reactor.ts";
export {
  type Frame,
  type SendOptions,
  Socket,
  type SocketOptions,
  type SocketType,
} from "./socket.ts";
