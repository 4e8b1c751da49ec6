/**
 * `piw add`'s description lookup against the PyPI stand-in: the summary when PyPI has one, and a
 * warning with an empty description (never a failure) when PyPI is slow, broken or unreachable.
 */
import assert from "node:assert/strict";
import { pypiDescription } from "../../src/add/main.ts";
import { configureLogging } from "../../src/log.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { freePort } from "../fixtures/piw_process.ts";

/** Run `fn` with console log lines (warnings and up, the tools' default) collected. */
async function capturing<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  // The test harnesses imported here turn the console down to errors only.
  configureLogging({ level: "warning", sink: (line) => lines.push(line) });
  try {
    return await fn(lines);
  } finally {
    configureLogging({ level: "error", sink: null });
  }
}

Deno.test("piw add takes a new package's summary from PyPI's JSON API", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("foo-bar", { summary: "Foo and bar" });
  pypi.setJson("nothing", { summary: null });
  await capturing(async (lines) => {
    assert.equal(await pypiDescription("foo-bar", pypi.jsonUrl), "Foo and bar");
    assert.equal(await pypiDescription("nothing", pypi.jsonUrl), "");
    assert.deepEqual(lines, []);
  });
  assert.deepEqual(pypi.requestsTo("json").map((r) => r.path), [
    "/pypi/foo-bar/json",
    "/pypi/nothing/json",
  ]);
});

Deno.test("piw add warns and goes on without a description when PyPI cannot give one", async () => {
  await using pypi = await startPyPIStandIn();
  pypi.setJson("foo", { summary: "Foo" });
  const nowhere = `http://127.0.0.1:${freePort()}/pypi`;
  const cases: [string, () => void][] = [
    ["unreachable", () => {}],
    ["HTTP 500", () => pypi.injectFault({ kind: "http", status: 500, target: "json" })],
    ["HTTP 403", () => pypi.injectFault({ kind: "http", status: 403, target: "json" })],
    ["not JSON", () => pypi.injectFault({ kind: "garbage", target: "json" })],
    ["too slow", () => pypi.injectFault({ kind: "slow", delayMs: 5_000, target: "json" })],
  ];
  for (const [what, fault] of cases) {
    fault();
    const url = what === "unreachable" ? nowhere : pypi.jsonUrl;
    await capturing(async (lines) => {
      assert.equal(await pypiDescription("foo", url, 500), "", what);
      assert.equal(lines.length, 1, what);
      assert.match(lines[0], /^couldn't fetch the description of foo from .*; adding it without/);
    });
  }
  assert.equal(await pypiDescription("foo", pypi.jsonUrl), "Foo", "PyPI back again");
});
