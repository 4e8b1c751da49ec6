import assert from "node:assert/strict";
import {
  decodeMessage,
  NO_DATA,
  ProtocolError,
  slaveDriverProtocol,
  type SlaveHello,
} from "../../src/protocols/mod.ts";
import { recvAddrMsg, recvMsg, sendAddrMsg, sendMsg } from "../../src/transport/mod.ts";
import { SLAVE_MESSAGES } from "./_seeds.ts";
import { uniqueEndpoint, withContext } from "./_helpers.ts";

const master = slaveDriverProtocol;
const slave = slaveDriverProtocol.reversed();

Deno.test("sendMsg and recvMsg carry a message with data in one frame", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    const push = ctx.socket("PUSH");
    push.connect(pull.bind(uniqueEndpoint("inproc")));
    const hello = decodeMessage(master, SLAVE_MESSAGES[0]).data as SlaveHello;
    await sendMsg(push, slave, "HELLO", hello);
    const frames = await pull.recv(1000);
    assert.deepEqual(frames, [SLAVE_MESSAGES[0]]); // byte-identical to piwheels' encoding
    await sendMsg(push, slave, "BYE");
    const msg = await recvMsg(pull, master, 1000);
    assert.deepEqual(msg, { name: "BYE", data: NO_DATA });
  }));

Deno.test("sendAddrMsg and recvAddrMsg route replies to the REQ that asked", () =>
  withContext(async (ctx) => {
    const router = ctx.socket("ROUTER");
    const endpoint = router.bind(uniqueEndpoint("inproc"));
    const reqs = [ctx.socket("REQ"), ctx.socket("REQ")];
    for (const req of reqs) req.connect(endpoint);
    await sendMsg(reqs[0], slave, "BYE");
    await sendMsg(reqs[1], slave, "SENT");
    for (let i = 0; i < 2; i++) {
      const msg = (await recvAddrMsg(router, master, 1000))!;
      assert.ok(msg.address.length > 0);
      if (msg.name === "BYE") await sendAddrMsg(router, msg.address, master, "DIE");
      else await sendAddrMsg(router, msg.address, master, "SEND", "file.whl");
    }
    assert.deepEqual(await recvMsg(reqs[0], slave, 1000), { name: "DIE", data: NO_DATA });
    assert.deepEqual(await recvMsg(reqs[1], slave, 1000), { name: "SEND", data: "file.whl" });
  }));

Deno.test("recvMsg and recvAddrMsg return null on timeout", () =>
  withContext(async (ctx) => {
    const router = ctx.socket("ROUTER");
    router.bind(uniqueEndpoint("inproc"));
    assert.equal(await recvAddrMsg(router, master, 20), null);
    assert.equal(await recvMsg(router, master, 20), null);
  }));

Deno.test("recvAddrMsg rejects anything but [identity, empty, payload]", () =>
  withContext(async (ctx) => {
    const router = ctx.socket("ROUTER");
    const dealer = ctx.socket("DEALER");
    dealer.connect(router.bind(uniqueEndpoint("inproc")));
    const bye = SLAVE_MESSAGES[2];
    const shapes = [[bye], ["", bye, ""], ["x", bye], ["", "", "", bye]];
    for (const frames of shapes) {
      await dealer.send(frames);
      await assert.rejects(
        recvAddrMsg(router, master, 1000),
        (e: unknown) => e instanceof ProtocolError && /invalid message structure/.test(e.message),
        `${frames.length} frames`,
      );
    }
    // The socket is still usable afterwards.
    await dealer.send(["", bye]);
    assert.equal((await recvAddrMsg(router, master, 1000))?.name, "BYE");
  }));

Deno.test("recvMsg rejects a multipart message and a payload that is not CBOR", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    const push = ctx.socket("PUSH");
    push.connect(pull.bind(uniqueEndpoint("inproc")));
    await push.send([SLAVE_MESSAGES[2], SLAVE_MESSAGES[2]]);
    await assert.rejects(recvMsg(pull, master, 1000), /invalid message structure \(2 frames\)/);
    await push.send([new Uint8Array([0xff, 0x00])]);
    await assert.rejects(recvMsg(pull, master, 1000), ProtocolError);
  }));

Deno.test("sendMsg refuses data the protocol does not allow and sends nothing", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    const push = ctx.socket("PUSH");
    push.connect(pull.bind(uniqueEndpoint("inproc")));
    // deno-lint-ignore no-explicit-any
    await assert.rejects(sendMsg(push, slave, "BYE" as any, "unexpected" as any), ProtocolError);
    assert.equal(await pull.recv(50), null);
  }));
