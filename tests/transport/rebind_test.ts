/** A closed socket's inproc name is free at once, so a restarted task can bind it again. */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";

Deno.test("an inproc name can be bound again right after its socket closes", async () => {
  const context = new Context();
  try {
    const name = `inproc://rebind-${crypto.randomUUID()}`;
    for (let i = 0; i < 200; i++) {
      const socket = context.socket("REP");
      socket.bind(name);
      socket.close(0);
    }
    const server = context.socket("REP");
    server.bind(name);
    const client = context.socket("REQ");
    client.connect(name);
    await client.send([new TextEncoder().encode("ping")]);
    const got = await server.recv(2000);
    assert.equal(new TextDecoder().decode(got![0]), "ping");
    client.close(0);
    server.close(0);
  } finally {
    await context.close();
  }
});
