/**
 * The index policy's details: the fast filename check agrees with the full parser, locations,
 * and formatting.
 */
import assert from "node:assert/strict";
import {
  escapeHtml,
  formatNumber,
  formatSize,
  isSafeLocation,
  parsePlainWheelFilename,
  uploadTime,
} from "../../src/web/mod.ts";
import { PreciseDate } from "../../src/protocols/mod.ts";
import { isValidWheelFilename, normaliseVersion, parseWheelFilename } from "../../src/wheel/mod.ts";

Deno.test("the fast filename check accepts only what the parser accepts, with the same parts", () => {
  const names = [
    "foo-1.0-py3-none-any.whl",
    "Foo_Bar-10.20.3-cp311-cp311-linux_armv7l.whl",
    "a-0-py2.py3-none-any.whl",
    "foo.bar-1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    // Everything below must take the slow path (or fail).
    "foo-01.0-py3-none-any.whl",
    "foo-1.0rc1-py3-none-any.whl",
    "foo-1.0-1-py3-none-any.whl",
    "foo-1.0_RC1-py3-none-any.whl",
    "foo__bar-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-any.whl.metadata",
    "foo-1.0-py3-none-any",
    "../foo-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-any.whl/x.whl",
    "foo-1.0-py3-none-.whl",
    "-1.0-py3-none-any.whl",
    "foo_-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-any.whl\n",
    "foo-1.0.-py3-none-any.whl",
    `${"a".repeat(250)}-1.0-py3-none-any.whl`,
  ];
  let fast = 0;
  for (const name of names) {
    const plain = parsePlainWheelFilename(name);
    if (plain === null) continue;
    fast++;
    assert.ok(isValidWheelFilename(name), name);
    const full = parseWheelFilename(name);
    assert.deepEqual(plain, { name: full.name, version: full.version }, name);
    assert.equal(normaliseVersion(plain.version), plain.version, name);
  }
  assert.equal(fast, 4);
});

Deno.test("file locations must be plain paths or http(s) URLs", () => {
  for (const ok of ["/simple", "/archive/simple", "https://archive1.example.org/simple"]) {
    assert.ok(isSafeLocation(ok), ok);
  }
  for (
    const bad of [
      "",
      "simple",
      "javascript:alert(1)//",
      "/simple/../..",
      '/simple"><script>',
      "/sim ple",
      "//evil.example.org/simple",
      "ftp://x/simple",
    ]
  ) {
    assert.ok(!isSafeLocation(bad), bad);
  }
});

// Project data from the oracle is checked on decode: tests/protocols/object_schema_test.ts.
Deno.test("an upload time keeps the microseconds a release time arrives with", () => {
  assert.equal(uploadTime(new PreciseDate(Date.UTC(2024, 0, 1), 5)), "2024-01-01T00:00:00.000005Z");
});

Deno.test("formatting helpers", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  assert.equal(escapeHtml("plain/text=1"), "plain/text=1");
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(1234567.4), "1,234,567");
  assert.equal(formatSize(512), "512 B");
  assert.equal(formatSize(1536), "1.5 KB");
  assert.equal(formatSize(5 * 1024 ** 3), "5.0 GB");
  assert.equal(
    uploadTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))),
    "2024-01-02T03:04:05.006000Z",
  );
});
