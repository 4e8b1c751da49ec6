import assert from "node:assert/strict";
import { beforeWait, Poller, type WaitMode } from "../../src/transport/mod.ts";
import { pushPullPairs, texts, uniqueEndpoint, withContext } from "./_helpers.ts";

for (const wait of ["thread-pool", "blocking-short-poll"] as WaitMode[]) {
  Deno.test(`a poller reports exactly the sockets that have messages (${wait})`, () =>
    withContext(async (ctx) => {
      const { pulls, pushes } = pushPullPairs(ctx, 3);
      const poller = new Poller({ wait });
      assert.deepEqual(await poller.poll(pulls, 0), []);
      pushes[0].trySend(["zero"]);
      pushes[2].trySend(["two"]);
      assert.deepEqual(await poller.poll(pulls, 1000), [pulls[0], pulls[2]]);
      // Polling does not consume anything.
      assert.deepEqual(await poller.poll(pulls, 1000), [pulls[0], pulls[2]]);
      assert.deepEqual(texts(pulls[2].tryRecv()), ["two"]);
      assert.deepEqual(await poller.poll(pulls, 1000), [pulls[0]]);
    }));

  Deno.test(`a poller wakes for whichever socket gets a message first (${wait})`, () =>
    withContext(async (ctx) => {
      const local = ctx.socket("PULL");
      const remote = ctx.socket("PULL");
      local.bind(uniqueEndpoint("inproc"));
      const push = ctx.socket("PUSH");
      push.connect(remote.bind(uniqueEndpoint("tcp")));
      const poller = new Poller({ wait });
      setTimeout(() => push.trySend(["over tcp"]), 30);
      const ready = await poller.poll([local, remote], 5000);
      assert.deepEqual(ready, [remote]);
      assert.deepEqual(texts(remote.tryRecv()), ["over tcp"]);
    }));
  Deno.test(`beforeWait hooks run whenever the thread is about to wait (${wait})`, () =>
    withContext(async (ctx) => {
      const { pulls: [pull], pushes: [push] } = pushPullPairs(ctx, 1);
      const kept: string[] = [];
      // What a hook sends is there before the wait would sleep: this recv never times out.
      const remove = beforeWait(() => {
        if (kept.length) push.trySend(kept.splice(0));
      });
      try {
        kept.push("a", "b");
        assert.deepEqual(texts(await pull.recv(5000)), ["a", "b"]);
        kept.push("c");
        assert.deepEqual(await new Poller({ wait }).poll([pull], 5000), [pull]);
        assert.deepEqual(texts(pull.tryRecv()), ["c"]);
      } finally {
        remove();
      }
      kept.push("d");
      assert.equal(await pull.recv(50), null);
    }));
}

Deno.test("a poll and a recv on other sockets of the same thread wait together", () =>
  withContext(async (ctx) => {
    const [a, b, c] = [0, 1, 2].map(() => ctx.socket("PULL"));
    const [, pb, pc] = [a, b, c].map((pull) => {
      const push = ctx.socket("PUSH");
      push.connect(pull.bind(uniqueEndpoint("inproc")));
      return push;
    });
    const polled = new Poller({ wait: "thread-pool" }).poll([a, b], 5000);
    const received = c.recv(5000);
    setTimeout(() => pc.trySend(["c"]), 10);
    setTimeout(() => pb.trySend(["b"]), 40);
    assert.deepEqual(texts(await received), ["c"]);
    assert.deepEqual(await polled, [b]);
  }));
