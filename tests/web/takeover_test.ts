/**
 * Taking over a piwheels site in place: a piwheels 0.23 output tree and the piw database rows
 * that match it; the URLs that worked on it before the switch are checked through the demo's
 * server and through Apache with deploy/apache/piw.conf, then a real `piw master` is started on
 * the tree and `piw rebuild index` writes piw's pages over piwheels' — and every URL still works,
 * no wheel or log was lost or changed, and `piw audit` finds the tree clean.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { configureLogging } from "../../src/log.ts";
import { sha256Hex } from "../../src/web/metadata.ts";
import { testDatabase } from "../master/helpers.ts";
import { MasterProcess, runTool } from "../admin/harness.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { freePort } from "../fixtures/piw_process.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { pipDownload } from "../fixtures/package_index.ts";
import {
  piwheelsLogPath,
  type PiwheelsTree,
  seedTreeRows,
  writePiwheelsTree,
} from "../fixtures/piwheels_tree.ts";
import { apacheInstalled, startApache } from "./apache.ts";
import { rawGet } from "./served_site.ts";

configureLogging({ level: "error" });

/** One URL of the old site and what it must answer. */
interface UrlCheck {
  path: string;
  status: number;
  /** The Content-Type must match this. */
  type?: RegExp;
  /** Where a redirect must point. */
  location?: RegExp;
  /** A check of the body (throws when wrong). */
  body?: (bytes: Uint8Array) => Promise<void> | void;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Every URL a piwheels site answers, from the tree `tree` made. */
function piwheelsUrls(tree: PiwheelsTree): UrlCheck[] {
  const html = /^text\/html/;
  const urls: UrlCheck[] = [
    { path: "/", status: 200, type: html },
    ...["index", "faq", "packages", "json", "stats"].map((page) => ({
      path: `/${page}.html`,
      status: 200,
      type: html,
    })),
    {
      path: "/packages.json",
      status: 200,
      type: /^application\/json/,
      // The download counts piwheels wrote survive until the next SEARCH.
      body: (b) =>
        assert.deepEqual(JSON.parse(text(b)).find((r: unknown[]) => r[0] === "foo"), [
          "foo",
          1,
          10,
        ]),
    },
    { path: "/sitemap.xml", status: 200, type: /xml/ },
    { path: "/styles.css", status: 200 },
    { path: "/homepage.js", status: 200 },
    {
      path: "/simple/",
      status: 200,
      type: html,
      body: (b) => assert.match(text(b), /href="[^"]*zope-interface\/?"/),
    },
    { path: "/simple/index.html", status: 200, type: html },
    { path: "/simple/foo", status: 301, location: /\/simple\/foo\/$/ },
    { path: "/project/", status: 301, location: /\/packages\.html$/ },
    { path: "/p/foo", status: 301, location: /\/project\/foo\/$/ },
    { path: "/project/foo", status: 301, location: /\/project\/foo\/$/ },
    { path: "/project/foo/json", status: 301, location: /\/project\/foo\/json\/$/ },
    { path: "/no/such/page.html", status: 404 },
  ];
  for (const pkg of new Set(tree.wheels.map((w) => w.package))) {
    const wheels = tree.wheels.filter((w) => w.package === pkg);
    urls.push({
      path: `/simple/${pkg}/`,
      status: 200,
      type: html,
      body: (b) => {
        // Linked by hash: piw lists a version that is not normalised under the normalised name.
        for (const w of wheels) assert.ok(text(b).includes(`#sha256=${w.hash}`), w.filename);
      },
    });
    for (const page of [`/project/${pkg}/`, `/project/${pkg}/index.html`]) {
      urls.push({ path: page, status: 200, type: html });
    }
    for (const json of [`/project/${pkg}/json/`, `/project/${pkg}/json/index.json`]) {
      urls.push({
        path: json,
        status: 200,
        type: /^application\/json/,
        body: (b) => assert.equal(JSON.parse(text(b)).package, pkg),
      });
    }
  }
  for (const [, alias] of tree.aliases) {
    urls.push({ path: `/project/${alias}/`, status: 200, type: html });
    urls.push({ path: `/project/${alias}/json/`, status: 200, type: /^application\/json/ });
    urls.push({ path: `/p/${alias}`, status: 301 });
  }
  for (const w of tree.wheels) {
    urls.push({
      path: `/simple/${w.package}/${w.filename}`,
      status: 200,
      body: async (b) => assert.equal(await sha256Hex(b), w.hash, w.filename),
    });
  }
  for (const build of tree.builds) {
    urls.push({
      path: `/${piwheelsLogPath(build.buildId)}`,
      status: 200,
      type: /^text\/plain/,
      // fetch inflates the gzip encoding itself.
      body: (b) => assert.equal(text(b), tree.logText(build.buildId)),
    });
  }
  return urls;
}

/** Check every URL of `urls` against the server on `port`. */
async function checkUrls(
  t: Deno.TestContext,
  name: string,
  port: number,
  urls: UrlCheck[],
): Promise<void> {
  await t.step(`${name}: every URL of the piwheels site answers as it did`, async () => {
    for (const url of urls) {
      const response = await fetch(`http://127.0.0.1:${port}${url.path}`, { redirect: "manual" });
      const body = new Uint8Array(await response.arrayBuffer());
      const where = `${name} ${url.path}`;
      assert.equal(response.status, url.status, `${where}: ${text(body).slice(0, 200)}`);
      if (url.type) assert.match(response.headers.get("content-type") ?? "", url.type, where);
      if (url.location) assert.match(response.headers.get("location") ?? "", url.location, where);
      try {
        await url.body?.(body);
      } catch (error) {
        throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
      }
    }
    // A client that does not accept gzip gets the log inflated, also under its .txt name.
    const plain = await rawGet(port, "/logs/0000/1571/2701.txt");
    assert.match(plain.head, /^HTTP\/1\.1 200/, `${name} /logs/0000/1571/2701.txt`);
    assert.equal(plain.body, "build 15712701 output\nall went as it went\n");
  });
}

/** pip (the real one) downloads bar from the server on `port`, reading the simple index. */
async function pipInstalls(t: Deno.TestContext, name: string, port: number, dir: string) {
  await t.step(`${name}: pip installs from it`, async () => {
    const dest = `${dir}/pip-${crypto.randomUUID()}`;
    const indexUrl = `http://127.0.0.1:${port}/simple/`;
    const { success, log } = await pipDownload(indexUrl, "bar==2.0", dest, dir);
    assert.ok(success, log);
    assert.ok(Deno.statSync(`${dest}/bar-2.0-py3-none-any.whl`).isFile, log);
  });
}

/** Serve `out` through the demo's server and (where installed) Apache, and check `urls`. */
async function checkServed(
  t: Deno.TestContext,
  phase: string,
  out: string,
  dir: string,
  urls: UrlCheck[],
): Promise<void> {
  const server = serveDirectory(out, 0);
  try {
    await checkUrls(t, `${phase}, demo server`, server.addr.port, urls);
    await pipInstalls(t, `${phase}, demo server`, server.addr.port, dir);
  } finally {
    await server.shutdown();
  }
  if (!apacheInstalled()) return;
  const port = freePort();
  const apacheDir = `${dir}/apache-${phase.replace(/\W+/g, "-")}`;
  Deno.mkdirSync(apacheDir, { mode: 0o755 });
  const apache = await startApache(out, apacheDir, port);
  try {
    await checkUrls(t, `${phase}, Apache`, port, urls);
    await pipInstalls(t, `${phase}, Apache`, port, apacheDir);
  } finally {
    apache.kill("SIGTERM");
    await apache.output();
  }
}

/** Every regular file and symlink below `root` (relative path → bytes or link target). */
function snapshot(root: string, dir = ""): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of Deno.readDirSync(`${root}/${dir}`)) {
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isSymlink) files.set(rel, `-> ${Deno.readLinkSync(`${root}/${rel}`)}`);
    else if (entry.isDirectory) { for (const [k, v] of snapshot(root, rel)) files.set(k, v); }
    else files.set(rel, Array.from(Deno.readFileSync(`${root}/${rel}`)).join(","));
  }
  return files;
}

Deno.test({
  name: "a piwheels site keeps its URLs, wheels and logs when piw takes it over in place",
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "piw-takeover-" });
    Deno.chmodSync(dir, 0o755);
    const out = `${dir}/www`;
    Deno.mkdirSync(out, { mode: 0o755 });
    const tree = await writePiwheelsTree(out);
    const urls = piwheelsUrls(tree);
    const db = await testDatabase("pglite", (admin) => seedTreeRows(admin, tree));
    try {
      await checkServed(t, "before the switch", out, dir, urls);
      const before = snapshot(out);
      const oldJson = new Map(
        ["foo", "bar", "baz", "zope-interface"].map((pkg) => [
          pkg,
          JSON.parse(Deno.readTextFileSync(`${out}/project/${pkg}/json/index.json`)),
        ]),
      );

      await t.step("a master on the tree rewrites every page with piw rebuild", async () => {
        const pypi = await startPyPIStandIn();
        const master = new MasterProcess(db.dsn, pypi, undefined, out);
        try {
          await master.waitForLine("master: ready", 120_000);
          const rebuild = await master.tool(["rebuild", "-y", "index"]);
          assert.equal(rebuild.code, 0, rebuild.stdout + rebuild.stderr);
          assert.match(rebuild.stdout, /queued 4 index and 4 project pages/);
          assert.match(rebuild.stdout, /all pages written/);
          assert.equal(await master.stop(60_000), 0, master.tail());
        } catch (error) {
          throw new Error(`${(error as Error).message}\n${master.tail(80)}`, { cause: error });
        } finally {
          await master.stop();
          await pypi.close();
        }
      });

      await t.step("piw's pages replaced piwheels' and nothing else was lost", () => {
        for (const pkg of ["foo", "bar", "baz", "zope-interface"]) {
          const page = Deno.readTextFileSync(`${out}/project/${pkg}/index.html`);
          assert.doesNotMatch(page, /piwheels project page/, `project/${pkg} rewritten`);
          assert.ok(Deno.statSync(`${out}/simple/${pkg}/index.json`).isFile);
        }
        assert.ok(Deno.statSync(`${out}/simple/index.json`).isFile);
        const after = snapshot(out);
        for (const w of tree.wheels) {
          const rel = `simple/${w.package}/${w.filename}`;
          assert.equal(after.get(rel), before.get(rel), `${rel} unchanged`);
        }
        for (const build of tree.builds) {
          const rel = piwheelsLogPath(build.buildId);
          assert.equal(after.get(rel), before.get(rel), `${rel} unchanged`);
          assert.equal(
            new TextDecoder().decode(gunzipSync(Deno.readFileSync(`${out}/${rel}`))),
            tree.logText(build.buildId),
          );
        }
        for (const [, alias] of tree.aliases) {
          assert.equal(after.get(`project/${alias}`), before.get(`project/${alias}`));
        }
        // The project JSON API keeps piwheels' shape: every key it had, the same releases and
        // files with the same hashes (piw adds keys of its own).
        for (const [pkg, old] of oldJson) {
          const json = JSON.parse(Deno.readTextFileSync(`${out}/project/${pkg}/json/index.json`));
          for (const key of Object.keys(old)) assert.ok(key in json, `${pkg}: ${key}`);
          assert.deepEqual(Object.keys(json.releases).sort(), Object.keys(old.releases).sort());
          for (const [version, release] of Object.entries<Record<string, unknown>>(old.releases)) {
            const now = json.releases[version];
            for (const key of Object.keys(release)) {
              assert.ok(key in now, `${pkg} ${version}: ${key}`);
            }
            const files = release.files as Record<string, Record<string, unknown>>;
            // Keyed by the name piw publishes: a version that is not normalised gets the
            // normalised filename (the old one stays on disk and at its URL, as checked above).
            const published = (filename: string) =>
              tree.wheels.find((w) => w.filename === filename)?.published ?? filename;
            assert.deepEqual(
              Object.keys(now.files).sort(),
              Object.keys(files).map(published).sort(),
            );
            for (const [filename, file] of Object.entries(files)) {
              const mine = now.files[published(filename)];
              for (const key of Object.keys(file)) assert.ok(key in mine, `${filename}: ${key}`);
              assert.equal(mine.filehash, file.filehash);
              assert.equal(
                mine.file_url,
                (file.file_url as string).replace(filename, published(filename)),
              );
            }
          }
        }
        for (const w of tree.wheels.filter((w) => w.published)) {
          assert.equal(Deno.readLinkSync(`${out}/simple/${w.package}/${w.published}`), w.filename);
        }
        for (const asset of ["styles.css", "homepage.js", "stats.html"]) {
          assert.equal(after.get(asset), before.get(asset), `${asset} kept`);
        }
      });

      await checkServed(t, "after the switch", out, dir, urls);

      await t.step("piw audit finds the taken-over tree clean", async () => {
        const result = await runTool(["audit", "--hashes", "-d", db.dsn, "-o", out]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(
          result.stdout,
          /checked 4 packages, 5 wheels and 5 builds' logs .*: no problems found/,
        );
      });
    } finally {
      await db.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
