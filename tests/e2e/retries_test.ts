/**
 * Failure classes and automatic retries on a real farm: `piw master` on PostgreSQL, a `piw
 * slave` building with real pip, a PyPI stand-in and a local index.
 *
 * - A version whose sdist is not on the index yet fails "no sdist"; when its source file appears
 *   (on the index and in PyPI's journal) it is built at once, with no human, long before its
 *   timed retry. A build missing a library fails "missing header or library" with its Debian
 *   package and is not retried; both show on the project page (Chromium), in the project JSON
 *   and on the home page.
 * - With the index down a build fails "network"; once the index is back up the timed retry
 *   builds it, and both tries are kept.
 * - A build missing `-lsnappy` is retried, with no `piw retry`, once a slave that finds the
 *   library (a stub on its LIBRARY_PATH) says HAVE on the extras queue after its HELLO.
 */
import assert from "node:assert/strict";
import { startPackageIndex } from "../fixtures/package_index.ts";
import { buildSdist, type SdistSpec } from "../fixtures/sdists.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { freePort, testFarm, waitUntil } from "../fixtures/piw_process.ts";
import { farmDatabase } from "../master/helpers.ts";
import { render } from "../web/chromium.ts";
import { pgDsn, SKIP_PG } from "../db/harness.ts";
import { openClient, type SqlClient } from "../../src/db/mod.ts";

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

interface BuildRow {
  package: string;
  status: boolean;
  failure_class: string | null;
  failure_detail: string;
  failure_lines: string;
  retry_at: Date | null;
}

function buildRows(admin: SqlClient, pkg: string): Promise<BuildRow[]> {
  return admin.query<BuildRow>(
    "SELECT package, status, failure_class, failure_detail, failure_lines, retry_at " +
      "FROM builds WHERE package = $1 ORDER BY build_id",
    [pkg],
  );
}

/** A farm on a fresh database holding `versions` (buildable), with slaves' index at `indexUrl`. */
async function farm(
  versions: [string, string][],
  indexUrl: string,
  env: Record<string, string>,
) {
  const db = await farmDatabase("postgres", async (admin) => {
    for (const [pkg, version] of versions) {
      await admin.query("SELECT add_new_package($1)", [pkg]);
      await admin.query("SELECT add_new_package_version($1, $2, now())", [pkg, version]);
    }
  });
  const pypi = await startPyPIStandIn();
  const www = await Deno.makeTempDir({ prefix: "piw-retry-www-" });
  const ipc = await Deno.makeTempDir({ prefix: "piw-retry-ipc-" });
  const slaveDir = await Deno.makeTempDir({ prefix: "piw-retry-slave-" });
  const processes = testFarm(www, `${ipc}/`);
  const args = pypi.masterArgs.map((a) => a === pypi.simpleUrl ? indexUrl : a);
  const master = processes.master(db.dsn, ["--dev-mode", ...args], env);
  const startSlave = (slaveEnv: Record<string, string> = {}) =>
    processes.slave("retries", slaveDir, slaveEnv);
  let slave = startSlave();
  const admin = await openClient(pgDsn(db.dsn.split("/").pop()!));
  return {
    abi: db.abi,
    db,
    pypi,
    www,
    ipc,
    admin,
    children: [master, slave],
    master,
    /** Stop the slave and start another on the same --dir with `slaveEnv` added. */
    async restartSlave(slaveEnv: Record<string, string>) {
      await slave.stop();
      slave = startSlave(slaveEnv);
      this.children = [master, slave];
    },
    async close() {
      await admin.close();
      for (const child of [slave, master]) await child.stop();
      await pypi.close();
      await db.remove();
      for (const dir of [www, ipc, slaveDir]) await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "a version whose sdist was not there yet is built as soon as its source file appears; " +
    "the failure classes show on the pages",
  ignore: SKIP_PG,
  async fn() {
    const sdistDir = await Deno.makeTempDir({ prefix: "piw-retry-sdists-" });
    const late: SdistSpec = { name: "piw-e2e-late", version: "1.0" };
    const needsLib: SdistSpec = {
      name: "piw-e2e-needslib",
      version: "1.0",
      kind: "cext",
      libraries: ["snappy"],
    };
    const lateSdist = await buildSdist(late, sdistDir);
    // The index has the library-hungry sdist, but not yet the late one's.
    const index = await startPackageIndex({ files: [await buildSdist(needsLib, sdistDir)] });
    // A timed retry an hour away: only the source file's event can build it in this test.
    const f = await farm(
      [["piw-e2e-late", "1.0"], ["piw-e2e-needslib", "1.0"]],
      index.url,
      { PIW_RETRY_DELAYS: "1h" },
    );
    let server: Deno.HttpServer | null = null;
    try {
      await waitUntil(
        "both builds to fail",
        async () =>
          (await buildRows(f.admin, "piw-e2e-late")).length === 1 &&
          (await buildRows(f.admin, "piw-e2e-needslib")).length === 1,
        5 * 60_000,
        f.children,
      );
      const [lateFail] = await buildRows(f.admin, "piw-e2e-late");
      assert.equal(lateFail.status, false);
      assert.equal(lateFail.failure_class, "no-sdist", JSON.stringify(lateFail));
      assert.match(lateFail.failure_lines, /No matching distribution found for piw-e2e-late/);
      assert.ok(lateFail.retry_at !== null, "a no-sdist failure is retried");
      const [libFail] = await buildRows(f.admin, "piw-e2e-needslib");
      assert.equal(libFail.failure_class, "missing-library", JSON.stringify(libFail));
      assert.equal(libFail.failure_detail, "-lsnappy");
      assert.equal(libFail.retry_at, null, "a missing library is not retried by itself");

      // The sdist reaches the index and PyPI's journal says so.
      await index.add(lateSdist);
      f.pypi.addEvent(
        "piw-e2e-late",
        "1.0",
        Date.now() / 1000,
        `add source file ${lateSdist.filename}`,
        // PyPI's serials today are far past piwheels' reordering "epoch".
        9_000_001,
      );
      const simple = () => readText(`${f.www}/simple/piw-e2e-late/index.html`);
      await waitUntil(
        "the late version's wheel",
        async () => (await simple() ?? "").includes("piw_e2e_late-1.0-py3-none-any.whl"),
        3 * 60_000,
        f.children,
      );
      assert.ok(
        f.master.lines.some((l) => l.includes("1 builds that found no sdist retried")),
        f.master.tail(),
      );
      const rows = await buildRows(f.admin, "piw-e2e-late");
      assert.deepEqual(rows.map((r) => [r.status, r.failure_class]), [
        [false, "no-sdist"],
        [true, null],
      ]);
      assert.ok(rows[0].retry_at! > rows[1].retry_at!, "retried before its time came");
      assert.deepEqual(
        await f.admin.query("SELECT count(*)::INTEGER AS n FROM retries_pending"),
        [{ n: 0 }],
      );

      // The project JSON and page say why the other one failed, and what to install.
      const jsonPath = `${f.www}/project/piw-e2e-needslib/json/index.json`;
      await waitUntil(
        "the project JSON",
        async () => (await readText(jsonPath) ?? "").includes("missing-library"),
        60_000,
        f.children,
      );
      const json = JSON.parse((await readText(jsonPath))!);
      const failure = json.releases["1.0"].builds[f.abi].failure;
      assert.equal(failure.class, "missing-library", JSON.stringify(json));
      assert.equal(failure.detail, "-lsnappy");
      assert.equal(failure.debian_package, "libsnappy-dev");
      assert.match(failure.lines, /cannot find -lsnappy/);
      assert.equal(failure.retry_at, null);
      await waitUntil(
        "the home page's failure counts",
        async () => /missing header or library/.test(await readText(`${f.www}/index.html`) ?? ""),
        60_000,
        f.children,
      );

      const port = freePort();
      server = serveDirectory(f.www, port, () => {});
      const page = await render(
        `http://127.0.0.1:${port}/project/piw-e2e-needslib/`,
        `${f.ipc}/needslib.png`,
      );
      assert.match(
        page.dom,
        /class="status fail"[^>]*>.*?<small class="failure" data-failure="missing-library">missing header or library: <code>-lsnappy<\/code> \(apt: libsnappy-dev\)/s,
      );
      const home = await render(`http://127.0.0.1:${port}/`, `${f.ipc}/home.png`);
      assert.match(home.dom, /<dt>missing header or library<\/dt><dd>1<\/dd>/);
    } finally {
      await server?.shutdown();
      await f.close();
      await index.close();
      await Deno.remove(sdistDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a build that failed because the index was down is retried and built once it is back",
  ignore: SKIP_PG,
  async fn() {
    const sdistDir = await Deno.makeTempDir({ prefix: "piw-retry-sdists-" });
    const sdist = await buildSdist({ name: "piw-e2e-netfail", version: "1.0" }, sdistDir);
    const port = freePort();
    // Nothing listens there yet: the index is down.
    const f = await farm(
      [["piw-e2e-netfail", "1.0"]],
      `http://127.0.0.1:${port}/simple/`,
      { PIW_RETRY_DELAYS: "5s,5s" },
    );
    let index: Awaited<ReturnType<typeof startPackageIndex>> | null = null;
    try {
      await waitUntil(
        "the build to fail",
        async () => (await buildRows(f.admin, "piw-e2e-netfail")).length === 1,
        5 * 60_000,
        f.children,
      );
      const [fail] = await buildRows(f.admin, "piw-e2e-netfail");
      assert.equal(fail.failure_class, "network", JSON.stringify(fail));
      assert.match(fail.failure_lines, /Connection refused/);
      assert.ok(fail.retry_at !== null);

      index = await startPackageIndex({ files: [sdist], port });
      await waitUntil(
        "the wheel once the index is back",
        async () =>
          (await readText(`${f.www}/simple/piw-e2e-netfail/index.html`) ?? "")
            .includes("piw_e2e_netfail-1.0-py3-none-any.whl"),
        3 * 60_000,
        f.children,
      );
      const rows = await buildRows(f.admin, "piw-e2e-netfail");
      assert.deepEqual(rows.map((r) => [r.status, r.failure_class]), [
        [false, "network"],
        [true, null],
      ]);
      assert.ok(
        f.master.lines.some((l) => l.includes("failed builds due for a retry: queued again")),
        f.master.tail(),
      );
    } finally {
      await f.close();
      await index?.close();
      await Deno.remove(sdistDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a missing-library failure is retried when a slave says it now has that library",
  ignore: SKIP_PG,
  async fn() {
    const sdistDir = await Deno.makeTempDir({ prefix: "piw-retry-sdists-" });
    const libDir = await Deno.makeTempDir({ prefix: "piw-retry-lib-" });
    const needsLib: SdistSpec = {
      name: "piw-e2e-havelib",
      version: "1.0",
      kind: "cext",
      libraries: ["snappy"],
    };
    const index = await startPackageIndex({ files: [await buildSdist(needsLib, sdistDir)] });
    // No timed retry within the test: only the slave's HAVE can build it again.
    const f = await farm([["piw-e2e-havelib", "1.0"]], index.url, { PIW_RETRY_DELAYS: "1h" });
    try {
      await waitUntil(
        "the build to fail",
        async () => (await buildRows(f.admin, "piw-e2e-havelib")).length === 1,
        5 * 60_000,
        f.children,
      );
      const [fail] = await buildRows(f.admin, "piw-e2e-havelib");
      assert.equal(fail.failure_class, "missing-library", JSON.stringify(fail));
      assert.equal(fail.failure_detail, "-lsnappy");
      assert.equal(fail.retry_at, null);

      // The library arrives (a stub is enough to link) where the slave's linker looks.
      await Deno.writeTextFile(`${libDir}/snappy.c`, "int piw_snappy_stub(void) { return 0; }\n");
      const cc = await new Deno.Command("cc", {
        args: ["-shared", "-fPIC", "-o", `${libDir}/libsnappy.so`, `${libDir}/snappy.c`],
      }).output();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      await f.restartSlave({ LIBRARY_PATH: libDir });
      await waitUntil(
        "the wheel built on the slave's HAVE",
        async () =>
          (await readText(`${f.www}/simple/piw-e2e-havelib/index.html`) ?? "")
            .includes("piw_e2e_havelib-1.0-"),
        3 * 60_000,
        f.children,
      );
      assert.ok(
        f.master.lines.some((l) => /1 missing-library failures of \S+ retried/.test(l)),
        f.master.tail(),
      );
      const rows = await buildRows(f.admin, "piw-e2e-havelib");
      assert.deepEqual(rows.map((r) => [r.status, r.failure_class]), [
        [false, "missing-library"],
        [true, null],
      ]);
    } finally {
      await f.close();
      await index.close();
      for (const dir of [sdistDir, libDir]) await Deno.remove(dir, { recursive: true });
    }
  },
});
