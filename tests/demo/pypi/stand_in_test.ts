import assert from "node:assert/strict";
import { XmlRpcChangelogSource } from "../../../src/pypi/changelog.ts";
import { startPyPIStandIn } from "../../../src/demo/pypi/stand_in.ts";

const T0 = 1_700_000_000;

Deno.test("stand-in: addPackage publishes files with sha256 links and journal events", async () => {
  await using pypi = await startPyPIStandIn();
  const sdist = new TextEncoder().encode("not really a tarball");
  const [published] = await pypi.addPackage("Foo_Bar", {
    version: "1.0",
    summary: "Foo!",
    timestamp: T0,
    files: [
      { filename: "Foo_Bar-1.0.tar.gz", content: sdist },
      { filename: "Foo_Bar-1.0-cp311-cp311-linux_armv7l.whl", content: new Uint8Array([1]) },
    ],
  });
  assert.deepEqual(pypi.events, [
    ["Foo_Bar", null, T0, "create", 1],
    ["Foo_Bar", "1.0", T0, "add source file Foo_Bar-1.0.tar.gz", 2],
    ["Foo_Bar", "1.0", T0, "add cp311 file Foo_Bar-1.0-cp311-cp311-linux_armv7l.whl", 3],
  ]);
  const root = await (await fetch(pypi.simpleUrl)).text();
  assert.match(root, /<a href="foo-bar\/">foo-bar<\/a>/);
  const redirect = await fetch(`${pypi.simpleUrl}Foo_Bar/`, { redirect: "manual" });
  await redirect.body?.cancel();
  assert.equal(redirect.status, 301);
  const page = await (await fetch(`${pypi.simpleUrl}foo-bar/`)).text();
  const link = /href="([^"]+Foo_Bar-1\.0\.tar\.gz)#sha256=([0-9a-f]{64})"/.exec(page);
  assert.ok(link, page);
  assert.equal(link[2], published.sha256);
  const file = await fetch(new URL(link[1], `${pypi.simpleUrl}foo-bar/`));
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), sdist);
  const json = await (await fetch(`${pypi.jsonUrl}/foo-bar/json`)).json();
  assert.equal(json.info.summary, "Foo!");
});

Deno.test("stand-in: publishes into a shared package index when given one", async () => {
  const added: { path: string; project: string; sha256?: string }[] = [];
  const shared = {
    url: "http://127.0.0.1:1/simple/",
    add: (file: { path: string; project: string; sha256?: string }) => {
      added.push(file);
      return Promise.resolve();
    },
  };
  const pypi = await startPyPIStandIn({ simpleIndex: shared });
  try {
    assert.equal(pypi.simpleUrl, shared.url);
    await pypi.addPackage("foo", {
      version: "1.0",
      files: [{ filename: "foo-1.0.tar.gz", content: new Uint8Array([1, 2, 3]) }],
    });
    assert.equal(added.length, 1);
    assert.equal(added[0].project, "foo");
    assert.match(added[0].path, /\/foo-1\.0\.tar\.gz$/);
    assert.deepEqual(await Deno.readFile(added[0].path), new Uint8Array([1, 2, 3]));
  } finally {
    await pypi.close();
  }
  await assert.rejects(Deno.stat(added[0].path), Deno.errors.NotFound);
});

Deno.test("stand-in: events can be appended while a client follows", async () => {
  await using pypi = await startPyPIStandIn({ batchSize: 2 });
  const source = new XmlRpcChangelogSource({ url: pypi.xmlrpcUrl, rateLimit: null });
  assert.deepEqual(await source.changelogSince(0), []);
  pypi.addEvent("a", "1", new Date(T0 * 1000), "create");
  pypi.addEvent("b", null, T0 + 1, "create", 10);
  pypi.addEvent("c", null, T0 + 2, "create");
  assert.deepEqual((await source.changelogSince(0)).map((e) => e[4]), [1, 10]);
  assert.deepEqual((await source.changelogSince(10)).map((e) => e[4]), [11]);
  assert.equal(pypi.lastSerial, 11);
  assert.throws(() => pypi.addEvent("d", null, T0, "create", 5), RangeError);
  assert.deepEqual(pypi.requestsTo("xmlrpc").map((r) => [r.serial, r.returned]), [
    [0, 0],
    [0, 2],
    [10, 1],
  ]);
});

Deno.test("stand-in: faults apply to the next matching requests only", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("foo", { summary: "s" });
  pypi.injectFault({ kind: "http", status: 500, target: "json", count: 2 });
  const status = async () => {
    const response = await fetch(`${pypi.jsonUrl}/foo/json`);
    await response.body?.cancel();
    return response.status;
  };
  assert.deepEqual([await status(), await status(), await status()], [500, 500, 200]);
  assert.deepEqual(pypi.requestsTo("json").map((r) => r.fault ?? null), ["http", "http", null]);
});
