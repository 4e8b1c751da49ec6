/**
 * The monitors' master link against a scripted master in this process (PUB status, PULL
 * control): HELLO after connecting and until answered, re-sent when the master falls silent, and
 * a restarted master (new start time) noticed and reloaded.
 */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  masterControlProtocol,
  masterHello,
  monitorStatsProtocol,
  slaveHello,
} from "../../src/protocols/mod.ts";
import { MasterClient } from "../../src/clients/monitor.ts";
import { waitFor } from "../master/helpers.ts";

const status = monitorStatsProtocol.reversed();

/** A master that answers each HELLO with its own HELLO (start time `started`) and one slave. */
function scriptedMaster(context: Context, id: string, started: Date) {
  const pub = context.socket("PUB", { linger: 0 });
  pub.bind(`ipc:///tmp/piw-client-test-status-${id}`);
  const pull = context.socket("PULL", { linger: 0 });
  pull.bind(`ipc:///tmp/piw-client-test-control-${id}`);
  const received: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const frames = await pull.recv(50);
      if (!frames) continue;
      const msg = decodeMessage(masterControlProtocol, frames[0]);
      received.push(
        msg.name === "HELLO"
          ? "HELLO"
          : `${msg.name} ${typeof msg.data === "number" ? msg.data : ""}`.trim(),
      );
      if (msg.name !== "HELLO") continue;
      const hello = masterHello.example();
      hello[0] = started;
      pub.trySend([encodeMessage(status, "HELLO", hello)]);
      pub.trySend([
        encodeMessage(status, "SLAVE", [7, new Date(), "HELLO", slaveHello.example()]),
      ]);
    }
  })();
  return {
    received,
    async stop() {
      running = false;
      await loop;
      pub.close();
      pull.close();
    },
  };
}

Deno.test({
  name: "the master link greets, notices silence and reloads a restarted master",
  async fn() {
    const id = crypto.randomUUID().slice(0, 8);
    const context = new Context();
    let master = scriptedMaster(context, id, new Date(Date.UTC(2026, 0, 1)));
    const client = new MasterClient(
      `ipc:///tmp/piw-client-test-status-${id}`,
      `ipc:///tmp/piw-client-test-control-${id}`,
      { helloDelayMs: 200, silenceMs: 1_000 },
    );
    try {
      client.start();
      await waitFor(() => client.link === "connected", 10_000, "the first HELLO answered");
      // The slave's status follows the master's HELLO as a message of its own.
      await waitFor(() => client.farm.slaves.has(7), 5_000, "slave 7's status");
      assert.equal(client.notice, "connected");
      client.send({ name: "KILL", slaveId: 7 });
      client.send({ name: "SLEEP", slaveId: null });
      client.send({ name: "QUIT" });
      await waitFor(() => master.received.includes("QUIT"), 5_000, "commands at the master");
      assert.deepEqual(master.received.slice(-3), ["KILL 7", "SLEEP", "QUIT"]);

      // The master goes away: the link is lost, then a new master (new start time) answers.
      await master.stop();
      await waitFor(() => client.link === "lost", 5_000, "the silence noticed");
      assert.match(client.notice, /reconnecting/);
      master = scriptedMaster(context, id, new Date(Date.UTC(2026, 0, 2)));
      await waitFor(() => client.link === "connected", 15_000, "the new master greeted");
      assert.equal(client.notice, "master restarted; reloading");
      assert.equal(client.farm.master.hello![0].getTime(), Date.UTC(2026, 0, 2));
    } finally {
      await client.close();
      await master.stop();
      await context.close();
    }
  },
});
