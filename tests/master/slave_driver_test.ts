/**
 * SlaveDriver conversations, message by message, with a scripted slave over real libzmq (the
 * scenarios of piwheels' test_slave_driver), fake database and FileJuggler clients.
 */
import assert from "node:assert/strict";
import {
  bigBrotherProtocol,
  decodeMessage,
  encodeCbor,
  encodeMessage,
  monitorStatsProtocol,
  NO_DATA,
  type SlaveEvent,
  slaveExtrasProtocol,
} from "../../src/protocols/mod.ts";
import { captureLogs, delay, waitFor } from "./helpers.ts";
import {
  builtData,
  type DriverHarness,
  fileTuple,
  helloData,
  type Request,
  type ScriptedSlave,
  startDriver,
  statsData,
} from "./slave_harness.ts";
import type { SlaveDriverOptions } from "../../src/master/tasks/slave_driver.ts";
import type { BuildState } from "../../src/master/states.ts";
import type { MasterConfig } from "../../src/master/config.ts";

const IDLE = () => ({ name: "IDLE" as const, data: statsData() });
const BUSY = () => ({ name: "BUSY" as const, data: statsData() });
const SENT: Request = { name: "SENT", data: NO_DATA };
const WHEEL = "foo-1.0-cp311-cp311-linux_armv7l.whl";
const TWIN = "foo-1.0-cp311-cp311-linux_armv6l.whl";

/** Run `body` against a fresh driver, with its log (warnings and errors) captured. */
async function withDriver(
  body: (h: DriverHarness, logs: string[]) => Promise<void>,
  options: SlaveDriverOptions = {},
  overrides: Partial<MasterConfig> = {},
): Promise<void> {
  const logs = captureLogs("warning");
  const h = await startDriver(options, overrides);
  try {
    await body(h, logs.lines);
  } finally {
    await h.close();
    logs.stop();
  }
}

const errors = (logs: string[]) => logs.filter((l) => !/: hello \(|: shutdown/.test(l));

/** A slave that said HELLO and was given `foo 1.0` to build. */
async function building(h: DriverHarness): Promise<ScriptedSlave> {
  await h.queue({ cp311: [["foo", "1.0"]] });
  const slave = h.slave();
  await slave.hello();
  assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
  return slave;
}

const names = (events: SlaveEvent[]) => events.map((e) => e[2]);

Deno.test("HELLO is answered ACK with a new id and the index URL, and announced", async () => {
  await withDriver(async (h) => {
    const first = h.slave();
    assert.deepEqual(await first.call({ name: "HELLO", data: helloData() }), {
      name: "ACK",
      data: [1, "https://pypi.org/simple"],
    });
    const second = h.slave();
    assert.equal(await second.hello({ label: "other" }), 2);
    const events = await h.events();
    assert.deepEqual(names(events), ["HELLO", "ACK", "HELLO", "ACK"]);
    assert.equal(events[0][0], 1);
    assert.equal((events[0][3] as unknown[])[5], "piw-test");
    assert.deepEqual(events[1][3], [1, "https://pypi.org/simple"]);
    assert.equal(h.driver.slaves.size, 2);
  });
});

Deno.test("IDLE with an empty queue is answered SLEEP false; stats are published", async () => {
  await withDriver(async (h) => {
    const slave = h.slave();
    await slave.hello();
    await h.events();
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: false });
    const events = await h.events();
    assert.deepEqual(names(events), ["STATS", "SLEEP"]);
    assert.equal((events[0][3] as unknown[]).length, 9);
    assert.equal(events[1][3], false);
    const [state] = h.driver.slaves.values();
    assert.equal(state.stats.length, 1);
  });
});

Deno.test("the status events of one burst go to the main thread in one message, a frame each", async () => {
  await withDriver(async (h) => {
    const slave = h.slave();
    await slave.hello();
    await h.events();
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: false });
    // IDLE's STATS and the SLEEP reply: one wake-up of the main thread, not two.
    const frames = await h.status.recv(3000);
    assert.ok(frames, "no status message");
    const events = frames.map((f) => decodeMessage(monitorStatsProtocol, f));
    assert.deepEqual(events.map((e) => [e.name, (e.data as SlaveEvent)[2]]), [
      ["SLAVE", "STATS"],
      ["SLAVE", "SLEEP"],
    ]);
  });
});

Deno.test("QUEUE fills every build ABI's queue and IDLE dispatches oldest first", async () => {
  await withDriver(async (h) => {
    const sizes = await h.queue({ cp311: [["foo", "1.0"], ["bar", "2.0"]], cp37m: [["x", "1"]] });
    // cp39 has no work but is a build ABI: it still gets a (empty) queue.
    assert.deepEqual(sizes, { cp311: 2, cp39: 0, cp37m: 1 });
    const slave = h.slave();
    await slave.hello();
    assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
    assert.deepEqual(h.driver.queues.sizes(), { cp311: 1, cp39: 0, cp37m: 1 });
    const other = h.slave();
    await other.hello({ abi: "cp39" });
    assert.deepEqual(await other.call(IDLE()), { name: "SLEEP", data: false });
  });
});

Deno.test("a slave whose ABI is not a build ABI only ever sleeps", async () => {
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"]] });
    const slave = h.slave();
    await slave.hello({ abi: "cp27mu" });
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: false });
  });
});

Deno.test("a dispatched version is not handed to a second slave by a later QUEUE", async () => {
  await withDriver(async (h) => {
    await building(h);
    await h.queue({ cp311: [["foo", "1.0"], ["bar", "2.0"]] });
    const second = h.slave();
    await second.hello();
    assert.deepEqual(await second.call(IDLE()), { name: "BUILD", data: ["bar", "2.0"] });
    const third = h.slave();
    await third.hello();
    assert.deepEqual(await third.call(IDLE()), { name: "SLEEP", data: false });
  });
});

Deno.test("BUSY is answered CONT, which is not published", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    await h.events();
    assert.deepEqual(await slave.call(BUSY()), { name: "CONT", data: NO_DATA });
    assert.deepEqual(names(await h.events()), ["STATS"]);
  });
});

Deno.test("a failed BUILT is logged and answered DONE; the slave may then IDLE", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    assert.deepEqual(await slave.call({ name: "BUILT", data: builtData(false) }), {
      name: "DONE",
      data: NO_DATA,
    });
    assert.equal(h.db.builds.length, 1);
    const [build] = h.db.builds;
    assert.deepEqual(build.slice(0, 5), [1, "foo", "1.0", "cp311", false]);
    assert.equal(build[6], "build log");
    assert.deepEqual(build[7], []);
    assert.deepEqual(h.fs.expected, []);
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: false });
  });
});

Deno.test("a successful BUILT is fetched file by file, verified, logged, then DONE", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    const other = "foo-1.0-py3-none-any.whl";
    let reply = await slave.call({
      name: "BUILT",
      data: builtData(true, [fileTuple(WHEEL), fileTuple(other)]),
    });
    assert.deepEqual(reply, { name: "SEND", data: WHEEL });
    assert.deepEqual(h.fs.expected, [[1, WHEEL]]);
    assert.equal(h.db.builds.length, 0, "not logged before the files are in");
    reply = await slave.call(SENT);
    assert.deepEqual(reply, { name: "SEND", data: other });
    reply = await slave.call(SENT);
    assert.deepEqual(reply, { name: "DONE", data: NO_DATA });
    assert.deepEqual(h.fs.verified, [[1, "foo"], [1, "foo"]]);
    assert.equal(h.db.builds.length, 1);
    const files = h.db.builds[0][7].map((f) => f[0]);
    // The armv6l twin of the armv7l wheel is logged, never transferred.
    assert.deepEqual(files, [WHEEL, TWIN, other].sort());
    const twin = h.db.builds[0][7].find((f) => f[0] === TWIN)!;
    assert.equal(twin[7], "linux_armv6l");
    assert.equal(twin[2], fileTuple(WHEEL)[2]);
    assert.deepEqual(names(await h.events()).filter((n) => n !== "STATS").slice(-4), [
      "BUILD",
      "SEND",
      "SEND",
      "DONE",
    ]);
  });
});

Deno.test("a file that fails to verify is asked for again, then the build completes", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    h.fs.outcomes = [{ status: "failed", reason: "sha256 mismatch" }, { status: "staged" }];
    await slave.call({ name: "BUILT", data: builtData(true, [fileTuple(WHEEL)]) });
    assert.deepEqual(await slave.call(SENT), { name: "SEND", data: WHEEL });
    assert.deepEqual(h.fs.expected, [[1, WHEEL], [1, WHEEL]]);
    assert.deepEqual(await slave.call(SENT), { name: "DONE", data: NO_DATA });
    assert.equal(h.db.builds.length, 1);
    assert.equal(h.db.builds[0][4], true);
  });
});

Deno.test("a file that never verifies is given up after maxVerifyFailures, unlogged", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    h.fs.outcomes = Array(3).fill({ status: "failed", reason: "bad" });
    await slave.call({ name: "BUILT", data: builtData(true, [fileTuple(WHEEL)]) });
    assert.equal((await slave.call(SENT)).name, "SEND");
    assert.equal((await slave.call(SENT)).name, "SEND");
    assert.deepEqual(await slave.call(SENT), { name: "DONE", data: NO_DATA });
    assert.equal(h.db.builds.length, 0);
  }, { maxVerifyFailures: 3 });
});

Deno.test("a file FileJuggler refuses to publish turns the build into a logged failure", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    h.fs.outcomes = [{ status: "refused", reason: "published bytes never change" }];
    await slave.call({ name: "BUILT", data: builtData(true, [fileTuple(WHEEL)]) });
    assert.deepEqual(await slave.call(SENT), { name: "DONE", data: NO_DATA });
    const [build] = h.db.builds;
    assert.equal(build[4], false);
    assert.deepEqual(build[7], []);
    assert.match(build[6], /published bytes never change/);
  });
});

Deno.test("hostile or foreign filenames in BUILT are never fetched; the build fails", async () => {
  const hostile = [
    "../../etc-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-any.whl/../../x.whl",
    "foo-1.0_RC1-py3-none-any.whl",
    "foo-1.0.tar.gz",
    "bar-1.0-py3-none-any.whl",
  ];
  for (const filename of hostile) {
    await withDriver(async (h, logs) => {
      const slave = await building(h);
      const reply = await slave.call({
        name: "BUILT",
        data: builtData(true, [fileTuple("foo-1.0-py3-none-any.whl"), fileTuple(filename)]),
      });
      assert.deepEqual(reply, { name: "DONE", data: NO_DATA }, filename);
      assert.deepEqual(h.fs.expected, []);
      assert.equal(h.db.builds[0][4], false);
      assert.deepEqual(h.db.builds[0][7], []);
      assert.ok(logs.some((l) => l.includes("rejected file")), filename);
    });
  }
});

Deno.test("out-of-sequence messages and invalid data get DIE", async () => {
  const cases: [string, (s: ScriptedSlave) => Promise<unknown>][] = [
    ["BUILT after ACK", (s) => s.send({ name: "BUILT", data: builtData(false) })],
    ["SENT after ACK", (s) => s.send(SENT)],
    ["BUSY after ACK", (s) => s.send(BUSY())],
    ["invalid CBOR", (s) => s.sendRaw(Uint8Array.of(0xff, 0x00))],
    ["float as int", (s) => s.sendRaw(encodeCbor(["IDLE", [new Date(), 1.5]]))],
    ["unknown message", (s) => s.sendRaw(encodeCbor("FOO"))],
  ];
  for (const [what, act] of cases) {
    await withDriver(async (h, logs) => {
      const slave = h.slave();
      await slave.hello();
      await act(slave);
      assert.deepEqual(await slave.reply(), { name: "DIE", data: NO_DATA }, what);
      assert.equal(errors(logs).length, 1, `${what}: ${logs}`);
    });
  }
});

Deno.test("IDLE while building is a protocol error: DIE, and the build is queued again", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    assert.deepEqual(await slave.call(IDLE()), { name: "DIE", data: NO_DATA });
    assert.deepEqual(h.driver.queues.sizes().cp311, 1);
  });
});

Deno.test("a peer that does not start with HELLO is logged and not answered", async () => {
  await withDriver(async (h, logs) => {
    const slave = h.slave();
    await slave.send(IDLE());
    assert.equal(await slave.reply(300), null);
    const garbage = h.slave();
    await garbage.sendRaw(Uint8Array.of(0x01, 0x02));
    assert.equal(await garbage.reply(300), null);
    assert.equal(h.driver.slaves.size, 0);
    assert.equal(errors(logs).length, 2, logs.join("\n"));
    assert.match(logs[0], /invalid first message .*IDLE/);
  });
});

Deno.test("BYE removes the slave without a reply, publishes DIE and re-queues its build", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    await h.events();
    await slave.send({ name: "BYE", data: NO_DATA });
    await waitFor(() => h.driver.slaves.size === 0);
    const event = await h.event();
    assert.deepEqual(event?.slice(2), ["DIE", NO_DATA]);
    assert.equal(h.driver.queues.sizes().cp311, 1);
    const next = h.slave();
    await next.hello();
    assert.deepEqual(await next.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
  });
});

Deno.test("KILL makes the slave's next IDLE DIE; KILL of another id changes nothing", async () => {
  await withDriver(async (h) => {
    const slave = h.slave();
    const id = await slave.hello();
    await h.control("KILL", id + 1);
    await h.control("HELLO"); // processed in order: once replayed, KILL was handled
    await waitFor(async () => (await h.events()).some((e) => e[2] === "HELLO"));
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: false });
    await h.control("KILL", id);
    const [state] = h.driver.slaves.values();
    await waitFor(() => state.killed);
    assert.deepEqual(await slave.call(IDLE()), { name: "DIE", data: NO_DATA });
  });
});

Deno.test("SKIP abandons the build: BUSY gets DONE, and a BUILT is discarded", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    await h.control("SKIP", null);
    const [state] = h.driver.slaves.values();
    await waitFor(() => state.skipped);
    assert.deepEqual(await slave.call(BUSY()), { name: "DONE", data: NO_DATA });
    assert.equal(state.skipped, false, "DONE clears the flag");
    await h.queue({ cp311: [["bar", "2.0"]] });
    assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["bar", "2.0"] });
    await h.control("SKIP", state.slaveId);
    await waitFor(() => state.skipped);
    const reply = await slave.call({ name: "BUILT", data: builtData(true, [fileTuple(WHEEL)]) });
    assert.deepEqual(reply, { name: "DONE", data: NO_DATA });
    assert.equal(h.db.builds.length, 0);
    assert.deepEqual(h.fs.expected, []);
  });
});

Deno.test("per-slave SLEEP pauses only that slave until WAKE", async () => {
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"], ["bar", "2.0"]] });
    const sleepy = h.slave();
    const sleepyId = await sleepy.hello();
    const busy = h.slave();
    await busy.hello();
    await h.control("SLEEP", sleepyId);
    const state = [...h.driver.slaves.values()].find((s) => s.slaveId === sleepyId)!;
    await waitFor(() => state.paused);
    assert.deepEqual(await sleepy.call(IDLE()), { name: "SLEEP", data: true });
    assert.deepEqual(await busy.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
    await h.control("WAKE", sleepyId);
    await waitFor(() => !state.paused);
    assert.deepEqual(await sleepy.call(IDLE()), { name: "BUILD", data: ["bar", "2.0"] });
  });
});

Deno.test("a paused master answers IDLE with SLEEP true until RESUME", async () => {
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"]] });
    const slave = h.slave();
    await slave.hello();
    await h.control("PAUSE");
    await waitFor(() => h.driver.paused);
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: true });
    await h.control("RESUME");
    await waitFor(() => !h.driver.paused);
    assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
  });
});

Deno.test("a silent slave expires: monitors get DIE null and its build is re-queued", async () => {
  await withDriver(async (h, logs) => {
    await h.queue({ cp311: [["foo", "1.0"]] });
    const slave = h.slave();
    await slave.hello({ busyMs: 300 });
    assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
    await h.events();
    await waitFor(() => h.driver.slaves.size === 0, 3000, "expiry");
    const event = await h.event();
    assert.deepEqual(event?.slice(2), ["DIE", null]);
    assert.ok(logs.some((l) => /timed out while building foo 1\.0/.test(l)));
    const next = h.slave();
    await next.hello();
    assert.deepEqual(await next.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
  }, { expiryIntervalMs: 50 });
});

Deno.test("a slave that keeps talking does not expire", async () => {
  await withDriver(async (h) => {
    const slave = h.slave();
    await slave.hello({ busyMs: 300 });
    for (let i = 0; i < 6; i++) {
      await slave.call(IDLE());
      await delay(100);
    }
    assert.equal(h.driver.slaves.size, 1);
  }, { expiryIntervalMs: 50 });
});

Deno.test("DELVER/DELPKG drop queued builds for an hour and skip running ones", async () => {
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"], ["foo", "2.0"], ["bar", "1.0"], ["baz", "1.0"]] });
    const slave = h.slave();
    await slave.hello();
    assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
    await h.skip("foo", "1.0");
    assert.deepEqual(await slave.call(BUSY()), { name: "DONE", data: NO_DATA });
    await h.skip("bar", null);
    assert.deepEqual(h.driver.queues.sizes().cp311, 2);
    // An architect query that predates the deletion brings nothing back.
    await h.queue({ cp311: [["foo", "1.0"], ["bar", "1.0"], ["baz", "1.0"]] });
    assert.deepEqual(h.driver.queues.sizes().cp311, 1);
    assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["baz", "1.0"] });
  });
});

Deno.test("monitor HELLO replays every slave: HELLO, its stats, its last reply", async () => {
  await withDriver(async (h) => {
    const a = h.slave();
    await a.hello({ label: "a" });
    await a.call(IDLE());
    const b = h.slave();
    await b.hello({ label: "b" });
    await h.events();
    await h.control("HELLO");
    const events: SlaveEvent[] = [];
    while (events.length < 5) events.push((await h.event())!);
    assert.deepEqual(events.map((e) => [e[0], e[2]]), [
      [1, "HELLO"],
      [1, "STATS"],
      [1, "SLEEP"],
      [2, "HELLO"],
      [2, "ACK"],
    ]);
  });
});

Deno.test("HELLO again from a known slave starts afresh with a new id", async () => {
  await withDriver(async (h) => {
    const slave = await building(h);
    assert.equal(await slave.hello(), 2);
    assert.equal(h.driver.slaves.size, 1);
    assert.equal(h.driver.queues.sizes().cp311, 1, "the abandoned build is queued again");
  });
});

Deno.test("a database outage while logging: DONE, the build journaled, recorded once it returns", async () => {
  await withDriver(async (h, logs) => {
    const slave = await building(h);
    h.db.fail = true;
    assert.deepEqual(await slave.call({ name: "BUILT", data: builtData(false) }), {
      name: "DONE",
      data: NO_DATA,
    });
    assert.ok(logs.some((l) => l.includes("database down")));
    assert.equal(h.driver.pendingBuilds, 1);
    // The database still queues the version: it is not handed out again meanwhile.
    await h.queue({ cp311: [["foo", "1.0"]] });
    assert.deepEqual(await slave.call(IDLE()), { name: "SLEEP", data: false });
    assert.equal(h.db.builds.length, 0);
    h.db.fail = false;
    await waitFor(() => h.db.builds.length === 1, 10_000, "the journaled build recorded");
    assert.equal(h.db.builds[0][1], "foo");
    assert.equal(h.db.builds[0][4], false);
    await waitFor(() => h.driver.pendingBuilds === 0, 5_000, "the journal emptied");
  }, { retryMs: [100, 200] });
});

Deno.test("HELLO beyond --max-slaves gets DIE and costs at most ten lines a minute", async () => {
  await withDriver(
    async (h, logs) => {
      const served = [h.slave(), h.slave(), h.slave()];
      for (const slave of served) await slave.hello();
      for (let i = 0; i < 30; i++) {
        const extra = h.slave();
        assert.deepEqual(await extra.call({ name: "HELLO", data: helloData() }), {
          name: "DIE",
          data: NO_DATA,
        });
        extra.close();
      }
      assert.equal(h.driver.slaves.size, 3);
      assert.equal(logs.filter((l) => l.includes("(--max-slaves)")).length, 10, logs.join("\n"));
      // A slot freed is a slot taken.
      await served[0].send({ name: "BYE", data: NO_DATA });
      await waitFor(() => h.driver.slaves.size === 2);
      await h.slave().hello();
      assert.equal(h.driver.slaves.size, 3);
    },
    {},
    { maxSlaves: 3 },
  );
});

Deno.test("timeouts above --max-slave-timeout are cut: a silent builder expires at the cap", async () => {
  await withDriver(
    async (h, logs) => {
      await h.queue({ cp311: [["foo", "1.0"]] });
      const slave = h.slave();
      const forever = 1e9 * 1000; // 11,574 days
      await slave.hello({ busyMs: forever, buildMs: forever });
      assert.equal(logs.filter((l) => l.includes("(--max-slave-timeout)")).length, 1);
      assert.equal([...h.driver.slaves.values()][0].buildTimeoutMs, 300);
      assert.deepEqual(await slave.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
      await waitFor(() => h.driver.slaves.size === 0, 10_000, "expiry at the cap");
      assert.ok(logs.some((l) => /timed out while building foo 1\.0/.test(l)));
      const next = h.slave();
      await next.hello();
      assert.deepEqual(await next.call(IDLE()), { name: "BUILD", data: ["foo", "1.0"] });
    },
    { expiryIntervalMs: 50 },
    { maxSlaveTimeout: 300 },
  );
});

Deno.test("a file above --max-file-size in BUILT is never fetched; the build fails", async () => {
  await withDriver(
    async (h, logs) => {
      const slave = await building(h);
      const reply = await slave.call({
        name: "BUILT",
        data: builtData(true, [fileTuple(WHEEL, { size: 2 ** 50 })]),
      });
      assert.deepEqual(reply, { name: "DONE", data: NO_DATA });
      assert.deepEqual(h.fs.expected, []);
      assert.equal(h.db.builds[0][4], false);
      assert.match(h.db.builds[0][6], /more than the maximum 1000000 \(--max-file-size\)/);
      assert.ok(logs.some((l) => l.includes("rejected file")));
    },
    {},
    { maxFileSize: 1_000_000 },
  );
});

Deno.test("a HELLO with a text field of megabytes gets DIE and is not kept", async () => {
  await withDriver(async (h, logs) => {
    const slave = h.slave();
    const reply = await slave.call({
      name: "HELLO",
      data: helloData({ label: "x".repeat(2 ** 20) }),
    });
    assert.deepEqual(reply, { name: "DIE", data: NO_DATA });
    assert.equal(h.driver.slaves.size, 0);
    assert.ok(logs.some((l) => /field 6 is over 256 characters/.test(l)), logs.join("\n"));
    await h.slave().hello();
    assert.equal(h.driver.slaves.size, 1);
  });
});

Deno.test("while builds are recorded other slaves are served; builds finished meanwhile commit together", async () => {
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"], ["bar", "1.0"], ["baz", "1.0"], ["qux", "1.0"]] });
    const builders = [h.slave(), h.slave(), h.slave()];
    for (const slave of builders) {
      await slave.hello();
      assert.equal((await slave.call(IDLE())).name, "BUILD");
      assert.equal((await slave.call({ name: "BUSY", data: statsData() })).name, "CONT");
    }
    let release = () => {};
    h.db.hold = new Promise((resolve) => release = resolve);
    for (const slave of builders) await slave.send({ name: "BUILT", data: builtData(false) });
    await waitFor(() => h.db.batches.length === 1, 5_000, "the first LOGBUILDS");
    // The first build's transaction is held: a new slave is still answered meanwhile.
    const other = h.slave();
    await other.hello();
    assert.deepEqual(await other.call(IDLE()), { name: "BUILD", data: ["qux", "1.0"] });
    for (const slave of builders) assert.equal(await slave.reply(100), null);
    release();
    for (const slave of builders) {
      assert.deepEqual(await slave.reply(5_000), { name: "DONE", data: NO_DATA });
    }
    // The first went alone; the two finished while it was in flight went in one transaction.
    assert.deepEqual(h.db.batches, [1, 2]);
    assert.deepEqual(h.db.builds.map((b) => b[1]).sort(), ["bar", "baz", "foo"]);
  });
});

Deno.test("a piw slave's HAVE retries its ABI's missing-library failures; a bad one costs a line", async () => {
  await withDriver(async (h, logs) => {
    const id = await h.slave().hello({ abi: "cp39", label: "haver" });
    const push = h.context.socket("PUSH", { linger: 0 });
    push.connect(h.driver.extrasEndpoint);
    const side = slaveExtrasProtocol.reversed();
    // Names the Debian table does not know (and repeats) are not asked about.
    await push.send([
      encodeMessage(side, "HAVE", [id, ["-lsnappy", "snappy-c.h", "nonsense.h", "-lsnappy"]]),
    ]);
    await waitFor(() => h.db.libraryRetries.length === 1, 10_000, "RETRYLIBS");
    assert.deepEqual(h.db.libraryRetries, [["cp39", ["-lsnappy", "snappy-c.h"]]]);
    // Garbage, and a HAVE for a slave the driver does not know: a line each, nothing asked.
    await push.send([new TextEncoder().encode("garbage")]);
    await push.send([encodeMessage(side, "HAVE", [id + 100, ["-lsnappy"]])]);
    await waitFor(
      () =>
        logs.some((l) => l.includes("invalid HAVE on the extras queue")) &&
        logs.some((l) => l.includes(`HAVE from unknown slave ${id + 100}`)),
      10_000,
      "the lines for the bad HAVEs",
    );
    assert.equal(h.db.libraryRetries.length, 1);
    push.close();
  });
});

Deno.test("the web updates of builds finished while one is being sent go together in the next", async () => {
  const batches: string[][] = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const web = {
    async buildsLogged(builds: BuildState[]) {
      batches.push(builds.map((b) => b.pkg));
      if (batches.length === 1) await gate;
    },
  };
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"], ["bar", "1.0"], ["baz", "1.0"]] });
    const builders = [h.slave(), h.slave(), h.slave()];
    for (const slave of builders) {
      await slave.hello();
      assert.equal((await slave.call(IDLE())).name, "BUILD");
      assert.equal((await slave.call(BUSY())).name, "CONT");
    }
    const done = { name: "DONE", data: NO_DATA };
    assert.deepEqual(await builders[0].call({ name: "BUILT", data: builtData(false) }), done);
    await waitFor(() => batches.length === 1, 5_000, "the first web update");
    // Its web update is held: the next builds are still answered, their updates wait.
    for (const slave of builders.slice(1)) {
      assert.deepEqual(await slave.call({ name: "BUILT", data: builtData(false) }), done);
    }
    release();
    await waitFor(() => batches.length === 2, 5_000, "the second web update");
    assert.deepEqual(batches, [["foo"], ["bar", "baz"]]);
  }, { web });
});

Deno.test("builds handed out in a burst push fewer STATBQ than builds, the last one current", async () => {
  await withDriver(async (h) => {
    await h.queue({ cp311: [["foo", "1.0"], ["bar", "1.0"], ["baz", "1.0"]] });
    for (let i = 0; i < 3; i++) {
      const slave = h.slave();
      await slave.hello();
      assert.equal((await slave.call(IDLE())).name, "BUILD");
    }
    const sizes: Record<string, number>[] = [];
    await waitFor(
      async () => {
        const frames = await h.stats.recv(100);
        if (frames) {
          const msg = decodeMessage(bigBrotherProtocol, frames[0]);
          if (msg.name === "STATBQ") sizes.push(msg.data);
        }
        return sizes.at(-1)?.cp311 === 0;
      },
      5_000,
      "STATBQ with every build handed out",
    );
    assert.ok(sizes.length < 3, JSON.stringify(sizes));
  });
});
