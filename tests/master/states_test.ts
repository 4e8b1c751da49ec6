/** The protocol state classes: FileState, BuildState, SlaveState, TransferState. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type FileStateTuple,
  NO_DATA,
  PreciseDate,
  type SlaveEvent,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import {
  armv6lTwinName,
  BuildState,
  FileState,
  SlaveState,
  TransferError,
  TransferState,
} from "../../src/master/states.ts";
import { builtData, fileTuple, helloData, statsData } from "./slave_harness.ts";

const V7 = "foo-1.0-cp311-cp311-linux_armv7l.whl";
const V6 = "foo-1.0-cp311-cp311-linux_armv6l.whl";

Deno.test("FileState round-trips the 11-field wire tuple, never the transferred flag", () => {
  const tuple = fileTuple(V7);
  const state = FileState.fromMessage(tuple);
  assert.equal(state.transferred, false);
  state.verified();
  assert.equal(state.transferred, true);
  assert.deepEqual(state.asMessage(), tuple);
  assert.equal(state.asMessage().length, 11);
});

Deno.test("FileState.problem accepts real wheel names and refuses anything path-like", () => {
  assert.equal(FileState.fromMessage(fileTuple(V7)).problem(), null);
  assert.equal(
    FileState.fromMessage(fileTuple("Foo_Bar-1.0.post1-py3-none-any.whl")).problem(),
    null,
  );
  for (
    const bad of [
      "../foo-1.0-py3-none-any.whl",
      "a/foo-1.0-py3-none-any.whl",
      "foo-1.0-py3-none-any.whl/..",
      "foo-1.0-RC1-py3-none-any.whl",
      "foo-1.0_RC1-py3-none-any.whl",
      "foo-1.0.zip",
      "",
    ]
  ) {
    assert.ok(FileState.fromMessage(fileTuple(bad)).problem(), bad);
  }
  assert.match(FileState.fromMessage(fileTuple(V7, { hash: "ABC" })).problem()!, /sha256/);
  assert.match(FileState.fromMessage(fileTuple(V7, { size: -1 })).problem()!, /size/);
});

Deno.test("the armv6l twin of an armv7l wheel has the same bytes and needs no transfer", () => {
  assert.equal(armv6lTwinName(V7), V6);
  const twin = FileState.fromMessage(fileTuple(V7)).armv6lTwin()!;
  assert.equal(twin.filename, V6);
  assert.equal(twin.platformTag, "linux_armv6l");
  assert.equal(twin.transferred, true);
  assert.equal(twin.filehash, fileTuple(V7)[2]);
  assert.equal(FileState.fromMessage(fileTuple("foo-1.0-py3-none-any.whl")).armv6lTwin(), null);
});

Deno.test("BuildState sends files in name order and tracks which remain", () => {
  const build = BuildState.fromBuilt(
    3,
    ["foo", "1.0"],
    "cp311",
    builtData(true, [
      fileTuple("foo-1.0-py3-none-any.whl"),
      fileTuple(V7),
    ]),
  );
  build.addArmv6lTwins();
  assert.deepEqual([...build.files.keys()].sort(), [
    V6,
    V7,
    "foo-1.0-py3-none-any.whl",
  ]);
  assert.equal(build.nextFile, V7);
  build.files.get(V7)!.verified();
  assert.equal(build.nextFile, "foo-1.0-py3-none-any.whl");
  assert.equal(build.transfersDone, false);
  build.files.get("foo-1.0-py3-none-any.whl")!.verified();
  assert.equal(build.nextFile, null);
  assert.equal(build.transfersDone, true);
  const msg = build.asMessage();
  assert.deepEqual(msg.slice(0, 5), [3, "foo", "1.0", "cp311", true]);
  assert.deepEqual(msg[7].map((f) => f[0]), [V6, V7, "foo-1.0-py3-none-any.whl"]);
  build.logged(42);
  assert.equal(build.buildId, 42);
});

Deno.test("BuildState.fail drops the files and explains why in the log", () => {
  const build = BuildState.fromBuilt(1, ["foo", "1.0"], "cp311", builtData(true, [fileTuple(V7)]));
  build.fail("refused");
  assert.equal(build.status, false);
  assert.equal(build.files.size, 0);
  assert.match(build.output, /build log\n\[piw master\] refused/);
});

function slave(events: SlaveEvent[] = [], now = new Date()) {
  return new SlaveState(
    Uint8Array.of(0, 1, 2),
    7,
    helloData({ busyMs: 1000 }),
    (e) => events.push(e),
    now,
  );
}

Deno.test("SlaveState publishes stats and every reply but CONT", () => {
  const events: SlaveEvent[] = [];
  const state = slave(events);
  state.send({ name: "ACK", data: [7, "https://pypi.org/simple"] });
  assert.deepEqual(events.map((e) => e[2]), ["HELLO", "ACK"]);
  state.receive({ name: "IDLE", data: statsData() });
  state.send({ name: "BUILD", data: ["foo", "1.0"] });
  state.receive({ name: "BUSY", data: statsData() });
  state.send({ name: "CONT", data: NO_DATA });
  assert.equal(state.reply?.name, "BUILD", "CONT changes nothing");
  assert.deepEqual(events.map((e) => e[2]), ["HELLO", "ACK", "STATS", "BUILD", "STATS"]);
  assert.deepEqual(state.job, ["foo", "1.0"]);
});

Deno.test("SlaveState keeps at most 100 stats and the clock skew", () => {
  const state = slave();
  const now = new Date();
  for (let i = 0; i < 150; i++) {
    const stats = statsData();
    stats[0] = new Date(now.getTime() - 2000);
    state.receive({ name: "IDLE", data: stats }, now);
  }
  assert.equal(state.stats.length, 100);
  assert.equal(state.clockSkewMs, 2000);
});

Deno.test("SlaveState's stats history keeps the latest entries whole, oldest first", () => {
  const state = slave();
  const sent: unknown[][] = [];
  for (let i = 0; i < 130; i++) {
    const stats = statsData();
    stats[0] = new PreciseDate(Date.UTC(2026, 10, 24, 12, 0, i), i % 1000);
    stats[1] = 10_000_000_000 + i;
    stats[7] = 0.25 * i;
    state.receive({ name: "IDLE", data: stats });
    sent.push(stats);
  }
  const kept = [...state.stats];
  assert.equal(kept.length, 100);
  assert.deepEqual(kept, sent.slice(30), "the last 100, in order, equal to what was received");
  assert.equal((kept[0][0] as PreciseDate).extraMicroseconds, 30, "microseconds are kept");
});

Deno.test("SlaveState builds a BuildState from BUILT only after BUILD; DONE ends the job", () => {
  const state = slave();
  state.send({ name: "ACK", data: [7, "x"] });
  state.receive({ name: "BUILT", data: builtData(false) });
  assert.equal(state.build, null, "BUILT after ACK is nonsense");
  state.send({ name: "BUILD", data: ["foo", "1.0"] });
  state.skip();
  assert.equal(state.skipped, true);
  state.receive({ name: "BUILT", data: builtData(true, [fileTuple(V7)]) });
  const build = state.build as BuildState | null;
  assert.equal(build?.pkg, "foo");
  assert.equal(build?.abiTag, "cp311");
  state.failedVerifies = 2;
  state.send({ name: "DONE", data: NO_DATA });
  assert.equal(state.build, null);
  assert.equal(state.job, null);
  assert.equal(state.skipped, false);
  assert.equal(state.failedVerifies, 0);
});

Deno.test("SlaveState expires after its own busy timeout; flags come and go", () => {
  const start = new Date(Date.UTC(2026, 0, 1));
  const state = slave([], start);
  assert.equal(state.expired(new Date(start.getTime() + 1000)), false);
  assert.equal(state.expired(new Date(start.getTime() + 1001)), true);
  state.receive({ name: "IDLE", data: statsData() }, new Date(start.getTime() + 900));
  assert.equal(state.expired(new Date(start.getTime() + 1500)), false);
  state.kill();
  state.sleep();
  state.skip();
  assert.deepEqual([state.killed, state.paused, state.skipped], [true, true, true]);
  state.wake();
  assert.deepEqual([state.killed, state.paused, state.skipped], [false, false, false]);
  assert.equal(state.buildTimeoutMs, 3 * 3_600_000);
  assert.equal(state.abi, "cp311");
});

Deno.test("SlaveState replays HELLO (first seen), stats and last reply; gone says DIE", () => {
  const events: SlaveEvent[] = [];
  const state = slave(events);
  state.send({ name: "ACK", data: [7, "x"] });
  state.receive({ name: "IDLE", data: statsData() });
  state.send({ name: "SLEEP", data: false });
  events.length = 0;
  state.replay();
  assert.deepEqual(events.map((e) => e[2]), ["HELLO", "STATS", "SLEEP"]);
  assert.equal(events[0][1], state.firstSeen);
  assert.equal((events[0][3] as unknown[]).length, 10);
  events.length = 0;
  state.gone(true);
  state.gone(false);
  assert.deepEqual(events.map((e) => [e[2], e[3]]), [["DIE", null], ["DIE", NO_DATA]]);
});

// -- TransferState ----------------------------------------------------------------------------

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function transfer(data: Uint8Array, tuning = {}) {
  const dir = await Deno.makeTempDir({ prefix: "piw-transfer-" });
  const tuple: FileStateTuple = fileTuple("foo-1.0-py3-none-any.whl", {
    size: data.length,
    hash: sha256(data),
  });
  const state = await TransferState.create(1, FileState.fromMessage(tuple), dir, tuning);
  return { state, dir, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

function data(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff);
}

Deno.test("TransferState starts with credit min(10, size / 64 KiB), at least 1", async () => {
  for (const [size, credit] of [[1, 1], [65535, 1], [3 * 65536, 3], [100 * 65536, 10]]) {
    const t = await transfer(new Uint8Array(size));
    try {
      let n = 0;
      while (t.state.fetch()) n++;
      assert.equal(n, credit, `size ${size}`);
    } finally {
      await t.state.rollback();
      await t.cleanup();
    }
  }
});

Deno.test("TransferState fetches forward, each chunk returning a credit, then verifies", async () => {
  const body = data(5 * 65536 + 100);
  const t = await transfer(body);
  try {
    const fetched = [];
    for (let f = t.state.fetch(); f; f = t.state.fetch()) fetched.push(f);
    assert.deepEqual(fetched.map((f) => f.offset), [0, 65536, 131072, 196608, 262144]);
    for (const f of fetched) {
      assert.ok(t.state.chunk(f.offset, body.subarray(f.offset, f.offset + f.length)));
    }
    const last = t.state.fetch()!;
    assert.deepEqual(last, { offset: 5 * 65536, length: 100 });
    assert.equal(t.state.fetch(), null, "nothing left to ask for");
    assert.ok(t.state.chunk(last.offset, body.subarray(last.offset)));
    assert.equal(t.state.done, true);
    await t.state.verify();
    assert.deepEqual(await Deno.readFile(t.state.tempPath), body);
  } finally {
    await t.state.rollback();
    await t.cleanup();
  }
});

Deno.test("TransferState asks again for lost ranges only after rewind", async () => {
  const body = data(4 * 65536);
  const t = await transfer(body);
  try {
    const fetched = [];
    for (let f = t.state.fetch(); f; f = t.state.fetch()) fetched.push(f);
    // The chunk at 65536 is lost; the others arrive (and return their credit).
    for (const f of fetched) {
      if (f.offset !== 65536) t.state.chunk(f.offset, body.subarray(f.offset, f.offset + f.length));
    }
    assert.equal(t.state.fetch(), null, "in-flight ranges are not asked for twice");
    t.state.rewind();
    assert.deepEqual(t.state.fetch(), { offset: 65536, length: 65536 });
    t.state.chunk(65536, body.subarray(65536, 131072));
    await t.state.verify();
  } finally {
    await t.state.rollback();
    await t.cleanup();
  }
});

Deno.test("TransferState ignores stray chunks and verifies out-of-order arrivals", async () => {
  const body = data(3 * 65536);
  const t = await transfer(body);
  try {
    assert.equal(t.state.chunk(3 * 65536 - 10, new Uint8Array(20)), false, "beyond the end");
    assert.equal(t.state.chunk(0, new Uint8Array(0)), false, "empty");
    t.state.chunk(131072, body.subarray(131072));
    t.state.chunk(0, body.subarray(0, 100));
    // Overlaps what is there (and hashed) and brings new bytes: rewritten, rehashed at verify.
    t.state.chunk(50, body.subarray(50, 65536));
    t.state.chunk(65536, body.subarray(65536, 131072));
    await t.state.verify();
  } finally {
    await t.state.rollback();
    await t.cleanup();
  }
});

Deno.test("TransferState keeps the first copy of a range: a differing duplicate fails", async () => {
  const body = data(2 * 65536);
  const t = await transfer(body);
  try {
    t.state.chunk(0, new Uint8Array(65536));
    assert.equal(t.state.chunk(0, body.subarray(0, 65536)), true, "a duplicate is accepted");
    t.state.chunk(65536, body.subarray(65536));
    await assert.rejects(() => t.state.verify(), TransferError);
  } finally {
    await t.state.rollback();
    await t.cleanup();
  }
});

Deno.test("TransferState.verify reports missing bytes and hash mismatches", async () => {
  const body = data(2 * 65536);
  const t = await transfer(body);
  try {
    t.state.chunk(0, body.subarray(0, 65536));
    await assert.rejects(() => t.state.verify(), (e) => {
      return e instanceof TransferError && /65536 bytes never arrived/.test(e.message);
    });
    const bad = body.slice(65536);
    bad[0] ^= 1;
    t.state.chunk(65536, bad);
    await assert.rejects(() => t.state.verify(), (e) => {
      return e instanceof TransferError && /sha256/.test(e.message);
    });
    await t.state.rollback();
    await assert.rejects(() => Deno.stat(t.state.tempPath), Deno.errors.NotFound);
  } finally {
    await t.cleanup();
  }
});

Deno.test("TimeDelta durations survive a BuildState", () => {
  const build = BuildState.fromBuilt(1, ["foo", "1.0"], "cp311", builtData(false));
  assert.ok(build.duration instanceof TimeDelta);
  assert.equal(build.duration.totalSeconds(), 5);
});
