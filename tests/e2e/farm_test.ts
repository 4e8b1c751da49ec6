/**
 * The whole farm end to end with real components: a PyPI stand-in serving real sdists, `piw
 * master` on PostgreSQL, a `piw slave` building with real pip, the written site served on
 * loopback, and real pip installing from it (PEP 658 metadata, Requires-Python, yanked releases).
 */
import assert from "node:assert/strict";
import { createFixtureIndex, hermeticPipEnv } from "../fixtures/package_index.ts";
import { moduleName } from "../fixtures/sdists.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { freePort, type PiwProcess, testFarm, waitUntil } from "../fixtures/piw_process.ts";
import { farmDatabase } from "../master/helpers.ts";
import { render } from "../web/chromium.ts";
import { pgDsn, SKIP_PG } from "../db/harness.ts";
import { openClient } from "../../src/db/mod.ts";
import { fileSha256 } from "../../src/slave/inspect.ts";

const SPECS = [
  { name: "piw-e2e-pure", version: "0.9", requiresPython: ">=3.8" },
  { name: "piw-e2e-pure", version: "1.0", requiresPython: ">=3.8" },
  { name: "piw-e2e-cext", version: "1.0", kind: "cext" as const, libraries: ["m"] },
  { name: "piw-e2e-broken", version: "0.1", kind: "fail" as const },
];

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

async function run(cmd: string, args: string[], env: Record<string, string | null> = {}) {
  const base = Deno.env.toObject();
  for (const [k, v] of Object.entries(env)) v === null ? delete base[k] : (base[k] = v);
  const out = await new Deno.Command(cmd, { args, env: base, clearEnv: true }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "a farm builds real sdists into an index that real pip installs from",
  ignore: SKIP_PG,
  async fn() {
    const db = await farmDatabase("postgres");
    const abi = db.abi;
    const index = await createFixtureIndex(SPECS);
    const pypi = await startPyPIStandIn({ simpleIndex: index });
    const www = await Deno.makeTempDir({ prefix: "piw-e2e-www-" });
    const ipc = await Deno.makeTempDir({ prefix: "piw-e2e-ipc-" });
    const slaveDir = await Deno.makeTempDir({ prefix: "piw-e2e-slave-" });
    const children: PiwProcess[] = [];
    let server: Deno.HttpServer | null = null;
    try {
      pypi.announceSdists(index.sdists, {
        summary: (i) => `e2e <b>${i}</b>`,
        clock: "piw-e2e-clock",
        firstSerial: 9_000_001,
      });

      const farm = testFarm(www, `${ipc}/`);
      const master = farm.master(db.dsn, pypi.masterArgs);
      children.push(master);
      const slave = farm.slave("e2e", slaveDir);
      children.push(slave);

      // Every version is built or has failed, and the pages say so.
      const simple = (pkg: string) => readText(`${www}/simple/${pkg}/index.html`);
      await waitUntil(
        "all builds and pages",
        async () => {
          const pure = await simple("piw-e2e-pure") ?? "";
          const cext = await simple("piw-e2e-cext") ?? "";
          const broken = await readText(`${www}/project/piw-e2e-broken/index.html`);
          return pure.includes("piw_e2e_pure-0.9-") && pure.includes("piw_e2e_pure-1.0-") &&
            cext.includes(".whl") && broken !== null && /\.txt\.gz/.test(broken);
        },
        10 * 60_000,
        children,
      );
      await waitUntil(
        "the slave back to idle",
        () => Promise.resolve(slave.lines.some((l) => l.includes("no available jobs"))),
        60_000,
        children,
      );

      // Files on disk match what the database recorded, dependencies included.
      const admin = await openClient(pgDsn(db.dsn.split("/").pop()!));
      try {
        const files = await admin.query<{ filename: string; filehash: string; package: string }>(
          "SELECT f.filename, f.filehash, b.package FROM files f JOIN builds b USING (build_id)",
        );
        assert.ok(files.length >= 3, `files recorded: ${JSON.stringify(files)}`);
        for (const f of files) {
          const path = `${www}/simple/${f.package}/${f.filename}`;
          assert.equal(await fileSha256(path), f.filehash, path);
          assert.ok((await Deno.stat(`${path}.metadata`)).isFile, `${path}.metadata`);
        }
        const builds = await admin.query<{ package: string; status: boolean }>(
          "SELECT package, status FROM builds ORDER BY package",
        );
        assert.deepEqual(
          builds.map((b) => `${b.package}:${b.status}`).sort(),
          ["piw-e2e-broken:false", "piw-e2e-cext:true", "piw-e2e-pure:true", "piw-e2e-pure:true"],
        );
        const deps = await admin.query<{ tool: string; dependency: string }>(
          "SELECT d.tool, d.dependency FROM dependencies d JOIN files f USING (filename) " +
            "JOIN builds b USING (build_id) WHERE b.package = 'piw-e2e-cext'",
        );
        assert.ok(
          deps.some((d) => d.tool === "apt" && d.dependency === "libc6"),
          JSON.stringify(deps),
        );
      } finally {
        await admin.close();
      }
      // The project JSON says how each builder ABI fared, with a link to the build log.
      const brokenJson = JSON.parse(
        await readText(`${www}/project/piw-e2e-broken/json/index.json`) ?? "{}",
      );
      const brokenBuild = brokenJson.releases["0.1"].builds[abi];
      assert.equal(brokenBuild.status, "fail", JSON.stringify(brokenJson));
      const logPath = new URL(brokenBuild.log_url).pathname;
      const log = new TextDecoder().decode(
        await new Response(
          (await Deno.open(`${www}${logPath}`)).readable.pipeThrough(
            new DecompressionStream("gzip"),
          ),
        ).arrayBuffer(),
      );
      assert.match(log, /piw-e2e-broken|error/i, log);
      const cextPage = await simple("piw-e2e-cext") ?? "";
      assert.match(cextPage, /data-core-metadata="sha256=[0-9a-f]{64}"/);
      assert.match(await simple("piw-e2e-pure") ?? "", /data-requires-python="&gt;=3\.8"/);

      // Real pip against the served site.
      const requests: string[] = [];
      const port = freePort();
      server = serveDirectory(www, port, (path) => requests.push(path));
      const site = `http://127.0.0.1:${port}/simple/`;
      const venv = await Deno.makeTempDir({ prefix: "piw-e2e-venv-" });
      const pip = async (...args: string[]) => {
        const r = await run(`${venv}/bin/pip`, ["--no-cache-dir", ...args], hermeticPipEnv());
        return r;
      };
      try {
        assert.equal((await run("python3", ["-m", "venv", venv])).code, 0);
        const cext = await pip("install", "--no-deps", "--index-url", site, "piw-e2e-cext");
        assert.equal(cext.code, 0, cext.stderr);
        assert.ok(requests.some((p) => p.endsWith(".whl")), requests.join("\n"));
        const imported = await run(`${venv}/bin/python`, [
          "-c",
          `import ${moduleName("piw-e2e-cext")}`,
        ]);
        assert.equal(imported.code, 0, imported.stderr);

        // The site as a person sees it: headless Chromium renders the home page (with its
        // chart) and a project page (with its build status); screenshots are real PNGs.
        const home = await render(`http://127.0.0.1:${port}/`, `${ipc}/home.png`);
        assert.match(home.dom, /<svg/, "the home page has a chart");
        assert.match(home.dom, /piw/i);
        const project = await render(
          `http://127.0.0.1:${port}/project/piw-e2e-cext/`,
          `${ipc}/project.png`,
        );
        assert.match(project.dom, /piw-e2e-cext/);
        assert.match(project.dom, new RegExp(`class="status success"[^>]*title="${abi}: success"`));
        assert.match(project.dom, /piw_e2e_cext-1\.0-/);

        // pip reads the PEP 658 metadata file before the wheel when resolving.
        requests.length = 0;
        const dl = await pip(
          "download",
          "--only-binary",
          ":all:",
          "--no-deps",
          "-d",
          `${venv}/dl`,
          "--index-url",
          site,
          "piw-e2e-pure",
        );
        assert.equal(dl.code, 0, dl.stderr);
        assert.ok(requests.some((p) => p.endsWith(".whl.metadata")), requests.join("\n"));

        // Debian 12's own pip (23.0.1, the pip of Raspberry Pi OS bookworm) asks for the JSON
        // form of the index, and crashes on the PEP 691 metadata key that PEP 714 renamed.
        const debianPip = await run("/usr/bin/python3", [
          "-m",
          "pip",
          "--no-cache-dir",
          "download",
          "--only-binary",
          ":all:",
          "--no-deps",
          "-d",
          `${venv}/debian`,
          "--index-url",
          site,
          "piw-e2e-pure",
        ], hermeticPipEnv());
        assert.equal(debianPip.code, 0, debianPip.stderr);
        assert.ok([...Deno.readDirSync(`${venv}/debian`)].some((e) => e.name.endsWith(".whl")));

        // Requires-Python is honoured: no version fits Python 3.7.
        const old = await pip(
          "download",
          "--only-binary",
          ":all:",
          "--no-deps",
          "-d",
          `${venv}/old`,
          "--python-version",
          "3.7",
          "--index-url",
          site,
          "piw-e2e-pure",
        );
        assert.notEqual(old.code, 0, old.stdout);
        assert.match(old.stdout + old.stderr, /Requires-Python|No matching distribution/);

        // A yanked release is skipped unless pinned.
        // PyPI's journal runs forward in time: the yank comes after everything seen so far,
        // and a later event moves the 5-minute re-ordering window past it.
        pypi.addEvent("piw-e2e-pure", "1.0", Date.now() / 1000, "yank release");
        pypi.addEvent("piw-e2e-clock", null, Date.now() / 1000 + 600, "docupdate");
        await waitUntil(
          "the yanked release in the index",
          async () =>
            /piw_e2e_pure-1\.0-[^"]*"[^>]*data-yanked/.test(await simple("piw-e2e-pure") ?? ""),
          3 * 60_000,
          children,
        );
        const unpinned = await pip(
          "download",
          "--only-binary",
          ":all:",
          "--no-deps",
          "-d",
          `${venv}/unpinned`,
          "--index-url",
          site,
          "piw-e2e-pure",
        );
        assert.equal(unpinned.code, 0, unpinned.stderr);
        assert.ok([...Deno.readDirSync(`${venv}/unpinned`)].some((e) => e.name.includes("-0.9-")));
        const pinned = await pip(
          "download",
          "--only-binary",
          ":all:",
          "--no-deps",
          "-d",
          `${venv}/pinned`,
          "--index-url",
          site,
          "piw-e2e-pure==1.0",
        );
        assert.equal(pinned.code, 0, pinned.stderr);
        assert.ok([...Deno.readDirSync(`${venv}/pinned`)].some((e) => e.name.includes("-1.0-")));
      } finally {
        await Deno.remove(venv, { recursive: true });
      }

      assert.equal(await slave.stop(), 0, slave.tail());
      assert.equal(await master.stop(), 0, master.tail());
      assert.ok(!master.lines.some((l) => /Error|Uncaught/.test(l)), master.tail(200));
    } finally {
      for (const c of children.reverse()) await c.stop().catch(() => {});
      await server?.shutdown();
      await pypi.close();
      await index.close();
      await db.remove();
      await Deno.remove(www, { recursive: true });
      await Deno.remove(ipc, { recursive: true });
      await Deno.remove(slaveDir, { recursive: true });
    }
  },
});
