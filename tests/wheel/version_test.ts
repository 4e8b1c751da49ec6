import assert from "node:assert/strict";
import {
  compareVersions,
  InvalidVersionError,
  isNormalisedVersion,
  isPrerelease,
  isValidVersion,
  normaliseVersion,
  parseVersion,
  sortVersionsNewestFirst,
} from "../../src/wheel/mod.ts";

Deno.test("normalises the alternative spellings PEP 440 allows", () => {
  const cases: [string, string][] = [
    ["1.0", "1.0"],
    ["v1.0", "1.0"],
    [" 1.0\n", "1.0"],
    ["01.002", "1.2"],
    ["1!2.0", "1!2.0"],
    ["0!1.0", "1.0"],
    ["1.0a", "1.0a0"],
    ["1.0-alpha.1", "1.0a1"],
    ["1.0BETA2", "1.0b2"],
    ["1.0c1", "1.0rc1"],
    ["1.0-pre_3", "1.0rc3"],
    ["1.0preview4", "1.0rc4"],
    ["1.0-1", "1.0.post1"],
    ["1.0post", "1.0.post0"],
    ["1.0.rev2", "1.0.post2"],
    ["1.0_r3", "1.0.post3"],
    ["1.0dev", "1.0.dev0"],
    ["1.0-DEV-7", "1.0.dev7"],
    ["1.0rc1.post2.dev3", "1.0rc1.post2.dev3"],
    ["1.0+Ubuntu-1", "1.0+ubuntu.1"],
    ["1.0+abc.007", "1.0+abc.7"],
    ["2024.01.05", "2024.1.5"],
  ];
  for (const [input, want] of cases) assert.equal(normaliseVersion(input), want, input);
});

Deno.test("rejects strings that are not PEP 440 versions", () => {
  for (const bad of ["", "1.0.", ".1", "1..0", "1.0+", "1.0+_x", "a1.0", "1.0-", "1.0 beta", "x"]) {
    assert.equal(isValidVersion(bad), false, JSON.stringify(bad));
    assert.throws(() => parseVersion(bad), InvalidVersionError);
  }
});

Deno.test("keeps release segments beyond 2^53 exact", () => {
  assert.equal(normaliseVersion("1.99999999999999999999"), "1.99999999999999999999");
  assert.ok(compareVersions("1.99999999999999999999", "1.99999999999999999998") > 0);
});

Deno.test("orders versions as PEP 440 specifies", () => {
  const ascending = [
    "1.0.dev456",
    "1.0a1",
    "1.0a2.dev456",
    "1.0a12.dev456",
    "1.0a12",
    "1.0b1.dev456",
    "1.0b2",
    "1.0b2.post345.dev456",
    "1.0b2.post345",
    "1.0rc1.dev456",
    "1.0rc1",
    "1.0",
    "1.0+abc.5",
    "1.0+abc.7",
    "1.0+5",
    "1.0.post456.dev34",
    "1.0.post456",
    "1.0.15",
    "1.1.dev1",
    "1!0.1",
  ];
  for (let i = 0; i < ascending.length - 1; i++) {
    assert.ok(compareVersions(ascending[i], ascending[i + 1]) < 0, `${ascending[i]} < next`);
  }
  assert.equal(compareVersions("1.0", "1.0.0.0"), 0);
  assert.ok(compareVersions("1.0", "1.0+0") < 0);
});

Deno.test("agrees with pip's packaging on normalisation and order", async () => {
  const versions = [
    "1.0",
    "1.0.0",
    "1.0.post1",
    "1.0-1",
    "1.0.dev1",
    "1.0a1.dev1",
    "1.0rc1",
    "1.0c2",
    "1.0+local.1",
    "1.0+local.a",
    "1.0+1.a",
    "1.0+a.1",
    "2!0.1",
    "0.9.post1.dev2",
    "1.0.post1.dev1",
    "1.0b1.post1",
    "10.0",
    "9.9.9",
    "1.0.0.0.1",
    "v3.2.RC4",
    "1.0a",
    "1.0.DEV",
  ];
  const script = "import json, sys\n" +
    "from pip._vendor.packaging.version import Version\n" +
    "vs = json.load(sys.stdin)\n" +
    "print(json.dumps({'norm': [str(Version(v)) for v in vs], " +
    "'order': sorted(vs, key=lambda v: (Version(v), v), reverse=True)}))\n";
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(versions)));
  await writer.close();
  const out = await child.output();
  assert.ok(out.success);
  const truth = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(versions.map(normaliseVersion), truth.norm);
  assert.deepEqual(sortVersionsNewestFirst(versions), truth.order);
});

Deno.test("sorts legacy versions after every PEP 440 version, newest first", () => {
  assert.deepEqual(
    sortVersionsNewestFirst(["1.0", "foo", "2.0rc1", "1.10", "bar", "1.9"]),
    ["2.0rc1", "1.10", "1.9", "1.0", "foo", "bar"],
  );
});

Deno.test("tells normalised versions and pre-releases apart", () => {
  assert.equal(isNormalisedVersion("1.0rc1"), true);
  assert.equal(isNormalisedVersion("1.0-rc1"), false);
  assert.equal(isNormalisedVersion("nope"), false);
  assert.equal(isPrerelease("1.0.dev1"), true);
  assert.equal(isPrerelease("1.0b1"), true);
  assert.equal(isPrerelease("1.0.post1"), false);
});
