/** The CBOR primitives the general codec and the fast paths share: heads and texts. */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  CBOR_NULL,
  CborError,
  CborReader,
  CborWriter,
  MAJOR_ARRAY,
  MAJOR_MAP,
  MAJOR_TEXT,
  MAJOR_UINT,
  utf8Text,
} from "../../src/protocols/cbor_io.ts";
import { decodeCbor } from "../../src/protocols/cbor.ts";
import { fromHex, toHex } from "./_helpers.ts";

function written(fn: (w: CborWriter) => void, size?: number): string {
  const w = new CborWriter(size);
  fn(w);
  return toHex(w.result());
}

Deno.test("heads are written in their shortest form at every size boundary", () => {
  // [argument, bytes of its head]: 1 up to 23, then 1 + 1, 2, 4 or 8 bytes of argument.
  const sizes = [[0, 1], [23, 1], [24, 2], [255, 2], [256, 3], [65535, 3], [65536, 5]];
  sizes.push([0xffffffff, 5], [0x100000000, 9], [Number.MAX_SAFE_INTEGER, 9]);
  for (const [n, size] of sizes) {
    const w = new CborWriter(1);
    w.head(MAJOR_UINT, n);
    assertEquals(w.pos, size, `head of ${n}`);
    assertEquals(decodeCbor(w.result()), n);
  }
  assertEquals(written((w) => w.head(MAJOR_ARRAY, 3)), "83");
  assertEquals(written((w) => w.head(MAJOR_MAP, 300)), "b9012c");
  assertEquals(written((w) => w.head(MAJOR_TEXT, 70000)), "7a00011170");
});

Deno.test("texts are written as UTF-8 whether ASCII, not, short or long", () => {
  for (const text of ["", "numpy", "bär", "x".repeat(1023), "y".repeat(5000), "é".repeat(2000)]) {
    const hex = written((w) => w.text(text), 4);
    assertEquals(decodeCbor(fromHex(hex)), text);
  }
  assertEquals(written((w) => w.text("a€")), "6461e282ac");
  assertThrows(() => written((w) => w.text("a\ud800")), CborError, "lone surrogates");
});

Deno.test("a writer grows as it is written, keeping what it holds", () => {
  const w = new CborWriter(2);
  w.head(MAJOR_ARRAY, 40);
  for (let i = 0; i < 40; i++) w.text(`item ${i}`);
  w.byte(CBOR_NULL);
  const items = Array.from({ length: 40 }, (_, i) => `item ${i}`);
  assertEquals(decodeCbor(w.result().subarray(0, -1)), items);
  assertEquals(w.buf[w.pos - 1], CBOR_NULL);
});

Deno.test("a reader reads back the heads and texts written", () => {
  const w = new CborWriter();
  const sizes = [0, 23, 24, 255, 256, 65535, 65536, 0xffffffff];
  for (const n of sizes) w.head(MAJOR_UINT, n);
  w.head(MAJOR_TEXT, 4);
  w.bytes(new TextEncoder().encode("bär"));
  const r = new CborReader(w.result());
  for (const n of sizes) assertEquals(r.head(MAJOR_UINT), n);
  assertEquals(r.text(r.head(MAJOR_TEXT)), "bär");
  assertEquals(r.pos, r.data.length);
});

Deno.test("a reader's head is -1, without moving, for anything but a plain head", () => {
  const cases: [string, string, number][] = [
    ["another major type", "8100", MAJOR_UINT],
    ["an indefinite length", "9fff", MAJOR_ARRAY],
    ["a 64-bit argument", "1b0000000100000000", MAJOR_UINT],
    ["a head cut short", "1901", MAJOR_UINT],
    ["a 32-bit head cut short", "1a000100", MAJOR_UINT],
    ["nothing left", "", MAJOR_UINT],
  ];
  for (const [what, hex, major] of cases) {
    const r = new CborReader(fromHex(hex));
    assertEquals(r.head(major), -1, what);
    assertEquals(r.pos, 0, what);
  }
  const r = new CborReader(fromHex("0005"), 1);
  assertEquals(r.head(MAJOR_UINT), 5, "from a start offset");
});

Deno.test("a reader refuses text cut short or not UTF-8", () => {
  assertThrows(() => new CborReader(fromHex("6162")).text(3), CborError, "truncated");
  assertThrows(() => new CborReader(fromHex("61ff")).text(2), CborError, "invalid UTF-8");
  assertThrows(() => utf8Text(new Uint8Array(100).fill(0xff), 7), CborError, "offset 7");
  assert(utf8Text(new Uint8Array(100).fill(0x61), 0) === "a".repeat(100));
});
