/**
 * A clock that tests can replace, so timing rules (5-minute window, idle delay, backoff, rate
 * limit) are tested without real waits.
 * @module
 */

/** The time source and sleeper used by the PyPI follower. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolve after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
