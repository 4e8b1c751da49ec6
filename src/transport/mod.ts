/**
 * ZeroMQ for piw: the system libzmq (`libzmq.so.5`) through `Deno.dlopen`, opened by the first
 * `Context` (so `piw --help` runs without it).
 *
 * - `Context` makes sockets; its `handle` goes to Workers (`Context.fromHandle`) so inproc
 *   endpoints work across threads. Only the creating thread terminates it.
 * - `Socket` (REQ, REP, ROUTER, DEALER, PUSH, PULL, PUB, SUB): `bind`/`connect`, multipart
 *   `trySend`/`send` and `tryRecv`/`recv(timeoutMs)`. Every socket gets IPV6=1 and a 1 s linger.
 * - `Poller.poll(sockets, timeoutMs)` → the readable ones.
 * - `Queue`: a socket bound to its protocol (see `src/protocols`) and its envelope: `read(frames)`
 *   → the checked `{name, data}` and its peer; typed `send`/`trySend`/`sendTo`/`trySendTo`.
 *   Master tasks get theirs from `Task.queue`.
 *
 * Waiting never blocks the event loop on the main thread ("thread-pool" wait mode); Workers
 * default to "blocking-short-poll", which blocks for at most 5 ms at a time while traffic flows
 * and is about twice as fast (see `reactor.ts` and `tests/bench/transport_bench.ts`).
 *
 * @example
 * ```ts
 * const ctx = new Context();
 * const router = ctx.socket("ROUTER");
 * const endpoint = router.bind("tcp://127.0.0.1:*");
 * const queue = new Queue(router, slaveDriverProtocol, "addressed");
 * const frames = await router.recv(1000);
 * if (frames) {
 *   const [msg, peer] = queue.read(frames); // throws ProtocolError for a bad message
 *   queue.trySendTo(peer, "DIE");
 * }
 * await ctx.close();
 * ```
 * @module
 */

export { Context } from "./context.ts";
export { TransportError, type TransportErrorDetails } from "./errors.ts";
export { libzmqLoaded, SocketOption, ZMQ, zmqVersion } from "./ffi.ts";
export { lowerThreadPriority, nameThread } from "./libc.ts";
export { Poller, type PollerOptions } from "./poller.ts";
export {
  dispatch,
  type Envelope,
  type FastDecoder,
  type HandlerMap,
  type Handlers,
  type MessageHandler,
  type MessageHandlerOf,
  Queue,
  type QueueOf,
} from "./queue.ts";
export {
  beforeWait,
  configureReactor,
  defaultWaitMode,
  type Pollable,
  type ReactorSettings,
  setDefaultWaitMode,
  type WaitMode,
} from "./reactor.ts";
export {
  type Frame,
  ipcPath,
  type SendOptions,
  Socket,
  type SocketOptions,
  type SocketType,
} from "./socket.ts";
