/**
 * The index policy's details: the fast filename check agrees with the full parser, locations,
 * and project data from the oracle queue.
 */
import assert from "node:assert/strict";
import {
  escapeHtml,
  formatNumber,
  formatSize,
  isSafeLocation,
  parsePlainWheelFilename,
  ProjectDataError,
  toProjectData,
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

Deno.test("project data from the oracle queue is checked field by field", () => {
  assert.equal(toProjectData({}), null);
  const raw = {
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
        buildId: 7n,
        abiTag: "cp311",
        status: true,
        builtAt: "2024-01-02T00:00:00Z",
        builtBy: 1,
        durationMs: 5,
      }],
      files: [{
        filename: "foo-1.0-py3-none-any.whl",
        buildId: 7,
        filesize: 10,
        filehash: "a".repeat(64) + " ",
        requiresPython: null,
        aptDependencies: [],
        pipDependencies: ["bar"],
      }],
      abis: { cp311: { status: "success", buildId: 7 } },
    }],
  };
  const data = toProjectData(raw)!;
  assert.equal(data.releases[0].builds[0].buildId, 7);
  assert.ok(data.releases[0].builds[0].builtAt instanceof Date);
  assert.equal(data.releases[0].files[0].filehash, "a".repeat(64));
  assert.equal(data.releases[0].files[0].location, "/simple");
  assert.equal(uploadTime(data.releases[0].released), "2024-01-01T00:00:00.000005Z");
  assert.throws(
    () => toProjectData({ ...raw, releases: [{ ...raw.releases[0], version: 1 }] }),
    ProjectDataError,
  );
  assert.throws(
    () =>
      toProjectData({
        ...raw,
        releases: [{ ...raw.releases[0], abis: { cp311: { status: "<b>", buildId: 1 } } }],
      }),
    /status is <b>/,
  );
  assert.throws(() => toProjectData({ package: "foo", releases: "x" }), /releases is not a list/);
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
