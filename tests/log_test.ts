/** `RateLimitedLog`: a flood of the same kind of message costs a bounded number of lines. */
import assert from "node:assert/strict";
import { configureLogging, getLogger, RateLimitedLog } from "../src/log.ts";

/** Run `body` with console lines captured (warning level and up). */
function captured(body: (lines: string[]) => void): string[] {
  const lines: string[] = [];
  configureLogging({ sink: (line) => lines.push(line), level: "warning", showNames: false });
  try {
    body(lines);
  } finally {
    configureLogging({ sink: null });
  }
  return lines;
}

Deno.test("RateLimitedLog writes N lines per key and interval, then one suppressed count", () => {
  let now = 0;
  const lines = captured(() => {
    const limited = new RateLimitedLog(getLogger("test.rate"), 3, 1000, () => now);
    for (let i = 0; i < 100_000; i++) limited.error("bad frame", `bad frame ${i}`);
    assert.equal(limited.warning("unknown peer", "unknown peer 1"), true, "keys are separate");
    now = 999;
    limited.flush();
    now = 1000;
    limited.flush();
    limited.flush();
    assert.equal(limited.error("bad frame", "bad frame again"), true, "a new interval");
  });
  assert.deepEqual(lines, [
    "bad frame 0",
    "bad frame 1",
    "bad frame 2",
    "unknown peer 1",
    "… suppressed 99997 similar messages (bad frame) in 1 s",
    "bad frame again",
  ]);
});

Deno.test("RateLimitedLog reports what it suppressed when the next message comes", () => {
  let now = 0;
  const lines = captured(() => {
    const limited = new RateLimitedLog(getLogger("test.rate"), 1, 60_000, () => now);
    limited.warning("k", "first");
    limited.warning("k", "second");
    limited.error("k", "third");
    now = 60_000;
    limited.warning("k", "fourth");
  });
  // The summary takes the most severe level suppressed, so it passes the same filters.
  assert.deepEqual(lines, [
    "first",
    "… suppressed 2 similar messages (k) in 60 s",
    "fourth",
  ]);
});
