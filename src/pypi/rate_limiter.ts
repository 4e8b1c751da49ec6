/**
 * Spaces out requests so that no window of `perMs` milliseconds holds more than `requests` of
 * them; PyPI asks XML-RPC clients for at most 2 requests per second.
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";

/** How many requests may start within how many milliseconds. */
export interface RateLimit {
  /** The most requests allowed in one window. */
  requests: number;
  /** The window, in milliseconds. */
  perMs: number;
}

/** PyPI's published XML-RPC limit (pypi/warehouse#4321). */
export const PYPI_RATE_LIMIT: RateLimit = { requests: 2, perMs: 1000 };

/** A sliding-window limiter: `acquire()` resolves when one more request may start. */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #clock: Clock;
  // Start times of the most recent requests, oldest first; never longer than limit.requests.
  readonly #starts: number[] = [];
  // Serialises callers so concurrent acquire() calls cannot both take the last slot.
  #queue: Promise<void> = Promise.resolve();

  /** Create a limiter; `limit.requests` must be at least 1. */
  constructor(limit: RateLimit, clock: Clock = systemClock) {
    if (!(limit.requests >= 1) || !(limit.perMs >= 0)) {
      throw new RangeError(`bad rate limit ${limit.requests} per ${limit.perMs} ms`);
    }
    this.#limit = { ...limit };
    this.#clock = clock;
  }

  /** Wait until a request may start, and count it as started. */
  acquire(): Promise<void> {
    const turn = this.#queue.then(() => this.#take());
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #take(): Promise<void> {
    const { requests, perMs } = this.#limit;
    if (this.#starts.length >= requests) {
      const wait = this.#starts[0] + perMs - this.#clock.now();
      if (wait > 0) await this.#clock.sleep(wait);
      this.#starts.shift();
    }
    this.#starts.push(this.#clock.now());
  }
}
