/**
 * Project pages and the project JSON written from a real database, alias links, and deleting a
 * version and a package.
 */
import assert from "node:assert/strict";
import { WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import type { ProjectData } from "../../src/db/types.ts";
import { links, parseTags, type Tag, type WebTestDb, webTestDb } from "./helpers.ts";
import { addFooBar, type FooBar } from "./fixture.ts";

configureLogging({ level: "error" });

interface Ctx {
  t: WebTestDb;
  out: string;
  site: WebSite;
  fx: FooBar;
  data: ProjectData;
}

function page(out: string): { html: string; tags: Tag[] } {
  const html = Deno.readTextFileSync(`${out}/project/foo-bar/index.html`);
  return { html, tags: parseTags(html) };
}

/** The tags of the releases table row of `version`. */
function row(tags: Tag[], version: string): Tag[] {
  const starts = tags.flatMap((t, i) =>
    t.name === "tr" && t.attrs.get("class") === "release" ? [i] : []
  );
  for (const [n, start] of starts.entries()) {
    const cells = tags.slice(start, starts[n + 1] ?? tags.length);
    const first = cells.find((t) => t.attrs.get("class") === "version");
    if (first?.text.trim() === version) return cells;
  }
  throw new Error(`no row for ${version}`);
}

const cases: Record<string, (ctx: Ctx) => Promise<void> | void> = {
  "the page names the project and escapes its description": ({ out }) => {
    const { html, tags } = page(out);
    assert.equal(tags.find((t) => t.name === "h1")?.text, "Foo.Bar");
    assert.equal(tags.find((t) => t.name === "title")?.text, "Foo.Bar | piw");
    assert.ok(html.includes("Frobs the &lt;bar&gt; &amp; more"));
    assert.equal(
      tags.find((t) => t.attrs.get("class") === "description")?.text,
      "Frobs the <bar> & more",
    );
  },

  "the install line names the apt packages of the newest stable release": ({ out }) => {
    const { tags } = page(out);
    const pre = tags.find((t) => t.name === "pre")!;
    // 2.1rc1 is a pre-release, so 2.0's first file decides.
    assert.equal(pre.text, "sudo apt install libbar2 libfoo1\npip3 install foo-bar");
    const deps = tags.filter((t) => t.attrs.get("class")?.startsWith("dependency"));
    // Neither is built here: a link to this site would be a 404.
    assert.deepEqual(
      deps.map((t) => [t.attrs.get("href"), t.text]),
      [["https://pypi.org/project/requests/", "Requests"], [
        "https://pypi.org/project/numpy/",
        "numpy",
      ]],
    );
  },

  "releases are newest first with pre-release, yanked and skip badges": ({ out }) => {
    const { tags } = page(out);
    const versions = tags.filter((t) => t.attrs.get("class") === "version").map((t) =>
      t.text.trim()
    );
    // Every release not deleted, the legacy one included (it has a page row but no files).
    assert.deepEqual(versions, ["2.1rc1", "2.0", "1.3_RC1", "1.1", "1.0", "0.9", "0.1", "2013d"]);
    const badges = (v: string) =>
      row(tags, v).filter((t) => t.attrs.get("class")?.startsWith("badge")).map((t) => t.text);
    assert.deepEqual(badges("2.1rc1"), ["pre-release"]);
    assert.deepEqual(badges("0.9"), ["yanked"]);
    assert.deepEqual(badges("0.1"), ["skip: too old to build"]);
    assert.deepEqual(badges("2.0"), []);
  },

  "each ABI has a status cell linking to the build log": ({ out, fx }) => {
    const { tags } = page(out);
    const heads = tags.filter((t) => t.name === "th").map((t) => t.attrs.get("title")).filter(
      Boolean,
    );
    assert.deepEqual(heads, ["cp39", "cp311"]);
    const cells = row(tags, "2.0").filter((t) => t.attrs.get("class")?.startsWith("status"));
    assert.deepEqual(cells.map((c) => c.attrs.get("class")), ["status fail", "status success"]);
    const logLinks = row(tags, "2.0").filter((t) =>
      t.name === "a" && t.attrs.get("href")?.startsWith("/logs/")
    );
    const id = (n: number) => {
      const s = String(n).padStart(12, "0");
      return `/logs/${s.slice(0, 4)}/${s.slice(4, 8)}/${s.slice(8)}.txt.gz`;
    };
    assert.deepEqual(
      logLinks.map((a) => a.attrs.get("href")),
      [id(fx.builds.get("2.0/cp39")!), id(fx.builds.get("2.0/cp311")!)],
    );
    const pending = row(tags, "0.1").filter((t) => t.attrs.get("class")?.startsWith("status"));
    assert.ok(pending.every((c) => !c.attrs.get("class")!.includes("success")));
  },

  "files are listed with size, hash and dependencies": ({ out, fx }) => {
    const { tags } = page(out);
    const files = row(tags, "2.0").filter((t) => t.attrs.get("class") === "file");
    assert.equal(files.length, 2);
    assert.deepEqual(files.map((f) => f.attrs.get("data-apt")), [
      "libbar2 libfoo1",
      "libbar2 libfoo1",
    ]);
    assert.deepEqual(files.map((f) => f.attrs.get("data-pip")), [
      "Requests numpy",
      "Requests numpy",
    ]);
    const anchors = row(tags, "2.0").filter((t) =>
      t.name === "a" && t.attrs.get("href")?.startsWith("/simple/")
    );
    const wheel = fx.wheels.get("foo_bar-2.0-cp311-cp311-linux_armv7l.whl")!;
    assert.ok(anchors.some((a) =>
      a.attrs.get("href") ===
        `/simple/foo-bar/foo_bar-2.0-cp311-cp311-linux_armv7l.whl#sha256=${wheel.hash}`
    ));
    const hashes = row(tags, "2.0").filter((t) => t.attrs.get("class") === "hash");
    assert.deepEqual(hashes.map((h) => h.text), [wheel.hash, wheel.hash]);
    const sizes = row(tags, "2.0").filter((t) => t.attrs.get("class") === "size");
    assert.ok(
      sizes.every((s) => /^\d+(\.\d)? (B|KB)$/.test(s.text)),
      sizes.map((s) => s.text).join(),
    );
  },

  "the project JSON has piwheels' fields for each release and file": ({ out, fx }) => {
    const json = JSON.parse(Deno.readTextFileSync(`${out}/project/foo-bar/json/index.json`));
    assert.deepEqual(Object.keys(json).sort(), [
      "package",
      "piwheels_url",
      "pypi_url",
      "releases",
      "summary",
    ]);
    assert.equal(json.package, "foo-bar");
    assert.equal(json.summary, "Frobs the <bar> & more");
    assert.equal(json.piwheels_url, "https://piw.example.org/project/foo-bar/");
    assert.equal(json.pypi_url, "https://pypi.org/project/foo-bar/");
    const r = json.releases["2.0"];
    // piwheels' fields, plus piw's `builds` (each builder ABI's outcome and log).
    assert.deepEqual(Object.keys(r).sort(), [
      "builds",
      "files",
      "prerelease",
      "released",
      "skip_reason",
      "yanked",
    ]);
    for (
      const [abi, build] of Object.entries(r.builds as Record<string, Record<string, unknown>>)
    ) {
      assert.match(abi, /^cp\d+/);
      assert.ok(["success", "fail", "skip", "pending"].includes(build.status as string), abi);
      if (build.log_url !== null) {
        assert.match(
          build.log_url as string,
          /^https:\/\/piw\.example\.org\/logs\/\d{4}\/\d{4}\/\d{4}\.txt\.gz$/,
        );
      }
    }
    assert.ok(
      Object.values(r.builds as Record<string, { status: string }>).some((b) =>
        b.status === "success"
      ),
    );
    assert.equal(r.released, "2023-01-01 12:00:00");
    assert.equal(r.prerelease, false);
    assert.equal(json.releases["2.1rc1"].prerelease, true);
    assert.equal(json.releases["0.9"].yanked, true);
    assert.equal(json.releases["0.1"].skip_reason, "too old to build");
    const f = r.files["foo_bar-2.0-cp311-cp311-linux_armv7l.whl"];
    const wheel = fx.wheels.get("foo_bar-2.0-cp311-cp311-linux_armv7l.whl")!;
    assert.deepEqual(f, {
      file_url: "https://piw.example.org/simple/foo-bar/foo_bar-2.0-cp311-cp311-linux_armv7l.whl",
      filehash: wheel.hash,
      filesize: wheel.size,
      builder_abi: "cp311",
      file_abi_tag: "cp311",
      platform: "linux_armv7l",
      requires_python: ">=3.7",
      apt_dependencies: ["libbar2", "libfoo1"],
      pip_dependencies: ["Requests", "numpy"],
    });
    // The index's name for the non-normalised release.
    assert.ok(json.releases["1.3_RC1"].files["foo_bar-1.3rc1-cp311-cp311-linux_armv7l.whl"]);
    assert.deepEqual(json.releases["2013d"].files, {});
  },

  "every alias is a relative symlink to the project directory": ({ out }) => {
    for (const alias of ["Foo.Bar", "foo_bar"]) {
      assert.equal(Deno.readLinkSync(`${out}/project/${alias}`), "foo-bar");
      assert.ok(Deno.statSync(`${out}/project/${alias}/index.html`).isFile);
    }
    // Aliases exist only under project/ (pip always asks for the canonical name).
    assert.throws(() => Deno.lstatSync(`${out}/simple/Foo.Bar`), Deno.errors.NotFound);
  },

  "a project page alone (PROJECT) leaves the simple index as it was": async (
    { out, site, data },
  ) => {
    const before = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    const stamp = Deno.statSync(`${out}/simple/foo-bar/index.html`).mtime;
    await site.writeProject(data, { simple: false, project: true });
    assert.equal(Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`), before);
    assert.deepEqual(Deno.statSync(`${out}/simple/foo-bar/index.html`).mtime, stamp);
  },

  "a project directory removed behind the site's back is made again": async (
    { out, site, data },
  ) => {
    Deno.removeSync(`${out}/project/foo-bar`, { recursive: true });
    await site.writeProject(data, { simple: false, project: true });
    assert.ok(Deno.statSync(`${out}/project/foo-bar/json/index.json`).isFile);
  },

  "deleting a version removes its files, metadata and normalised link": async (ctx) => {
    const { out, site, t } = ctx;
    const dir = `${out}/simple/foo-bar`;
    const files = await t.db.getVersionFiles("foo-bar", "1.3_RC1");
    assert.deepEqual(files, ["foo_bar-1.3_RC1-cp311-cp311-linux_armv7l.whl"]);
    // As CloudGazer does: mark it deleted, tell the scribe, then delete it from the database.
    await t.db.skipPackageVersion("foo-bar", "1.3_RC1", "deleted");
    const removed = site.deleteVersion("foo-bar", "1.3_RC1", files);
    assert.deepEqual(removed.map((p) => p.slice(dir.length + 1)).sort(), [
      "foo_bar-1.3_RC1-cp311-cp311-linux_armv7l.whl",
      "foo_bar-1.3rc1-cp311-cp311-linux_armv7l.whl",
      "foo_bar-1.3rc1-cp311-cp311-linux_armv7l.whl.metadata",
    ]);
    await site.writeProject(await t.project("foo-bar"), { simple: true, project: true });
    assert.ok(
      !links(Deno.readTextFileSync(`${dir}/index.html`)).some((a) => a.text.includes("1.3")),
    );
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/index.json`));
    assert.ok(!json.versions.includes("1.3rc1"));
    const page = Deno.readTextFileSync(`${out}/project/foo-bar/index.html`);
    assert.ok(!page.includes("1.3_RC1"));
    // Other versions are untouched.
    assert.ok(Deno.statSync(`${dir}/foo_bar-2.0-cp311-cp311-linux_armv7l.whl`).isFile);
  },

  "deleting a version also finds its wheels when the database forgot them": ({ out, site }) => {
    const dir = `${out}/simple/foo-bar`;
    const removed = site.deleteVersion("foo-bar", "1.0", []);
    assert.deepEqual(removed.map((p) => p.slice(dir.length + 1)).sort(), [
      "foo_bar-1.0-cp39-cp39-linux_armv7l.whl",
      "foo_bar-1.0-cp39-cp39-linux_armv7l.whl.metadata",
    ]);
  },

  "deleting the package removes its directories, alias links and root entry": ({ out, site }) => {
    Deno.symlinkSync("foo-bar", `${out}/project/FOO-BAR`); // an alias the database forgot
    Deno.mkdirSync(`${out}/project/other`);
    site.deletePackage("foo-bar", ["Foo.Bar", "foo_bar"]);
    site.flushSimpleRoot();
    for (
      const path of [
        "simple/foo-bar",
        "project/foo-bar",
        "project/Foo.Bar",
        "project/foo_bar",
        "project/FOO-BAR",
      ]
    ) {
      assert.throws(() => Deno.lstatSync(`${out}/${path}`), Deno.errors.NotFound, path);
    }
    assert.ok(Deno.statSync(`${out}/project/other`).isDirectory);
    assert.deepEqual(links(Deno.readTextFileSync(`${out}/simple/index.html`)), []);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(`${out}/simple/index.json`)).projects, []);
  },
};

Deno.test("project pages", async (t) => {
  const db = await webTestDb();
  const out = await Deno.makeTempDir({ prefix: "piw-web-project-" });
  try {
    const fx = await addFooBar(db, out);
    const site = new WebSite({ outputPath: out, siteUrl: "https://piw.example.org/" });
    site.setup();
    site.setPackages(await db.db.getAllPackages());
    const data = await db.project("foo-bar");
    await site.writeProject(data, { simple: true, project: true });
    site.writeSimpleRoot();
    const ctx = { t: db, out, site, fx, data };
    for (const [name, fn] of Object.entries(cases)) await t.step(name, () => fn(ctx));
  } finally {
    await db.close();
    await Deno.remove(out, { recursive: true });
  }
});
