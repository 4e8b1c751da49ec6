/**
 * Waiting on several sockets at once.
 * @module
 */

import { ZMQ } from "./ffi.ts";
import { defaultWaitMode, threadReactor, type WaitMode } from "./reactor.ts";
import type { Socket } from "./socket.ts";

/** Options of a `Poller`. */
export interface PollerOptions {
  /** How the poller waits (default: `defaultWaitMode()` of this thread). */
  wait?: WaitMode;
}

/**
 * Waits until some of a set of sockets can be read, without blocking the thread's event loop
 * (beyond the short polls of "blocking-short-poll").
 * @example
 * const poller = new Poller();
 * for (const socket of await poller.poll([control, builds], 1000)) await handle(socket);
 */
export class Poller {
  /** How this poller waits when no socket is ready. */
  waitMode: WaitMode;

  /** A poller; `options.wait` picks its wait mode. */
  constructor(options: PollerOptions = {}) {
    this.waitMode = options.wait ?? defaultWaitMode();
  }

  /** The sockets with a message waiting, within `timeoutMs` (default forever); [] on timeout. */
  async poll(sockets: readonly Socket[], timeoutMs?: number): Promise<Socket[]> {
    const ready = sockets.filter((socket) => socket.pollEvents() & ZMQ.POLLIN);
    if (ready.length > 0 || timeoutMs === 0 || sockets.length === 0) return ready;
    return await threadReactor().wait(sockets, ZMQ.POLLIN, timeoutMs, this.waitMode) as Socket[];
  }
}
