/**
 * Waiting for sockets without stalling the thread's event loop: one reactor per thread
 * collects every pending receive, send and poll, and waits for all of them at once.
 *
 * Two ways to wait (a `WaitMode`), chosen per socket or poller:
 * - "thread-pool": `zmq_poll` runs on Deno's blocking thread pool over the sockets' ZMQ_FD
 *   descriptors (never the sockets themselves: a zmq socket must only be touched by the thread
 *   that owns it). The event loop never blocks; each wait costs one thread hop.
 * - "blocking-short-poll": a synchronous `zmq_poll` of at most `sliceMs` on the same
 *   descriptors, then a yield to the event loop. While messages keep arriving this avoids the
 *   thread hop; after `parkAfterMs` without traffic the reactor parks on the thread pool, so an
 *   idle Worker neither wakes every slice nor holds back its own timers and I/O.
 * Either way a socket's readiness is checked (ZMQ_EVENTS) before sleeping on its descriptor,
 * which libzmq signals only for new events (edge-triggered).
 * If any pending wait is "thread-pool", the reactor does not block.
 * @module
 */

import { setImmediate } from "node:timers";
import { libzmq, ZMQ } from "./ffi.ts";
import { Waker } from "./libc.ts";

/** How a socket or poller waits when nothing is ready: see the module documentation. */
export type WaitMode = "thread-pool" | "blocking-short-poll";

/** What the reactor needs from a socket. */
export interface Pollable {
  /** The socket's ZMQ_FD (signalled when its ZMQ_EVENTS may have changed). */
  readonly fd: number;
  /** A counter bumped by every operation that may consume the ZMQ_FD signal. */
  readonly activity: number;
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

/** What runs whenever this thread's reactor is about to wait ({@link beforeWait}). */
const waitHooks: (() => void)[] = [];

/**
 * Run `hook` each time this thread's reactor has handed out what was ready and is about to
 * yield or sleep: after every burst of handling, whether a poll round or the continuations of a
 * reply (e.g. to send in one message what a round produced). It must not throw. Returns a
 * function that removes it.
 */
export function beforeWait(hook: () => void): () => void {
  waitHooks.push(hook);
  return () => {
    const at = waitHooks.indexOf(hook);
    if (at >= 0) waitHooks.splice(at, 1);
  };
}

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
  // Each item's `activity` when the waiter was registered: while unchanged, the check made just
  // before registering still holds and the first dispatch need not repeat it (a syscall).
  stamps: number[] | null;
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
  #inflight: { fds: number[]; until: number } | null = null;
  #waker: Waker | null | undefined;
  // The pollitem array of the last poll, reused while the same descriptors are polled (a
  // thread-pool poll owns it until it returns; the loop never rebuilds it meanwhile).
  #fds: number[] = [];
  #items = new Uint8Array(0);

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
      const stamps = items.map((item) => item.activity);
      const waiter = {
        items,
        stamps,
        mask,
        deadline,
        blocking: mode !== "thread-pool",
        resolve,
        reject,
      };
      this.#waiters.add(waiter);
      if (!this.#running) {
        this.#running = true;
        // Start from a microtask so that waits registered in the same turn share one poll.
        queueMicrotask(() => this.#run());
      } else if (this.#inflight && !this.#covers(this.#inflight, waiter)) {
        this.#waker?.wake();
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
    for (const waiter of this.#waiters) {
      if (!waiter.items.includes(item)) continue;
      this.#waiters.delete(waiter);
      waiter.reject(error);
    }
    // The pool thread may be polling the descriptor the socket is about to give up.
    if (this.#inflight?.fds.includes(item.fd)) this.#waker?.wake();
  }

  async #run(): Promise<void> {
    try {
      while (this.#waiters.size > 0) {
        for (const hook of waitHooks) hook();
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
          // Descriptors rather than sockets: zmq_poll would first re-check every socket's
          // ZMQ_EVENTS, which dispatch has just done (each check is a syscall).
          const count = libzmq().zmq_poll(this.#pollItems(false), this.#fds.length, BigInt(slice));
          if (count === 0) await yieldToEventLoop();
        } else {
          await this.#pollOnThreadPool(timeout, now);
        }
      }
    } catch (error) {
      // Not expected (socket errors reject their own waiters); never leave a caller hanging.
      for (const waiter of this.#waiters) waiter.reject(error);
      this.#waiters.clear();
    } finally {
      this.#running = false;
    }
  }

  /** Settles every waiter that is ready or expired; true if any was. */
  #dispatch(now: number): boolean {
    let settled = false;
    for (const waiter of this.#waiters) {
      let ready: Pollable[] | null = null;
      const stamps = waiter.stamps;
      waiter.stamps = null;
      try {
        for (let i = 0; i < waiter.items.length; i++) {
          const item = waiter.items[i];
          if (stamps !== null && stamps[i] === item.activity) continue;
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

  /** Waits on the thread pool for the sockets' descriptors or the waker. */
  async #pollOnThreadPool(timeoutMs: number, now: number): Promise<void> {
    const waker = this.#waker === undefined ? (this.#waker = Waker.open()) : this.#waker;
    // Without an eventfd, changes of the waiting set are noticed by polling in short slices.
    const cap = waker ? POOL_CAP_MS : 10;
    const timeout = timeoutMs < 0 ? cap : Math.min(timeoutMs, cap);
    const items = this.#pollItems(true);
    this.#inflight = { fds: this.#fds, until: now + timeout };
    try {
      await libzmq().zmq_poll_async(items, this.#fds.length, BigInt(timeout));
    } finally {
      this.#inflight = null;
      waker?.drain();
    }
  }

  /** The pollitems (descriptors only) of every waiter, plus the waker's if `withWaker`. */
  #pollItems(withWaker: boolean): Uint8Array {
    const fds: number[] = [];
    for (const waiter of this.#waiters) {
      for (const item of waiter.items) if (!fds.includes(item.fd)) fds.push(item.fd);
    }
    if (withWaker && this.#waker) fds.push(this.#waker.fd);
    const same = fds.length === this.#fds.length && fds.every((fd, i) => fd === this.#fds[i]);
    if (!same) {
      this.#fds = fds;
      this.#items = new Uint8Array(fds.length * ZMQ.POLLITEM_SIZE);
      const view = new DataView(this.#items.buffer);
      for (let i = 0; i < fds.length; i++) {
        view.setInt32(i * ZMQ.POLLITEM_SIZE + 8, fds[i], true);
        view.setInt16(i * ZMQ.POLLITEM_SIZE + 12, ZMQ.POLLIN, true);
      }
    }
    return this.#items;
  }

  #covers(inflight: { fds: number[]; until: number }, waiter: Waiter): boolean {
    if (waiter.deadline < inflight.until) return false;
    return waiter.items.every((item) => inflight.fds.includes(item.fd));
  }
}

let reactor: Reactor | null = null;

/** This thread's reactor. */
export function threadReactor(): Reactor {
  return reactor ??= new Reactor();
}

export type { Reactor };
