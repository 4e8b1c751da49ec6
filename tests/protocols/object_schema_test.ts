/**
 * The object combinator, and the project data and statistics stated with it: checked on decode,
 * typed, and sent as the encoder writes plain objects.
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  decodeCbor,
  decodeOracleResult,
  encodeCbor,
  Float64,
  PreciseDate,
  type ProjectData,
  ProtocolError,
  schema as s,
  SchemaError,
} from "../../src/protocols/mod.ts";
import { projectData, statistics } from "../../src/protocols/project.ts";

const build = s.object({
  buildId: s.int,
  status: s.bool,
  failureClass: s.optional(s.nullable(s.str)),
  files: s.list(s.object({ name: s.str })),
});

Deno.test("object takes its fields, the optional ones when there, in the order stated", () => {
  const full = build.fromWire({ files: [], status: true, failureClass: null, buildId: 7 });
  assertEquals(Object.keys(full), ["buildId", "status", "failureClass", "files"]);
  assertEquals(full, { buildId: 7, status: true, failureClass: null, files: [] });
  const short = build.fromWire({ buildId: 7, status: false, files: [{ name: "a" }] });
  assertEquals(short, { buildId: 7, status: false, files: [{ name: "a" }] });
  assert(!("failureClass" in short));
  // Sent: an optional field that is undefined is left out.
  const sent = build.toWire({ buildId: 1, status: true, failureClass: undefined, files: [] });
  assertEquals(decodeCbor(encodeCbor(sent)), { buildId: 1, status: true, files: [] });
  assertEquals(build.fromWire(decodeCbor(encodeCbor(build.toWire(build.example())))), {
    buildId: 7,
    status: true,
    failureClass: "text",
    files: [{ name: "text" }],
  });
});

Deno.test("object refuses a missing field, an unknown one, a wrong one and a non-map", () => {
  assertThrows(
    () => build.fromWire({ buildId: 7, files: [] }),
    SchemaError,
    "missing field status",
  );
  assertThrows(
    () => build.fromWire({ buildId: 7, status: true, files: [], extra: 1 }),
    SchemaError,
    'unexpected field "extra"',
  );
  assertThrows(
    () => build.fromWire({ buildId: 7, status: true, files: [{ name: 1 }] }),
    SchemaError,
    "files[0].name: expected str, got int 1",
  );
  assertThrows(() => build.fromWire([7, true]), SchemaError, "expected map {buildId, status");
  assertThrows(() => build.fromWire(new Map([[1, 2]])), SchemaError, "expected map");
  assertThrows(() => build.toWire({ buildId: 7, status: true }), SchemaError, "missing field");
});

Deno.test("number takes ints and floats alike and sends them as the encoder writes them", () => {
  assertEquals(s.number.fromWire(5), 5);
  assertEquals(s.number.fromWire(new Float64(1.5)), 1.5);
  assertThrows(() => s.number.fromWire("5"), SchemaError, "expected int|float");
  assertThrows(() => s.number.toWire(NaN), SchemaError, "expected int|float");
  assertEquals(decodeCbor(encodeCbor(s.number.toWire(2.5))), new Float64(2.5));
});

/** Project data as the oracle sends it (plain objects, dates as datetimes). */
function wireData(): Record<string, unknown> {
  return {
    package: "foo",
    name: "Foo",
    description: "d",
    skip: "",
    aliases: ["Foo"],
    releases: [{
      version: "1.0",
      released: new PreciseDate(Date.UTC(2024, 0, 1), 5),
      skip: "",
      yanked: false,
      queuedAbi: null,
      builds: [{
        buildId: 7,
        abiTag: "cp311",
        status: true,
        builtAt: new PreciseDate(Date.UTC(2024, 0, 2), 0),
        builtBy: 1,
        durationMs: 5000.5,
        failureClass: null,
        failureDetail: "",
        failureLines: "",
        retryAt: null,
      }],
      files: [{
        filename: "foo-1.0-py3-none-any.whl",
        filesize: 10,
        filehash: "a".repeat(64),
        packageTag: "foo",
        packageVersionTag: "1.0",
        pyVersionTag: "py3",
        abiTag: "none",
        platformTag: "any",
        requiresPython: null,
        buildId: 7,
        location: "/simple",
        builderAbi: "cp311",
        aptDependencies: [],
        pipDependencies: ["bar"],
      }],
      abis: { cp311: { status: "success", buildId: 7 } },
    }],
  };
}

/** What the oracle's OK reply carries once it has been through CBOR. */
const overTheWire = (data: unknown) => decodeCbor(encodeCbor(data));

Deno.test("project data from the oracle is checked and typed on decode", () => {
  const data: ProjectData | null = decodeOracleResult("PROJDATA", overTheWire(wireData()));
  assert(data !== null);
  const [release] = data.releases;
  assert(release.released instanceof PreciseDate);
  assertEquals(release.released.microsecond, 5);
  assertEquals(release.builds[0].durationMs, 5000.5);
  assertEquals(release.files[0].pipDependencies, ["bar"]);
  assertEquals(release.abis.cp311, { status: "success", buildId: 7 });
  assertEquals(decodeOracleResult("PROJDATA", null), null);
  assertEquals(projectData.fromWire(overTheWire(projectData.toWire(wireData()))), wireData());
});

Deno.test("bad project data fails naming the field; in a batch it costs only its package", () => {
  const bad = wireData();
  (bad.releases as Record<string, unknown>[])[0].abis = { cp311: { status: "<b>", buildId: 1 } };
  assertThrows(
    () => decodeOracleResult("PROJDATA", overTheWire(bad)),
    ProtocolError,
    'releases[0].abis["cp311"].status',
  );
  const noVersion = wireData();
  delete (noVersion.releases as Record<string, unknown>[])[0].version;
  const batch = decodeOracleResult("PROJDATAS", overTheWire([wireData(), bad, null, noVersion]));
  assertEquals((batch[0] as ProjectData).package, "foo");
  assert(batch[1] instanceof SchemaError);
  assertEquals(batch[1].where, 'releases[0].abis["cp311"].status');
  assertEquals(batch[2], null);
  assert(batch[3] instanceof SchemaError);
  assert(batch[3].message.includes("releases[0]: missing field version"), batch[3].message);
});

Deno.test("statistics from the oracle are checked and typed on decode", () => {
  const stats = statistics.example();
  const decoded = decodeOracleResult("GETSTATS", overTheWire(stats));
  assertEquals(decoded, stats);
  assertEquals(decoded.buildsLastHour, { key: 7 });
  const partial: Record<string, unknown> = { ...stats };
  delete partial.downloadsAll;
  assertThrows(
    () => decodeOracleResult("GETSTATS", overTheWire(partial)),
    ProtocolError,
    "missing field downloadsAll",
  );
  assertEquals(decodeOracleResult("INITSTATS", { downloadsAll: 3 }), { downloadsAll: 3 });
  assertThrows(() => decodeOracleResult("INITSTATS", {}), ProtocolError, "downloadsAll");
});
