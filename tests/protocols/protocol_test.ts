import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { PiwError } from "../../src/errors.ts";
import {
  CborTag,
  decodeMessage,
  decodeOracleResult,
  encodeCbor,
  encodeMessage,
  fileJugglerFsProtocol,
  Float64,
  masterControlProtocol,
  monitorStatsProtocol,
  mrChaseProtocol,
  NO_DATA,
  PreciseDate,
  type Protocol,
  ProtocolError,
  slaveDriverProtocol,
  type SlaveEvent,
  type SlaveStats,
  theOracleProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { fromHex, toHex } from "./_helpers.ts";

const master = slaveDriverProtocol;
const slave = slaveDriverProtocol.reversed();
const ts = new PreciseDate(Date.UTC(2024, 0, 2, 3, 4, 5));
const stats: SlaveStats = [ts, 10, 5, 4, 2, 0, 0, 0, 47.5];
const rawStats = (load: unknown, diskSize: unknown = 10) => [
  ts,
  diskSize,
  5,
  4,
  2,
  0,
  0,
  load,
  new Float64(47.5),
];

Deno.test("a bare name where data is needed is refused as missing data", () => {
  assertThrows(
    () => decodeMessage(master, encodeCbor("IDLE")),
    ProtocolError,
    "slave_driver: IDLE: missing data",
  );
});

Deno.test('["SENT", null] is refused: SENT carries no data', () => {
  assertThrows(
    () => decodeMessage(master, fromHex("826453454e54f6")),
    ProtocolError,
    "slave_driver: SENT: data not expected",
  );
});

Deno.test('["BYE"] is refused as an invalid message structure', () => {
  assertThrows(
    () => decodeMessage(master, fromHex("8163425945")),
    ProtocolError,
    "slave_driver: invalid message structure (an array of 1)",
  );
});

Deno.test("other shapes than a name or [name, data] are invalid structures", () => {
  for (const frame of [42, ["IDLE", 1, 2], [1, 2], { IDLE: 1 }, null]) {
    assertThrows(
      () => decodeMessage(master, encodeCbor(frame)),
      ProtocolError,
      "slave_driver: invalid message structure",
    );
  }
});

Deno.test("an int where a float is declared is refused (load average 0)", () => {
  assertThrows(
    () => decodeMessage(master, encodeCbor(["IDLE", rawStats(0)])),
    ProtocolError,
    "slave_driver: IDLE: invalid data: load_avg_1min: expected float, got int 0",
  );
});

Deno.test("a float where an int is declared is refused (disk size 1.0)", () => {
  assertThrows(
    () => decodeMessage(master, encodeCbor(["BUSY", rawStats(new Float64(0), new Float64(1))])),
    ProtocolError,
    "slave_driver: BUSY: invalid data: disk_size: expected int, got float 1.0",
  );
});

Deno.test("an unknown CBOR tag in data is refused", () => {
  const hello = [...slaveDriverProtocol.recv.HELLO.example()] as unknown[];
  hello[5] = new CborTag(42, "slave2");
  assertThrows(
    () => decodeMessage(master, encodeCbor(["HELLO", hello])),
    ProtocolError,
    "slave_driver: HELLO: invalid data: label: expected str, got unknown CBOR tag 42",
  );
});

Deno.test("an unknown message name is refused, naming queue and message", () => {
  const e = assertThrows(
    () => decodeMessage(master, encodeCbor("FOO")),
    ProtocolError,
    "slave_driver: FOO: unknown message",
  );
  assertEquals([e.protocol, e.messageName, e.reason], ["slave_driver", "FOO", "unknown message"]);
  assert(e instanceof PiwError, "ProtocolError is a PiwError (exit code 1)");
});

Deno.test("a message of the other direction is unknown on this side", () => {
  assertThrows(() => decodeMessage(master, encodeCbor("DIE")), ProtocolError, "DIE: unknown");
  assertThrows(() => encodeMessage(master, "HELLO" as "ACK", [1, "x"]), ProtocolError, "unknown");
});

Deno.test("undecodable bytes are refused naming the queue", () => {
  assertThrows(
    () => decodeMessage(mrChaseProtocol, fromHex("8266494d50")),
    ProtocolError,
    "mr_chase: unable to deserialize data: truncated",
  );
  assertThrows(
    () => decodeMessage(mrChaseProtocol, encodeCbor(new CborTag(0, "yesterday"))),
    ProtocolError,
    "mr_chase: unable to deserialize data: invalid tag 0",
  );
});

Deno.test("[name, <tag 2002>] counts as no data, as in piwheels", () => {
  assertEquals(decodeMessage(master, fromHex("826453454e54d907d2f6")), {
    name: "SENT",
    data: NO_DATA,
  });
});

Deno.test("the sender refuses data for a message without data", () => {
  assertThrows(
    () => encodeMessage(slave, "BYE", null as unknown as undefined),
    ProtocolError,
    "slave_driver: BYE: data not expected",
  );
  assertEquals(toHex(encodeMessage(slave, "BYE", NO_DATA)), "63425945");
});

Deno.test("the sender refuses to omit data where a schema exists", () => {
  assertThrows(
    () => (encodeMessage as (...a: unknown[]) => Uint8Array)(master, "SLEEP"),
    ProtocolError,
    "slave_driver: SLEEP: missing data (expected bool)",
  );
});

Deno.test("the sender validates data like the receiver", () => {
  assertThrows(
    () => encodeMessage(master, "BUILD", ["numpy", 1] as unknown as [string, string]),
    ProtocolError,
    "slave_driver: BUILD: invalid data: version: expected str, got int 1",
  );
  assertThrows(
    () => encodeMessage(master, "ACK", [1.5, "url"]),
    ProtocolError,
    "slave_driver: ACK: invalid data: slave_id: expected int, got float 1.5",
  );
});

Deno.test("whole numbers in float fields are sent as float64", () => {
  const bytes = encodeMessage(slave, "IDLE", [ts, 10, 5, 4, 2, 0, 0, 0, 47]);
  assert(toHex(bytes).endsWith("fb0000000000000000fb4047800000000000"));
  assertEquals(decodeMessage(master, bytes).data, [ts, 10, 5, 4, 2, 0, 0, 0, 47]);
});

Deno.test("decoded messages narrow by name to typed data", () => {
  const msg = decodeMessage(master, encodeMessage(slave, "BUSY", stats));
  if (msg.name !== "BUSY") throw new Error("wrong message");
  const [timestamp, , , , , , , load] = msg.data;
  assertEquals([timestamp.getTime(), load], [ts.getTime(), 0]);
});

Deno.test("reversed() swaps recv and send and keeps the queue name", () => {
  assertEquals(slave.name, "slave_driver");
  assertEquals(slave.recv, master.send);
  assertEquals(slave.send, master.recv);
  assertEquals(Object.keys(slave.reversed().recv), Object.keys(master.recv));
});

Deno.test("master_control takes a slave id or null", () => {
  const monitor = masterControlProtocol.reversed();
  assertEquals(toHex(encodeMessage(monitor, "KILL", null)), "82644b494c4cf6");
  assertThrows(
    () => decodeMessage(masterControlProtocol, encodeCbor(["KILL", "3"])),
    ProtocolError,
    "master_control: KILL: invalid data: expected int|None, got str",
  );
});

Deno.test("monitor SLAVE events keep float stats and accept DIE with null or NoData", () => {
  const sender = monitorStatsProtocol.reversed();
  const event: SlaveEvent = [1, ts, "STATS", stats];
  const bytes = encodeMessage(sender, "SLAVE", event);
  assert(toHex(bytes).includes("fb0000000000000000"));
  assertEquals(decodeMessage(monitorStatsProtocol, bytes).data, event);
  for (const data of [null, NO_DATA]) {
    const die = encodeMessage(sender, "SLAVE", [1, ts, "DIE", data]);
    assertEquals(decodeMessage(monitorStatsProtocol, die).data, [1, ts, "DIE", data]);
  }
});

Deno.test("monitor SLAVE events check the data of known messages and pass others", () => {
  assertThrows(
    () => decodeMessage(monitorStatsProtocol, encodeCbor(["SLAVE", [1, ts, "BUILD", ["x"]]])),
    ProtocolError,
    "monitor_stats: SLAVE: invalid data: data: expected exactly 2 items",
  );
  const odd: SlaveEvent = [1, ts, "BUILT", [true, new Float64(1)]];
  assertEquals(decodeMessage(monitorStatsProtocol, encodeCbor(["SLAVE", odd])).data, odd);
});

Deno.test("REBUILD data is one of its four forms", () => {
  const client = mrChaseProtocol.reversed();
  assertEquals(
    toHex(encodeMessage(client, "REBUILD", ["SEARCH"])),
    "826752454255494c448166534541524348",
  );
  assertThrows(
    () => encodeMessage(client, "REBUILD", ["INDEX"] as unknown as ["HOME"]),
    ProtocolError,
    'mr_chase: REBUILD: invalid data: expected one of ["HOME"] | ["SEARCH"]',
  );
});

Deno.test("any data (file_juggler_fs OK) round-trips losslessly, NoData included", () => {
  const fs = fileJugglerFsProtocol.reversed();
  const data = [new Float64(1), { a: new Set(["x"]) }, new TimeDelta(1)];
  const bytes = encodeMessage(fileJugglerFsProtocol, "OK", data);
  assertEquals(decodeMessage(fs, bytes).data, data);
  assertEquals(toHex(encodeMessage(fileJugglerFsProtocol, "OK", NO_DATA)), "82624f4bd907d2f6");
  assertEquals(decodeMessage(fs, encodeCbor("OK")), { name: "OK", data: NO_DATA });
});

Deno.test("oracle results are checked against the result schema of the request", () => {
  const client = theOracleProtocol.reversed();
  const reply = decodeMessage(client, encodeMessage(theOracleProtocol, "OK", new Set(["foo"])));
  assertEquals(decodeOracleResult("ALLPKGS", reply.data), new Set(["foo"]));
  assertEquals(decodeOracleResult("GETPYPI", 123), 123);
  assertThrows(
    () => decodeOracleResult("PKGEXISTS", "yes"),
    ProtocolError,
    "the_oracle: OK (PKGEXISTS): invalid data: expected bool, got str",
  );
});

Deno.test("a typed protocol also serves code written against plain Protocol", () => {
  const loose: Protocol = slaveDriverProtocol.reversed();
  const name: string = "BUILT";
  const data: unknown = slaveDriverProtocol.recv.BUILT.example();
  const msg: { name: string; data: unknown } = decodeMessage(
    slaveDriverProtocol as Protocol,
    encodeMessage(loose, name, data),
  );
  assertEquals(msg, { name, data });
});
