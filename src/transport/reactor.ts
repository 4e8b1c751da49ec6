/**
 * Waiting for sockets without stalling the thread's event loop: one reactor per thread
 * collects every pending receive, send and poll, and waits for all of them at once.
 *
 * Two ways to wait (a `WaitMode`), chosen per socket or poller:
 * - "thread-pool": `zmq_poll` runs on Deno's blocking thread pool over the sockets' ZMQ_FD
 *   descriptors (never the sockets themselves: a zmq socket must only be touched by the thread
 *   that owns it). The event loop never blocks; each wait costs one thread hop.
 * - "blocking-short-poll": a synchronous `zmq_poll` of at most `sliceMs` on the sockets, then
 *   a yield to the event loop. While messages keep arriving this avoids the thread hop; after
 *   `parkAfterMs` without traffic the reactor parks on the thread pool, so an idle Worker
 *   neither spins nor holds back its own timers and I/O.
 * If any pending wait is "thread-pool", the reactor does not block.
 * @module
 */

import { setImmediate } from "node:timers";
import { libzmq, ZMQ } from "./ffi.ts";
import { Waker } from "./waker.ts";

/** How a socket or poller waits when nothing is ready: see the module documentation. */
export type WaitMode = "thread-pool" | "blocking-short-poll";

/** What the reactor needs from a socket. */
export interface Pollable {
  /** The `void *` of the zmq socket, as a number for `zmq_pollitem_t`. */
  readonly pointerValue: bigint;
  /** The socket's ZMQ_FD (signalled when its ZMQ_EVENTS may have changed). */
  readonly fd: number;
  /** The socket's ZMQ_EVENTS; throws a `TransportError` (e.g. context terminated). */
  pollEvents(): number;
}

/** Tuning of the reactor (per thread). */
export interface ReactorSettings {
  /** Longest synchronous `zmq_poll` in "blocking-short-poll" mode, in ms. */
  sliceMs: number;
  /** Idle time after which "blocking-short-poll" waits park on the thread pool, in ms. */
  parkAfterMs: number;
}

const settings: ReactorSettings = { sliceMs: 5, parkAfterMs: 100 };

// A thread-pool poll never sleeps longer than this: a safety net should a wake-up be missed,
// and it bounds how long a pool thread outlives a Worker that ends while it waits.
const POOL_CAP_MS = 1000;

let defaultMode: WaitMode | null = null;

/** The wait mode of sockets and pollers that do not choose one: pool on the main thread. */
export function defaultWaitMode(): WaitMode {
  return defaultMode ??= "WorkerGlobalScope" in globalThis ? "blocking-short-poll" : "thread-pool";
}

/** Sets this thread's default wait mode (for sockets and pollers created afterwards). */
export function setDefaultWaitMode(mode: WaitMode): void {
  defaultMode = mode;
}

/** Adjusts this thread's reactor tuning. */
export function configureReactor(changes: Partial<ReactorSettings>): void {
  Object.assign(settings, changes);
}

interface Waiter {
  items: readonly Pollable[];
  mask: number;
  deadline: number;
  blocking: boolean;
  resolve(ready: Pollable[]): void;
  reject(error: unknown): void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class Reactor {
  readonly #waiters = new Set<Waiter>();
  #running = false;
  #checkQueued = false;
  #lastActivity = -Infinity;
  // What the thread-pool poll in flight covers, to know whether a new waiter must wake it.
  #inflight: { fds: Set<number>; until: number } | null = null;
  #waker: Waker | null | undefined;
  #items = new Uint8Array(16 * ZMQ.POLLITEM_SIZE);
  #itemsView = new DataView(this.#items.buffer);

  wait(
    items: readonly Pollable[],
    mask: number,
    timeoutMs: number | undefined,
    mode: WaitMode,
  ): Promise<Pollable[]> {
    return new Promise((resolve, reject) => {
      const deadline = timeoutMs === undefined || timeoutMs < 0
        ? Infinity
        : performance.now() + timeoutMs;
      const waiter = { items, mask, deadline, blocking: mode !== "thread-pool", resolve, reject };
      this.#waiters.add(waiter);
      if (!this.#running) {
        this.#running = true;
        // Start from a microtask so that waits registered in the same turn share one poll.
        queueMicrotask(() => this.#run());
      } else if (this.#inflight && !this.#covers(this.#inflight, waiter)) {
        this.#wake();
      }
    });
  }

  /** Re-checks waiters soon: a send in this thread may have made a local peer readable. */
  poke(): void {
    if (this.#waiters.size === 0 || this.#checkQueued) return;
    this.#checkQueued = true;
    queueMicrotask(() => {
      this.#checkQueued = false;
      if (this.#dispatch(performance.now())) this.#lastActivity = performance.now();
    });
  }

  /** Fails every wait involving `item` (its socket is being closed). */
  cancel(item: Pollable, error: Error): void {
    let woke = false;
    for (const waiter of this.#waiters) {
      if (!waiter.items.includes(item)) continue;
      this.#waiters.delete(waiter);
      waiter.reject(error);
      if (!woke && this.#inflight?.fds.has(item.fd)) {
        this.#wake();
        woke = true;
      }
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#waiters.size > 0) {
        const now = performance.now();
        if (this.#dispatch(now)) {
          this.#lastActivity = now;
          if (this.#waiters.size === 0) break;
          // Let the resumed receivers finish (and reply) before blocking again.
          await yieldToEventLoop();
          continue;
        }
        let deadline = Infinity;
        let blocking = true;
        for (const waiter of this.#waiters) {
          if (waiter.deadline < deadline) deadline = waiter.deadline;
          blocking &&= waiter.blocking;
        }
        const timeout = deadline === Infinity ? -1 : Math.max(0, Math.ceil(deadline - now));
        if (blocking && now - this.#lastActivity < settings.parkAfterMs) {
          const slice = timeout < 0 ? settings.sliceMs : Math.min(timeout, settings.sliceMs);
          const count = this.#pollSockets(slice);
          if (count === 0) await yieldToEventLoop();
        } else {
          await this.#pollDescriptors(timeout, now);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Settles every waiter that is ready or expired; true if any was. */
  #dispatch(now: number): boolean {
    let settled = false;
    for (const waiter of this.#waiters) {
      let ready: Pollable[] | null = null;
      try {
        for (const item of waiter.items) {
          if (item.pollEvents() & waiter.mask) (ready ??= []).push(item);
        }
      } catch (error) {
        this.#waiters.delete(waiter);
        waiter.reject(error);
        settled = true;
        continue;
      }
      if (ready !== null || waiter.deadline <= now) {
        this.#waiters.delete(waiter);
        waiter.resolve(ready ?? []);
        settled = true;
      }
    }
    return settled;
  }

  /** A synchronous `zmq_poll` on the waiting sockets themselves (this thread owns them). */
  #pollSockets(timeoutMs: number): number {
    const masks = new Map<Pollable, number>();
    for (const waiter of this.#waiters) {
      for (const item of waiter.items) masks.set(item, (masks.get(item) ?? 0) | waiter.mask);
    }
    this.#reserve(masks.size);
    let offset = 0;
    for (const [item, mask] of masks) {
      this.#setItem(offset, item.pointerValue, 0, mask);
      offset += ZMQ.POLLITEM_SIZE;
    }
    // A negative count (EINTR, ETERM) is sorted out by the next dispatch.
    return libzmq().zmq_poll(this.#items, masks.size, BigInt(timeoutMs));
  }

  /** A `zmq_poll` on the thread pool over the sockets' ZMQ_FDs and the waker. */
  async #pollDescriptors(timeoutMs: number, now: number): Promise<void> {
    const fds = new Set<number>();
    for (const waiter of this.#waiters) for (const item of waiter.items) fds.add(item.fd);
    const waker = this.#waker === undefined ? (this.#waker = Waker.open()) : this.#waker;
    // Without an eventfd, changes of the waiting set are noticed by polling in short slices.
    const cap = waker ? POOL_CAP_MS : 10;
    const timeout = timeoutMs < 0 ? cap : Math.min(timeoutMs, cap);
    const count = fds.size + (waker ? 1 : 0);
    // The buffer belongs to the pool thread until the call returns: never reuse it meanwhile.
    const items = new Uint8Array(count * ZMQ.POLLITEM_SIZE);
    const view = new DataView(items.buffer);
    let offset = 0;
    for (const fd of fds) {
      view.setInt32(offset + 8, fd, true);
      view.setInt16(offset + 12, ZMQ.POLLIN, true);
      offset += ZMQ.POLLITEM_SIZE;
    }
    if (waker) {
      view.setInt32(offset + 8, waker.fd, true);
      view.setInt16(offset + 12, ZMQ.POLLIN, true);
    }
    this.#inflight = { fds, until: now + timeout };
    try {
      await libzmq().zmq_poll_async(items, count, BigInt(timeout));
    } finally {
      this.#inflight = null;
      waker?.drain();
    }
  }

  #covers(inflight: { fds: Set<number>; until: number }, waiter: Waiter): boolean {
    if (waiter.deadline < inflight.until) return false;
    return waiter.items.every((item) => inflight.fds.has(item.fd));
  }

  #wake(): void {
    this.#waker?.wake();
  }

  #reserve(count: number): void {
    const size = count * ZMQ.POLLITEM_SIZE;
    if (this.#items.length >= size) return;
    this.#items = new Uint8Array(size * 2);
    this.#itemsView = new DataView(this.#items.buffer);
  }

  #setItem(offset: number, socket: bigint, fd: number, events: number): void {
    this.#itemsView.setBigUint64(offset, socket, true);
    this.#itemsView.setInt32(offset + 8, fd, true);
    this.#itemsView.setInt16(offset + 12, events, true);
    this.#itemsView.setInt16(offset + 14, 0, true);
  }
}

let reactor: Reactor | null = null;

/** This thread's reactor. */
export function threadReactor(): Reactor {
  return reactor ??= new Reactor();
}

export type { Reactor };
