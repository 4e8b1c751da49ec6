/**
 * ReqClient: a REQ that never waits forever, with real libzmq sockets in one thread.
 */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import { cloudGazerProtocol } from "../../src/protocols/mod.ts";
import { ReqClient } from "../../src/clients/req.ts";
import { listen } from "./cloud_gazer_helpers.ts";
import { delay } from "./helpers.ts";

const client = cloudGazerProtocol.reversed();

Deno.test({
  name: "a request gets the decoded reply; concurrent ones take turns",
  async fn() {
    const context = new Context();
    const skip = listen(context, "inproc://skip-a", cloudGazerProtocol, "OK");
    const req = new ReqClient(context, "inproc://skip-a", client, { timeoutMs: 2000 });
    try {
      const replies = await Promise.all([
        req.request("DELPKG", "foo"),
        req.request("DELVER", ["foo", "1.0"]),
        req.request("DELPKG", "bar"),
      ]);
      assert.deepEqual(replies.map((r) => r?.name), ["OK", "OK", "OK"]);
      assert.deepEqual(skip.received, [
        ["DELPKG", "foo"],
        ["DELVER", ["foo", "1.0"]],
        ["DELPKG", "bar"],
      ]);
      assert.equal(req.dropped, 0);
    } finally {
      req.close();
      await skip.close();
      await context.close();
    }
  },
});

Deno.test({
  name: "no listener: null after the timeout, dropped at once while down, then tried again",
  async fn() {
    const context = new Context();
    const req = new ReqClient(context, "inproc://skip-b", client, {
      timeoutMs: 1000,
      downMs: 1500,
    });
    try {
      let started = performance.now();
      assert.equal(await req.request("DELPKG", "foo"), null);
      assert.ok(performance.now() - started >= 990, "waited for the timeout");
      assert.ok(req.down);
      started = performance.now();
      assert.equal(await req.request("DELPKG", "bar"), null);
      // Half the timeout: it did not wait for one (a bound on the mechanism, not on speed).
      assert.ok(performance.now() - started < 500, "dropped without waiting");
      assert.equal(req.dropped, 2);

      const skip = listen(context, "inproc://skip-b", cloudGazerProtocol, "OK");
      try {
        await delay(1550);
        assert.equal(req.down, false);
        assert.equal((await req.request("DELPKG", "baz"))?.name, "OK");
        assert.deepEqual(skip.received.at(-1), ["DELPKG", "baz"]);
      } finally {
        await skip.close();
      }
    } finally {
      req.close();
      await context.close();
    }
  },
});

Deno.test("a malformed request throws without touching the socket", () => {
  const context = new Context();
  const req = new ReqClient(context, "inproc://skip-c", client);
  try {
    assert.throws(() => req.request("DELPKG", 42 as unknown as string), /cloud_gazer/);
    assert.equal(req.dropped, 0);
  } finally {
    req.close();
    context.close();
  }
});
