import { assert, assertEquals } from "./_assert.ts";
import { decodeMessage, encodeMessage, NO_DATA } from "../../src/protocols/mod.ts";
import { expectedValue, fromHex, protocolsFor, toHex, vectors } from "./_helpers.ts";

/** A unique, readable test label: queue, sender, message and the start of its data. */
const label = (v: (typeof vectors)[number]) => {
  const data = JSON.stringify(v.data).replace(/\{"\$(?:dt|td)":("[^"]*"|\[[^\]]*\])\}/g, "$1");
  return `${v.queue.split(" ")[0]} ${v.sender} ${v.message} ${
    data.length > 50 ? data.slice(0, 50) + "…" : data
  }`;
};

Deno.test("the vector file holds every recorded message", () => {
  assertEquals(vectors.length, 46);
});

for (const v of vectors) {
  Deno.test(`vector ${label(v)} decodes to the recorded message`, () => {
    const { receiver } = protocolsFor(v);
    const msg = decodeMessage(receiver, fromHex(v.hex));
    assertEquals(msg.name, v.message);
    assertEquals(msg.data, expectedValue(v.data));
  });

  Deno.test(`vector ${label(v)} re-encodes to identical bytes`, () => {
    const { receiver, sender } = protocolsFor(v);
    const decoded = decodeMessage(receiver, fromHex(v.hex));
    assertEquals(toHex(encodeMessage(sender, decoded.name, decoded.data)), v.hex);
  });

  Deno.test(`vector ${label(v)} is produced from its data`, () => {
    const { sender } = protocolsFor(v);
    const data = expectedValue(v.data);
    const bytes = data === NO_DATA
      ? encodeMessage(sender, v.message)
      : encodeMessage(sender, v.message, data);
    assert(toHex(bytes) === v.hex, `${toHex(bytes)} !== ${v.hex}`);
  });
}
