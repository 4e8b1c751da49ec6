/**
 * PyPIWriter (CloudGazer's core) on a real in-memory PGlite database, its oracle requests going
 * straight to the real handlers, and queues that record what they are told: what it marks,
 * tells and writes per batch, in which order, and which page rewrites follow.
 */
import assert from "node:assert/strict";
import type { PackageAction, PackageEvent } from "../../src/pypi/mod.ts";
import { getLogger } from "../../src/log.ts";
import { Database, openClient } from "../../src/db/mod.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";
import { oracleHandlers } from "../../src/master/oracle_requests.ts";
import {
  type GazerQueues,
  type OracleCaller,
  PyPIWriter,
  type SkipRequest,
  type WebRequest,
} from "../../src/master/pypi_writer.ts";

let shared: Promise<Database> | null = null;

/** One PGlite database for the file, emptied per test. */
async function database(): Promise<Database> {
  shared ??= (async () => {
    const sql = await openClient("pglite:");
    await initializeDatabase(sql, { user: "piw", yes: true });
    return new Database(sql);
  })();
  const db = await shared;
  await db.client.query("TRUNCATE packages, build_abis CASCADE");
  await db.client.query("UPDATE configuration SET pypi_serial = 0");
  return db;
}

/** Queues that record what they are told (and the oracle requests, in one log). */
class RecordingQueues implements GazerQueues {
  readonly log: string[] = [];
  readonly pages: string[] = [];
  webDown = false;
  web(request: WebRequest): Promise<boolean> {
    if (this.webDown) return Promise.resolve(false);
    this.log.push(`web ${request.name} ${request.data}`);
    if (request.name === "PROJECT" || request.name === "BOTH") {
      this.pages.push(`${request.name} ${request.data}`);
    }
    return Promise.resolve(true);
  }
  skip(request: SkipRequest): Promise<boolean> {
    this.log.push(`skip ${request.name} ${request.data}`);
    return Promise.resolve(true);
  }
}

async function setup(devMode = false) {
  const db = await database();
  const queues = new RecordingQueues();
  const oracle: OracleCaller = {
    call: async (name, ...args) => {
      queues.log.push(name);
      const handler = oracleHandlers[name] as (db: Database, data: unknown) => Promise<unknown>;
      return await handler(db, args[0]) as never;
    },
  };
  const writer = new PyPIWriter(oracle, queues, { devMode, log: getLogger("test.cloud_gazer") });
  let serial = 0;
  /** Plan, mark, tell and commit one batch, then send its pages, as CloudGazer does. */
  const run = async (events: PackageEvent[]) => {
    const batch = writer.plan(events);
    await writer.mark(batch);
    while (await writer.tellNext(batch));
    await writer.commit(batch, serial, serial + 1);
    serial++;
    await writer.flushPages();
    return batch;
  };
  return { db, queues, writer, run };
}

let serial = 0;
function event(
  alias: string,
  version: string | null,
  action: PackageAction,
  seconds: number,
  description: string | null = null,
): PackageEvent {
  const pkg = alias.toLowerCase().replace(/[-_.]+/g, "-");
  return {
    package: pkg,
    alias,
    version,
    action,
    description,
    timestamp: new Date(seconds * 1000),
    serial: ++serial,
  };
}

const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn });

test("a batch is one PYPIBATCH; names keep each name's latest time", async () => {
  const { db, queues, writer, run } = await setup();
  const batch = await run([
    event("Foo_Bar", null, "create", 100, "Summary"),
    event("Foo_Bar", "1.0", "source", 200, "Summary"),
    event("foo.bar", "1.1", "source", 150, "Summary"),
  ]);
  assert.deepEqual(queues.log, ["PYPIBATCH", "web BOTH foo-bar"]);
  assert.deepEqual([...batch.names.get("foo-bar")!].map(([n, t]) => [n, t.getTime()]), [
    ["Foo_Bar", 200_000],
    ["foo-bar", 0],
    ["foo.bar", 150_000],
  ]);
  assert.equal(await db.getProjectDisplayName("foo-bar"), "Foo_Bar");
  assert.deepEqual(await db.getPackageAliases("foo-bar"), ["Foo_Bar", "foo.bar"]);
  assert.equal(await db.getPackageDescription("foo-bar"), "Summary");
  assert.deepEqual(writer.counts, {
    events: 3,
    packages: 1,
    versions: 2,
    buildable: 2,
    removals: 0,
    calls: 1,
    byRequest: { PYPIBATCH: 1 },
  });
  // The canonical name is recorded once per run, not once per batch.
  const next = await run([event("Foo_Bar", "1.2", "source", 300)]);
  assert.deepEqual([...next.names.get("foo-bar")!.keys()], ["Foo_Bar"]);
});

test("page rewrites are merged per batch, BOTH winning over PROJECT", async () => {
  const { db, queues, run } = await setup();
  await db.addNewPackage("a");
  await db.addNewPackageVersion("a", "1.0", null, "binary only");
  await run([event("a", "1.0", "source", 1)]); // enables 1.0: PROJECT
  assert.deepEqual(queues.pages, ["PROJECT a"]);
  assert.equal(await db.getVersionSkip("a", "1.0"), "");
  await run([
    event("a", "2.0", "create", 2), // a new (binary-only) version: BOTH
    event("a", "2.0", "source", 3), // enables it: PROJECT, but BOTH wins
    event("b", null, "create", 4),
  ]);
  assert.deepEqual(queues.pages, ["PROJECT a", "BOTH a", "BOTH b"]);
});

test("a package removal is marked and told first, and drops its names and pages", async () => {
  const { db, queues, writer, run } = await setup();
  await db.addNewPackage("gone");
  await db.addNewPackageVersion("gone", "0.9");
  const batch = await run([
    event("Gone", null, "remove", 1),
    event("Other", "1.0", "source", 2),
  ]);
  assert.deepEqual(batch.marks, [["gone", null]], "untouched before its removal: marked early");
  assert.deepEqual(queues.log, [
    "MARKDEL",
    "web DELPKG gone",
    "skip DELPKG gone",
    "PYPIBATCH",
    "web BOTH other",
  ]);
  assert.equal(await db.testPackage("gone"), false);
  assert.equal(writer.counts.removals, 1);

  queues.log.length = 0;
  const again = await run([
    event("Again", "1.0", "source", 3),
    event("Again", null, "remove", 4),
  ]);
  assert.deepEqual(again.marks, [], "touched earlier in the batch: removed in order only");
  assert.deepEqual(again.names.size, 0, "its names are dropped");
  assert.deepEqual(queues.log, ["web DELPKG again", "skip DELPKG again", "PYPIBATCH"]);
  assert.equal(await db.testPackage("again"), false);
  // Created again later: it is new again, with its canonical name recorded again.
  const later = await run([event("Again", null, "create", 5)]);
  assert.deepEqual([...later.names.get("again")!.keys()], ["Again", "again"]);
  assert.equal(writer.counts.packages, 3);
});

test("a version removal is marked, told to both queues, then deleted", async () => {
  const { db, queues, run } = await setup();
  await db.addNewPackage("v");
  await db.addNewPackageVersion("v", "1.0");
  await run([event("v", "1.0", "remove", 1)]);
  assert.deepEqual(queues.log, ["MARKDEL", "web DELVER v,1.0", "skip DELVER v,1.0", "PYPIBATCH"]);
  assert.equal(await db.testPackageVersion("v", "1.0"), false);
});

test("a summary is written when it differs and is not empty", async () => {
  const { db, run } = await setup();
  await db.addNewPackage("s", "", "old");
  await run([event("s", "1.0", "source", 1, "new"), event("s", "1.1", "source", 2, "")]);
  assert.equal(await db.getPackageDescription("s"), "new", "an empty summary never overwrites");
});

test("binary-only versions, dev mode and yanks", async () => {
  const { db, writer, run } = await setup(true);
  await run([
    event("d", "1.0", "create", 1),
    event("d", "1.0", "yank", 2),
    event("d", "1.0", "unyank", 3),
    event("d", "1.1", "source", 4),
    event("d", "1.1", "yank", 5),
  ]);
  const rows = await db.client.query<{ version: string; skip: string; yanked: boolean }>(
    "SELECT version, skip, yanked FROM versions ORDER BY version",
  );
  assert.deepEqual(rows, [
    { version: "1.0", skip: "binary only", yanked: false },
    { version: "1.1", skip: "", yanked: true },
  ]);
  assert.equal(await db.getVersionSkip("d", "1.1"), "development mode");
  assert.equal(writer.counts.versions, 2);
  // The unyank and the source; the binary-only create is not buildable.
  assert.equal(writer.counts.buildable, 2);
});

test("rewrites the web queue did not take wait for the next flush", async () => {
  const { queues, writer } = await setup();
  const batch = writer.plan([event("w", "1.0", "source", 1)]);
  await writer.commit(batch, 0, 1);
  queues.webDown = true;
  await writer.flushPages();
  assert.deepEqual([...writer.pendingPages], [["w", "BOTH"]]);
  queues.webDown = false;
  writer.reset(); // a replay keeps pending rewrites
  await writer.flushPages();
  assert.deepEqual(queues.pages, ["BOTH w"]);
});

test("a refused batch writes nothing and leaves its pages unsent", async () => {
  const { db, writer } = await setup();
  const batch = writer.plan([event("r", "1.0", "source", 1)]);
  await assert.rejects(() => writer.commit(batch, 5, 6), /expects 5/);
  assert.equal(await db.testPackage("r"), false);
  assert.equal(writer.pendingPages.size, 0);
  assert.equal(writer.counts.events, 0);
});
