import { assertEquals, assertThrows } from "./_assert.ts";
import {
  encodeFileFrames,
  fileJugglerProtocol,
  parseFileFrames,
  ProtocolError,
} from "../../src/protocols/mod.ts";

const master = fileJugglerProtocol;
const slave = fileJugglerProtocol.reversed();
const ascii = (...parts: string[]) => parts.map((p) => new TextEncoder().encode(p));
const text = (frames: Uint8Array[]) => frames.map((f) => new TextDecoder().decode(f));

Deno.test("the slave's HELLO is the name and its decimal id", () => {
  const frames = encodeFileFrames(slave, { name: "HELLO", slaveId: 12 });
  assertEquals(text(frames), ["HELLO", "12"]);
  assertEquals(parseFileFrames(master, frames), { name: "HELLO", slaveId: 12 });
});

Deno.test("FETCH carries decimal offset and length; DONE is a lone frame", () => {
  const fetch = encodeFileFrames(master, { name: "FETCH", offset: 131072, length: 65536 });
  assertEquals(text(fetch), ["FETCH", "131072", "65536"]);
  assertEquals(parseFileFrames(slave, fetch), { name: "FETCH", offset: 131072, length: 65536 });
  const done = encodeFileFrames(master, { name: "DONE" });
  assertEquals(text(done), ["DONE"]);
  assertEquals(parseFileFrames(slave, done), { name: "DONE" });
});

Deno.test("CHUNK carries the offset and the raw bytes untouched", () => {
  const data = Uint8Array.of(0, 255, 10, 13);
  const frames = encodeFileFrames(slave, { name: "CHUNK", offset: 65536, data });
  assertEquals(text(frames.slice(0, 2)), ["CHUNK", "65536"]);
  assertEquals(frames[2], data);
  assertEquals(parseFileFrames(master, frames), { name: "CHUNK", offset: 65536, data });
});

Deno.test("a wrong number of frames is an invalid message structure", () => {
  assertThrows(
    () => parseFileFrames(master, ascii("CHUNK", "0")),
    ProtocolError,
    "file_juggler: CHUNK: invalid message structure (expected 3 frames, got 2)",
  );
  assertThrows(() => parseFileFrames(master, []), ProtocolError, "no frames");
  assertThrows(() => parseFileFrames(slave, ascii("DONE", "")), ProtocolError, "got 2");
});

Deno.test("numbers must be plain decimal ASCII", () => {
  for (const bad of ["-1", "1.5", " 1", "0x10", "", "1234567890123456", "١"]) {
    assertThrows(
      () => parseFileFrames(master, ascii("HELLO", bad)),
      ProtocolError,
      "file_juggler: HELLO: slaveId is not a decimal number",
    );
  }
});

Deno.test("unknown names and messages of the other direction are refused", () => {
  assertThrows(
    () => parseFileFrames(master, ascii("FETCH", "0", "1")),
    ProtocolError,
    "FETCH: unknown message",
  );
  assertThrows(
    () => parseFileFrames(master, ascii("hello", "1")),
    ProtocolError,
    "invalid message name",
  );
  assertThrows(
    () => encodeFileFrames(master, { name: "HELLO", slaveId: 1 } as never),
    ProtocolError,
    "HELLO: unknown message",
  );
});

Deno.test("encoding refuses negative or fractional numbers and non-bytes data", () => {
  assertThrows(
    () => encodeFileFrames(master, { name: "FETCH", offset: -1, length: 1 }),
    ProtocolError,
    "FETCH: offset must be a non-negative integer",
  );
  assertThrows(
    () => encodeFileFrames(slave, { name: "CHUNK", offset: 0, data: "x" as unknown as Uint8Array }),
    ProtocolError,
    "CHUNK: data must be bytes",
  );
});
