import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { Float64, formatDatetime, PreciseDate, TimeDelta } from "../../src/protocols/mod.ts";

const parts = (td: TimeDelta) => [td.days, td.seconds, td.microseconds];

Deno.test("TimeDelta normalises parts exactly as Python's timedelta does", () => {
  assertEquals(parts(new TimeDelta(0, -1)), [-1, 86399, 0]);
  assertEquals(parts(new TimeDelta(0, 0, -1)), [-1, 86399, 999999]);
  assertEquals(parts(new TimeDelta(1, 90000)), [2, 3600, 0]);
  assertEquals(parts(new TimeDelta(0, 0, 2_500_000)), [0, 2, 500000]);
  assertEquals(parts(new TimeDelta(-1, 86400)), [0, 0, 0]);
  assert(Object.is(new TimeDelta(-0).days, 0), "no negative zero");
});

Deno.test("TimeDelta accepts fractional parts and rounds microseconds half to even", () => {
  assertEquals(parts(new TimeDelta(0.5)), [0, 43200, 0]);
  assertEquals(parts(new TimeDelta(0, 1.5)), [0, 1, 500000]);
  assertEquals(parts(new TimeDelta(0, 0, 0.5)), [0, 0, 0]);
  assertEquals(parts(new TimeDelta(0, 0, 1.5)), [0, 0, 2]);
  assertEquals(parts(new TimeDelta(0, 0, 2.5)), [0, 0, 2]);
  assertEquals(parts(new TimeDelta(0, -0.5)), [-1, 86399, 500000]);
});

Deno.test("TimeDelta refuses non-finite parts and Python's out-of-range durations", () => {
  assertThrows(() => new TimeDelta(NaN), RangeError);
  assertThrows(() => new TimeDelta(0, Infinity), RangeError);
  assertThrows(() => new TimeDelta(1_000_000_000), RangeError, "out of Python's range");
});

Deno.test("TimeDelta converts to and from milliseconds and seconds", () => {
  assertEquals(TimeDelta.fromMilliseconds(10_800_000), new TimeDelta(0, 10800));
  assertEquals(TimeDelta.fromMilliseconds(1.5), new TimeDelta(0, 0, 1500));
  assertEquals(TimeDelta.fromMilliseconds(-1), new TimeDelta(-1, 86399, 999000));
  assertEquals(new TimeDelta(0, 300, 250_000).toMilliseconds(), 300_250);
  assertEquals(TimeDelta.fromSeconds(300), new TimeDelta(0, 300));
  assertEquals(TimeDelta.fromSeconds(0.000001), new TimeDelta(0, 0, 1));
  assertEquals(new TimeDelta(-1, 86399, 999999).totalSeconds(), -0.000001);
  assertEquals(new TimeDelta(3, 4000).totalSeconds(), 263_200);
  assertEquals(TimeDelta.fromMicroseconds(86_400_000_001), new TimeDelta(1, 0, 1));
  assertEquals(new TimeDelta(1, 0, 1).totalMicroseconds(), 86_400_000_001);
});

Deno.test("TimeDelta prints like Python's str(timedelta)", () => {
  assertEquals(String(new TimeDelta(0, 10800)), "3:00:00");
  assertEquals(String(new TimeDelta(1, 7384, 5)), "1 day, 2:03:04.000005");
  assertEquals(String(new TimeDelta(0, -1)), "-1 day, 23:59:59");
  assertEquals(String(new TimeDelta(2)), "2 days, 0:00:00");
});

Deno.test("TimeDelta.equals compares all three parts", () => {
  assert(new TimeDelta(0, 60).equals(TimeDelta.fromSeconds(60)));
  assert(!new TimeDelta(0, 60).equals(new TimeDelta(0, 60, 1)));
});

Deno.test("PreciseDate keeps microseconds beyond the millisecond", () => {
  const d = PreciseDate.fromIso("2026-11-23T21:07:19.123456Z");
  assertEquals(d.getUTCMilliseconds(), 123);
  assertEquals(d.extraMicroseconds, 456);
  assertEquals(d.microsecond, 123456);
  assertEquals(d.toIso(), "2026-11-23T21:07:19.123456Z");
  assertEquals(
    d.epochMicroseconds(),
    BigInt(Date.UTC(2026, 10, 23, 21, 7, 19, 123)) * 1000n + 456n,
  );
});

Deno.test("PreciseDate converts from epoch microseconds, before the epoch too", () => {
  const d = PreciseDate.fromEpochMicroseconds(-1);
  assertEquals([d.getTime(), d.extraMicroseconds], [-1, 999]);
  assertEquals(d.toIso(), "1969-12-31T23:59:59.999999Z");
  assertEquals(
    PreciseDate.fromEpochMicroseconds(1_500_001n).toIso(),
    "1970-01-01T00:00:01.500001Z",
  );
});

Deno.test("PreciseDate refuses an extra-microsecond count outside 0-999", () => {
  assertThrows(() => new PreciseDate(0, 1000), RangeError);
  assertThrows(() => new PreciseDate(0, 1.5), RangeError);
});

Deno.test("formatDatetime writes Python's isoformat for any Date, padding small years", () => {
  assertEquals(formatDatetime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), "2024-01-02T03:04:05Z");
  const early = new Date(0);
  early.setUTCFullYear(99, 0, 1);
  assertEquals(formatDatetime(early), "0099-01-01T00:00:00Z");
  assertThrows(() => formatDatetime(new Date(Date.UTC(10000, 0, 1))), RangeError, "year 10000");
});

Deno.test("Float64 behaves as its number and prints like a Python float", () => {
  const f = new Float64(2);
  assertEquals(+f + 1, 3);
  assertEquals(String(f), "2.0");
  assertEquals(String(new Float64(0.5)), "0.5");
  assertEquals(JSON.stringify([f]), "[2]");
});
