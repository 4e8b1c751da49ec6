import assert from "node:assert/strict";
import { type Context, type Socket, SocketOption } from "../../src/transport/mod.ts";
import {
  bytes,
  texts,
  type TransportKind,
  TRANSPORTS,
  uniqueEndpoint,
  withContext,
} from "./_helpers.ts";

const TIMEOUT = 5000;

/** Binds `server` to a fresh endpoint of `kind` and connects `client` to it. */
function pair(server: Socket, client: Socket, kind: TransportKind): string {
  const endpoint = server.bind(uniqueEndpoint(kind));
  client.connect(endpoint);
  return endpoint;
}

async function reqRep(ctx: Context, kind: TransportKind) {
  const rep = ctx.socket("REP");
  const req = ctx.socket("REQ");
  pair(rep, req, kind);
  for (let i = 0; i < 3; i++) {
    assert.equal(await req.send([`ping ${i}`]), true);
    assert.deepEqual(texts(await rep.recv(TIMEOUT)), [`ping ${i}`]);
    await rep.send(["pong", `${i}`]);
    assert.deepEqual(texts(await req.recv(TIMEOUT)), ["pong", `${i}`]);
  }
}

async function reqRouter(ctx: Context, kind: TransportKind) {
  const router = ctx.socket("ROUTER");
  const req = ctx.socket("REQ");
  pair(router, req, kind);
  await req.send(["hello"]);
  const [address, empty, body] = (await router.recv(TIMEOUT))!;
  assert.equal(empty.length, 0);
  assert.deepEqual(texts([body]), ["hello"]);
  await router.send([address, new Uint8Array(0), "world"]);
  assert.deepEqual(texts(await req.recv(TIMEOUT)), ["world"]);
}

async function dealerRouter(ctx: Context, kind: TransportKind) {
  const router = ctx.socket("ROUTER", { routerMandatory: true });
  const dealers = [
    ctx.socket("DEALER", { identity: "dealer-a" }),
    ctx.socket("DEALER", { identity: "dealer-b" }),
  ];
  const endpoint = router.bind(uniqueEndpoint(kind));
  for (const dealer of dealers) dealer.connect(endpoint);
  await dealers[0].send(["from", "a"]);
  await dealers[1].send(["from", "b"]);
  const seen = [texts(await router.recv(TIMEOUT)), texts(await router.recv(TIMEOUT))];
  seen.sort((x, y) => x![0].localeCompare(y![0]));
  assert.deepEqual(seen, [["dealer-a", "from", "a"], ["dealer-b", "from", "b"]]);
  // Routing by identity: each reply reaches only its addressee.
  await router.send(["dealer-b", "to b"]);
  await router.send([bytes("dealer-a"), "to a", "", "last"]);
  assert.deepEqual(texts(await dealers[0].recv(TIMEOUT)), ["to a", "", "last"]);
  assert.deepEqual(texts(await dealers[1].recv(TIMEOUT)), ["to b"]);
}

async function pushPull(ctx: Context, kind: TransportKind) {
  const pull = ctx.socket("PULL");
  const push = ctx.socket("PUSH");
  pair(pull, push, kind);
  for (let i = 0; i < 50; i++) await push.send([`${i}`, new Uint8Array(i * 100)]);
  for (let i = 0; i < 50; i++) {
    const frames = (await pull.recv(TIMEOUT))!;
    assert.deepEqual(texts([frames[0]]), [`${i}`]);
    assert.equal(frames[1].length, i * 100);
  }
}

async function pubSub(ctx: Context, kind: TransportKind) {
  const pub = ctx.socket("PUB");
  const sub = ctx.socket("SUB", { subscribe: "keep" });
  pair(pub, sub, kind);
  // A subscription reaches the publisher asynchronously: publish until one arrives.
  let first: Uint8Array[] | null = null;
  for (let i = 0; i < 200 && first === null; i++) {
    await pub.send(["keep", "probe"]);
    first = await sub.recv(25);
  }
  assert.deepEqual(texts(first), ["keep", "probe"]);
  while (await sub.recv(50)) { /* drain further probes */ }
  await pub.send(["drop", "1"]);
  await pub.send(["keep", "2"]);
  assert.deepEqual(texts(await sub.recv(TIMEOUT)), ["keep", "2"]);
  assert.equal(await sub.recv(50), null);
}

const PATTERNS = {
  "REQ/REP": reqRep,
  "REQ/ROUTER": reqRouter,
  "DEALER/ROUTER": dealerRouter,
  "PUSH/PULL": pushPull,
  "PUB/SUB": pubSub,
};

for (const [name, run] of Object.entries(PATTERNS)) {
  for (const kind of TRANSPORTS) {
    Deno.test(`${name} exchanges multipart messages over ${kind}`, () =>
      withContext((ctx) => run(ctx, kind)));
  }
  Deno.test(`${name} works with blocking short polls over inproc`, () =>
    withContext(async (ctx) => {
      const { setDefaultWaitMode, defaultWaitMode } = await import("../../src/transport/mod.ts");
      const previous = defaultWaitMode();
      setDefaultWaitMode("blocking-short-poll");
      try {
        await run(ctx, "inproc");
      } finally {
        setDefaultWaitMode(previous);
      }
    }));
}

Deno.test("bind to tcp port * reports the port actually bound", () =>
  withContext(async (ctx) => {
    const router = ctx.socket("ROUTER");
    const endpoint = router.bind("tcp://127.0.0.1:*");
    assert.match(endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(router.lastEndpoint, endpoint);
    const wildcard = ctx.socket("ROUTER");
    const dual = wildcard.bind("tcp://*:*");
    assert.match(dual, /^tcp:\/\/(\[::\]|0\.0\.0\.0):\d+$/);
    // IPV6=1 on every socket (so "*" is dual-stack); IPv4 clients still get through.
    assert.equal(router.getIntOption(SocketOption.IPV6), 1);
    const req = ctx.socket("REQ");
    req.connect(dual.replace(/^tcp:\/\/.*:(\d+)$/, "tcp://127.0.0.1:$1"));
    await req.send(["v4"]);
    assert.deepEqual(texts(await wildcard.recv(TIMEOUT))!.slice(1), ["", "v4"]);
  }));

Deno.test("unbind and disconnect stop delivery to that endpoint", () =>
  withContext(async (ctx) => {
    const pull = ctx.socket("PULL");
    const endpoint = pull.bind(uniqueEndpoint("tcp"));
    const push = ctx.socket("PUSH", { linger: 0 });
    push.connect(endpoint);
    await push.send(["before"]);
    assert.deepEqual(texts(await pull.recv(TIMEOUT)), ["before"]);
    push.disconnect(endpoint);
    assert.equal(await push.send(["after"], { dontWait: true }), false);
    pull.unbind(endpoint);
    const again = ctx.socket("PUSH", { linger: 0 });
    again.connect(endpoint);
    await again.send(["nobody listens"]);
    assert.equal(await pull.recv(100), null);
  }));
