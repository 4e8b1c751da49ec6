import assert from "node:assert/strict";
import {
  InvalidWheelFilenameError,
  isValidWheelFilename,
  normalisedWheelFilename,
  parseWheelFilename,
  wheelFilename,
} from "../../src/wheel/mod.ts";

Deno.test("parses the parts of a wheel filename", () => {
  const w = parseWheelFilename("numpy-1.26.4-cp311-cp311-linux_armv7l.whl");
  assert.equal(w.name, "numpy");
  assert.equal(w.canonicalName, "numpy");
  assert.equal(w.version, "1.26.4");
  assert.equal(w.buildTag, null);
  assert.equal(w.build, null);
  assert.deepEqual([w.pythonTag, w.abiTag, w.platformTag], ["cp311", "cp311", "linux_armv7l"]);
  assert.deepEqual(w.tags, ["cp311-cp311-linux_armv7l"]);
});

Deno.test("parses build tags and expands compressed tag sets", () => {
  const w = parseWheelFilename("foo_bar-2.0-1local-py2.py3-none-any.manylinux1_x86_64.whl");
  assert.equal(w.canonicalName, "foo-bar");
  assert.equal(w.buildTag, "1local");
  assert.deepEqual(w.build, { number: 1, suffix: "local" });
  assert.equal(w.pythonTag, "py2.py3");
  assert.deepEqual(w.tags, [
    "py2-none-any",
    "py2-none-manylinux1_x86_64",
    "py3-none-any",
    "py3-none-manylinux1_x86_64",
  ]);
});

Deno.test("accepts older spellings installers must accept, unless strict", () => {
  for (const f of ["Foo.Bar-1.0-py3-none-any.whl", "foo-1.0_RC1-py3-none-any.whl"]) {
    assert.ok(isValidWheelFilename(f), f);
    assert.ok(!isValidWheelFilename(f, { strict: true }), f);
  }
  assert.ok(isValidWheelFilename("foo_bar-1.0rc1-py3-none-any.whl", { strict: true }));
});

Deno.test("accepts legacy versions only when asked to", () => {
  const f = "foo-2004d-py3-none-any.whl";
  assert.ok(!isValidWheelFilename(f));
  assert.equal(parseWheelFilename(f, { allowLegacyVersion: true }).version, "2004d");
  assert.ok(!isValidWheelFilename(f, { allowLegacyVersion: true, strict: true }));
});

Deno.test("rejects hostile and malformed filenames with a reason", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["../foo-1.0-py3-none-any.whl", /path separator/],
    ["a/foo-1.0-py3-none-any.whl", /path separator/],
    ["foo-1.0-py3-none-any.whl/", /path separator/],
    ["..\\foo-1.0-py3-none-any.whl", /path separator/],
    ["..foo-1.0-py3-none-any.whl", /'\.\.'/],
    ["foo-1.0-py3-none-any..whl", /'\.\.'/],
    ["foo-1.0-py3-none-any.whl\0.png", /control/],
    ["foo-1.0-py3-none-any.whl\n", /control/],
    [" foo-1.0-py3-none-any.whl", /whitespace/],
    ["foo-1.0-py3-none-any.tar.gz", /\.whl/],
    ["foo-1.0-py3-none.whl", /parts/],
    ["foo-1.0-x-y-py3-none-any.whl", /parts/],
    ["foo-1.0-abc-py3-none-any.whl", /build tag/],
    [".foo-1.0-py3-none-any.whl", /bad name/],
    ["_foo-1.0-py3-none-any.whl", /bad name/],
    ["foo__bar-1.0-py3-none-any.whl", /bad name/],
    ["föö-1.0-py3-none-any.whl", /bad name/],
    ["foo-1.0$(id)-py3-none-any.whl", /bad version/],
    ["foo-1.0-py3-none-an%2F.whl", /platform tag/],
    ["foo-1.0-py3.-none-any.whl", /python tag/],
    ["foo-1.0-py3-none-.whl", /platform tag/],
    [`${"a".repeat(250)}-1.0-py3-none-any.whl`, /too long/],
  ];
  for (const [name, why] of bad) {
    assert.throws(() => parseWheelFilename(name), (e: unknown) => {
      assert.ok(e instanceof InvalidWheelFilenameError, `${JSON.stringify(name)}: ${e}`);
      assert.match(e.message, why, JSON.stringify(name));
      return true;
    });
  }
});

Deno.test("renames a wheel whose version is not normalised", () => {
  assert.equal(
    normalisedWheelFilename("foo-1.0_RC1-py3-none-any.whl"),
    "foo-1.0rc1-py3-none-any.whl",
  );
  assert.equal(
    normalisedWheelFilename("Foo.Bar-01.0-2-cp311-cp311-linux_armv7l.whl"),
    "Foo.Bar-1.0-2-cp311-cp311-linux_armv7l.whl",
  );
  assert.equal(
    normalisedWheelFilename("Foo.Bar-1.0-py3-none-any.whl", { name: true }),
    "foo_bar-1.0-py3-none-any.whl",
  );
  const fine = "foo-1.0.post1-py3-none-any.whl";
  assert.equal(normalisedWheelFilename(fine), fine);
  assert.throws(() => normalisedWheelFilename("../x.whl"), InvalidWheelFilenameError);
});

Deno.test("assembles a valid filename from parts", () => {
  assert.equal(
    wheelFilename({
      name: "Foo.Bar",
      version: "1.0-1",
      pythonTag: "py3",
      abiTag: "none",
      platformTag: "any",
    }),
    "foo_bar-1.0.post1-py3-none-any.whl",
  );
  assert.equal(
    wheelFilename({
      name: "x",
      version: "2",
      buildTag: "3",
      pythonTag: "cp311",
      abiTag: "cp311",
      platformTag: "linux_x86_64",
    }),
    "x-2-3-cp311-cp311-linux_x86_64.whl",
  );
});
