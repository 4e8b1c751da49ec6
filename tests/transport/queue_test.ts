/** Queue: a socket bound to its protocol, with piwheels' envelopes, over real libzmq sockets. */
import assert from "node:assert/strict";
import {
  decodeMessage,
  type MessageOf,
  type MessageTable,
  NO_DATA,
  ProtocolError,
  slaveDriverProtocol,
  type SlaveHello,
} from "../../src/protocols/mod.ts";
import { Queue } from "../../src/transport/mod.ts";
import { SLAVE_MESSAGES } from "./_seeds.ts";
import { uniqueEndpoint, withContext } from "./_helpers.ts";

const master = slaveDriverProtocol;
const slave = slaveDriverProtocol.reversed();

/** The next message on `queue` (null on timeout); throws ProtocolError for a bad one. */
async function recv<R extends MessageTable, S extends MessageTable>(
  queue: Queue<R, S>,
  ms = 1000,
): Promise<[MessageOf<R>, Uint8Array] | null> {
  const frames = await queue.socket.recv(ms);
  return frames && queue.read(frames);
}

Deno.test("send and read carry a message with data in one frame", () =>
  withContext(async (ctx) => {
    const pull = new Queue(ctx.socket("PULL"), master, "plain");
    const push = new Queue(ctx.socket("PUSH"), slave, "plain");
    push.socket.connect(pull.socket.bind(uniqueEndpoint("inproc")));
    const hello = decodeMessage(master, SLAVE_MESSAGES[0]).data as SlaveHello;
    await push.send("HELLO", hello);
    const frames = await pull.socket.recv(1000);
    assert.deepEqual(frames, [SLAVE_MESSAGES[0]]); // byte-identical to piwheels' encoding
    await push.send("BYE");
    assert.deepEqual(await recv(pull), [{ name: "BYE", data: NO_DATA }, new Uint8Array(0)]);
  }));

Deno.test("an addressed queue routes replies to the REQ that asked", () =>
  withContext(async (ctx) => {
    const router = new Queue(ctx.socket("ROUTER"), master, "addressed");
    const endpoint = router.socket.bind(uniqueEndpoint("inproc"));
    const reqs = [0, 1].map(() => new Queue(ctx.socket("REQ"), slave, "plain"));
    for (const req of reqs) req.socket.connect(endpoint);
    await reqs[0].send("BYE");
    await reqs[1].send("SENT");
    for (let i = 0; i < 2; i++) {
      const [msg, peer] = (await recv(router))!;
      assert.ok(peer.length > 0);
      if (msg.name === "BYE") await router.sendTo(peer, "DIE");
      else assert.equal(router.trySendTo(peer, "SEND", "file.whl"), true);
    }
    assert.deepEqual((await recv(reqs[0]))![0], { name: "DIE", data: NO_DATA });
    assert.deepEqual((await recv(reqs[1]))![0], { name: "SEND", data: "file.whl" });
  }));

Deno.test("an addressed queue refuses anything but [identity, empty, payload]", () =>
  withContext(async (ctx) => {
    const router = new Queue(ctx.socket("ROUTER"), master, "addressed");
    const dealer = ctx.socket("DEALER");
    dealer.connect(router.socket.bind(uniqueEndpoint("inproc")));
    const bye = SLAVE_MESSAGES[2];
    const shapes = [[bye], ["", bye, ""], ["x", bye], ["", "", "", bye]];
    for (const frames of shapes) {
      await dealer.send(frames);
      const received = (await router.socket.recv(1000))!;
      assert.throws(
        () => router.read(received),
        (e: unknown) => e instanceof ProtocolError && /invalid message structure/.test(e.message),
        `${frames.length} frames`,
      );
      assert.equal(router.peerOf(received).length, 0, "no peer for a broken envelope");
    }
    // The socket is still usable afterwards.
    await dealer.send(["", bye]);
    assert.equal((await recv(router))?.[0].name, "BYE");
  }));

Deno.test("a plain queue refuses a multipart message and a payload that is not CBOR", () =>
  withContext(async (ctx) => {
    const pull = new Queue(ctx.socket("PULL"), master, "plain");
    const push = ctx.socket("PUSH");
    push.connect(pull.socket.bind(uniqueEndpoint("inproc")));
    await push.send([SLAVE_MESSAGES[2], SLAVE_MESSAGES[2]]);
    await assert.rejects(recv(pull), /slave_driver: invalid message structure \(2 frames\)/);
    await push.send([new Uint8Array([0xff, 0x00])]);
    await assert.rejects(recv(pull), ProtocolError);
  }));

Deno.test("send refuses data the protocol does not allow and sends nothing", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    const push = new Queue(ctx.socket("PUSH"), slave, "plain");
    push.socket.connect(pull.bind(uniqueEndpoint("inproc")));
    // deno-lint-ignore no-explicit-any
    await assert.rejects(push.send("BYE" as any, "unexpected" as any), ProtocolError);
    assert.equal(await pull.recv(50), null);
  }));

Deno.test("a delimited queue (a DEALER to a REP) adds and strips the empty frame", () =>
  withContext(async (ctx) => {
    const rep = new Queue(ctx.socket("REP"), master, "plain");
    const dealer = new Queue(ctx.socket("DEALER"), slave, "delimited");
    dealer.socket.connect(rep.socket.bind(uniqueEndpoint("inproc")));
    await dealer.send("BYE");
    assert.equal((await recv(rep))![0].name, "BYE");
    await rep.send("DIE");
    assert.deepEqual((await recv(dealer))![0], { name: "DIE", data: NO_DATA });
  }));
