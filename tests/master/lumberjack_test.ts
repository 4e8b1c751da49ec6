/** Lumberjack writes logger hits to the database in batches and reports download counts. */
import assert from "node:assert/strict";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  bigBrotherProtocol,
  decodeMessage,
  encodeMessage,
  lumberjackProtocol,
} from "../../src/protocols/mod.ts";
import { openClient } from "../../src/db/mod.ts";
import { encodeCbor } from "../../src/protocols/cbor.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import { Lumberjack } from "../../src/master/tasks/lumberjack.ts";
import {
  captureLogs,
  ENGINES,
  startTask,
  testConfig,
  type TestDatabase,
  testDatabase,
  waitFor,
} from "./helpers.ts";

const send = lumberjackProtocol.reversed();
const T = new Date("2026-11-24T00:41:26Z");
const DETAILS = [
  "armv7l",
  "Raspbian",
  "11",
  "Linux",
  "6.1",
  "CPython",
  "3.9.2",
  "pip",
  "23",
  "52",
] as const;
const NO_DETAILS = [null, null, null, null, null, null, null, null, null, null] as const;

type Stoppable<T> = T & { stop(): Promise<void> };

/** Messages back to back in one frame, as piw's logger sends them. */
function joined(messages: Uint8Array[]): Uint8Array {
  return new Uint8Array(messages.flatMap((message) => [...message]));
}

/** What a Lumberjack test works with (the task, its queues, its database and its logs). */
interface JackEnv {
  db: TestDatabase;
  oracle: Stoppable<TheOracle>;
  jack: Stoppable<Lumberjack>;
  /** Connected to the log queue, as piw logger is. */
  push: Socket;
  /** BigBrother's stats queue. */
  stats: Socket;
  logs: ReturnType<typeof captureLogs>;
}

/** Run `body` against a Lumberjack on a fresh `kind` database (with the oracle it may use). */
async function withLumberjack(kind: "postgres" | "pglite", body: (env: JackEnv) => Promise<void>) {
  const db = await testDatabase(kind);
  const config = testConfig({ dsn: db.dsn, dbEngine: kind });
  const context = new Context();
  const stats = context.socket("PULL", { linger: 0 });
  stats.bind(config.statsQueue);
  const seraph = await startTask(new Seraph(context, config));
  const oracle = await startTask(new TheOracle(context, config));
  const logs = captureLogs("warning");
  const jack = await startTask(new Lumberjack(context, config));
  const push = context.socket("PUSH", { linger: 1000 });
  push.connect(config.logQueue);
  try {
    await body({ db, oracle, jack, push, stats, logs });
  } finally {
    logs.stop();
    push.close(0);
    stats.close(0);
    await jack.stop();
    await oracle.stop();
    await seraph.stop();
    await context.close();
    await db.remove();
  }
}

for (const kind of ENGINES) {
  Deno.test({
    name: `Lumberjack writes every kind of hit and skips bad rows (${kind})`,
    fn: () =>
      withLumberjack(kind, async ({ db, oracle, jack, push, logs }) => {
        const msgs = [
          encodeMessage(send, "LOGDOWNLOAD", [
            "foo-1.0-py3-none-any.whl",
            "192.0.2.1",
            T,
            ...DETAILS,
          ]),
          encodeMessage(send, "LOGDOWNLOAD", [
            "foo-1.0-py3-none-any.whl",
            "2001:db8::1",
            T,
            ...NO_DETAILS,
          ]),
          encodeMessage(send, "LOGSEARCH", ["foo", "192.0.2.2", T, ...DETAILS]),
          encodeMessage(send, "LOGPROJECT", ["foo", "192.0.2.3", T, "mozilla"]),
          encodeMessage(send, "LOGJSON", ["foo", "192.0.2.4", T, "curl"]),
          encodeMessage(send, "LOGPAGE", ["home", "192.0.2.5", T, "wget"]),
          // Not an IP: the database refuses it, and only this row is lost.
          encodeMessage(send, "LOGPAGE", ["home", "example.org", T, "wget"]),
        ];
        // A malformed message among them is logged and dropped; the rest are written.
        const malformed = encodeCbor(["LOGPAGE", ["home", "192.0.2.6", T, null]]);
        for (const msg of [...msgs.slice(0, 3), malformed]) assert.ok(await push.send([msg]));
        // piw's logger sends many records back to back in one frame.
        assert.ok(await push.send([joined(msgs.slice(3))]));
        const received = () => [...jack.counts.values()].reduce((a, b) => a + b, 0);
        await waitFor(() => received() === msgs.length, 10_000, "every hit received");
        await jack.stop(); // stopping flushes the buffer
        assert.deepEqual(Object.fromEntries(jack.counts), {
          LOGDOWNLOAD: 2,
          LOGSEARCH: 1,
          LOGPROJECT: 1,
          LOGJSON: 1,
          LOGPAGE: 2,
        });
        await oracle.stop();
        const admin = await openClient(db.dsn);
        try {
          const rows = await admin.query<Record<string, unknown>>(
            "SELECT filename, host(accessed_by) AS host, accessed_at, arch, py_version, " +
              "setuptools_version FROM downloads ORDER BY host",
          );
          assert.deepEqual(
            rows.map((r) => [r.filename, r.host, (r.accessed_at as Date).toISOString(), r.arch]),
            [
              ["foo-1.0-py3-none-any.whl", "192.0.2.1", T.toISOString(), "armv7l"],
              ["foo-1.0-py3-none-any.whl", "2001:db8::1", T.toISOString(), null],
            ],
          );
          assert.equal(rows[0].setuptools_version, "52");
          const count = async (table: string) =>
            Number((await admin.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
          assert.equal(await count("searches"), 1);
          assert.equal(await count("project_page_hits"), 1);
          assert.equal(await count("project_json_downloads"), 1);
          assert.equal(await count("web_page_hits"), 1);
        } finally {
          await admin.close();
        }
        assert.ok(
          logs.lines.some((line) => line.includes("dropped LOGPAGE home")),
          logs.lines.join("\n"),
        );
        assert.equal(
          logs.lines.filter((line) => line.includes("dropped malformed message")).length,
          1,
          logs.lines.join("\n"),
        );
      }),
  });
}

Deno.test({
  name: "Lumberjack reports the minute's downloads to BigBrother",
  fn: () =>
    withLumberjack("pglite", async ({ jack, push, stats }) => {
      for (let i = 0; i < 3; i++) {
        await push.send([
          encodeMessage(send, "LOGDOWNLOAD", ["a-1-py3-none-any.whl", "10.0.0.1", T, ...DETAILS]),
        ]);
      }
      await waitFor(() => jack.counts.get("LOGDOWNLOAD") === 3);
      // The report is a timer; run it now rather than wait a minute.
      jack.report();
      const frames = await stats.recv(5000);
      assert.ok(frames);
      assert.deepEqual(decodeMessage(bigBrotherProtocol, frames[0]), {
        name: "LOGDOWNLOAD",
        data: 3,
      });
      assert.equal(jack.counts.size, 0);
    }),
});

for (const kind of ENGINES) {
  Deno.test({
    name: `Lumberjack finds the few bad rows of a large batch and keeps the rest (${kind})`,
    fn: () =>
      withLumberjack(kind, async ({ db, oracle, jack, push, logs }) => {
        // 2,000 page hits in frames of 100; two hosts are names, not addresses.
        const bad = new Set([137, 1590]);
        const hits = Array.from({ length: 2000 }, (_, i) =>
          encodeMessage(send, "LOGPAGE", [
            "home",
            bad.has(i) ? `host${i}.example.org` : `10.0.${i >> 8}.${i & 255}`,
            T,
            "wget",
          ]));
        for (let i = 0; i < hits.length; i += 100) {
          assert.ok(await push.send([joined(hits.slice(i, i + 100))]));
        }
        await waitFor(() => jack.received === hits.length, 10_000, "every hit received");
        await jack.stop(); // stopping flushes the buffer
        await oracle.stop();
        const admin = await openClient(db.dsn);
        try {
          const [{ n }] = await admin.query<{ n: number }>(
            "SELECT count(*) AS n FROM web_page_hits",
          );
          assert.equal(Number(n), hits.length - bad.size);
        } finally {
          await admin.close();
        }
        const dropped = logs.lines.filter((line) => line.includes("dropped LOGPAGE"));
        assert.equal(dropped.length, 2, logs.lines.join("\n"));
        for (const i of bad) assert.ok(dropped.some((line) => line.includes(`host${i}.`)));
      }),
  });
}

Deno.test({
  name: "Lumberjack logs one line for a frame of junk, however many bad records it holds",
  fn: () =>
    withLumberjack("pglite", async ({ jack, push, logs }) => {
      const good = encodeMessage(send, "LOGPAGE", ["home", "192.0.2.9", T, "wget"]);
      // Half a megabyte of zero bytes: as many CBOR items, none of them a message.
      assert.ok(await push.send([joined([good, new Uint8Array(500_000)])]));
      for (let i = 0; i < 50; i++) assert.ok(await push.send([new Uint8Array(1000)]));
      assert.ok(await push.send([good]));
      await waitFor(() => jack.received === 2, 10_000, "both good records");
      await new Promise((resolve) => setTimeout(resolve, 200));
      const bad = logs.lines.filter((line) => line.includes("malformed"));
      // Ten lines a minute, each naming how much of its frame was dropped.
      assert.equal(bad.length, 10, bad.join("\n"));
      assert.match(bad[0], /dropped 101 malformed messages of a \d+-byte frame/);
    }),
});
