import assert from "node:assert/strict";
import { SocketOption, TransportError } from "../../src/transport/mod.ts";
import { LIBZMQ_NAMES, openLibzmq } from "../../src/transport/ffi.ts";
import { uniqueEndpoint, withContext } from "./_helpers.ts";

Deno.test("a missing libzmq is one line that names the package to install", () => {
  assert.throws(
    () => openLibzmq(["/nonexistent/libzmq.so.5"]),
    (e: unknown) =>
      e instanceof TransportError && /apt-get install libzmq5/.test(e.message) &&
      /libzmq\.so\.5/.test(e.message) && !e.message.includes("\n"),
  );
  assert.equal(LIBZMQ_NAMES[0], "libzmq.so.5");
});

Deno.test("importing the transport does not load libzmq; creating a Context does", async () => {
  const code = `
    const t = await import(${
    JSON.stringify(new URL("../../src/transport/mod.ts", import.meta.url).href)
  });
    const before = t.libzmqLoaded();
    const ctx = new t.Context();
    console.log(JSON.stringify([before, t.libzmqLoaded(), t.zmqVersion()]));
    await ctx.close();`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(output.code, 0);
  const [before, after, version] = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(before, false);
  assert.equal(after, true);
  assert.match(version, /^4\.\d+\.\d+$/);
});

Deno.test("a bind conflict names the strerror text, socket type and endpoint", () =>
  withContext((ctx) => {
    const endpoint = ctx.socket("ROUTER").bind(uniqueEndpoint("tcp"));
    const second = ctx.socket("ROUTER");
    const error = (() => {
      try {
        second.bind(endpoint);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof TransportError);
    assert.equal(error.socketType, "ROUTER");
    assert.equal(error.endpoint, endpoint);
    assert.equal(typeof error.errno, "number");
    assert.match(error.message, /Address already in use/);
    assert.match(error.message, /ROUTER/);
    assert.ok(error.message.includes(endpoint));
  }));

Deno.test("an unknown transport is reported as such", () =>
  withContext((ctx) => {
    assert.throws(
      () => ctx.socket("PUSH").connect("bogus://nowhere"),
      (e: unknown) => e instanceof TransportError && /Protocol not supported/.test(e.message),
    );
  }));

Deno.test("ROUTER_MANDATORY turns a send to an unknown peer into an error", () =>
  withContext(async (ctx) => {
    const router = ctx.socket("ROUTER", { routerMandatory: true });
    router.bind(uniqueEndpoint("inproc"));
    await assert.rejects(router.send(["nobody", "", "hello"]), /Host unreachable/);
    // Without it the message is silently dropped.
    const lax = ctx.socket("ROUTER");
    assert.equal(await lax.send(["nobody", "", "hello"]), true);
  }));

Deno.test("a REQ that receives before sending fails with the state error", () =>
  withContext(async (ctx) => {
    const req = ctx.socket("REQ");
    await assert.rejects(req.recv(10), /Operation cannot be accomplished in current state/);
  }));

Deno.test("socket options given at creation are applied", () =>
  withContext((ctx) => {
    const dealer = ctx.socket("DEALER", { sndHwm: 7, rcvHwm: 9, identity: "me", linger: 25 });
    assert.equal(dealer.getIntOption(SocketOption.SNDHWM), 7);
    assert.equal(dealer.getIntOption(SocketOption.RCVHWM), 9);
    assert.equal(dealer.getIntOption(SocketOption.LINGER), 25);
    assert.equal(dealer.getIntOption(SocketOption.IPV6), 1);
    assert.equal(new TextDecoder().decode(dealer.getBytesOption(SocketOption.ROUTING_ID)), "me");
    const both = ctx.socket("PULL", { hwm: 3 });
    assert.equal(both.getIntOption(SocketOption.RCVHWM), 3);
    assert.equal(ctx.socket("PUSH").getIntOption(SocketOption.LINGER), 1000);
    assert.equal(ctx.socket("PUSH", { ipv6: false }).getIntOption(SocketOption.IPV6), 0);
  }));
