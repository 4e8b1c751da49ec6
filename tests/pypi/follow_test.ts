import assert from "node:assert/strict";
import { followPyPI } from "./follow.ts";
import { FakeClock } from "../fixtures/pypi/fake_clock.ts";
import { startPyPIStandIn } from "../fixtures/pypi/stand_in.ts";

const T0 = 1_700_000_000;
const S0 = 30_000_000;

Deno.test("followPyPI yields package events with summaries from a PyPI stand-in", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.addEvent("flush-before", null, T0 - 10, "docupdate", S0);
  await pypi.addPackage("Foo.Bar", {
    version: "1.0",
    summary: "Foo does bar",
    timestamp: T0,
    files: [
      { filename: "Foo.Bar-1.0-py3-none-any.whl", content: new Uint8Array([1]) },
      { filename: "Foo.Bar-1.0.tar.gz", content: new Uint8Array([2]) },
    ],
  });
  await pypi.addPackage("baz", { version: "2.0", timestamp: T0 + 5 }); // no summary: 404
  pypi.addEvent("baz", "2.0", T0 + 6, "yank release");
  pypi.addEvent("late", null, T0 + 3600, "docupdate");

  const clock = new FakeClock();
  const events = followPyPI({
    xmlrpcUrl: pypi.xmlrpcUrl,
    jsonUrl: pypi.jsonUrl,
    serial: S0,
    rateLimit: null,
    clock,
  });
  const batch = await events.poll();
  assert.deepEqual(
    batch.map((e) => [e.package, e.alias, e.version, e.action, e.description]),
    [
      ["foo-bar", "Foo.Bar", null, "create", "Foo does bar"],
      ["foo-bar", "Foo.Bar", "1.0", "create", "Foo does bar"],
      ["foo-bar", "Foo.Bar", "1.0", "source", "Foo does bar"],
      ["baz", "baz", null, "create", null],
      ["baz", "baz", "2.0", "yank", null],
    ],
  );
  assert.equal(events.serial, pypi.lastSerial);
  // Nothing new: the next poll asks once, then idles for 10 s without asking.
  assert.deepEqual(await events.poll(), []);
  assert.deepEqual(await events.poll(), []);
  assert.equal(pypi.requestsTo("xmlrpc").length, 2);
  assert.deepEqual(pypi.requestsTo("json").map((r) => r.path).sort(), [
    "/pypi/baz/json",
    "/pypi/foo-bar/json",
  ]);
});
