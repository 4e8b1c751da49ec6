import assert from "node:assert/strict";
import { configureLogging } from "../../src/log.ts";
import { PyPIError, XmlRpcChangelogSource } from "../../src/pypi/changelog.ts";
import { PyPIEvents } from "../../src/pypi/events.ts";
import { PIW_VERSION } from "../../src/version.ts";
import { FakeClock } from "../fixtures/pypi/fake_clock.ts";
import { type PyPIStandIn, startPyPIStandIn } from "../fixtures/pypi/stand_in.ts";

// The source warns on every temporary failure; these tests cause many on purpose.
configureLogging({ level: "error" });

const T0 = 1_700_000_000;
const BACKOFF = { initialMs: 10_000, maxMs: 60_000 };

/** A stand-in with `n` source-file events, one second apart, serials 1..n. */
async function standIn(n = 3, batchSize?: number): Promise<PyPIStandIn> {
  const pypi = await startPyPIStandIn({ batchSize });
  for (let i = 1; i <= n; i++) {
    pypi.addEvent(`pkg${i}`, "1.0", T0 + i, `add source file pkg${i}-1.0.tar.gz`);
  }
  return pypi;
}

function sourceFor(pypi: PyPIStandIn, clock = new FakeClock(), timeoutMs = 10_000) {
  return new XmlRpcChangelogSource({
    url: pypi.xmlrpcUrl,
    clock,
    rateLimit: null,
    backoff: BACKOFF,
    timeoutMs,
  });
}

Deno.test("POSTs changelog_since_serial with piw's User-Agent and returns the entries", async () => {
  await using pypi = await standIn(3);
  const events = await sourceFor(pypi).changelogSince(1);
  assert.deepEqual(events, [
    ["pkg2", "1.0", T0 + 2, "add source file pkg2-1.0.tar.gz", 2],
    ["pkg3", "1.0", T0 + 3, "add source file pkg3-1.0.tar.gz", 3],
  ]);
  const [request] = pypi.requestsTo("xmlrpc");
  assert.equal(request.method, "POST");
  assert.equal(request.userAgent, `piw/${PIW_VERSION}`);
  assert.equal(request.rpcMethod, "changelog_since_serial");
  assert.equal(request.serial, 1);
});

Deno.test("returns at most one batch per call, as PyPI caps answers", async () => {
  await using pypi = await standIn(7, 3);
  const source = sourceFor(pypi);
  assert.deepEqual((await source.changelogSince(0)).map((e) => e[4]), [1, 2, 3]);
  assert.deepEqual((await source.changelogSince(3)).map((e) => e[4]), [4, 5, 6]);
  assert.deepEqual((await source.changelogSince(6)).map((e) => e[4]), [7]);
  assert.deepEqual(await source.changelogSince(7), []);
});

for (
  const [what, fault] of [
    ["HTTP 500", { kind: "http", status: 500 }],
    ["HTTP 503", { kind: "http", status: 503 }],
    ["the rate-limit fault -32500", { kind: "rate-limit" }],
    ["a connection reset", { kind: "reset" }],
  ] as const
) {
  Deno.test(`treats ${what} as an empty batch and backs off exponentially`, async () => {
    await using pypi = await standIn(2);
    const clock = new FakeClock();
    const source = sourceFor(pypi, clock);
    pypi.injectFault({ ...fault, count: 2 });
    assert.deepEqual(await source.changelogSince(0), []);
    assert.equal(source.failures, 1);
    assert.equal(source.retryAt, clock.now() + 10_000);
    // Within the backoff PyPI is not asked at all.
    clock.advance(9_999);
    assert.deepEqual(await source.changelogSince(0), []);
    assert.equal(pypi.requestsTo("xmlrpc").length, 1);
    clock.advance(1);
    assert.deepEqual(await source.changelogSince(0), []);
    assert.equal(source.retryAt, clock.now() + 20_000, "the wait doubles");
    clock.advance(20_000);
    assert.equal((await source.changelogSince(0)).length, 2);
    assert.equal(source.failures, 0);
    assert.equal(source.retryAt, 0);
    assert.equal(pypi.requestsTo("xmlrpc").length, 3);
  });
}

Deno.test("the backoff stops growing at its maximum", async () => {
  await using pypi = await standIn(1);
  const clock = new FakeClock();
  const source = sourceFor(pypi, clock);
  pypi.injectFault({ kind: "http", status: 502, count: 10 });
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    await source.changelogSince(0);
    waits.push(source.retryAt - clock.now());
    clock.advance(source.retryAt - clock.now());
  }
  assert.deepEqual(waits, [10_000, 20_000, 40_000, 60_000, 60_000]);
});

Deno.test("HTTP 429 backs off for at least Retry-After", async () => {
  await using pypi = await standIn(1);
  const clock = new FakeClock();
  const source = sourceFor(pypi, clock);
  pypi.injectFault({ kind: "http", status: 429, retryAfter: 120 });
  assert.deepEqual(await source.changelogSince(0), []);
  assert.equal(source.retryAt, clock.now() + 120_000);
});

Deno.test("a timed-out request is an empty batch", async () => {
  await using pypi = await standIn(1);
  const source = sourceFor(pypi, new FakeClock(), 100);
  pypi.injectFault({ kind: "slow", delayMs: 5_000 });
  const started = performance.now();
  assert.deepEqual(await source.changelogSince(0), []);
  assert.ok(performance.now() - started < 2_000);
  assert.equal(source.failures, 1);
});

Deno.test("an unreachable server is an empty batch", async () => {
  const pypi = await standIn(1);
  const url = pypi.xmlrpcUrl;
  await pypi.close();
  const source = new XmlRpcChangelogSource({ url, clock: new FakeClock(), rateLimit: null });
  assert.deepEqual(await source.changelogSince(0), []);
  assert.equal(source.failures, 1);
});

Deno.test("other faults raise a PyPIError naming the URL and the fault", async () => {
  await using pypi = await standIn(1);
  pypi.injectFault({ kind: "fault", faultCode: -32601, faultString: "no such method" });
  const error = await sourceFor(pypi).changelogSince(0).catch((e) => e);
  assert.ok(error instanceof PyPIError);
  assert.match(error.message, new RegExp(pypi.xmlrpcUrl));
  assert.match(error.message, /-32601: no such method/);
});

Deno.test("HTTP 4xx and non-XML answers raise a PyPIError naming the URL", async () => {
  await using pypi = await standIn(1);
  const source = sourceFor(pypi);
  pypi.injectFault({ kind: "http", status: 403 });
  await assert.rejects(
    source.changelogSince(0),
    (e: unknown) =>
      e instanceof PyPIError && e.message.includes(pypi.xmlrpcUrl) && e.message.includes("403"),
  );
  pypi.injectFault({ kind: "garbage" });
  await assert.rejects(
    source.changelogSince(0),
    (e: unknown) =>
      e instanceof PyPIError && e.message.includes(pypi.xmlrpcUrl) &&
      e.message.includes("bad response"),
  );
});

Deno.test("recovers from failures without losing or repeating events", async () => {
  await using pypi = await standIn(0, 40);
  const S0 = 30_000_000; // well past PyPI's epoch, so nothing is held back for it
  for (let i = 1; i <= 200; i++) {
    pypi.addEvent(`pkg${i}`, "1.0", T0 + i * 5, `add source file pkg${i}-1.0.tar.gz`, S0 + i);
  }
  const clock = new FakeClock();
  const source = sourceFor(pypi, clock);
  const events = new PyPIEvents({ source, serial: S0 + 1, clock, idleMs: 0 });
  const seen: number[] = [];
  const faults = [
    { kind: "http", status: 500, count: 2 },
    { kind: "rate-limit", count: 1 },
    { kind: "reset", count: 1 },
    { kind: "http", status: 429, count: 1 },
  ] as const;
  for (let i = 0; i < 40; i++) {
    if (i % 3 === 1 && faults[(i - 1) / 3]) pypi.injectFault(faults[(i - 1) / 3]);
    seen.push(...(await events.poll()).map((e) => e.serial - S0));
    clock.advance(120_000);
    if (i === 20) pypi.addEvent("flush", null, T0 + 10_000, "docupdate");
  }
  assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i + 1));
  assert.equal(events.serial, S0 + 201);
  const faulted = pypi.requestsTo("xmlrpc").filter((r) => r.fault).length;
  assert.equal(faulted, 5);
});

Deno.test("stays within 2 requests per second by default", async () => {
  await using pypi = await standIn(1);
  const source = new XmlRpcChangelogSource({ url: pypi.xmlrpcUrl });
  for (let i = 0; i < 6; i++) await source.changelogSince(0);
  const times = pypi.requestsTo("xmlrpc").map((r) => r.time);
  assert.equal(times.length, 6);
  // Any three consecutive requests span at least a second (less a little for scheduling).
  for (let i = 2; i < times.length; i++) {
    assert.ok(
      times[i] - times[i - 2] >= 990,
      `requests ${i - 2}..${i} within ${times[i] - times[i - 2]} ms`,
    );
  }
});
