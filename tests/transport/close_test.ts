import assert from "node:assert/strict";
import { Context, TransportError } from "../../src/transport/mod.ts";
import { elapsed, uniqueEndpoint, withContext } from "./_helpers.ts";

/** A tcp endpoint nobody listens on (bound once, then released). */
function deadEndpoint(ctx: Context): string {
  const probe = ctx.socket("PULL", { linger: 0 });
  const endpoint = probe.bind(uniqueEndpoint("tcp"));
  probe.close();
  return endpoint;
}

for (const linger of [0, 100]) {
  Deno.test(`closing with undelivered messages and linger ${linger} ms does not hang`, async () => {
    const ctx = new Context();
    const push = ctx.socket("PUSH");
    push.connect(deadEndpoint(ctx));
    for (let i = 0; i < 100; i++) {
      assert.equal(push.trySend(["pending", new Uint8Array(1000)]), true);
    }
    const ms = await elapsed(async () => {
      push.close(linger);
      await ctx.close();
    });
    assert.ok(ms < linger + 1000, `terminating took ${ms} ms`);
  });
}

Deno.test("Context.close closes its sockets with the given linger", async () => {
  const ctx = new Context();
  const dealer = ctx.socket("DEALER");
  dealer.connect(deadEndpoint(ctx));
  dealer.trySend(["never delivered"]);
  const ms = await elapsed(() => ctx.close(50));
  assert.equal(dealer.closed, true);
  assert.ok(ms < 1000, `took ${ms} ms`);
  await ctx.close(); // a second close is a no-op
  assert.throws(() => ctx.socket("PUSH"), TransportError);
});

Deno.test("closing a socket fails its pending recv instead of leaving it hanging", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    pull.bind(uniqueEndpoint("inproc"));
    const pending = pull.recv();
    setTimeout(() => pull.close(), 20);
    const error = await pending.then(() => null, (e) => e);
    assert.ok(error instanceof TransportError, String(error));
    assert.match(error.message, /socket closed/);
  }));

Deno.test("using a closed socket throws a TransportError", () =>
  withContext(async (ctx) => {
    const req = ctx.socket("REQ");
    req.close();
    req.close(); // idempotent
    assert.throws(() => req.connect("inproc://anything"), TransportError);
    assert.throws(() => req.trySend(["x"]), /socket closed/);
    await assert.rejects(req.recv(10), TransportError);
  }));

Deno.test("a poller over a socket that gets closed rejects", () =>
  withContext(async (ctx) => {
    const a = ctx.socket("PULL");
    const b = ctx.socket("PULL");
    a.bind(uniqueEndpoint("inproc"));
    const { Poller } = await import("../../src/transport/mod.ts");
    const pending = new Poller().poll([a, b], 5000);
    setTimeout(() => b.close(), 20);
    await assert.rejects(pending, /socket closed/);
  }));
