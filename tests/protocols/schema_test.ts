import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  CborTag,
  Float64,
  NO_DATA,
  PreciseDate,
  schema as s,
  SchemaError,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { fileState, rebuildRequest } from "../../src/protocols/mod.ts";

Deno.test("int accepts CBOR ints and refuses floats, booleans and text", () => {
  assertEquals(s.int.fromWire(5), 5);
  assertThrows(() => s.int.fromWire(new Float64(1)), SchemaError, "expected int, got float 1.0");
  assertThrows(() => s.int.fromWire(true), SchemaError, "expected int, got bool true");
  assertThrows(() => s.int.fromWire("5"), SchemaError, "expected int, got str");
  assertThrows(() => s.int.toWire(1.5), SchemaError, "expected int, got float 1.5");
  assertThrows(() => s.int.toWire(false), SchemaError, "expected int");
});

Deno.test("int refuses values beyond 2^53 instead of rounding them", () => {
  assertThrows(() => s.int.fromWire(1n << 60n), SchemaError, "out of the supported range");
  assertThrows(() => s.int.toWire(2 ** 60), SchemaError, "out of the supported range");
});

Deno.test("float accepts only CBOR floats on receive and writes every number as a float", () => {
  assertEquals(s.float.fromWire(new Float64(0)), 0);
  assertThrows(() => s.float.fromWire(0), SchemaError, "expected float, got int 0");
  assertEquals(s.float.toWire(47), new Float64(47));
  assertEquals(s.float.toWire(new Float64(1)), new Float64(1));
  assertThrows(() => s.float.toWire("1.0"), SchemaError, "expected float");
});

Deno.test("str refuses bytes and bytes refuses text", () => {
  assertThrows(() => s.str.fromWire(Uint8Array.of(65)), SchemaError, "expected str, got bytes");
  assertThrows(() => s.bytes.fromWire("A"), SchemaError, "expected bytes, got str");
});

Deno.test("bool, None, datetime, timedelta and NoData accept only their own type", () => {
  assertThrows(() => s.bool.fromWire(0), SchemaError, "expected bool");
  assertThrows(() => s.none.fromWire(NO_DATA), SchemaError, "expected None, got no data");
  assertThrows(() => s.datetime.fromWire("2024-01-02T03:04:05Z"), SchemaError, "expected datetime");
  assertThrows(() => s.datetime.toWire(new Date(NaN)), SchemaError, "invalid Date");
  assertThrows(() => s.timedelta.fromWire(300), SchemaError, "expected timedelta");
  assertThrows(() => s.noData.fromWire(null), SchemaError, "expected NoData");
  assert(s.datetime.fromWire(new PreciseDate(0)) instanceof Date);
  assertEquals(s.timedelta.toWire(new TimeDelta(1)), new TimeDelta(1));
});

Deno.test("unknown tags fail every schema except any", () => {
  const tag = new CborTag(42, "x");
  assertThrows(() => s.str.fromWire(tag), SchemaError, "got unknown CBOR tag 42");
  assertEquals(s.any.fromWire(tag), tag);
});

Deno.test("tuple requires exactly its length and names the failing field", () => {
  const pair = s.tuple(["package", s.str], ["version", s.str]);
  assertEquals(pair.fromWire(["a", "1"]), ["a", "1"]);
  assertThrows(() => pair.fromWire(["a"]), SchemaError, "expected exactly 2 items", "got 1");
  assertThrows(() => pair.fromWire(["a", "1", "x"]), SchemaError, "got 3");
  assertThrows(() => pair.fromWire("a"), SchemaError, "expected array of 2 items");
  assertThrows(() => pair.fromWire(["a", 1]), SchemaError, "version: expected str, got int 1");
  assertThrows(() => s.tuple(s.int).fromWire(["x"]), SchemaError, "[0]: expected int");
});

Deno.test("errors deep inside data give the full path", () => {
  const file = fileState.example();
  file[9] = { apt: ["libc6", 3 as unknown as string] };
  const e = assertThrows(() => fileState.toWire(file), SchemaError);
  assertEquals(e.message, 'dependencies["apt"][1]: expected str, got int 3');
  assertEquals(e.where, 'dependencies["apt"][1]');
});

Deno.test("nullable accepts null or the inner type", () => {
  const maybe = s.nullable(s.str);
  assertEquals(maybe.fromWire(null), null);
  assertEquals(maybe.fromWire(">=3.7"), ">=3.7");
  assertThrows(() => maybe.fromWire(1), SchemaError, "expected str");
});

Deno.test("list accepts any length of matching items", () => {
  assertEquals(s.list(s.int).fromWire([]), []);
  assertEquals(s.list(s.int).fromWire([1, 2, 3]), [1, 2, 3]);
  assertThrows(() => s.list(s.int).fromWire([1, "2"]), SchemaError, "[1]: expected int");
});

Deno.test("mapOf needs text keys, and sends a plain object or a Map in order", () => {
  const counts = s.mapOf(s.int);
  assertEquals(counts.fromWire({ cp311: 7 }), { cp311: 7 });
  assertThrows(() => counts.fromWire(new Map([[1, 2]])), SchemaError, "str keys {str: int}");
  assertThrows(() => counts.fromWire([]), SchemaError, "expected map {str: int}");
  assertThrows(() => counts.fromWire({ cp311: "7" }), SchemaError, '["cp311"]: expected int');
  assertEquals(counts.toWire({ b: 1, a: 2 }), new Map([["b", 1], ["a", 2]]));
  assertEquals(counts.toWire(new Map([["z", 1]])), new Map([["z", 1]]));
  assertThrows(() => counts.toWire(new Map([[1, 1]])), SchemaError, "str keys");
  assertThrows(() => counts.toWire([1]), SchemaError, "expected map");
});

Deno.test("setOf takes a Set of matching items", () => {
  assertEquals(s.setOf(s.str).fromWire(new Set(["a"])), new Set(["a"]));
  assertThrows(() => s.setOf(s.str).fromWire(["a"]), SchemaError, "expected set");
  assertThrows(() => s.setOf(s.str).fromWire(new Set([1])), SchemaError, "{item}: expected str");
});

Deno.test("oneOf reports the alternative whose literal matched", () => {
  assertEquals(rebuildRequest.fromWire(["PROJECT", null]), ["PROJECT", null]);
  assertEquals(rebuildRequest.fromWire(["HOME"]), ["HOME"]);
  assertThrows(
    () => rebuildRequest.fromWire(["PROJECT", 5]),
    SchemaError,
    "package: expected str|None",
  );
  assertThrows(() => rebuildRequest.fromWire(["FOO"]), SchemaError, 'expected one of ["HOME"]');
  assertThrows(() => rebuildRequest.fromWire(["HOME", "x"]), SchemaError, "expected one of");
});

Deno.test("any passes values through untouched, floats still marked", () => {
  const raw = [new Float64(2), { a: NO_DATA }];
  assertEquals(s.any.fromWire(raw), raw);
  assertThrows(() => s.any.toWire(undefined), SchemaError, "got nothing");
});

Deno.test("every schema's example satisfies the schema both ways", () => {
  for (const schema of [s.int, s.float, s.str, s.bool, s.bytes, s.none, s.noData, s.datetime]) {
    schema.fromWire(schema.toWire(schema.example()));
  }
  fileState.fromWire(fileState.toWire(fileState.example()));
});
