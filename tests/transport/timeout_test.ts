import assert from "node:assert/strict";
import { Poller, type WaitMode } from "../../src/transport/mod.ts";
import { elapsed, pushPullPairs, uniqueEndpoint, withContext } from "./_helpers.ts";

const MODES: WaitMode[] = ["thread-pool", "blocking-short-poll"];

for (const wait of MODES) {
  Deno.test(`recv with a timeout returns null promptly (${wait})`, () =>
    withContext(async (ctx) => {
      const pull = ctx.socket("PULL", { wait });
      pull.bind(uniqueEndpoint("inproc"));
      let result: unknown = undefined;
      const ms = await elapsed(async () => (result = await pull.recv(60)));
      assert.equal(result, null);
      assert.ok(ms >= 55 && ms < 400, `took ${ms} ms`);
    }));

  Deno.test(`a poller with nothing to read returns [] after its timeout (${wait})`, () =>
    withContext(async (ctx) => {
      const sockets = [ctx.socket("PULL", { wait }), ctx.socket("SUB", { wait })];
      sockets[0].bind(uniqueEndpoint("inproc"));
      const poller = new Poller({ wait });
      let ready: unknown;
      const ms = await elapsed(async () => (ready = await poller.poll(sockets, 60)));
      assert.deepEqual(ready, []);
      assert.ok(ms >= 55 && ms < 400, `took ${ms} ms`);
    }));

  Deno.test(`waiting leaves the event loop free for timers (${wait})`, () =>
    withContext(async (ctx) => {
      const pull = ctx.socket("PULL", { wait });
      const push = ctx.socket("PUSH");
      push.connect(pull.bind(uniqueEndpoint("inproc")));
      // Fresh traffic, so that "blocking-short-poll" polls in slices rather than parking.
      push.trySend(["warm-up"]);
      assert.notEqual(await pull.recv(1000), null);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      try {
        assert.equal(await pull.recv(300), null);
      } finally {
        clearInterval(timer);
      }
      // Short polls block for at most 5 ms at a time, so a 10 ms timer keeps ticking.
      assert.ok(ticks >= 15, `only ${ticks} ticks in 300 ms`);
    }));

  Deno.test(`a message arriving mid-wait ends the wait at once (${wait})`, () =>
    withContext(async (ctx) => {
      const pull = ctx.socket("PULL", { wait });
      const endpoint = pull.bind(uniqueEndpoint("tcp"));
      const push = ctx.socket("PUSH");
      push.connect(endpoint);
      setTimeout(() => push.trySend(["late"]), 50);
      let frames: Uint8Array[] | null = null;
      const ms = await elapsed(async () => (frames = await pull.recv(5000)));
      assert.notEqual(frames, null);
      assert.ok(ms < 1000, `took ${ms} ms`);
    }));
}

Deno.test("recv(0) only takes what is already there", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    const endpoint = pull.bind(uniqueEndpoint("inproc"));
    assert.equal(await pull.recv(0), null);
    assert.equal(pull.tryRecv(), null);
    const push = ctx.socket("PUSH");
    push.connect(endpoint);
    assert.equal(push.trySend(["now"]), true);
    assert.equal((await pull.recv(0))?.length, 1);
  }));

Deno.test("send gives up after timeoutMs when no peer can take the message", () =>
  withContext(async (ctx) => {
    // A PUSH with no connected peer cannot queue anything.
    const push = ctx.socket("PUSH", { linger: 0 });
    assert.equal(await push.send(["x"], { dontWait: true }), false);
    assert.equal(push.trySend(["x"]), false);
    let sent: boolean | undefined;
    const ms = await elapsed(async () => (sent = await push.send(["x"], { timeoutMs: 60 })));
    assert.equal(sent, false);
    assert.ok(ms >= 55 && ms < 400, `took ${ms} ms`);
  }));

Deno.test("a send waiting at the high-water mark completes once the reader drains", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL", { rcvHwm: 2 });
    const endpoint = pull.bind(uniqueEndpoint("inproc"));
    const push = ctx.socket("PUSH", { sndHwm: 2 });
    push.connect(endpoint);
    let queued = 0;
    while (push.trySend([`${queued}`])) queued++;
    assert.ok(queued >= 2 && queued <= 8, `queued ${queued}`);
    const pending = push.send(["last"], { timeoutMs: 5000 });
    for (let i = 0; i < queued; i++) assert.notEqual(await pull.recv(1000), null);
    assert.equal(await pending, true);
    assert.equal(new TextDecoder().decode((await pull.recv(1000))![0]), "last");
  }));

Deno.test("concurrent waits on different sockets each get their own message", () =>
  withContext(async (ctx) => {
    const { pulls, pushes } = pushPullPairs(ctx, 3);
    const waits = pulls.map((pull) => pull.recv(2000));
    setTimeout(() => pushes.forEach((push, i) => push.trySend([`${i}`])), 20);
    const got = await Promise.all(waits);
    assert.deepEqual(got.map((frames) => new TextDecoder().decode(frames![0])), ["0", "1", "2"]);
  }));
