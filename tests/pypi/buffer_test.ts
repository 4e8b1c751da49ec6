import assert from "node:assert/strict";
import { PYPI_EPOCH, PYPI_MARGIN, PyPIBuffer } from "../../src/pypi/buffer.ts";
import type { PyPIEvent } from "../../src/pypi/changelog.ts";
import { MemorySource } from "../fixtures/pypi/memory_source.ts";

const T0 = 1_700_000_000;
const S0 = 30_000_000;

/** An event `dt` seconds after T0 with serial S0 + `ds`. */
function ev(ds: number, dt: number, name = `pkg${ds}`): PyPIEvent {
  return [name, "1.0", T0 + dt, "add source file x.tar.gz", S0 + ds];
}

const serials = (events: PyPIEvent[]) => events.map((e) => e[4] - S0);

async function drain(buffer: PyPIBuffer, polls = 50): Promise<PyPIEvent[]> {
  const out: PyPIEvent[] = [];
  for (let i = 0; i < polls; i++) out.push(...await buffer.poll());
  return out;
}

Deno.test("releases out-of-order events in timestamp order once 5 minutes older than the newest", async () => {
  const source = new MemorySource([
    ev(1, 10),
    ev(2, 100),
    ev(3, 50),
    ev(4, 75),
    ev(5, 200),
    ev(6, 50), // same second as serial 3: serial breaks the tie
    ev(7, 1000),
  ]);
  const buffer = new PyPIBuffer(source, S0 + 1);
  assert.deepEqual(serials(await buffer.poll()), [1, 3, 6, 4, 2, 5]);
  // Serial 7 is the newest; it stays until something arrives 5 minutes after it.
  assert.equal(buffer.serial, S0 + 7);
  assert.equal(buffer.size, 1);
});

Deno.test("holds back everything within the 5-minute window until a later event arrives", async () => {
  const source = new MemorySource([ev(1, 0), ev(2, 100), ev(3, 300)]);
  const buffer = new PyPIBuffer(source, S0 + 1);
  // Newest is 300 s after the first: not *more* than 5 minutes, so nothing is released.
  assert.deepEqual(await buffer.poll(), []);
  assert.equal(buffer.size, 3);
  source.events.push(ev(4, 301));
  assert.deepEqual(serials(await buffer.poll()), [1]);
  source.events.push(ev(5, 1000));
  assert.deepEqual(serials(await buffer.poll()), [2, 3, 4]);
});

Deno.test("starts reading 2000 serials before the requested serial", async () => {
  const source = new MemorySource([ev(0, 0)]);
  const buffer = new PyPIBuffer(source, S0 + 5000);
  await buffer.poll();
  assert.deepEqual(source.calls, [S0 + 5000 - PYPI_MARGIN]);
  assert.equal(PYPI_MARGIN, 2000);
});

Deno.test("skips margin events that sort before the requested serial but releases late ones", async () => {
  const source = new MemorySource([
    ev(-10, 0), // before the seek point in time and serial: already handled last run
    ev(-5, 130), // lower serial but a later timestamp: not yet released last run
    ev(0, 120), // the requested serial
    ev(1, 125),
    ev(2, 1000),
  ]);
  const buffer = new PyPIBuffer(source, S0);
  assert.deepEqual(serials(await buffer.poll()), [0, 1, -5]);
});

Deno.test("within one second, skips events with serials before the requested one", async () => {
  const source = new MemorySource([ev(-2, 120), ev(-1, 120), ev(0, 120), ev(1, 120), ev(2, 999)]);
  const buffer = new PyPIBuffer(source, S0);
  assert.deepEqual(serials(await buffer.poll()), [0, 1]);
});

Deno.test("the requested serial need not exist (PyPI skips serials)", async () => {
  const source = new MemorySource([ev(1, 10), ev(5, 20), ev(6, 30), ev(7, 900)]);
  const buffer = new PyPIBuffer(source, S0 + 3);
  assert.deepEqual(serials(await buffer.poll()), [5, 6]);
});

Deno.test("waits for the batch holding the requested serial before releasing anything", async () => {
  const source = new MemorySource([ev(1, 0), ev(2, 1000), ev(3, 2000), ev(4, 3000)], 2);
  const buffer = new PyPIBuffer(source, S0 + 3);
  assert.deepEqual(await buffer.poll(), []); // serials 1, 2: the sought serial not seen yet
  assert.deepEqual(serials(await buffer.poll()), [3]);
});

Deno.test("before the epoch reads from 0 and releases nothing until the epoch is passed", async () => {
  const pre = (serial: number, t: number): PyPIEvent => [`p${serial}`, "1", t, "create", serial];
  // Early PyPI timestamps jump about wildly; after the epoch they are sane.
  const source = new MemorySource([
    pre(1, T0 - 100_000), // earlier than serial 400, the first one sought
    pre(400, T0 - 90_000),
    pre(600_000, T0 - 50_000),
    pre(PYPI_EPOCH - 1, T0 - 1000),
    pre(PYPI_EPOCH + 5, T0),
    pre(PYPI_EPOCH + 6, T0 + 3600),
  ], 2);
  const buffer = new PyPIBuffer(source, 300);
  assert.deepEqual(await buffer.poll(), []);
  assert.equal(source.calls[0], 0);
  assert.deepEqual(await buffer.poll(), []); // up to PYPI_EPOCH - 1: still unordered territory
  const released = await buffer.poll();
  // In timestamp order from the sought event's time; serial 1 is older than that.
  assert.deepEqual(released.map((e) => e[4]), [400, 600_000, PYPI_EPOCH - 1, PYPI_EPOCH + 5]);
});

Deno.test("serial set after construction restarts from the new point", async () => {
  const source = new MemorySource([ev(1, 0), ev(2, 10), ev(3, 1000)]);
  const buffer = new PyPIBuffer(source, S0 + 1);
  assert.deepEqual(serials(await buffer.poll()), [1, 2]);
  buffer.serial = S0 + 2;
  assert.equal(buffer.size, 0);
  assert.deepEqual(serials(await buffer.poll()), [2]);
});

Deno.test("resuming from the stored serial neither loses nor repeats events", async () => {
  // A long journal with timestamps jittering backwards by up to 3 minutes.
  const journal: PyPIEvent[] = [ev(0, -1000)];
  let rng = 42;
  const random = () => (rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 1; i <= 3000; i++) journal.push(ev(i, i * 10 - Math.floor(random() * 180)));
  journal.push(ev(3001, 40_000));
  const source = new MemorySource(journal, 100);
  let buffer = new PyPIBuffer(source, S0);
  const seen: number[] = [];
  for (let i = 0; i < 12; i++) seen.push(...serials(await buffer.poll()));
  const stored = buffer.serial;
  // Restart, as after a master restart with the serial read from the database.
  buffer = new PyPIBuffer(source, stored);
  for (let i = 0; i < 60; i++) seen.push(...serials(await buffer.poll()));
  assert.equal(new Set(seen).size, seen.length, "no event released twice");
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 3001 }, (_, i) => i),
  );
});

Deno.test("events timed before the starting serial's event are taken as already handled", async () => {
  const source = new MemorySource([ev(1, 100), ev(2, 50), ev(3, 150), ev(4, 1000)]);
  const buffer = new PyPIBuffer(source, S0 + 1);
  assert.deepEqual(serials(await buffer.poll()), [1, 3]);
});

Deno.test("an empty answer changes nothing", async () => {
  const source = new MemorySource([]);
  const buffer = new PyPIBuffer(source, S0 + 10);
  assert.deepEqual(await drain(buffer, 3), []);
  assert.deepEqual(source.calls, Array(3).fill(S0 + 10 - PYPI_MARGIN));
});
