/**
 * CloudGazer against the PyPI stand-in (real HTTP), an in-memory PGlite database behind the
 * oracle queue, and REP listeners at the web and skip queues, with real libzmq in one thread.
 */
import assert from "node:assert/strict";
import {
  cloudGazerProtocol,
  encodeMessage,
  taskControlProtocol,
  theScribeProtocol,
} from "../../src/protocols/mod.ts";
import { controlAddress } from "../../src/master/task.ts";
import {
  batchesSent,
  type GazerEnv,
  gazerEnv,
  type GazerEnvOptions,
  listen,
  names,
  T0,
} from "./cloud_gazer_helpers.ts";
import { captureLogs, delay, startTask, testConfig, testDatabase, waitFor } from "./helpers.ts";
import { Context } from "../../src/transport/mod.ts";
import { openDatabase } from "../../src/db/mod.ts";
import type { MasterConfig } from "../../src/master/config.ts";
import { CloudGazer } from "../../src/master/tasks/cloud_gazer.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";

/** Run `body` in a fresh environment, closing it afterwards. */
async function withGazer(
  body: (env: GazerEnv) => Promise<void>,
  options: GazerEnvOptions = {},
): Promise<void> {
  const env = await gazerEnv(options);
  try {
    await body(env);
  } finally {
    await env.close();
  }
}

function gazerTest(
  name: string,
  body: (env: GazerEnv) => Promise<void>,
  options?: GazerEnvOptions,
) {
  Deno.test({
    name,
    fn: () => withGazer(body, options),
  });
}

async function rows<T>(env: GazerEnv, text: string, params: unknown[] = []): Promise<T[]> {
  return await env.sql.query<T>(text, params);
}

async function version(env: GazerEnv, pkg: string, ver: string) {
  const [row] = await rows<{ skip: string; yanked: boolean; released: Date }>(
    env,
    "SELECT skip, yanked, released FROM versions WHERE package = $1 AND version = $2",
    [pkg, ver],
  );
  return row ?? null;
}

gazerTest("a new package is added with its summary, aliases and a BOTH", async (env) => {
  env.pypi.setJson("Foo_Bar", { summary: "The foo of bars" });
  env.event("Foo_Bar", null, "create");
  env.event("Foo_Bar", "1.0", "add source file Foo_Bar-1.0.tar.gz");
  const last = env.release();
  await env.start();
  await env.stored(last);
  const [pkg] = await rows<{ skip: string; description: string }>(
    env,
    "SELECT skip, description FROM packages WHERE package = 'foo-bar'",
  );
  assert.deepEqual(pkg, { skip: "", description: "The foo of bars" });
  const v = await version(env, "foo-bar", "1.0");
  assert.equal(v?.skip, "");
  assert.equal(v?.released.getTime(), (T0 + 2) * 1000, "released at the event's time");
  const seen = await rows<{ name: string; seen: Date }>(
    env,
    "SELECT name, seen FROM package_names WHERE package = 'foo-bar' ORDER BY name",
  );
  assert.deepEqual(seen.map((r) => [r.name, r.seen.getTime()]), [
    ["Foo_Bar", (T0 + 2) * 1000],
    ["foo-bar", 0],
  ]);
  assert.equal(await env.db.getProjectDisplayName("foo-bar"), "Foo_Bar");
  assert.deepEqual(env.web.received, [["BOTH", "foo-bar"]]);
  assert.deepEqual(env.skip.received, []);
});

gazerTest("a new version of a known package is added", async (env) => {
  await env.db.addNewPackage("bar", "", "old summary");
  env.event("bar", "2.0", "new release");
  env.event("bar", "2.0", "add source file bar-2.0.tar.gz");
  env.event("bar", "2.0", "add cp311 file bar-2.0-cp311-cp311-linux_armv7l.whl");
  const last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal((await version(env, "bar", "2.0"))?.skip, "");
  assert.equal(await env.db.getPackageDescription("bar"), "old summary", "no summary: kept");
  assert.deepEqual(env.web.received, [["BOTH", "bar"]]);
  assert.deepEqual(batchesSent(env.oracle), [[["source", "bar", "2.0"]]], "wheels are dupes");
  assert.equal(env.gazer.counts.packages, 0, "a known package is not added again");
  assert.equal(env.gazer.counts.versions, 1);
  await waitFor(() => env.architect.received.length > 0, 5000, "REFRESH to TheArchitect");
  assert.deepEqual(names(env.architect), ["REFRESH"], "the new version is handed out soon");
});

gazerTest("a binary-only version is skipped until its source arrives", async (env) => {
  env.event("baz", null, "create");
  env.event("baz", "1.0", "add cp311 file baz-1.0-cp311-cp311-manylinux_x86_64.whl");
  let last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal((await version(env, "baz", "1.0"))?.skip, "binary only");
  assert.deepEqual(env.web.received, [["BOTH", "baz"]]);
  assert.deepEqual(names(env.architect), [], "nothing to build: no REFRESH");

  env.event("baz", "1.0", "add source file baz-1.0.tar.gz");
  last = env.release();
  await env.stored(last);
  assert.equal((await version(env, "baz", "1.0"))?.skip, "", "skip cleared");
  assert.deepEqual(env.web.received, [["BOTH", "baz"], ["PROJECT", "baz"]]);
  await waitFor(() => env.architect.received.length > 0, 5000, "REFRESH to TheArchitect");
});

gazerTest("yank and unyank mark the version", async (env) => {
  env.event("qux", "1.0", "add source file qux-1.0.tar.gz");
  env.event("qux", "1.0", "yank release");
  let last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal((await version(env, "qux", "1.0"))?.yanked, true);
  env.event("qux", "1.0", "unyank release");
  last = env.release();
  await env.stored(last);
  assert.equal((await version(env, "qux", "1.0"))?.yanked, false);
  assert.deepEqual(names(env.web), ["BOTH", "BOTH"]);
});

/** What the database held for each removal when the web and skip queues were told of it. */
const seenWhenTold: string[] = [];

gazerTest("removing a version tells both queues, then deletes it", async (env) => {
  await env.db.addNewPackage("gone", "", "");
  await env.db.addNewPackageVersion("gone", "1.0", new Date(0), "");
  await env.db.addNewPackageVersion("gone", "2.0", new Date(0), "");
  env.event("gone", "1.0", "remove release");
  const last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal(await version(env, "gone", "1.0"), null);
  assert.ok(await version(env, "gone", "2.0"), "the other version stays");
  assert.deepEqual(env.web.received, [["DELVER", ["gone", "1.0"]]]);
  assert.deepEqual(env.skip.received, [["DELVER", ["gone", "1.0"]]]);
  assert.deepEqual(seenWhenTold, ["web: skip deleted", "skip: skip deleted"], "marked, not gone");
  const order = names(env.oracle).filter((n) => ["MARKDEL", "PYPIBATCH"].includes(n));
  assert.deepEqual(order, ["MARKDEL", "PYPIBATCH"], "marked deleted first, removed last");
}, {
  async onQueue(env, queue, _name, data) {
    const [pkg, ver] = data as [string, string];
    const [row] = await env.sql.query<{ skip: string }>(
      "SELECT skip FROM versions WHERE package = $1 AND version = $2",
      [pkg, ver],
    );
    seenWhenTold.push(`${queue}: ${row ? `skip ${row.skip}` : "gone"}`);
  },
});

gazerTest("removing a package tells both queues, then deletes it", async (env) => {
  env.event("Doomed", "1.0", "add source file Doomed-1.0.tar.gz");
  env.event("Doomed", null, "remove project");
  const last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal(await env.db.testPackage("doomed"), false);
  assert.deepEqual(env.web.received, [["DELPKG", "doomed"]], "its pending BOTH was dropped");
  assert.deepEqual(env.skip.received, [["DELPKG", "doomed"]]);
  const [batch] = env.oracle.received.filter(([n]) => n === "PYPIBATCH").map(([, d]) => d);
  assert.deepEqual((batch as unknown[])[1], [], "no names recorded for a deleted package");
  assert.deepEqual(batchesSent(env.oracle), [[
    ["source", "doomed", "1.0"],
    ["remove", "doomed", null],
  ]]);
  assert.ok(!names(env.oracle).includes("MARKDEL"), "added in the batch: removed in order");
});

gazerTest("a batch is applied in order: removed, added again, yanked", async (env) => {
  await env.db.addNewPackage("again", "", "");
  await env.db.addNewPackageVersion("again", "1.0", new Date(0), "");
  await env.db.addPackageName("again", "AGAIN", new Date(1000));
  env.event("Again", null, "remove project");
  env.event("Again", "1.0", "add cp311 file Again-1.0-cp311-cp311-linux_armv7l.whl");
  env.event("Again", "1.0", "add source file Again-1.0.tar.gz");
  env.event("Again", "2.0", "add source file Again-2.0.tar.gz");
  env.event("Again", "2.0", "yank release");
  env.event("Again", "2.0", "unyank release");
  env.event("Again", "2.0", "yank release");
  const last = env.release();
  await env.start();
  await env.stored(last);
  const got = await rows<{ version: string; skip: string; yanked: boolean }>(
    env,
    "SELECT version, skip, yanked FROM versions WHERE package = 'again' ORDER BY version",
  );
  assert.deepEqual(got, [
    { version: "1.0", skip: "", yanked: false },
    { version: "2.0", skip: "", yanked: true },
  ]);
  assert.deepEqual(await env.db.getPackageAliases("again"), ["Again"], "the old names went");
  assert.deepEqual(env.web.received, [["DELPKG", "again"], ["BOTH", "again"]]);
  assert.equal(env.gazer.counts.packages, 1, "added again");
  assert.equal(env.gazer.counts.versions, 2);
  assert.deepEqual(names(env.oracle).filter((n) => n === "PYPIBATCH").length, 1);
});

gazerTest("a restart resumes from the stored serial and repeats nothing", async (env) => {
  env.event("one", "1.0", "add source file one-1.0.tar.gz");
  const first = env.release();
  let gazer = await env.start();
  await env.stored(first);
  assert.equal(gazer.counts.events, 1);
  await gazer.stop();

  env.event("two", "1.0", "add source file two-1.0.tar.gz");
  const second = env.release();
  const before = env.oracle.received.length;
  gazer = await env.start();
  await env.stored(second);
  assert.equal(gazer.counts.events, 1, "only the new event");
  const calls = env.oracle.received.slice(before);
  assert.deepEqual(
    calls.filter(([n]) => n === "PYPIBATCH").flatMap(([, d]) =>
      (d as [[string, string, string, number, null][]])[0].map(([action, pkg, ver, released]) => [
        action,
        pkg,
        ver,
        released,
      ])
    ),
    [["source", "two", "1.0", (T0 + 602) * 1000]],
  );
  assert.deepEqual(env.web.received, [["BOTH", "one"], ["BOTH", "two"]]);
  const asked = env.pypi.requestsTo("xmlrpc").map((r) => r.serial!);
  assert.ok(asked.some((s) => s > 0 && s === first - 2000), `re-read from ${first} - margin`);
  const moves = env.oracle.received.filter(([n]) => n === "PYPIBATCH").map(([, d]) => {
    const [, , , from, to] = d as [unknown, unknown, unknown, number, number];
    return [from, to];
  });
  for (let i = 0; i < moves.length; i++) {
    assert.ok(moves[i][1] >= moves[i][0], "the serial never went back");
    if (i > 0) assert.equal(moves[i][0], moves[i - 1][1], "each batch starts where one ended");
  }
  assert.equal(moves[moves.length - 1][1], second);
});

gazerTest("a batch written but not acknowledged is not written again", async (env) => {
  const logs = captureLogs("error");
  try {
    await env.start();
    await env.stored(0);
    env.oracle.loseNextReply("PYPIBATCH");
    env.event("lost", "1.0", "add source file lost-1.0.tar.gz");
    env.event("lost", "1.0", "add cp311 file lost-1.0-cp311-cp311-linux_armv7l.whl");
    const last = env.release();
    await env.stored(last);
    await waitFor(() => logs.lines.some((l) => l.includes("batch abandoned")), 2000, "rewind");
    env.event("after", "1.0", "add source file after-1.0.tar.gz");
    await env.stored(env.release());
    assert.deepEqual(batchesSent(env.oracle).filter((b) => b.length), [
      [["source", "lost", "1.0"]],
      [["source", "after", "1.0"]],
    ], "resumed after the batch the database holds");
    assert.ok(!logs.lines.some((l) => l.includes("expects")), logs.lines.join("\n"));
  } finally {
    logs.stop();
  }
});

gazerTest("events are applied in time order, not serial order", async (env) => {
  // Reading starts at the first event's time, so the project's creation comes first.
  env.event("late", null, "create");
  // PyPI logged the removal first, but it happened after the upload.
  env.event("late", "1.0", "remove release", 20);
  env.event("late", "1.0", "add source file late-1.0.tar.gz", -10);
  env.event("late", "2.0", "add source file late-2.0.tar.gz", 30);
  const last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal(await version(env, "late", "1.0"), null, "added, then removed");
  assert.ok(await version(env, "late", "2.0"));
});

gazerTest("dev mode adds new packages skipped", async (env) => {
  env.event("devpkg", "1.0", "add source file devpkg-1.0.tar.gz");
  const last = env.release();
  await env.start();
  await env.stored(last);
  const [pkg] = await rows<{ skip: string }>(
    env,
    "SELECT skip FROM packages WHERE package = 'devpkg'",
  );
  assert.equal(pkg.skip, "development mode");
  assert.equal((await version(env, "devpkg", "1.0"))?.skip, "", "versions are not skipped");
}, { config: { devMode: true } });

gazerTest("rate limits, HTTP 500s and resets lose no events", async (env) => {
  const logs = captureLogs("warning");
  try {
    env.pypi.injectFault({ kind: "rate-limit", count: 2 });
    env.pypi.injectFault({ kind: "http", status: 500 });
    env.pypi.injectFault({ kind: "reset" });
    for (let i = 0; i < 5; i++) env.event(`pkg${i}`, "1.0", `add source file pkg${i}-1.0.tar.gz`);
    const last = env.release();
    await env.start();
    await env.stored(last, 10_000);
    const got = await rows<{ package: string }>(env, "SELECT package FROM versions ORDER BY 1");
    assert.deepEqual(got.map((r) => r.package), ["pkg0", "pkg1", "pkg2", "pkg3", "pkg4"]);
    const faults = env.pypi.requestsTo("xmlrpc").filter((r) => r.fault).length;
    assert.equal(faults, 4);
    assert.ok(logs.lines.some((l) => l.includes("failed")), "the faults were logged");
  } finally {
    logs.stop();
  }
});

gazerTest(
  "a database error abandons the batch and replays it from the stored serial",
  async (env) => {
    const logs = captureLogs("error");
    try {
      await env.start();
      await env.stored(0);
      env.oracle.failNext("PYPIBATCH");
      for (let i = 0; i < 3; i++) env.event(`re${i}`, "1.0", `add source file re${i}-1.0.tar.gz`);
      const last = env.release();
      await env.stored(last);
      const got = await rows<{ package: string }>(env, "SELECT package FROM versions ORDER BY 1");
      assert.deepEqual(got.map((r) => r.package), ["re0", "re1", "re2"]);
      assert.ok(logs.lines.some((l) => l.includes("batch abandoned")), logs.lines.join("\n"));
      const sent = batchesSent(env.oracle).filter((b) => b.length);
      assert.equal(sent.length, 2, "sent twice: refused, then replayed whole");
      assert.deepEqual(sent[0], sent[1]);
    } finally {
      logs.stop();
    }
  },
);

gazerTest("a missing web listener delays page rewrites but blocks nothing", async (env) => {
  const logs = captureLogs("warning");
  try {
    env.event("lonely", "1.0", "add source file lonely-1.0.tar.gz");
    env.event("lonely", "1.1", "remove release");
    const last = env.release();
    await env.start({ queueTimeoutMs: 100, queueDownMs: 300 });
    await env.stored(last);
    assert.ok(await version(env, "lonely", "1.0"));
    assert.deepEqual(env.skip.received, [["DELVER", ["lonely", "1.1"]]], "skip queue still told");
    assert.ok(logs.lines.some((l) => l.includes("no reply from")), logs.lines.join("\n"));

    // TheSecretary turns up: the rewrite still pending is delivered on a later batch.
    const web = listen(env.context, env.config.webQueue, theScribeProtocol, "DONE");
    try {
      await delay(400);
      env.event("other", "1.0", "add source file other-1.0.tar.gz");
      await env.stored(env.release());
      await waitFor(
        () => web.received.some(([, pkg]) => pkg === "other"),
        3000,
        "pending rewrites",
      );
      // (The DELVER that timed out may arrive late too: libzmq keeps an inproc message queued
      // for a peer that binds later.)
      const rewrites = web.received.filter(([name]) => name === "BOTH");
      assert.deepEqual(rewrites, [["BOTH", "lonely"], ["BOTH", "other"]]);
    } finally {
      await web.close();
    }
  } finally {
    logs.stop();
  }
}, { noWeb: true });

gazerTest("PAUSE stops following PyPI until RESUME", async (env) => {
  await env.start();
  await env.stored(0);
  const ctrl = env.context.socket("PUSH", { linger: 0 });
  ctrl.connect(controlAddress("cloud_gazer"));
  const control = taskControlProtocol.reversed();
  try {
    await ctrl.send([encodeMessage(control, "PAUSE")]);
    await waitFor(() => env.gazer.paused, 2000, "paused");
    await delay(150);
    const asked = env.pypi.requestsTo("xmlrpc").length;
    env.event("paused", "1.0", "add source file paused-1.0.tar.gz");
    env.release();
    await delay(400);
    assert.equal(env.pypi.requestsTo("xmlrpc").length, asked, "no requests while paused");
    await ctrl.send([encodeMessage(control, "RESUME")]);
    await env.stored(env.pypi.lastSerial);
    assert.ok(await version(env, "paused", "1.0"));
  } finally {
    ctrl.close();
  }
});

gazerTest("a long backlog is applied in slices, hearing QUIT in between", async (env) => {
  for (let i = 0; i < 600; i++) {
    env.event(`bulk${i}`, "1.0", `add source file bulk${i}-1.0.tar.gz`, 0);
  }
  const last = env.release();
  const gazer = await env.start();
  await waitFor(() => gazer.counts.events > 0, 5000, "the backlog to start");
  const started = performance.now();
  await gazer.stop();
  assert.ok(performance.now() - started < 2000, "QUIT heard mid-batch");
  const stored = await env.db.getPypiSerial();
  if (gazer.counts.events < 600) assert.ok(stored < last, "a part-done batch is not stored");
  // The next run picks up the rest (replaying the part already done is harmless).
  await env.start();
  await env.stored(last, 20_000);
  const [{ count }] = await rows<{ count: number }>(
    env,
    "SELECT count(*)::int AS count FROM versions",
  );
  assert.equal(count, 600);
});

gazerTest(
  "QUIT while removals are told writes nothing; the next run replays the batch",
  async (env) => {
    await env.db.addNewPackage("many", "", "");
    for (let i = 0; i < 20; i++) {
      await env.db.addNewPackageVersion("many", `1.${i}`, new Date(0), "");
      env.event("many", `1.${i}`, "remove release");
    }
    env.event("many", "2.0", "add source file many-2.0.tar.gz");
    const last = env.release();
    const gazer = await env.start();
    await waitFor(() => env.skip.received.length >= 3, 5000, "the removals to be told");
    await gazer.stop();
    assert.ok(env.skip.received.length < 20, "QUIT heard between removals");
    assert.equal(await env.db.getPypiSerial(), 0, "nothing stored");
    assert.equal(await version(env, "many", "2.0"), null, "nothing written");
    assert.equal((await env.db.getVersionsDeleted("many")).length, 20, "all marked deleted");

    await env.start();
    await env.stored(last, 10_000);
    const left = await rows<{ version: string }>(env, "SELECT version FROM versions");
    assert.deepEqual(left, [{ version: "2.0" }]);
    const told = new Set(env.skip.received.map(([, d]) => (d as string[])[1]));
    assert.equal(told.size, 20, "every removal told (some twice)");
    assert.equal(batchesSent(env.oracle).filter((b) => b.length).length, 1, "written once");
  },
  { onQueue: () => delay(30) },
);

gazerTest("batches fetched ahead are written in order, each with its own serial", async (env) => {
  const logs = captureLogs("error");
  try {
    await env.db.addNewPackage("ahead", "", "");
    // 400 s apart, so that each answer of 5 entries releases some (the window is 5 minutes);
    // removals, whose slow telling gives the next fetch time to finish first.
    for (let i = 0; i < 20; i++) {
      await env.db.addNewPackageVersion("ahead", `1.${i}`, new Date(0), "");
      env.event("ahead", `1.${i}`, "remove release", 400);
    }
    const last = env.release();
    const gazer = await env.start();
    await waitFor(() => gazer.counts.events > 0, 10_000, "the first batch");
    env.oracle.failNext("PYPIBATCH"); // a later batch fails while the next one is fetched
    await env.stored(last, 30_000);
    const got = await rows<{ n: number }>(env, "SELECT count(*)::int AS n FROM versions");
    assert.equal(got[0].n, 0);
    assert.ok(logs.lines.some((l) => l.includes("batch abandoned")), logs.lines.join("\n"));
    const ends = new Set([0]);
    const batches = env.oracle.received.filter(([name]) => name === "PYPIBATCH");
    for (const [, data] of batches) {
      const [events, , , from, to] = data as [unknown[], unknown, unknown, number, number];
      assert.ok(events.length ? to > from : to >= from, "a batch moves its own serial on");
      assert.ok(ends.has(from), `a batch starts at ${from}, where none ended`);
      assert.ok(events.length <= 5, "one batch per answer");
      ends.add(to);
    }
    assert.ok(ends.has(last));
    assert.ok(batches.length >= 5, "a batch per fetch (and the failed one again)");
  } finally {
    logs.stop();
  }
}, { batchSize: 5, onQueue: () => delay(300) });

gazerTest("keeps to 2 requests/s while catching up", async (env) => {
  for (let i = 0; i < 30; i++) env.event(`r${i}`, "1.0", `add source file r${i}-1.0.tar.gz`);
  const last = env.release();
  await env.start();
  await env.stored(last, 60_000);
  const times = env.pypi.requestsTo("xmlrpc").map((r) => r.time);
  assert.ok(times.length >= 7, `${times.length} requests`);
  for (let i = 2; i < times.length; i++) {
    assert.ok(times[i] - times[i - 2] >= 950, `3 requests within ${times[i] - times[i - 2]} ms`);
  }
}, { batchSize: 5 });

Deno.test({
  name: "works through Seraph and TheOracle on a PGlite database",
  async fn() {
    const database = await testDatabase("pglite");
    await using pypi = await startPyPIStandIn();
    const context = new Context();
    const config = testConfig({
      dsn: database.dsn,
      pypiXmlrpc: pypi.xmlrpcUrl,
      pypiJson: pypi.jsonUrl,
      pypiInterval: 100,
    } as Partial<MasterConfig>);
    const tasks: { stop(): Promise<void> }[] = [
      await startTask(new Seraph(context, config)),
      await startTask(new TheOracle(context, config)),
    ];
    const web = listen(context, config.webQueue, theScribeProtocol, "DONE");
    const skip = listen(context, config.skipQueue, cloudGazerProtocol, "OK");
    try {
      pypi.addEvent("Real", "1.0", T0, "add source file Real-1.0.tar.gz", 1_000_000);
      pypi.addEvent("real", "0.9", T0 + 1, "remove release");
      const last = pypi.addEvent("zz", null, T0 + 600, "docupdate");
      const gazer = await startTask(new CloudGazer(context, config));
      tasks.push(gazer);
      await waitFor(() => gazer.storedSerial === last, 10_000, "the batch");
      assert.deepEqual(web.received, [["DELVER", ["real", "0.9"]], ["BOTH", "real"]]);
      assert.deepEqual(skip.received, [["DELVER", ["real", "0.9"]]]);
    } finally {
      for (const task of tasks.reverse()) await task.stop();
      await web.close();
      await skip.close();
      await context.close();
    }
    const db = await openDatabase(database.dsn);
    try {
      assert.equal(await db.getPypiSerial(), 1_000_002);
      assert.equal(await db.getVersionSkip("real", "1.0"), "");
    } finally {
      await db.close();
      await database.remove();
    }
  },
});

gazerTest(
  "a new release is written within a poll while the re-ordering window holds it",
  async (env) => {
    env.event("fresh", null, "create");
    const source = env.event("fresh", "1.0", "add source file fresh-1.0.tar.gz");
    await env.start();
    // Nothing is 5 minutes newer than the release: the ordered stream still holds it.
    await waitFor(
      async () => (await version(env, "fresh", "1.0"))?.skip === "",
      30_000,
      "the release written before the window ends",
    );
    assert.ok(await env.db.getPypiSerial() < source, "the stored serial waits for the window");
    await waitFor(() => names(env.architect).includes("REFRESH"), 10_000, "REFRESH");
    assert.ok(env.web.received.some(([n, d]) => n === "BOTH" && d === "fresh"));
    // The ordered stream applies it again in its place: nothing changes, the serial moves on.
    const last = env.release();
    await env.stored(last);
    assert.equal((await version(env, "fresh", "1.0"))?.skip, "");
    assert.equal(env.gazer.counts.versions, 1, "added once");
  },
);

gazerTest("removals and creations seen out of order end as in timestamp order", async (env) => {
  // p1, p2: the creation is seen first (and may be written at once), the removal later; p3, p4:
  // the removal is seen first, the creation later. The later-seen event is newer for p1 and p4,
  // older for p2 and p3. Timestamp order: p1 removed, p2 kept, p3 removed, p4 kept.
  for (const p of ["p1", "p2", "p3", "p4"]) {
    await env.db.addNewPackage(p);
    await env.db.addNewPackageVersion(p, "1.0");
  }
  const t = T0 + 100;
  const create = (p: string, at: number) =>
    env.pypi.addEvent(p, "1.0", at, `add source file ${p}-1.0.tar.gz`);
  const remove = (p: string, at: number) => env.pypi.addEvent(p, "1.0", at, "remove release");
  env.pypi.addEvent("start", null, t, "docupdate", 1_000_000);
  create("p1", t + 1);
  create("p2", t + 2);
  remove("p3", t + 3);
  remove("p4", t + 4);
  await env.start();
  const polls = () => env.pypi.requestsTo("xmlrpc").length;
  await waitFor(() => polls() >= 2, 10_000, "the first events read");
  remove("p1", t + 31);
  remove("p2", t + 2 - 30);
  create("p3", t + 3 - 30);
  create("p4", t + 34);
  const seen = polls();
  await waitFor(() => polls() >= seen + 2, 10_000, "the later events read");
  const last = env.pypi.addEvent("zz-release", null, t + 1000, "docupdate");
  await env.stored(last);
  const kept = [];
  for (const p of ["p1", "p2", "p3", "p4"]) {
    if (await version(env, p, "1.0")) kept.push(p);
  }
  assert.deepEqual(kept, ["p2", "p4"]);
});

gazerTest("a creation older than what the window released cannot undo a removal", async (env) => {
  await env.db.addNewPackage("gone");
  await env.db.addNewPackageVersion("gone", "1.0");
  env.event("gone", "1.0", "remove release");
  const last = env.release();
  await env.start();
  await env.stored(last);
  assert.equal(await version(env, "gone", "1.0"), null);
  // Seen after the removal was applied, stamped before it: too late for the ordered stream.
  env.pypi.addEvent("gone", "1.0", T0, "add source file gone-1.0.tar.gz");
  const more = env.pypi.addEvent("zz-later", null, T0 + 5000, "docupdate");
  await env.stored(more);
  const seen = env.pypi.requestsTo("xmlrpc").length;
  await waitFor(() => env.pypi.requestsTo("xmlrpc").length >= seen + 2, 10_000, "more polls");
  assert.equal(await version(env, "gone", "1.0"), null);
});
