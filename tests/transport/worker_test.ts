import assert from "node:assert/strict";
import { Context, type WaitMode } from "../../src/transport/mod.ts";
import type { PeerJob } from "./_worker.ts";
import { texts, uniqueEndpoint } from "./_helpers.ts";

/** Starts `_worker.ts` on `job`; resolves each message it posts, in order. */
function startPeer(job: PeerJob) {
  const worker = new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" });
  const inbox: Record<string, unknown>[] = [];
  const waiting: ((value: Record<string, unknown>) => void)[] = [];
  worker.onmessage = ({ data }) => {
    const next = waiting.shift();
    if (next) next(data);
    else inbox.push(data);
  };
  worker.postMessage(job);
  const next = () =>
    inbox.length > 0
      ? Promise.resolve(inbox.shift()!)
      : new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  return { worker, next };
}

const MODES: WaitMode[] = ["blocking-short-poll", "thread-pool"];

for (const wait of MODES) {
  Deno.test(`a Worker's REP (${wait}) answers the main thread's REQ over inproc`, async () => {
    const ctx = new Context();
    const endpoint = uniqueEndpoint("inproc");
    const peer = startPeer({ handle: ctx.handle, role: "echo-rep", endpoint, wait, count: 200 });
    try {
      assert.deepEqual(await peer.next(), { ready: true });
      const req = ctx.socket("REQ");
      req.connect(endpoint);
      for (let i = 0; i < 200; i++) {
        await req.send(["echo", `${i}`]);
        assert.deepEqual(texts(await req.recv(5000)), ["echo", `${i}`]);
      }
      // The Worker closed its view of the context, which did not terminate it.
      assert.deepEqual(await peer.next(), { done: true, owner: false });
      await req.send(["still alive"], { timeoutMs: 100 });
    } finally {
      peer.worker.terminate();
      await ctx.close(0);
    }
  });

  Deno.test(`a Worker's REQ (${wait}) reaches a ROUTER bound in the main thread`, async () => {
    const ctx = new Context();
    const router = ctx.socket("ROUTER");
    const endpoint = router.bind(uniqueEndpoint("inproc"));
    const peer = startPeer({ handle: ctx.handle, role: "req-client", endpoint, wait, count: 200 });
    try {
      for (let i = 0; i < 200; i++) {
        const [address, , body] = (await router.recv(5000))!;
        await router.send([address, "", body]);
      }
      assert.deepEqual(await peer.next(), { done: true, owner: false });
    } finally {
      peer.worker.terminate();
      await ctx.close(0);
    }
  });

  Deno.test(`terminating the context interrupts a Worker's pending recv (${wait})`, async () => {
    const ctx = new Context();
    const endpoint = uniqueEndpoint("inproc");
    const peer = startPeer({ handle: ctx.handle, role: "wait-forever", endpoint, wait, count: 0 });
    try {
      assert.deepEqual(await peer.next(), { ready: true });
      await new Promise((resolve) => setTimeout(resolve, 30)); // let it settle into its wait
      await ctx.close(0); // resolves only once the Worker has closed its socket
      const report = await peer.next();
      assert.match(String(report.interrupted), /TransportError: .*Context was terminated/);
    } finally {
      peer.worker.terminate();
    }
  });
}

Deno.test("PUSH in two Workers feeds one PULL in the main thread", async () => {
  const ctx = new Context();
  const pull = ctx.socket("PULL");
  const endpoint = pull.bind(uniqueEndpoint("inproc"));
  const peers = MODES.map((wait) =>
    startPeer({ handle: ctx.handle, role: "push", endpoint, wait, count: 500 })
  );
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const frames = await pull.recv(5000);
      assert.notEqual(frames, null, `message ${i} did not arrive`);
      seen.add(texts(frames)![0]);
    }
    assert.equal(seen.size, 500);
    for (const peer of peers) assert.deepEqual(await peer.next(), { done: true, owner: false });
  } finally {
    for (const peer of peers) peer.worker.terminate();
    await ctx.close(0);
  }
});

Deno.test("Context.fromHandle gives the same context, which it does not own", async () => {
  const ctx = new Context();
  const view = Context.fromHandle(ctx.handle);
  assert.equal(view.handle, ctx.handle);
  assert.equal(ctx.owner, true);
  assert.equal(view.owner, false);
  const pull = ctx.socket("PULL");
  const endpoint = pull.bind(uniqueEndpoint("inproc"));
  const push = view.socket("PUSH");
  push.connect(endpoint);
  await push.send(["shared"]);
  assert.deepEqual(texts(await pull.recv(1000)), ["shared"]);
  await view.close(0);
  assert.equal(push.closed, true);
  assert.equal(pull.closed, false);
  await ctx.close(0);
});
