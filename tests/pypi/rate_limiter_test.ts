import assert from "node:assert/strict";
import { PYPI_RATE_LIMIT, RateLimiter } from "../../src/pypi/rate_limiter.ts";
import { FakeClock } from "../fixtures/pypi/fake_clock.ts";

Deno.test("lets the first requests through at once, then waits out the window", async () => {
  const clock = new FakeClock(0);
  const limiter = new RateLimiter({ requests: 2, perMs: 1000 }, clock);
  const starts: number[] = [];
  for (let i = 0; i < 6; i++) {
    await limiter.acquire();
    starts.push(clock.now());
  }
  assert.deepEqual(starts, [0, 0, 1000, 1000, 2000, 2000]);
});

Deno.test("does not wait when requests are already spaced out", async () => {
  const clock = new FakeClock(0);
  const limiter = new RateLimiter(PYPI_RATE_LIMIT, clock);
  for (let i = 0; i < 5; i++) {
    await limiter.acquire();
    clock.advance(600);
  }
  assert.equal(clock.slept, 0);
});

Deno.test("concurrent callers never share a slot", async () => {
  const clock = new FakeClock(0);
  const limiter = new RateLimiter({ requests: 1, perMs: 500 }, clock);
  const starts: number[] = [];
  await Promise.all(
    Array.from({ length: 4 }, () => limiter.acquire().then(() => starts.push(clock.now()))),
  );
  assert.deepEqual(starts, [0, 500, 1000, 1500]);
});

Deno.test("PyPI's limit is 2 requests per second", () => {
  assert.deepEqual(PYPI_RATE_LIMIT, { requests: 2, perMs: 1000 });
  assert.throws(() => new RateLimiter({ requests: 0, perMs: 1000 }), RangeError);
});
