import { decode as independentDecode } from "cbor2";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  CborError,
  CborTag,
  decodeCbor,
  encodeCbor,
  Float64,
  NO_DATA,
  PreciseDate,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { fromHex, toHex } from "./_helpers.ts";

const hex = (value: unknown) => toHex(encodeCbor(value));
const dec = (h: string) => decodeCbor(fromHex(h));

Deno.test("ints use the shortest head at every size boundary", () => {
  const cases: [number | bigint, string][] = [
    [0, "00"],
    [23, "17"],
    [24, "1818"],
    [255, "18ff"],
    [256, "190100"],
    [65535, "19ffff"],
    [65536, "1a00010000"],
    [4294967295, "1affffffff"],
    [4294967296, "1b0000000100000000"],
    [Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
    [-1, "20"],
    [-24, "37"],
    [-25, "3818"],
    [-256, "38ff"],
    [-257, "390100"],
    [(1n << 64n) - 1n, "1bffffffffffffffff"],
    [-(1n << 64n), "3bffffffffffffffff"],
  ];
  for (const [value, expected] of cases) {
    assertEquals(hex(value), expected, `encoding ${value}`);
    const back = dec(expected);
    assertEquals(typeof back === "bigint" ? back : BigInt(back as number), BigInt(value));
  }
});

Deno.test("ints beyond 64 bits travel as bignum tags 2 and 3", () => {
  assertEquals(hex(1n << 64n), "c249010000000000000000");
  assertEquals(hex(-(1n << 64n) - 1n), "c349010000000000000000");
  assertEquals(dec("c249010000000000000000"), 1n << 64n);
  assertEquals(dec("c349010000000000000000"), -(1n << 64n) - 1n);
});

Deno.test("ints beyond 2^53 decode as bigint, not as a rounded number", () => {
  assertEquals(dec("1b0020000000000000"), 1n << 53n);
  assertEquals(dec("3b001fffffffffffff"), -(1n << 53n));
});

Deno.test("floats are always float64, even when whole", () => {
  assertEquals(hex(1.5), "fb3ff8000000000000");
  assertEquals(hex(new Float64(0)), "fb0000000000000000");
  assertEquals(hex(new Float64(47.5)), "fb4047c00000000000");
  assertEquals(hex(2 ** 60), "fb43b0000000000000");
});

Deno.test("NaN and infinities are written as half floats, as cbor2 does", () => {
  assertEquals(hex(NaN), "f97e00");
  assertEquals(hex(Infinity), "f97c00");
  assertEquals(hex(-Infinity), "f9fc00");
});

Deno.test("decoded floats of every width are marked as floats", () => {
  assertEquals(dec("fb0000000000000000"), new Float64(0));
  assertEquals(dec("f93c00"), new Float64(1));
  assertEquals(dec("f90001"), new Float64(2 ** -24));
  assertEquals(dec("fa3fc00000"), new Float64(1.5));
  assert(Number.isNaN((dec("f97e00") as Float64).value));
  assertEquals(dec("f9fc00"), new Float64(-Infinity));
  assertEquals(dec("00"), 0);
});

Deno.test("text is UTF-8 and a leading BOM survives decoding", () => {
  assertEquals(hex("é"), "62c3a9");
  assertEquals(dec("64efbbbf41"), "\ufeffA");
  assertThrows(() => dec("61ff"), CborError, "invalid UTF-8");
  assertThrows(() => encodeCbor("\ud800"), CborError, "lone surrogates");
});

Deno.test("ASCII and non-ASCII text of every length round-trip, text after either intact", () => {
  // Short ASCII text takes a path of its own in both directions; these cross its edges.
  for (const text of ["", "a", "x".repeat(64), "x".repeat(65), "abcé", "é" + "x".repeat(70)]) {
    const bytes = encodeCbor([text, "tail", text]);
    assertEquals(bytes, encodeCbor([text, "tail", text]));
    assertEquals(decodeCbor(bytes), [text, "tail", text]);
    assertEquals(independentDecode(bytes), [text, "tail", text]);
  }
  assertThrows(() => encodeCbor(["ok", "ab\udc00"]), CborError, "lone surrogates");
  assertEquals(encodeCbor("after"), fromHex("656166746572"));
  assertThrows(() => dec("62417f" + "ff"), CborError);
  assertThrows(() => dec("6241ff"), CborError, "invalid UTF-8");
});

Deno.test("bytes, null, booleans and undefined have their own items", () => {
  assertEquals(hex(Uint8Array.of(1, 2)), "420102");
  assertEquals(dec("420102"), Uint8Array.of(1, 2));
  assertEquals(hex([null, true, false]), "83f6f5f4");
  assertEquals(dec("f7"), undefined);
});

Deno.test("maps keep insertion order and decode as plain objects when keys are text", () => {
  assertEquals(hex({ b: 1, a: 2 }), "a2616201616102");
  assertEquals(hex(new Map([["b", 1], ["a", 2]])), "a2616201616102");
  const back = dec("a2616201616102") as Record<string, number>;
  assertEquals(Object.keys(back), ["b", "a"]);
  assertEquals(dec("a10102"), new Map([[1, 2]]));
});

Deno.test("a __proto__ key becomes an ordinary key, never the prototype", () => {
  const back = dec("a1695f5f70726f746f5f5fa0") as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(back), Object.prototype);
  assertEquals(Object.keys(back), ["__proto__"]);
});

Deno.test("sets travel as tag 258", () => {
  assertEquals(hex(new Set(["a"])), "d901028161" + "61");
  assertEquals(dec("d901028261616162"), new Set(["a", "b"]));
});

Deno.test("datetimes are tag 0 UTC text with microseconds only when non-zero", () => {
  assertEquals(
    dec(hex(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))),
    PreciseDate.fromIso("2024-01-02T03:04:05Z"),
  );
  // Skip the one-byte tag head (c0) and decode the text item it wraps.
  const text = (d: Date) => decodeCbor(encodeCbor(d).subarray(1));
  assertEquals(text(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), "2024-01-02T03:04:05Z");
  assertEquals(text(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120))), "2024-01-02T03:04:05.120000Z");
  assertEquals(
    text(new PreciseDate(Date.UTC(2024, 0, 2, 3, 4, 5, 123), 456)),
    "2024-01-02T03:04:05.123456Z",
  );
  assertEquals(hex(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))).slice(0, 4), "c074");
});

Deno.test("tag 0 accepts offsets and long fractions like cbor2 5.4", () => {
  const withOffset = dec(hex(new CborTag(0, "2024-01-02T04:04:05+01:00"))) as Date;
  assertEquals(withOffset.getTime(), Date.UTC(2024, 0, 2, 3, 4, 5));
  const long = dec(hex(new CborTag(0, "2024-01-02T03:04:05.1234567Z"))) as PreciseDate;
  assertEquals(long.microsecond, 123456);
});

Deno.test("tag 0 rejects text without seconds, without a zone, or out of range", () => {
  for (
    const bad of [
      "2024-01-02T03:04:05",
      "2024-01-02T03:04Z",
      "2024-01-02T03:04:05+01",
      "2023-02-29T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "0000-01-01T00:00:00Z",
    ]
  ) {
    assertThrows(() => decodeCbor(encodeCbor(new CborTag(0, bad))), CborError, "invalid tag 0");
  }
  assertThrows(() => dec("c001"), CborError, "text string");
});

Deno.test("tag 1 epoch datetimes are accepted, int or float", () => {
  const epoch = Date.UTC(2024, 0, 2, 3, 4, 5);
  assertEquals((decodeCbor(encodeCbor(new CborTag(1, epoch / 1000))) as Date).getTime(), epoch);
  const frac = dec("c1fb3ff8000000000000") as PreciseDate;
  assertEquals([frac.getTime(), frac.extraMicroseconds], [1500, 0]);
});

Deno.test("tag 2001 timedelta is normalised as Python does, floats accepted", () => {
  assertEquals(hex(new TimeDelta(0, 10800, 0)), "d907d18300192a3000");
  assertEquals(dec("d907d183002000"), new TimeDelta(-1, 86399, 0));
  assertEquals(dec("d907d183fb3fe00000000000000000"), new TimeDelta(0, 43200, 0));
  assertEquals(dec("d907d18105"), new TimeDelta(5));
  assertThrows(() => dec("d907d18361610000"), CborError, "tag 2001");
});

Deno.test("tag 2002 is the no-data sentinel", () => {
  assertEquals(hex(NO_DATA), "d907d2f6");
  assertEquals(dec("d907d2f6"), NO_DATA);
});

Deno.test("unknown tags are kept as CborTag and re-encode identically", () => {
  const tagged = dec("d82a6161");
  assertEquals(tagged, new CborTag(42, "a"));
  assertEquals(hex(tagged), "d82a6161");
});

Deno.test("indefinite-length items are accepted on receive", () => {
  assertEquals(dec("9f0102ff"), [1, 2]);
  assertEquals(dec("7f61616162ff"), "ab");
  assertEquals(dec("bf616101ff"), { a: 1 });
});

Deno.test("malformed input is refused: truncation, trailing bytes, stray break, reserved info", () => {
  assertThrows(() => dec("8201"), CborError, "truncated");
  assertThrows(() => dec("6261"), CborError, "truncated");
  assertThrows(() => dec("0000"), CborError, "trailing");
  assertThrows(() => dec("ff"), CborError, "break");
  assertThrows(() => dec("1c"), CborError, "reserved");
  assertThrows(() => dec(""), CborError, "truncated");
  assertThrows(() => dec("9b00000000ffffffff"), CborError, "truncated");
});

Deno.test("values with no CBOR form are refused", () => {
  assertThrows(() => encodeCbor(undefined), CborError, "undefined");
  assertThrows(() => encodeCbor([() => 1]), CborError, "function");
  assertThrows(() => encodeCbor(new URL("http://x")), CborError, "URL");
  assertThrows(() => encodeCbor(new Date(NaN)), CborError, "invalid Date");
});

Deno.test("deeply nested input is refused instead of overflowing the stack", () => {
  assertThrows(() => decodeCbor(new Uint8Array(10_000).fill(0x81)), CborError, "nested");
});

Deno.test("an independent decoder (npm cbor2) reads our encoding the same way", () => {
  const value = {
    ints: [0, 24, 256, 65536, 4294967296, -1, -1000],
    text: "piwheels ✓",
    nested: [[null, true], { k: "v" }],
    float: 1.25,
  };
  assertEquals(independentDecode(encodeCbor(value)), value);
});
