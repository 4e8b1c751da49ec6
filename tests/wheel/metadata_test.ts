import assert from "node:assert/strict";
import {
  parseHeaders,
  parseMetadata,
  parseRequirement,
  parseWheelFile,
  pipDependencies,
} from "../../src/wheel/mod.ts";

const METADATA = [
  "Metadata-Version: 2.1",
  "Name: Foo.Bar",
  "Version: 1.0rc1",
  "Summary: a summary",
  "  that continues",
  "Requires-Python: >=3.8, <4",
  "Requires-Dist: requests (>=2.0)",
  "Requires-Dist: Typing_Extensions>=4; python_version < '3.11'",
  "Requires-Dist: pytest; extra == 'test'",
  "Provides-Extra: test",
  "",
  "The long description.",
  "Name: not a header",
  "",
].join("\r\n");

Deno.test("parses METADATA headers, folded lines and body", () => {
  const md = parseMetadata(new TextEncoder().encode(METADATA));
  assert.equal(md.metadataVersion, "2.1");
  assert.equal(md.name, "Foo.Bar");
  assert.equal(md.version, "1.0rc1");
  assert.equal(md.requiresPython, ">=3.8, <4");
  assert.equal(md.requiresDist.length, 3);
  assert.equal(md.headers.get("summary"), "a summary\n  that continues");
  assert.deepEqual(md.headers.getAll("Provides-Extra"), ["test"]);
  assert.equal(md.headers.body, "The long description.\nName: not a header\n");
});

Deno.test("reports absent Requires-Python as null", () => {
  assert.equal(parseMetadata("Name: x\nVersion: 1\n").requiresPython, null);
});

Deno.test("parses the WHEEL file", () => {
  const w = parseWheelFile(
    "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.38.4)\nRoot-Is-Purelib: false\n" +
      "Tag: cp311-cp311-linux_x86_64\nTag: cp311-abi3-linux_x86_64\n",
  );
  assert.equal(w.wheelVersion, "1.0");
  assert.equal(w.rootIsPurelib, false);
  assert.deepEqual(w.tags, ["cp311-cp311-linux_x86_64", "cp311-abi3-linux_x86_64"]);
});

Deno.test("stops headers at a line that is not a header", () => {
  const h = parseHeaders("A: 1\nnot a header\nB: 2\n");
  assert.deepEqual(h.entries, [["A", "1"]]);
});

Deno.test("parses PEP 508 requirements loosely and rejects malformed ones", () => {
  assert.deepEqual(parseRequirement("Foo[bar, baz] (>=1.0) ; extra == 'x'"), {
    name: "Foo",
    extras: ["bar", "baz"],
    specifier: "(>=1.0)",
    marker: "extra == 'x'",
  });
  assert.deepEqual(parseRequirement("pip @ https://x.org/p.whl;x ; python_version>'3'"), {
    name: "pip",
    extras: [],
    specifier: "@ https://x.org/p.whl;x",
    marker: "python_version>'3'",
  });
  assert.equal(parseRequirement("a>=1,<2")?.specifier, ">=1,<2");
  for (const bad of ["", "-foo", "foo bar", "foo[", "foo >=", "foo;", "foo $$"]) {
    assert.equal(parseRequirement(bad), null, JSON.stringify(bad));
  }
});

Deno.test("derives pip dependencies as piwheels does", () => {
  const deps = pipDependencies([
    "requests (>=2.0)",
    "Typing_Extensions>=4; python_version < '3.11'",
    "pytest; extra == 'test'",
    "Requests[socks]",
    "not valid !!",
    "x".repeat(256),
  ]);
  assert.deepEqual(deps, ["requests", "typing-extensions"]);
});
