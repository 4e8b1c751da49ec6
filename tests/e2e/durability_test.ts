/**
 * Nothing finished is lost: real `piw master`s and `piw slave`s building real sdists, through a
 * PostgreSQL outage (a private cluster stopped and started), kill -9 of the master at the named
 * points of a finished build's path (`PIW_DEBUG_CRASH`), and kill -9 during a transfer. After
 * each, every finished build is recorded once, its wheels published, and files and rows agree;
 * a failed build committed before the crash gets its log.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { createFixtureIndex, type FixtureIndex } from "../fixtures/package_index.ts";
import type { SdistSpec } from "../fixtures/sdists.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import {
  freePort,
  masterQueues,
  type PiwProcess,
  processAlive,
  testFarm,
  waitUntil,
} from "../fixtures/piw_process.ts";
import { canCreateCluster, createPgCluster } from "../fixtures/pg_cluster.ts";
import { farmDatabase, testDatabase, waitFor } from "../master/helpers.ts";
import { addAbis, pgDsn, SKIP_PG } from "../db/harness.ts";
import { MasterProcess, runTool } from "../admin/harness.ts";
import { openClient } from "../../src/db/mod.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import { fileSha256 } from "../../src/slave/inspect.ts";
import { logPath } from "../../src/web/logs.ts";
import { exists } from "../../src/web/atomic.ts";

interface FileRow {
  filename: string;
  filehash: string;
  package: string;
}

interface BuildRow {
  package: string;
  version: string;
  status: boolean;
}

/** What the database holds: builds and files. */
async function rows(superDsn: string): Promise<{ builds: BuildRow[]; files: FileRow[] }> {
  const admin = await openClient(superDsn);
  try {
    const builds = await admin.query<BuildRow>(
      "SELECT package, version, status FROM builds ORDER BY package, version",
    );
    const files = await admin.query<FileRow>(
      "SELECT f.filename, f.filehash, b.package FROM files f JOIN builds b USING (build_id)",
    );
    return { builds, files };
  } finally {
    await admin.close();
  }
}

/** Every regular wheel under `<www>/simple/`, as `<pkg>/<filename>`. */
async function publishedWheels(www: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const pkg of Deno.readDir(`${www}/simple`)) {
      if (!pkg.isDirectory) continue;
      for await (const f of Deno.readDir(`${www}/simple/${pkg.name}`)) {
        if (f.isFile && f.name.endsWith(".whl")) found.push(`${pkg.name}/${f.name}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found.sort();
}

/** Files left anywhere under `dir` (recursively), as relative paths. */
async function leftovers(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) found.push(...await leftovers(`${dir}/${e.name}`, `${prefix}${e.name}/`));
      else found.push(prefix + e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found;
}

/** Files and rows agree: each row's file is published with its sha256, each wheel has a row. */
async function assertFilesMatchRows(www: string, superDsn: string): Promise<void> {
  const { files } = await rows(superDsn);
  for (const f of files) {
    const path = `${www}/simple/${f.package}/${f.filename}`;
    assert.equal(await fileSha256(path), f.filehash, path);
  }
  assert.deepEqual(
    await publishedWheels(www),
    files.map((f) => `${f.package}/${f.filename}`).sort(),
    "every published wheel has a row",
  );
  assert.deepEqual(
    (await leftovers(`${www}/.piw-incoming`)).filter((p) => !p.startsWith("orphans/")),
    [],
    "nothing left staged or journaled",
  );
}

/**
 * A PyPI stand-in announcing every sdist of `index`, and the farm's ports and directories;
 * `close` stops the masters and slaves it started and closes `index` too.
 */
async function farmSetup(index: FixtureIndex) {
  const pypi = await startPyPIStandIn({ simpleIndex: index });
  pypi.announceSdists(index.sdists, {
    summary: (i) => `durability ${i}`,
    clock: "piw-durable-clock",
    firstSerial: 9_000_001,
  });
  const www = await Deno.makeTempDir({ prefix: "piw-durable-www-" });
  const ipc = await Deno.makeTempDir({ prefix: "piw-durable-ipc-" });
  const farm = testFarm(www, `${ipc}/`);
  const children: PiwProcess[] = [];
  const started = (child: PiwProcess) => {
    children.push(child);
    return child;
  };
  return {
    pypi,
    www,
    /** Every master and slave started, for their stderr when a wait times out. */
    children,
    /** Wait until the build journal is empty: every finished build recorded. */
    journalDrained: () =>
      waitUntil(
        "the journal drained",
        async () => (await leftovers(`${www}/.piw-incoming/journal`)).length === 0,
        60_000,
        children,
      ),
    master: (dsn: string, env: Record<string, string> = {}) =>
      started(farm.master(dsn, pypi.masterArgs, env)),
    // A restarted master is found within the reply timeout (15 s); the master drops a slave
    // silent for its busy timeout (30 s), far above its BUSY interval (2 s) even under load.
    slave: (label: string) =>
      started(
        farm.slave(label, undefined, { PIW_MASTER_TIMEOUT: "30s", PIW_SLAVE_INTERVAL: "2s" }),
      ),
    async close() {
      for (const child of children) await child.stop(10_000).catch(() => {});
      await index.close();
      await pypi.close();
      await Deno.remove(www, { recursive: true }).catch(() => {});
      await Deno.remove(ipc, { recursive: true }).catch(() => {});
    },
  };
}

const OUTAGE_SPECS: SdistSpec[] = ["a", "b", "c", "d"].map((x) => ({
  name: `piw-outage-${x}`,
  version: "1.0",
}));

Deno.test({
  name: "a PostgreSQL outage while builds finish loses nothing and fails nothing",
  ignore: SKIP_PG || !canCreateCluster(),
  async fn() {
    const { abi } = await interpreterFacts("python3");
    const cluster = await createPgCluster({ abi, noFsync: true });
    const index = await createFixtureIndex(OUTAGE_SPECS);
    const farm = await farmSetup(index);
    const children = farm.children;
    try {
      const master = farm.master(cluster.dsn);
      farm.slave("outage-1");
      farm.slave("outage-2");
      // Builds are under way: the database goes away while they finish.
      await master.waitForLine(": build piw-outage-", 300_000);
      await cluster.stop();
      const stopped = Date.now();
      await waitUntil(
        "a build finished while the database is down",
        () => master.lines.some((l) => l.includes("build succeeded")),
        240_000,
        children,
      );
      await new Promise((r) => setTimeout(r, Math.max(0, 25_000 - (Date.now() - stopped))));
      // Nothing is published before it is recorded (piw before the journal left orphans here).
      assert.deepEqual(await publishedWheels(farm.www), []);
      await cluster.start();
      await waitUntil(
        "every build recorded",
        async () => (await rows(cluster.superDsn)).builds.length >= OUTAGE_SPECS.length,
        240_000,
        children,
      );
      await farm.journalDrained();
      assert.ok(master.lines.some((l) => l.includes("journaled; not recorded yet")));
      const { builds, files } = await rows(cluster.superDsn);
      assert.deepEqual(
        builds.map((b) => `${b.package} ${b.version} ${b.status}`),
        OUTAGE_SPECS.map((s) => `${s.name} 1.0 true`),
        "each build recorded once, as a success",
      );
      assert.equal(files.length, OUTAGE_SPECS.length);
      await assertFilesMatchRows(farm.www, cluster.superDsn);
      assert.ok(!master.lines.some((l) => l.includes("published files never change")));
    } finally {
      await farm.close();
      await cluster.drop();
    }
  },
});

/** Kill -9 at `point` during the first build, restart, and check the farm ends consistent. */
async function crashAndRecover(point: string, name: string, recovery: string): Promise<void> {
  const db = await farmDatabase("postgres");
  const index = await createFixtureIndex([{ name, version: "1.0" }]);
  const farm = await farmSetup(index);
  const children = farm.children;
  const superDsn = pgDsn(db.dsn.split("/").pop()!);
  try {
    const doomed = farm.master(db.dsn, { PIW_DEBUG_CRASH: point });
    farm.slave(`crash-${point}`);
    // The first build comes first (pip under load can take minutes): wait for the crash.
    await waitUntil(
      `the master's SIGKILL at ${point}`,
      () => !processAlive(doomed.process.pid),
      300_000,
      children,
    );
    const code = await doomed.exit();
    assert.equal(code, 137, `the master dies by SIGKILL at ${point}\n${doomed.tail()}`);
    const master = farm.master(db.dsn);
    await waitUntil(
      "the build recorded and published",
      async () => {
        const { builds } = await rows(superDsn);
        return builds.length > 0 && (await publishedWheels(farm.www)).length > 0 &&
          (await leftovers(`${farm.www}/.piw-incoming/journal`)).length === 0;
      },
      180_000,
      children,
    );
    const { builds } = await rows(superDsn);
    assert.deepEqual(builds.map((b) => `${b.package} ${b.status}`), [`${name} true`], "once");
    await assertFilesMatchRows(farm.www, superDsn);
    assert.ok(!master.lines.some((l) => l.includes("published files never change")));
    assert.ok(master.lines.some((l) => l.includes(recovery)), `${recovery}\n${master.tail(60)}`);
  } finally {
    await farm.close();
    await db.remove();
  }
}

/** Each crash point and what the restarted master must say it did. */
const CRASHES: [point: string, recovery: string][] = [
  // Staged, never journaled: the file is garbage and the version is built again.
  ["after-stage", "removed 1 staged files of unjournaled builds"],
  ["after-journal", "recovering 1 journaled builds"],
  // LOGBUILD committed, the journal never heard: the row is found, not logged twice.
  ["after-record", "was already recorded as"],
  ["after-publish", "recovering 1 journaled builds"],
];

for (const [point, recovery] of CRASHES) {
  Deno.test({
    name: `kill -9 of the master ${point}: the restarted master records it once and publishes it`,
    ignore: SKIP_PG,
    fn: () => crashAndRecover(point, `piw-crash-${point.replace("after-", "")}`, recovery),
  });
}

Deno.test({
  name: "kill -9 of the master after a failed build's commit: the restarted master writes its log",
  ignore: SKIP_PG,
  async fn() {
    const db = await farmDatabase("postgres");
    const name = "piw-crash-commit";
    const index = await createFixtureIndex([{ name, version: "1.0", kind: "fail-fast" }]);
    const farm = await farmSetup(index);
    const children = farm.children;
    const superDsn = pgDsn(db.dsn.split("/").pop()!);
    const admin = await openClient(superDsn);
    try {
      // The group commit of the failed build commits, then the master dies: no web update.
      const doomed = farm.master(db.dsn, { PIW_DEBUG_CRASH: "after-commit" });
      farm.slave("crash-commit");
      await waitUntil(
        "the master's SIGKILL after the commit",
        () => !processAlive(doomed.process.pid),
        150_000,
        children,
      );
      assert.equal(await doomed.exit(), 137, `the master dies by SIGKILL\n${doomed.tail()}`);
      const [build] = await admin.query<{ build_id: number; status: boolean }>(
        "SELECT build_id, status FROM builds WHERE package = $1",
        [name],
      );
      assert.equal(build?.status, false, "the failed build was committed");
      const log = `${farm.www}/${logPath(build.build_id)}`;
      assert.ok(!exists(log), "not written yet");

      farm.master(db.dsn);
      await waitUntil("the log written", () => exists(log), 60_000, children);
      const text = new TextDecoder().decode(gunzipSync(await Deno.readFile(log)));
      assert.match(text, /piw-fixture: piw-crash-commit refuses to build/);
      assert.match(text, /deliberate build failure/);
      await waitUntil(
        "the pending log forgotten",
        async () => (await admin.query("SELECT build_id FROM logs_pending")).length === 0,
        30_000,
        children,
      );
      const builds = await admin.query("SELECT build_id FROM builds");
      assert.equal(builds.length, 1, "recorded once");
    } finally {
      await admin.close();
      await farm.close();
      await db.remove();
    }
  },
});

Deno.test({
  name: "a wheel an older master published without a row does not make the build fail",
  ignore: SKIP_PG,
  async fn() {
    const db = await farmDatabase("postgres");
    const name = "piw-orphan";
    const index = await createFixtureIndex([{ name, version: "1.0" }]);
    const farm = await farmSetup(index);
    const children = farm.children;
    const superDsn = pgDsn(db.dsn.split("/").pop()!);
    try {
      // What piw before the journal left when LOGBUILD failed after publishing.
      const orphan = `${farm.www}/simple/${name}/piw_orphan-1.0-py3-none-any.whl`;
      await Deno.mkdir(`${farm.www}/simple/${name}`, { recursive: true });
      await Deno.writeTextFile(orphan, "an orphan of an older master");
      farm.master(db.dsn);
      farm.slave("orphan");
      await waitUntil(
        "the build recorded",
        async () => (await rows(superDsn)).builds.length > 0,
        180_000,
        children,
      );
      await farm.journalDrained();
      const { builds } = await rows(superDsn);
      assert.deepEqual(builds.map((b) => `${b.package} ${b.status}`), [`${name} true`]);
      await assertFilesMatchRows(farm.www, superDsn);
      assert.equal((await leftovers(`${farm.www}/.piw-incoming/orphans`)).length, 1);
    } finally {
      await farm.close();
      await db.remove();
    }
  },
});

/** A pure wheel of `name` 1.0 holding `megabytes` of random bytes (a slow transfer). */
async function bigWheel(dir: string, name: string, megabytes: number): Promise<string> {
  const module = name.replaceAll("-", "_");
  const path = `${dir}/${module}-1.0-py3-none-any.whl`;
  const script = `
import os, sys, zipfile
path, module, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
info = module + "-1.0.dist-info/"
with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
    z.writestr(module + "/__init__.py", "")
    z.writestr(module + "/blob.bin", os.urandom(size))
    z.writestr(info + "METADATA", "Metadata-Version: 2.1\\nName: " + sys.argv[4] + "\\nVersion: 1.0\\n")
    z.writestr(info + "WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr(info + "RECORD", "")
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, path, module, String(megabytes << 20), name],
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return path;
}

/** Paths of `.part` files anywhere under `dir`. */
async function parts(dir: string): Promise<string[]> {
  return (await leftovers(dir)).filter((p) => p.endsWith(".part"));
}

Deno.test({
  name: "kill -9 of the master during a transfer: the .part is gone after the next start",
  ignore: SKIP_PG,
  async fn() {
    const db = await testDatabase("postgres", (admin) => addAbis(admin, "cp311"));
    const pypi = await startPyPIStandIn();
    const work = await Deno.makeTempDir({ prefix: "piw-durable-part-" });
    const queues = masterQueues(`${work}/`, 0, freePort());
    const output = `${work}/www`;
    await Deno.mkdir(output);
    const name = "piw-part-pkg";
    let master = new MasterProcess(db.dsn, pypi, queues, output);
    try {
      await master.waitForLine("master: ready", 120_000);
      for (const args of [["add", "-y", name, "-d", "big"], ["add", "-y", name, "1.0"]]) {
        const r = await master.tool(args);
        assert.equal(r.code, 0, r.stderr);
      }
      const wheel = await bigWheel(work, name, 256);
      const importing = runTool(master.toolArgs(["import", "-y", "--abi", "cp311", wheel]));
      await waitFor(async () => (await parts(output)).length > 0, 120_000, "a transfer under way");
      master.kill("SIGKILL");
      assert.equal(await master.exit(), 137);
      assert.notEqual((await importing).code, 0, "the import did not finish");
      assert.equal((await parts(output)).length, 1, "the interrupted transfer left its .part");

      master = new MasterProcess(db.dsn, pypi, queues, output);
      await master.waitForLine("master: ready", 120_000);
      await waitFor(async () => (await parts(output)).length === 0, 30_000, "the .part removed");
      // And the import goes through the journal once the master is back.
      const again = await master.tool(["import", "-y", "--abi", "cp311", wheel]);
      assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}\n${master.tail()}`);
      assert.deepEqual(await publishedWheels(output), [
        `${name}/piw_part_pkg-1.0-py3-none-any.whl`,
      ]);
      await assertFilesMatchRows(output, pgDsn(db.dsn.split("/").pop()!));
    } finally {
      await master.stop(10_000);
      await pypi.close();
      await db.remove();
      await Deno.remove(work, { recursive: true });
    }
  },
});
