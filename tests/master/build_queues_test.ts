/** SlaveDriver's per-ABI build queues and their exclusions. */
import assert from "node:assert/strict";
import { BuildQueues, DELETE_HOLD_MS, RECORDED_HOLD_MS } from "../../src/master/build_queues.ts";

const T = Date.UTC(2026, 0, 1);

Deno.test("every build ABI gets a queue, even without work", () => {
  const q = new BuildQueues();
  q.replace({ cp311: [["a", "1"]] }, ["cp39", "cp311"], T);
  assert.deepEqual(q.sizes(), { cp39: 0, cp311: 1 });
  assert.equal(q.has("cp39"), true);
  assert.equal(q.has("cp27mu"), false);
  assert.equal(q.next("cp27mu", 1000, T), null);
});

Deno.test("next pops oldest first and holds the version for the build timeout", () => {
  const q = new BuildQueues();
  q.replace({ cp311: [["a", "1"], ["b", "1"]] }, [], T);
  assert.deepEqual(q.next("cp311", 1000, T), ["a", "1"]);
  q.replace({ cp311: [["a", "1"], ["b", "1"]] }, [], T + 999);
  assert.deepEqual(q.sizes(), { cp311: 1 }, "a is still being built");
  q.replace({ cp311: [["a", "1"], ["b", "1"]] }, [], T + 1000);
  assert.deepEqual(q.sizes(), { cp311: 2 }, "the hold has expired");
});

Deno.test("a duplicate in the queue is not dispatched twice", () => {
  const q = new BuildQueues();
  q.replace({ cp311: [["a", "1"], ["a", "1"], ["b", "1"]] }, [], T);
  assert.deepEqual(q.next("cp311", 1000, T), ["a", "1"]);
  assert.deepEqual(q.next("cp311", 1000, T), ["b", "1"]);
  assert.equal(q.next("cp311", 1000, T), null);
});

Deno.test("requeue puts an abandoned build first and lifts its hold", () => {
  const q = new BuildQueues();
  q.replace({ cp311: [["a", "1"], ["b", "1"]] }, [], T);
  const a = q.next("cp311", 1000, T)!;
  q.requeue("cp311", a);
  assert.deepEqual(q.next("cp311", 1000, T), ["a", "1"]);
});

Deno.test("deleted packages and versions stay out for an hour", () => {
  const q = new BuildQueues();
  const queue = { cp311: [["a", "1"], ["a", "2"], ["b", "1"], ["c", "1"]] as [string, string][] };
  q.replace(queue, [], T);
  q.delete("a", "1", T);
  q.delete("b", null, T);
  assert.deepEqual(q.sizes(), { cp311: 2 });
  q.replace(queue, [], T + DELETE_HOLD_MS - 1);
  assert.deepEqual(q.next("cp311", 0, T), ["a", "2"]);
  q.requeue("cp311", ["b", "1"]);
  assert.deepEqual(q.next("cp311", 0, T), ["c", "1"], "a deleted build is not re-queued");
  q.replace(queue, [], T + DELETE_HOLD_MS);
  assert.deepEqual(q.sizes(), { cp311: 4 });
});

Deno.test("a long queue pops to empty, one entry per call", () => {
  const q = new BuildQueues();
  const items = Array.from({ length: 100_000 }, (_, i) => [`p${i}`, "1"] as [string, string]);
  q.replace({ cp311: items }, [], T);
  for (let i = 0; i < 100_000; i++) {
    assert.deepEqual(q.next("cp311", 1000, T), [`p${i}`, "1"]);
  }
  assert.deepEqual(q.sizes(), { cp311: 0 });
});

Deno.test("a recorded build is held only briefly, so a due retry is not held for hours", () => {
  const q = new BuildQueues();
  const hours = 3 * 3_600_000;
  q.replace({ cp311: [["a", "1"]] }, [], T);
  assert.deepEqual(q.next("cp311", hours, T), ["a", "1"]);
  q.recorded("cp311", ["a", "1"], T + 5000);
  // A QUEUE computed before the commit may still come: held a little longer.
  q.replace({ cp311: [["a", "1"]] }, [], T + 5000 + RECORDED_HOLD_MS - 1);
  assert.deepEqual(q.sizes(), { cp311: 0 });
  // Then the database decides: the failed build is queued for its retry.
  q.replace({ cp311: [["a", "1"]] }, [], T + 5000 + RECORDED_HOLD_MS);
  assert.deepEqual(q.next("cp311", hours, T + 5000 + RECORDED_HOLD_MS), ["a", "1"]);
  // Never longer than the hold it had.
  q.recorded("cp311", ["b", "1"], T);
  q.replace({ cp311: [["b", "1"]] }, [], T);
  assert.deepEqual(q.sizes(), { cp311: 1 });
});

Deno.test("an imported build leaves its ABI's queue and stays out of queues computed before", () => {
  const q = new BuildQueues();
  q.replace({ cp311: [["a", "1"], ["b", "1"]], cp39: [["a", "1"]] }, [], T);
  q.imported("cp311", ["a", "1"], T);
  assert.deepEqual(q.sizes(), { cp311: 1, cp39: 1 }, "only the imported ABI's entry goes");
  q.replace({ cp311: [["a", "1"], ["b", "1"]], cp39: [["a", "1"]] }, [], T + 1);
  assert.deepEqual(q.next("cp311", 1000, T + 1), ["b", "1"]);
  assert.deepEqual(q.next("cp39", 1000, T + 1), ["a", "1"]);
  q.replace({ cp311: [["a", "1"]] }, [], T + RECORDED_HOLD_MS);
  assert.deepEqual(q.sizes(), { cp311: 1 }, "a later queue decides again");
});
