/**
 * The build journal and recorder on a real filesystem, with a scripted database (the master
 * tests and tests/e2e/durability_test.ts run it against PostgreSQL).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type BuildStateTuple, TimeDelta } from "../../src/protocols/mod.ts";
import { BuildJournal, entryBuild, stagedPath } from "../../src/master/build_journal.ts";
import { BuildRecorder, type RecorderDb } from "../../src/master/build_recorder.ts";
import { BuildState, FileState } from "../../src/master/states.ts";
import { fileTuple } from "./slave_harness.ts";
import { waitFor } from "./helpers.ts";

const WHEEL = "foo-1.0-cp311-cp311-linux_armv7l.whl";
const TWIN = "foo-1.0-cp311-cp311-linux_armv6l.whl";

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A database whose answers the test scripts: `down` makes every call fail. */
class ScriptedDb implements RecorderDb {
  builds: BuildStateTuple[] = [];
  files: Record<string, string> = {};
  down = false;
  refuse = false;
  /** What findBuild answers (a build recorded before a crash). */
  found: number | null = null;

  #check(): void {
    if (this.down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
  }
  logBuild(build: BuildStateTuple): Promise<number> {
    this.#check();
    if (this.refuse) return Promise.reject(new Error("value too long for type"));
    this.builds.push(build);
    for (const f of build[7]) this.files[f[0]] = f[2];
    return Promise.resolve(100 + this.builds.length);
  }
  findBuild(): Promise<number | null> {
    this.#check();
    return Promise.resolve(this.found);
  }
  packageFiles(): Promise<Record<string, string>> {
    this.#check();
    return Promise.resolve({ ...this.files });
  }
  reachable(): Promise<boolean> {
    return Promise.resolve(!this.down);
  }
}

interface Fixture {
  output: string;
  journal: BuildJournal;
  db: ScriptedDb;
  recorder: BuildRecorder;
  announced: BuildState[];
  /** A build of foo 1.0 (slave 3, cp311) whose armv7l wheel holds `data`, staged. */
  stagedBuild(data: Uint8Array, version?: string): Promise<BuildState>;
  simple(filename: string): string;
}

async function withJournal(body: (f: Fixture) => Promise<void>): Promise<void> {
  const output = await Deno.makeTempDir({ prefix: "piw-journal-" });
  const journal = new BuildJournal(output);
  const db = new ScriptedDb();
  const announced: BuildState[] = [];
  const recorder = new BuildRecorder(journal, db, {
    retryMs: [50, 100],
    published: (b) => void announced.push(b),
  });
  try {
    await body({
      output,
      journal,
      db,
      recorder,
      announced,
      async stagedBuild(data, version = "1.0") {
        const filename = WHEEL.replace("1.0", version);
        const file = FileState.fromMessage(
          fileTuple(filename, { size: data.length, hash: sha256(data) }),
        );
        const path = stagedPath(output, file);
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(path, data);
        const build = new BuildState(
          3,
          "foo",
          version,
          "cp311",
          true,
          TimeDelta.fromSeconds(5),
          "log",
          new Map([[filename, file]]),
        );
        build.addArmv6lTwins();
        return build;
      },
      simple: (filename) => `${output}/simple/foo/${filename}`,
    });
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

async function files(dir: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) {
        found.push(...(await files(`${dir}/${e.name}`)).map((n) => `${e.name}/${n}`));
      } else found.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found.sort();
}

Deno.test("an entry round-trips through the disk with the build as LOGBUILD sends it", async () => {
  await withJournal(async (f) => {
    const build = await f.stagedBuild(new Uint8Array([1, 2, 3]));
    const entry = await f.journal.add(build, "slave");
    assert.deepEqual(entry.staged, [WHEEL], "the twin is not a staged file");
    const [loaded] = await f.journal.load();
    assert.deepEqual(loaded, entry);
    assert.deepEqual(entryBuild(loaded).asMessage(), build.asMessage());
    assert.deepEqual(await files(`${f.journal.dir}/journal`), [`${entry.id}.json`]);
  });
});

Deno.test("a finished build is recorded, then published (0644, armv6l twin), then forgotten", async () => {
  await withJournal(async (f) => {
    const data = new Uint8Array([5, 6, 7, 8]);
    const outcome = await f.recorder.finish(await f.stagedBuild(data), "slave");
    assert.equal(outcome.status, "recorded");
    assert.equal(f.db.builds.length, 1);
    assert.deepEqual(f.db.builds[0][7].map((x) => x[0]), [TWIN, WHEEL]);
    assert.deepEqual(await Deno.readFile(f.simple(WHEEL)), data);
    assert.equal((await Deno.stat(f.simple(WHEEL))).mode! & 0o777, 0o644);
    assert.equal(await Deno.readLink(f.simple(TWIN)), WHEEL);
    assert.deepEqual(f.announced.map((b) => b.buildId), [101]);
    assert.deepEqual(await files(f.journal.dir), [], "no entry, no staged file left");
  });
});

Deno.test("with the database down builds stay journaled and unpublished, then go in order", async () => {
  await withJournal(async (f) => {
    f.db.down = true;
    const first = await f.recorder.finish(await f.stagedBuild(new Uint8Array([1]), "1.0"), "slave");
    const second = await f.recorder.finish(
      await f.stagedBuild(new Uint8Array([2]), "2.0"),
      "slave",
    );
    assert.equal(first.status, "pending");
    assert.equal(second.status, "pending");
    assert.ok(f.recorder.isPending("cp311", "foo", "2.0"));
    assert.ok(!f.recorder.isPending("cp39", "foo", "2.0"));
    assert.deepEqual(await files(`${f.output}/simple`), [], "nothing published unrecorded");
    assert.equal((await f.journal.load()).length, 2);
    await f.recorder.retry(Date.now() + 1000);
    assert.equal(f.recorder.pending.length, 2, "still down: still pending");
    f.db.down = false;
    await waitFor(
      async () => {
        await f.recorder.retry();
        return f.recorder.pending.length === 0;
      },
      5000,
      "the pending builds recorded",
    );
    assert.deepEqual(f.db.builds.map((b) => b[2]), ["1.0", "2.0"]);
    assert.ok((await Deno.stat(f.simple(WHEEL.replace("1.0", "2.0")))).isFile);
    assert.deepEqual(await files(f.journal.dir), []);
  });
});

Deno.test("recovery never records a build twice and publishes what a crash left", async () => {
  await withJournal(async (f) => {
    const data = new Uint8Array([9, 9]);
    // Crash after LOGBUILD committed, before the entry learnt the id.
    const entry = await f.journal.add(await f.stagedBuild(data), "slave");
    // A file verified but never journaled (crash after staging): garbage.
    const stray = stagedPath(f.output, { filename: "foo-3.0-py3-none-any.whl", filehash: "ab" });
    await Deno.writeFile(stray, data);
    f.db.found = 42;
    assert.equal(await f.recorder.recover(), 1);
    assert.equal(f.db.builds.length, 0, "found, not logged again");
    assert.deepEqual(f.announced.map((b) => b.buildId), [42]);
    assert.deepEqual(await Deno.readFile(f.simple(WHEEL)), data);
    assert.deepEqual(await files(f.journal.dir), []);
    // Crash after recording and publishing, before the entry went: published once, kept.
    const again = await f.journal.add(await f.stagedBuild(data), "slave");
    await f.journal.markRecorded(again, 7);
    await f.journal.publish(again);
    assert.equal(await f.recorder.recover(), 1);
    assert.deepEqual(f.announced.map((b) => b.buildId), [42, 7]);
    assert.deepEqual(await Deno.readFile(f.simple(WHEEL)), data);
    assert.ok(entry.id !== again.id);
  });
});

Deno.test("published bytes never change; a file without a database row is an orphan moved aside", async () => {
  await withJournal(async (f) => {
    const old = new Uint8Array([1, 1, 1]);
    await Deno.mkdir(`${f.output}/simple/foo`, { recursive: true });
    await Deno.writeFile(f.simple(WHEEL), old);
    // No row: an older master published it and never recorded it.
    const data = new Uint8Array([2, 2, 2]);
    assert.equal((await f.recorder.finish(await f.stagedBuild(data), "slave")).status, "recorded");
    assert.deepEqual(await Deno.readFile(f.simple(WHEEL)), data);
    assert.deepEqual((await files(`${f.journal.dir}/orphans`)).length, 1);
    // Same bytes again: fine. Other bytes with a row: the build fails, the file stays.
    assert.equal((await f.recorder.finish(await f.stagedBuild(data), "slave")).status, "recorded");
    const other = await f.recorder.finish(await f.stagedBuild(new Uint8Array([3])), "slave");
    assert.equal(other.status, "recorded");
    const failed = f.db.builds[2];
    assert.equal(failed[4], false);
    assert.deepEqual(failed[7], []);
    assert.match(failed[6], /published files never change/);
    assert.deepEqual(await Deno.readFile(f.simple(WHEEL)), data);
    // An import is refused instead, and leaves nothing behind.
    const imported = await f.recorder.finish(await f.stagedBuild(new Uint8Array([4])), "import");
    assert.equal(imported.status, "refused");
    assert.deepEqual(await files(`${f.journal.dir}/staged`), []);
    assert.deepEqual(await files(`${f.journal.dir}/journal`), []);
  });
});

Deno.test("a build the database refuses while answering goes to rejected/", async () => {
  await withJournal(async (f) => {
    f.db.refuse = true;
    const outcome = await f.recorder.finish(await f.stagedBuild(new Uint8Array([1])), "slave");
    assert.equal(outcome.status, "rejected");
    const rejected = await files(`${f.journal.dir}/rejected`);
    assert.equal(rejected.length, 2);
    assert.ok(rejected.some((n) => n.endsWith(`/${WHEEL}`)));
    assert.ok(rejected.some((n) => n.endsWith("/entry.json")));
    assert.deepEqual(await files(`${f.output}/simple`), []);
    assert.equal(f.recorder.pending.length, 0);
  });
});

Deno.test("an unreadable entry is moved to rejected/ and the rest recovered", async () => {
  await withJournal(async (f) => {
    await f.journal.add(await f.stagedBuild(new Uint8Array([1])), "slave");
    await Deno.writeTextFile(`${f.journal.dir}/journal/0-broken.json`, "{not json");
    await Deno.writeTextFile(`${f.journal.dir}/journal/.1-half.tmp`, "{");
    assert.equal(await f.recorder.recover(), 1);
    assert.equal(f.db.builds.length, 1);
    assert.deepEqual(await files(f.journal.dir), ["rejected/0-broken.json"]);
  });
});

Deno.test("an import the database cannot take is dropped, not kept: the importer has its file", async () => {
  await withJournal(async (f) => {
    const recorder = new BuildRecorder(f.journal, f.db, { dropPending: true });
    f.db.down = true;
    const outcome = await recorder.finish(await f.stagedBuild(new Uint8Array([1])), "import");
    assert.equal(outcome.status, "pending");
    assert.equal(recorder.pending.length, 0);
    assert.deepEqual(await files(f.journal.dir), [], "no entry, no staged file");
    assert.deepEqual(await files(`${f.output}/simple`), []);
  });
});
