/**
 * TheSecretary over real libzmq: clients REQ to the web queue, a stand-in scribe (REP) records
 * what reaches it; merging, ordering, pass-through, deletes, pausing; saving and reloading the
 * buffer through the real oracles and database.
 */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  type MasterStats,
  type MessageOf,
  taskControlProtocol,
  theOracleProtocol,
  theScribeProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { controlAddress, type MasterConfig } from "../../src/master/task.ts";
import { DbClient } from "../../src/clients/db.ts";
import { TheSecretary } from "../../src/master/tasks/the_secretary.ts";
import { SecretaryClient } from "../../src/clients/secretary.ts";
import {
  captureLogs,
  delay,
  ENGINES,
  startOracles,
  startTask,
  testConfig,
  testDatabase,
  waitFor,
} from "./helpers.ts";

type ScribeMessage = MessageOf<typeof theScribeProtocol.recv>;

/**
 * A stand-in scribe: answers DONE to everything and records it, as sent (`messages`) and with
 * each PROJECTS unpacked into its PROJECT/BOTH requests (`received`).
 */
function fakeScribe(context: Context, config: MasterConfig, gate = Promise.resolve()) {
  const socket = context.socket("REP");
  socket.bind(config.scribeQueue);
  const received: ScribeMessage[] = [];
  const messages: ScribeMessage[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const frames = await socket.recv(50);
      if (!frames) continue;
      const msg = decodeMessage(theScribeProtocol, frames[0]);
      messages.push(msg);
      if (msg.name === "PROJECTS") {
        for (const [command, pkg] of msg.data) {
          received.push({ name: command as "PROJECT" | "BOTH", data: pkg });
        }
      } else received.push(msg);
      await gate;
      await socket.send([encodeMessage(theScribeProtocol, "DONE")]);
    }
  })();
  return {
    received,
    messages,
    async stop() {
      running = false;
      await loop;
      socket.close(0);
    },
  };
}

/** A stand-in oracle on the db queue: LOADRWP gives `saved`, SAVERWP records into it. */
function fakeOracle(context: Context, config: MasterConfig, saved: unknown[][] = []) {
  const socket = context.socket("REP");
  socket.bind(config.dbQueue);
  let running = true;
  const loop = (async () => {
    while (running) {
      const frames = await socket.recv(50);
      if (!frames) continue;
      const msg = decodeMessage(theOracleProtocol, frames[frames.length - 1]);
      if (msg.name === "SAVERWP") saved.splice(0, saved.length, ...msg.data);
      const data = msg.name === "LOADRWP" ? saved : null;
      await socket.send([encodeMessage(theOracleProtocol, "OK", data)]);
    }
  })();
  return {
    saved,
    async stop() {
      running = false;
      await loop;
      socket.close(0);
    },
  };
}

function homeStats(): MasterStats {
  return [
    new Date(),
    1,
    {},
    TimeDelta.fromSeconds(0),
    0,
    {},
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.0,
    0.0,
  ];
}

/** A secretary with stand-ins for the scribe and the oracle, and a client. */
async function withSecretary(
  fn: (ctx: {
    secretary: TheSecretary;
    client: SecretaryClient;
    scribe: ReturnType<typeof fakeScribe>;
    context: Context;
    config: MasterConfig;
  }) => Promise<void>,
  options: { holdMs?: number; scribeGate?: Promise<void> } = {},
): Promise<void> {
  const context = new Context();
  const config = testConfig();
  const oracle = fakeOracle(context, config);
  const scribe = fakeScribe(context, config, options.scribeGate);
  const secretary = await startTask(
    new TheSecretary(context, config, { holdMs: options.holdMs ?? 300, checkMs: 20 }),
  );
  const client = new SecretaryClient(context, config);
  try {
    await fn({ secretary, client, scribe, context, config });
  } finally {
    client.close();
    await secretary.stop();
    await scribe.stop();
    await oracle.stop();
    await context.close();
  }
}

const names = (msgs: ScribeMessage[]) => msgs.map((m) => `${m.name} ${JSON.stringify(m.data)}`);

Deno.test({
  name: "PROJECT and BOTH are merged per package and released in arrival order",
  async fn() {
    await withSecretary(async ({ secretary, client, scribe }) => {
      await client.send("PROJECT", "foo");
      const first = secretary.buffer.get("foo")!.addedAt;
      await delay(20);
      await client.send("PROJECT", "bar");
      await client.send("BOTH", "foo");
      await client.send("PROJECT", "foo");
      await client.send("BOTH", "baz");
      await client.send("PROJECT", "baz");
      // PROJECT upgraded to BOTH keeps its place and first timestamp; BOTH is never downgraded.
      assert.deepEqual([...secretary.buffer.values()].map((r) => [r.pkg, r.command]), [
        ["foo", "BOTH"],
        ["bar", "PROJECT"],
        ["baz", "BOTH"],
      ]);
      assert.equal(secretary.buffer.get("foo")!.addedAt, first);
      assert.deepEqual(scribe.received, []);
      await waitFor(() => scribe.received.length === 3, 5000, "release");
      assert.deepEqual(names(scribe.received), ['BOTH "foo"', 'PROJECT "bar"', 'BOTH "baz"']);
      await delay(400);
      assert.equal(scribe.received.length, 3);
    });
  },
});

Deno.test({
  name: "a backlog of rewrites reaches the scribe as PROJECTS batches, in order",
  async fn() {
    await withSecretary(async ({ secretary, client, scribe }) => {
      // As a rebuild of everything does: many packages at once, one of them twice.
      const pkgs = Array.from({ length: 1500 }, (_, i) => `pkg-${String(i).padStart(4, "0")}`);
      await client.send("PROJECTS", pkgs.map((p, i) => [i % 2 ? "PROJECT" : "BOTH", p]));
      await client.send("BOTH", "pkg-0001");
      await client.send("PROJECTS", [["bogus", "pkg-x"]]);
      assert.equal(secretary.buffer.size, 1500);
      await waitFor(() => scribe.received.length === 1500, 10_000, "release");
      assert.deepEqual(
        scribe.received.map((m) => [m.name, m.data]),
        pkgs.map((p, i) => [i % 2 && i !== 1 ? "PROJECT" : "BOTH", p]),
      );
      // At most 1,000 per message, so far fewer messages than rewrites.
      assert.ok(scribe.messages.every((m) => m.name === "PROJECTS"), names(scribe.messages)[0]);
      assert.ok(scribe.messages.length >= 2 && scribe.messages.length < 20);
      assert.ok(scribe.messages.every((m) => (m.data as unknown[]).length <= 1000));
      await waitFor(() => secretary.outbox.length === 0, 5000, "the outbox to empty");
    });
  },
});

Deno.test({
  name: "rewrites are held for the hold time (3 s in dev mode, 60 s otherwise)",
  async fn() {
    const logs = captureLogs("error"); // no oracle here: LOADRWP and SAVERWP time out
    try {
      for (const [devMode, holdMs] of [[true, 3000], [false, 60_000]] as const) {
        const context = new Context();
        const config = testConfig({ devMode, dbTimeout: 100 });
        const secretary = await startTask(new TheSecretary(context, config));
        assert.equal(secretary.holdMs, holdMs);
        await secretary.stop();
        await context.close();
      }
    } finally {
      logs.stop();
    }
    await withSecretary(async ({ client, scribe }) => {
      const sent = performance.now();
      await client.send("BOTH", "foo");
      await waitFor(() => scribe.received.length === 1, 5000, "release");
      assert.ok(performance.now() - sent >= 500, "released early");
    }, { holdMs: 500 });
  },
});

Deno.test({
  name: "PENDING counts the rewrites held and not yet written, down to 0",
  async fn() {
    await withSecretary(async ({ client, scribe }) => {
      assert.equal(await client.pending(), 0);
      await client.send("BOTH", "foo");
      await client.send("PROJECT", "bar");
      await client.send("PROJECT", "foo");
      assert.equal(await client.pending(), 2, "merged per package");
      await waitFor(() => scribe.received.length === 2, 5000, "release");
      await waitFor(async () => await client.pending() === 0, 5000, "nothing pending");
    }, { holdMs: 500 });
  },
});

Deno.test({
  name: "HOME, SEARCH and LOG pass straight through, in order",
  async fn() {
    await withSecretary(async ({ client, scribe }) => {
      await client.send("BOTH", "foo");
      await client.send("LOG", [42, "output"]);
      await client.send("SEARCH", { foo: [1, 2] });
      await client.send("HOME", [homeStats(), 0, 0]);
      await waitFor(() => scribe.received.length === 3, 2000, "pass-through");
      assert.deepEqual(scribe.received.map((m) => m.name), ["LOG", "SEARCH", "HOME"]);
      assert.deepEqual(scribe.received[0].data, [42, "output"]);
      await waitFor(() => scribe.received.length === 4, 5000, "release");
      assert.deepEqual(scribe.received[3], { name: "BOTH", data: "foo" });
    }, { holdMs: 1000 });
  },
});

Deno.test({
  name: "logs waiting for a busy scribe leave together as one LOGS, in order",
  async fn() {
    const gate = Promise.withResolvers<void>();
    await withSecretary(async ({ client, scribe }) => {
      await client.send("LOG", [1, "one"]);
      await waitFor(() => scribe.messages.length === 1, 2000, "first log at the scribe");
      try {
        // The scribe has not answered yet: these wait in the secretary.
        await client.send("LOGS", [[2, "two"], [3, "three"]]);
        await client.send("LOG", [4, "four"]);
      } finally {
        gate.resolve(); // else the stand-in scribe never stops
      }
      await waitFor(() => scribe.messages.length === 2, 2000, "the waiting logs");
      assert.deepEqual(scribe.messages[1], {
        name: "LOGS",
        data: [[2, "two"], [3, "three"], [4, "four"]],
      });
    }, { scribeGate: gate.promise });
  },
});

Deno.test({
  name: "DELPKG and DELVER pass through and drop the package's buffered rewrite",
  async fn() {
    await withSecretary(async ({ secretary, client, scribe }) => {
      await client.send("PROJECT", "foo");
      await client.send("BOTH", "bar");
      await client.send("PROJECT", "baz");
      await client.send("DELPKG", "foo");
      await client.send("DELVER", ["bar", "1.0"]);
      assert.deepEqual([...secretary.buffer.keys()], ["baz"]);
      await waitFor(() => scribe.received.length === 3, 5000, "release");
      await delay(300);
      assert.deepEqual(names(scribe.received), [
        'DELPKG "foo"',
        'DELVER ["bar","1.0"]',
        'PROJECT "baz"',
      ]);
    });
  },
});

Deno.test({
  name: "while paused nothing leaves the buffer; RESUME releases it",
  async fn() {
    await withSecretary(async ({ secretary, client, scribe, context }) => {
      const control = context.socket("PUSH");
      control.connect(controlAddress("the_secretary"));
      try {
        await control.send([encodeMessage(taskControlProtocol.reversed(), "PAUSE")]);
        await waitFor(() => secretary.paused, 2000, "pause");
        await client.send("BOTH", "foo");
        await client.send("HOME", [homeStats(), 0, 0]); // a pausing task still answers and passes on
        await waitFor(() => scribe.received.length === 1, 2000, "pass-through");
        await delay(400);
        assert.deepEqual(scribe.received.map((m) => m.name), ["HOME"]);
        await control.send([encodeMessage(taskControlProtocol.reversed(), "RESUME")]);
        await waitFor(() => scribe.received.length === 2, 2000, "release after resume");
        assert.deepEqual(scribe.received[1], { name: "BOTH", data: "foo" });
      } finally {
        control.close(0);
      }
    }, { holdMs: 100 });
  },
});

Deno.test({
  name: "a malformed request is answered DONE and logged",
  async fn() {
    const logs = captureLogs("error");
    try {
      await withSecretary(async ({ context, config, client, scribe }) => {
        const raw: Socket = context.socket("REQ");
        raw.connect(config.webQueue);
        try {
          await raw.send([new TextEncoder().encode("not cbor at all \xff")]);
          const reply = await raw.recv(2000);
          assert.ok(reply, "no reply");
          assert.equal(decodeMessage(theScribeProtocol.reversed(), reply[0]).name, "DONE");
        } finally {
          raw.close(0);
        }
        // And the secretary still works.
        await client.send("LOG", [1, "x"]);
        await waitFor(() => scribe.received.length === 1, 2000, "after malformed");
      });
      assert.ok(
        logs.lines.some((l) => l.includes("master.the_secretary") && l.includes("malformed")),
      );
    } finally {
      logs.stop();
    }
  },
});

for (const kind of ENGINES) {
  Deno.test({
    name: `the buffer is saved at shutdown and reloaded at start (${kind})`,
    async fn() {
      const db = await testDatabase(kind);
      const context = new Context();
      const config = testConfig({ dsn: db.dsn });
      const oracles = await startOracles(context, config);
      const scribe = fakeScribe(context, config);
      try {
        const first = await startTask(new TheSecretary(context, config, { holdMs: 60_000 }));
        const client = new SecretaryClient(context, config);
        await client.send("PROJECT", "foo");
        await delay(5); // the database orders saved rows by time, then name
        await client.send("BOTH", "bar");
        await client.send("BOTH", "foo");
        client.close();
        const before = [...first.buffer.values()].map((r) => ({ ...r }));
        await first.stop();
        const dbClient = new DbClient(context, config);
        const saved = await dbClient.call("LOADRWP");
        dbClient.close();
        assert.deepEqual(saved.map(([pkg, , command]) => [pkg, command]), [
          ["foo", "BOTH"],
          ["bar", "BOTH"],
        ]);
        const second = await startTask(new TheSecretary(context, config, { holdMs: 60_000 }));
        try {
          const after = [...second.buffer.values()];
          assert.deepEqual(after.map((r) => [r.pkg, r.command]), [["foo", "BOTH"], [
            "bar",
            "BOTH",
          ]]);
          // Timestamps survive the round trip (to the millisecond at least).
          for (const [i, r] of after.entries()) {
            assert.equal(r.addedAt.getTime(), before[i].addedAt.getTime());
          }
        } finally {
          await second.stop();
        }
        assert.deepEqual(scribe.received, []);
      } finally {
        await scribe.stop();
        await oracles.stop();
        await context.close();
        await db.remove();
      }
    },
  });
}

Deno.test({
  name: "a PUBLISHED page leaves at once with the package's buffered rewrite; another waits",
  async fn() {
    await withSecretary(async ({ secretary, client, scribe }) => {
      await client.send("BOTH", "foo"); // CloudGazer's, for the new release
      await client.send("PROJECT", "bar");
      await client.send("PUBLISHED", "foo"); // the release's first wheel
      await waitFor(() => scribe.received.length === 1, 10_000, "the published page");
      assert.deepEqual(scribe.received, [{ name: "BOTH", data: "foo" }]);
      assert.deepEqual([...secretary.buffer.keys()], ["bar"], "foo's rewrite went with it");
      // A second build of foo within the hold waits like any rewrite, merged with others.
      await client.send("PUBLISHED", "foo");
      await client.send("PUBLISHED", "foo");
      await delay(500);
      assert.equal(scribe.received.length, 1);
      assert.deepEqual(secretary.buffer.get("foo")?.command, "BOTH");
      // Another package's first build is not held back by foo's.
      await client.send("PUBLISHED", "baz");
      await waitFor(() => scribe.received.length === 2, 10_000, "baz's page");
      assert.deepEqual(scribe.received[1], { name: "BOTH", data: "baz" });
    }, { holdMs: 60_000 });
  },
});
