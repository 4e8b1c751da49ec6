import assert from "node:assert/strict";
import type { PyPIEvent } from "../../src/pypi/changelog.ts";
import {
  mapAction,
  type PackageAction,
  type PackageEvent,
  PyPIEvents,
} from "../../src/pypi/events.ts";
import { canonicalize } from "../../src/pypi/names.ts";
import { FakeClock } from "../fixtures/pypi/fake_clock.ts";
import { MemorySource } from "../fixtures/pypi/memory_source.ts";

const T0 = 1_700_000_000;
const S0 = 30_000_000;

/** Raw events as [name, version, action], one second and one serial apart from S0 + 1. */
function journal(rows: [string, string | null, string][]): PyPIEvent[] {
  const events: PyPIEvent[] = rows.map(([name, version, action], i) => [
    name,
    version,
    T0 + i,
    action,
    S0 + 1 + i,
  ]);
  // A late, ignored event pushes everything else out of the 5-minute window.
  events.push(["flush", null, T0 + 86_400, "docupdate", S0 + 1 + rows.length]);
  return events;
}

/** Run `rows` through PyPIEvents and return the tuples it produced. */
async function mapped(
  rows: [string, string | null, string][],
  options: { cacheSize?: number } = {},
): Promise<[string, string | null, PackageAction][]> {
  const events = new PyPIEvents({
    source: new MemorySource(journal(rows)),
    serial: S0 + 1,
    idleMs: 0,
    clock: new FakeClock(),
    ...options,
  });
  return (await events.poll()).map((e) => [e.package, e.version, e.action]);
}

Deno.test("maps PyPI actions as piwheels does", () => {
  const table: [string, PackageAction | null][] = [
    ["add source file foo-1.0.tar.gz", "source"],
    ["add py3 file foo-1.0-py3-none-any.whl", "create"],
    ["add cp311 file foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "create"],
    ["add 2.7 file foo-1.0.egg", "create"],
    ["create", "create"],
    ["remove", "remove"],
    ["remove project", "remove"],
    ["remove release", "remove"],
    ["yank release", "yank"],
    ["unyank release", "unyank"],
    ["new release", null],
    ["remove file foo-1.0.tar.gz", null],
    ["remove release foo", null],
    ["rename from Foo", null],
    ["add Owner alice", null],
    ["remove Maintainer bob", null],
    ["change Owner alice to Maintainer", null],
    ["docupdate", null],
    ["create foo", null],
    ["Create", null],
    ["yank release 1.0", null],
    ["", null],
  ];
  for (const [action, expected] of table) assert.equal(mapAction(action), expected, action);
});

Deno.test("maps a journal to package events with canonical names, aliases and UTC dates", async () => {
  const events = new PyPIEvents({
    source: new MemorySource(journal([
      ["Foo_Bar.baz", null, "create"],
      ["Foo_Bar.baz", "1.0", "add source file Foo_Bar.baz-1.0.tar.gz"],
      ["Foo_Bar.baz", "1.0", "yank release"],
      ["Foo_Bar.baz", "1.0", "unyank release"],
      ["Foo_Bar.baz", "1.0", "new release"],
      ["Foo_Bar.baz", "1.0", "remove release"],
      ["Foo_Bar.baz", null, "remove project"],
    ])),
    serial: S0 + 1,
    clock: new FakeClock(),
  });
  const batch = await events.poll();
  assert.deepEqual(batch[0], {
    package: "foo-bar-baz",
    alias: "Foo_Bar.baz",
    version: null,
    timestamp: new Date("2023-11-14T22:13:20Z"),
    action: "create",
    description: null,
    serial: S0 + 1,
  });
  assert.deepEqual(batch.map((e) => [e.version, e.action, e.serial - S0]), [
    [null, "create", 1],
    ["1.0", "source", 2],
    ["1.0", "yank", 3],
    ["1.0", "unyank", 4],
    ["1.0", "remove", 6],
    [null, "remove", 7],
  ]);
  assert.equal(batch[1].timestamp.toISOString(), "2023-11-14T22:13:21.000Z");
});

Deno.test("a create action always has a null version", async () => {
  assert.deepEqual(await mapped([["foo", "1.0", "create"]]), [["foo", null, "create"]]);
});

Deno.test("ignores names and versions longer than 200 characters", async () => {
  const long = "x".repeat(201);
  const limit = "y".repeat(200);
  assert.deepEqual(
    await mapped([
      [long, "1.0", "add source file a.tar.gz"],
      ["foo", long, "add source file a.tar.gz"],
      [long, null, "create"],
      ["foo", long, "remove release"],
      [limit, limit, "add source file a.tar.gz"],
    ]),
    [[limit, limit, "source"]],
  );
});

Deno.test("canonicalises names as PEP 503 says", () => {
  assert.equal(canonicalize("Foo.Bar__baz---Qux"), "foo-bar-baz-qux");
  assert.equal(canonicalize("zope.interface"), "zope-interface");
  assert.equal(canonicalize("A"), "a");
});

Deno.test("suppresses repeated files of the same release", async () => {
  assert.deepEqual(
    await mapped([
      ["foo", "1.0", "add source file foo-1.0.tar.gz"],
      ["foo", "1.0", "add source file foo-1.0.zip"],
      ["Foo", "1.0", "add py3 file foo-1.0-py3-none-any.whl"],
      ["foo", "1.1", "add cp311 file foo-1.1-cp311-none-any.whl"],
      ["foo", "1.1", "add cp312 file foo-1.1-cp312-none-any.whl"],
    ]),
    [["foo", "1.0", "source"], ["foo", "1.1", "create"]],
  );
});

Deno.test("a binary-only release that gains a source file is re-emitted as source with its first time", async () => {
  const events = new PyPIEvents({
    source: new MemorySource(journal([
      ["foo", "1.0", "add cp311 file foo-1.0-cp311-none-any.whl"],
      ["foo", "1.0", "add cp312 file foo-1.0-cp312-none-any.whl"],
      ["foo", "1.0", "add source file foo-1.0.tar.gz"],
      ["foo", "1.0", "add source file foo-1.0.zip"],
      ["foo", "1.0", "add py3 file foo-1.0-py3-none-any.whl"],
    ])),
    serial: S0 + 1,
    clock: new FakeClock(),
  });
  const batch = await events.poll();
  assert.deepEqual(batch.map((e) => [e.action, e.timestamp.getTime() / 1000 - T0, e.serial - S0]), [
    ["create", 0, 1],
    ["source", 0, 3],
  ]);
});

Deno.test("duplicates are remembered across batches", async () => {
  const source = new MemorySource(journal([["foo", "1.0", "add cp311 file a.whl"]]));
  const events = new PyPIEvents({ source, serial: S0 + 1, clock: new FakeClock(), idleMs: 0 });
  assert.equal((await events.poll()).length, 1);
  const last = source.events[source.events.length - 1][4];
  source.events.push(
    ["foo", "1.0", T0 + 90_000, "add cp312 file b.whl", last + 1],
    ["foo", "1.0", T0 + 90_001, "add source file foo-1.0.tar.gz", last + 2],
    ["flush", null, T0 + 200_000, "docupdate", last + 3],
  );
  const batch = await events.poll();
  assert.deepEqual(batch.map((e) => [e.action, e.timestamp.getTime() / 1000 - T0]), [
    ["source", 0],
  ]);
});

Deno.test("the duplicate cache forgets the least recently seen pairs beyond its size", async () => {
  assert.deepEqual(
    await mapped([
      ["a", "1", "add source file a"],
      ["b", "1", "add source file b"],
      ["a", "1", "add source file a2"], // refreshes a
      ["c", "1", "add source file c"], // evicts b
      ["a", "1", "add source file a3"],
      ["b", "1", "add source file b2"],
    ], { cacheSize: 2 }),
    [["a", "1", "source"], ["b", "1", "source"], ["c", "1", "source"], ["b", "1", "source"]],
  );
});

Deno.test("removing a release forgets it, so a re-upload is reported again", async () => {
  assert.deepEqual(
    await mapped([
      ["foo", "1.0", "add source file foo-1.0.tar.gz"],
      ["foo", "1.0", "remove release"],
      ["foo", "1.0", "add source file foo-1.0.tar.gz"],
    ]),
    [["foo", "1.0", "source"], ["foo", "1.0", "remove"], ["foo", "1.0", "source"]],
  );
});

Deno.test("attaches one summary lookup per package to create and source events only", async () => {
  const asked: string[] = [];
  const events = new PyPIEvents({
    source: new MemorySource(journal([
      ["Foo", null, "create"],
      ["foo", "1.0", "add source file foo-1.0.tar.gz"],
      ["bar", "2.0", "add py3 file bar-2.0-py3-none-any.whl"],
      ["bar", "1.0", "yank release"],
      ["baz", null, "remove"],
    ])),
    serial: S0 + 1,
    clock: new FakeClock(),
    describe: (pkg) => {
      asked.push(pkg);
      return Promise.resolve(pkg === "bar" ? null : `about ${pkg}`);
    },
  });
  const batch = await events.poll();
  assert.deepEqual(batch.map((e) => [e.package, e.action, e.description]), [
    ["foo", "create", "about foo"],
    ["foo", "source", "about foo"],
    ["bar", "create", null],
    ["bar", "yank", null],
    ["baz", "remove", null],
  ]);
  assert.deepEqual(asked.sort(), ["bar", "foo"]);
});

Deno.test("a failed summary lookup consumes nothing: the next poll returns the same batch", async () => {
  let fail = true;
  const source = new MemorySource(journal([
    ["foo", "1.0", "add cp311 file a.whl"],
    ["foo", "1.0", "add source file foo-1.0.tar.gz"],
  ]));
  const events = new PyPIEvents({
    source,
    serial: S0 + 1,
    clock: new FakeClock(),
    describe: () => fail ? Promise.reject(new Error("HTTP 403")) : Promise.resolve("ok"),
  });
  await assert.rejects(events.poll(), /HTTP 403/);
  assert.equal(events.serial, S0 + 1);
  fail = false;
  const batch: PackageEvent[] = await events.poll();
  assert.deepEqual(batch.map((e) => [e.action, e.description]), [
    ["create", "ok"],
    ["source", "ok"],
  ]);
});

Deno.test("a failing source consumes nothing", async () => {
  const source = new MemorySource(journal([["foo", "1.0", "add source file a"]]));
  const events = new PyPIEvents({ source, serial: S0 + 1, clock: new FakeClock() });
  source.failNext = new Error("boom");
  await assert.rejects(events.poll(), /boom/);
  assert.deepEqual((await events.poll()).map((e) => e.package), ["foo"]);
});

Deno.test("after PyPI has nothing new, waits the idle delay before asking again", async () => {
  const clock = new FakeClock();
  const source = new MemorySource([]);
  const events = new PyPIEvents({ source, serial: S0, clock, idleMs: 10_000 });
  assert.deepEqual(await events.poll(), []);
  assert.equal(events.more, false);
  assert.deepEqual(await events.poll(), []);
  clock.advance(9_999);
  assert.deepEqual(await events.poll(), []);
  assert.equal(source.calls.length, 1);
  clock.advance(1);
  source.events.push(...journal([["foo", "1.0", "add source file a"]]));
  assert.equal((await events.poll()).length, 1);
  assert.equal(source.calls.length, 2);
  assert.equal(events.more, true);
});

Deno.test("keeps asking without idling while entries arrive, even if none are released yet", async () => {
  const clock = new FakeClock();
  const source = new MemorySource([["foo", "1", T0, "create", S0 + 1]]);
  const events = new PyPIEvents({ source, serial: S0 + 1, clock, idleMs: 10_000 });
  assert.deepEqual(await events.poll(), []); // held in the 5-minute window
  assert.equal(events.more, true);
  source.events.push(["bar", "1", T0 + 600, "create", S0 + 2]);
  assert.deepEqual((await events.poll()).map((e) => e.package), ["foo"]);
  assert.equal(source.calls.length, 2);
});

Deno.test("the stored serial never goes backwards", async () => {
  // Serial 3 is timed after serial 4, so the buffer's seek point moves from 4 back to 3.
  const source = new MemorySource([
    ["a", "1", T0, "create", S0 + 1],
    ["b", "1", T0 + 400, "create", S0 + 2],
    ["c", "1", T0 + 700, "create", S0 + 3],
    ["d", "1", T0 + 650, "create", S0 + 4],
  ], 2);
  const later: Record<number, PyPIEvent> = {
    1: ["e", "1", T0 + 900, "create", S0 + 5],
    2: ["f", "1", T0 + 1000, "create", S0 + 6],
    3: ["g", "1", T0 + 5000, "create", S0 + 7],
  };
  const events = new PyPIEvents({ source, serial: S0 + 1, clock: new FakeClock(), idleMs: 0 });
  let previous = events.serial;
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    seen.push(...(await events.poll()).map((e) => e.package));
    assert.ok(events.serial >= previous, `serial went from ${previous} to ${events.serial}`);
    previous = events.serial;
    if (i === 2) assert.equal(events.serial, S0 + 4); // seeking d (650 s)
    if (i === 3) {
      // d was released; the next event in time is c (700 s, serial 3), but 4 is kept.
      assert.deepEqual(seen, ["a", "b", "d"]);
      assert.equal(events.serial, S0 + 4);
    }
    if (later[i]) source.events.push(later[i]);
  }
  assert.deepEqual(seen, ["a", "b", "d", "c", "e", "f"]);
});

Deno.test("takeEarly gives held creations once, holds those a held removal or yank conflicts with, and gives one once the removal is released", async () => {
  const e = (name: string, version: string | null, dt: number, action: string, ds: number) =>
    [name, version, T0 + dt, action, S0 + ds] as PyPIEvent;
  const source = new MemorySource([
    e("start", null, 0, "docupdate", 1),
    e("New_Pkg", null, 10, "create", 2),
    e("New_Pkg", "1.0", 10, "add source file New_Pkg-1.0.tar.gz", 3),
    e("gone", "2.0", 20, "remove release", 4),
    e("gone", "2.0", 5, "add source file gone-2.0.tar.gz", 5), // older, seen later: held
    e("yanked", "1.0", 30, "yank release", 6),
    e("yanked", "1.0", 31, "add cp311 file yanked-1.0-cp311-none-any.whl", 7),
    e("old", "1.0", 40, "remove release", 8),
    e("old", "1.0", 200, "add source file old-1.0.tar.gz", 9), // newer than the removal
  ]);
  const events = new PyPIEvents({ source, serial: S0 + 1, idleMs: 0, clock: new FakeClock() });
  assert.deepEqual(await events.poll(), [], "the window holds everything");
  const early = (list: PackageEvent[]) => list.map((x) => `${x.package} ${x.version} ${x.action}`);
  assert.deepEqual(early(events.takeEarly()), ["new-pkg null create", "new-pkg 1.0 source"]);
  assert.deepEqual(events.takeEarly(), [], "each is given once");
  // The window passes the removal of old 1.0: the newer creation may go now, after it.
  source.events.push(e("clock", null, 345, "docupdate", 10));
  const released = await events.poll();
  assert.ok(released.some((x) => x.package === "old" && x.action === "remove"));
  assert.deepEqual(early(events.takeEarly()), ["old 1.0 source"]);
  // A creation that sorts before what was released is never given early.
  source.events.push(e("late", "1.0", 1, "add source file late-1.0.tar.gz", 11));
  await events.poll();
  assert.deepEqual(events.takeEarly(), []);
});
