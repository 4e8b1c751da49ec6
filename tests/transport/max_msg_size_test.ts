/**
 * `maxMsgSize` (ZMQ_MAXMSGSIZE): a peer sending a larger frame is cut off by libzmq before the
 * frame is read into memory, and the socket goes on serving its other peers.
 */
import assert from "node:assert/strict";
import { SocketOption } from "../../src/transport/mod.ts";
import { texts, uniqueEndpoint, withContext } from "./_helpers.ts";

Deno.test("maxMsgSize is set as a 64-bit option and reads back", async () => {
  await withContext((ctx) => {
    const big = ctx.socket("PULL", { maxMsgSize: 5 * 2 ** 32 });
    assert.equal(big.getInt64Option(SocketOption.MAXMSGSIZE), 5 * 2 ** 32);
    const plain = ctx.socket("PULL");
    assert.equal(plain.getInt64Option(SocketOption.MAXMSGSIZE), -1, "no limit by default");
    big.close(0);
    plain.close(0);
  });
});

for (const kind of ["ipc", "tcp"] as const) {
  Deno.test(`maxMsgSize over ${kind}: an oversized frame is dropped, other peers still served`, async () => {
    await withContext(async (ctx) => {
      const pull = ctx.socket("PULL", { maxMsgSize: 1024, linger: 0 });
      const endpoint = pull.bind(uniqueEndpoint(kind));
      const bad = ctx.socket("PUSH", { linger: 0 });
      bad.connect(endpoint);
      const good = ctx.socket("PUSH", { linger: 0 });
      good.connect(endpoint);
      assert.ok(await bad.send([new Uint8Array(64 * 1024).fill(0x41)], { timeoutMs: 5000 }));
      // Exactly the limit is still allowed.
      assert.ok(await good.send([new Uint8Array(1024).fill(0x42)], { timeoutMs: 5000 }));
      await good.send(["after"], { timeoutMs: 5000 });
      const first = await pull.recv(5000);
      assert.ok(first, "the good peer's message arrives");
      assert.equal(first[0].length, 1024);
      assert.deepEqual(texts(await pull.recv(5000)), ["after"]);
      // Nothing of the oversized frame ever arrives.
      assert.equal(await pull.recv(500), null);
      bad.close(0);
      good.close(0);
      pull.close(0);
    });
  });
}
