import { assertEquals } from "./_assert.ts";
import * as protocols from "../../src/protocols/mod.ts";
import { decodeMessage, encodeMessage, NO_DATA, Protocol } from "../../src/protocols/mod.ts";
import { toHex } from "./_helpers.ts";

/** Every Protocol the module exports, found by value so a new queue cannot be missed. */
const all = Object.entries(protocols).filter(([, v]) => v instanceof Protocol) as [
  string,
  Protocol,
][];

Deno.test("every queue of the brief is exported as a protocol", () => {
  const names = all.map(([, p]) => p.name).sort();
  for (
    const expected of [
      "big_brother",
      "cloud_gazer",
      "file_juggler_fs",
      "lumberjack",
      "master_control",
      "monitor_stats",
      "mr_chase",
      "slave_driver",
      "task_control",
      "the_architect",
      "the_oracle",
      "the_scribe",
    ]
  ) {
    if (!names.includes(expected)) throw new Error(`no protocol named ${expected}`);
  }
  assertEquals(new Set(names).size, names.length, "protocol names are unique");
});

for (const [exportName, protocol] of all) {
  const directions: [string, Protocol, Protocol][] = [
    ["to", protocol.reversed(), protocol],
    ["from", protocol, protocol.reversed()],
  ];
  for (const [direction, sender, receiver] of directions) {
    for (const [name, schema] of Object.entries(sender.send)) {
      Deno.test(`${exportName} ${name} (${direction} the serving side) round-trips`, () => {
        const data = schema === null ? NO_DATA : schema.example();
        const bytes = schema === null
          ? encodeMessage(sender, name)
          : encodeMessage(sender, name, data);
        const msg = decodeMessage(receiver, bytes);
        assertEquals(msg, { name, data });
        assertEquals(toHex(encodeMessage(sender, msg.name, msg.data)), toHex(bytes));
      });
    }
  }
}

for (const [request, schema] of Object.entries(protocols.theOracleResults)) {
  Deno.test(`the_oracle OK reply to ${request} round-trips to its typed result`, () => {
    const result = schema.example() as unknown;
    const oracle = protocols.theOracleProtocol;
    const reply = encodeMessage(
      oracle,
      "OK",
      protocols.encodeData(schema, result, oracle.name, "OK"),
    );
    const msg = decodeMessage(oracle.reversed(), reply);
    assertEquals(
      protocols.decodeOracleResult(request as protocols.OracleRequest, msg.data),
      result,
    );
  });
}
