import assert from "node:assert/strict";
import { PyPIError } from "../../src/pypi/changelog.ts";
import { DescriptionFetcher, truncate } from "../../src/pypi/description.ts";
import { startPyPIStandIn } from "../fixtures/pypi/stand_in.ts";

Deno.test("returns the project summary from the JSON API", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("Foo_Bar", { summary: "A fine package" });
  const fetcher = new DescriptionFetcher({ url: pypi.jsonUrl });
  assert.equal(await fetcher.describe("foo-bar"), "A fine package");
  const [request] = pypi.requestsTo("json");
  assert.equal(request.path, "/pypi/foo-bar/json");
  assert.match(request.userAgent ?? "", /^piw\//);
});

Deno.test("a null summary becomes an empty string", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("foo", { summary: null });
  assert.equal(await new DescriptionFetcher({ url: pypi.jsonUrl }).describe("foo"), "");
});

Deno.test("summaries over 200 characters are cut to 199 plus an ellipsis", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("long", { summary: "x".repeat(250) });
  pypi.setJson("exact", { summary: "y".repeat(200) });
  const fetcher = new DescriptionFetcher({ url: pypi.jsonUrl });
  assert.equal(await fetcher.describe("long"), "x".repeat(199) + "…");
  assert.equal(await fetcher.describe("exact"), "y".repeat(200));
  // Characters, not UTF-16 units: 200 snakes fit, 201 do not.
  assert.equal(truncate("🐍".repeat(200)), "🐍".repeat(200));
  assert.equal(truncate("🐍".repeat(201)), "🐍".repeat(199) + "…");
});

for (
  const [what, answer] of [
    ["HTTP 404", { status: 404, body: "Not Found" }],
    ["HTTP 408", { status: 408, body: "Request Timeout" }],
    ["HTTP 500", { status: 500, body: "oops" }],
    ["HTTP 503", { status: 503, body: "busy" }],
    ["bad JSON", { status: 200, body: "{not json" }],
    ["JSON without info.summary", { status: 200, body: '{"info": {}}' }],
  ] as const
) {
  Deno.test(`${what} gives null`, async () => {
    await using pypi = await startPyPIStandIn();
    pypi.setJson("foo", answer);
    assert.equal(await new DescriptionFetcher({ url: pypi.jsonUrl }).describe("foo"), null);
  });
}

Deno.test("an unknown project gives null", async () => {
  await using pypi = await startPyPIStandIn();
  assert.equal(await new DescriptionFetcher({ url: pypi.jsonUrl }).describe("nope"), null);
});

Deno.test("timeouts, resets and unreachable servers give null", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("foo", { summary: "s" });
  pypi.injectFault({ kind: "slow", delayMs: 5_000, target: "json" });
  pypi.injectFault({ kind: "reset", target: "json" });
  const fetcher = () => new DescriptionFetcher({ url: pypi.jsonUrl, timeoutMs: 100 });
  assert.equal(await fetcher().describe("foo"), null);
  assert.equal(await fetcher().describe("foo"), null);
  assert.equal(await fetcher().describe("foo"), "s");
  const closed = await startPyPIStandIn();
  await closed.close();
  assert.equal(await new DescriptionFetcher({ url: closed.jsonUrl }).describe("foo"), null);
});

Deno.test("other 4xx answers raise a PyPIError naming the URL", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("foo", { status: 403, body: "Forbidden" });
  await assert.rejects(
    new DescriptionFetcher({ url: pypi.jsonUrl }).describe("foo"),
    (e: unknown) =>
      e instanceof PyPIError && e.message.includes(`${pypi.jsonUrl}/foo/json`) &&
      e.message.includes("403"),
  );
});

Deno.test("caches answers, nulls included, for the 100 most recently used projects", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("a", { summary: "A" });
  pypi.setJson("b", { summary: "B" });
  const fetcher = new DescriptionFetcher({ url: pypi.jsonUrl, cacheSize: 2 });
  const asked = () => pypi.requestsTo("json").map((r) => r.path.split("/")[2]);
  await fetcher.describe("a");
  await fetcher.describe("b");
  await fetcher.describe("a"); // a is now the most recently used
  await fetcher.describe("missing"); // null, cached; evicts b
  await fetcher.describe("missing");
  await fetcher.describe("a");
  await fetcher.describe("b");
  assert.deepEqual(asked(), ["a", "b", "missing", "b"]);
  const fresh = new DescriptionFetcher({ url: pypi.jsonUrl });
  for (let i = 0; i < 100; i++) await fresh.describe(`p${i}`);
  await fresh.describe("p0");
  await fresh.describe("p100"); // evicts p1, the least recently used
  await fresh.describe("p0");
  await fresh.describe("p1");
  assert.deepEqual(asked().slice(4 + 100), ["p100", "p1"]);
});
