/** SlaveDriver's own QUEUE decoder agrees with the general decoder and leaves it the rest. */
import assert from "node:assert/strict";
import {
  type BuildQueue,
  decodeMessage,
  decodeQueueFrame,
  encodeMessage,
  ProtocolError,
  theArchitectProtocol,
} from "../../src/protocols/mod.ts";
import { encodeCbor } from "../../src/protocols/cbor.ts";

const sendSide = theArchitectProtocol.reversed();

Deno.test("decodes QUEUE frames exactly as the general decoder does", () => {
  const long = Array.from({ length: 70_000 }, (_, i): [string, string] => [`pkg${i}`, "1.0"]);
  const queues: BuildQueue[] = [
    {},
    { cp311: [] },
    { cp311: [["foo", "1.0"], ["bär", "2.0rc1"]], cp39: [["x".repeat(300), "1!2.0.post3"]] },
    { cp311: long, cp313: long.slice(0, 300) },
  ];
  for (const queue of queues) {
    const frame = encodeMessage(sendSide, "QUEUE", queue);
    const general = decodeMessage(theArchitectProtocol, frame).data;
    assert.deepEqual(decodeQueueFrame(frame), general);
    assert.deepEqual(general, queue);
  }
});

Deno.test("anything but a plain QUEUE is left to the general decoder", () => {
  const cases: [string, Uint8Array][] = [
    ["another message shape", encodeCbor(["QUEUE", { cp311: [["foo"]] }])],
    ["a number for a version", encodeCbor(["QUEUE", { cp311: [["foo", 1]] }])],
    ["trailing bytes", new Uint8Array([...encodeMessage(sendSide, "QUEUE", {}), 0])],
    ["truncated", encodeMessage(sendSide, "QUEUE", { cp311: [["foo", "1.0"]] }).slice(0, -2)],
    [
      "invalid UTF-8",
      new Uint8Array([0x82, 0x65, 0x51, 0x55, 0x45, 0x55, 0x45, 0xa1, 0x61, 0xff, 0x80]),
    ],
    ["not QUEUE", encodeCbor(["QUEUF", {}])],
  ];
  for (const [what, frame] of cases) {
    assert.equal(decodeQueueFrame(frame), null, what);
    assert.throws(() => decodeMessage(theArchitectProtocol, frame), ProtocolError, what);
  }
});
