/**
 * The simple index as pip and uv read it: PEP 503 HTML with PEP 592/629/658/714 attributes and
 * the PEP 691 JSON form with PEP 700's fields, written by `WebSite` from a real database and real
 * wheels, then parsed back.
 */
import assert from "node:assert/strict";
import { sha256Hex, WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import { isValidVersion, normaliseVersion, parseWheelFilename } from "../../src/wheel/mod.ts";
import { links, parseTags, webTestDb } from "./helpers.ts";
import { addFooBar, type FooBar } from "./fixture.ts";
import type { ProjectData } from "../../src/db/types.ts";

configureLogging({ level: "error" });

const HASH = /^[0-9a-f]{64}$/;
const UPLOAD_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** What every case gets: the output, the site that wrote it, the fixture and the log. */
interface Ctx {
  out: string;
  site: WebSite;
  fx: FooBar;
  data: ProjectData;
  /** Warnings and errors logged. */
  warnings: string[];
}

/** Write foo-bar's simple index from a fresh database; hand the cases the output. */
async function withFooBar(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const t = await webTestDb();
  const out = await Deno.makeTempDir({ prefix: "piw-web-simple-" });
  try {
    const fx = await addFooBar(t, out);
    const log = {
      warning: (m: string) => warnings.push(m),
      error: (m: string) => warnings.push(m),
      info: () => {},
      debug: () => {},
    };
    const site = new WebSite({ outputPath: out, log: log as never });
    site.setup();
    site.setPackages(await t.db.getAllPackages());
    const data = await t.project("foo-bar");
    await site.writeProject(data, { simple: true, project: true });
    site.writeSimpleRoot();
    await fn({ out, site, fx, data, warnings });
  } finally {
    await t.close();
    await Deno.remove(out, { recursive: true });
  }
}

function versionOf(filename: string): string {
  return parseWheelFilename(filename).version;
}

const cases: Record<string, (ctx: Ctx) => Promise<void> | void> = {
  "the project index lists each wheel with an absolute URL and its sha256": async ({ out, fx }) => {
    const html = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    const meta = parseTags(html).find((t) => t.name === "meta");
    assert.equal(meta?.attrs.get("name"), "pypi:repository-version");
    assert.equal(meta?.attrs.get("content"), "1.1");
    const anchors = links(html);
    assert.ok(anchors.length >= 6);
    for (const a of anchors) {
      const href = a.attrs.get("href")!;
      const [url, fragment] = href.split("#");
      // The anchor text is the filename, the URL absolute and ending in it.
      assert.equal(url, `/simple/foo-bar/${a.text}`);
      const stored = [...fx.wheels.keys()].find((w) =>
        w === a.text || w === a.text.replace("1.3rc1", "1.3_RC1")
      );
      if (stored) {
        assert.equal(fragment, `sha256=${fx.wheels.get(stored)!.hash}`);
        // The hash is that of the bytes actually served.
        const served = Deno.readFileSync(`${out}${url}`);
        assert.equal(fragment, `sha256=${await sha256Hex(served)}`);
      } else {
        assert.match(fragment, /^sha256=[0-9a-f]{64}$/);
      }
    }
  },
  "releases are listed newest first and the legacy version is left out, logged": (
    { out, warnings },
  ) => {
    const html = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    const versions = links(html).map((a) => versionOf(a.text));
    assert.deepEqual(
      [...new Set(versions)],
      ["2.1rc1", "2.0", "1.3rc1", "1.1", "1.0", "0.9"],
    );
    assert.ok(!html.includes("2013d"));
    assert.ok(
      warnings.some((w) => w.includes("foo_bar-2013d-py3-none-any.whl") && w.includes("PEP 440")),
      warnings.join("\n"),
    );
  },
  "a version that is not normalised is published under the normalised name": async (
    { out, fx },
  ) => {
    const html = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    const names = links(html).map((a) => a.text);
    assert.ok(names.includes("foo_bar-1.3rc1-cp311-cp311-linux_armv7l.whl"));
    assert.ok(!names.includes("foo_bar-1.3_RC1-cp311-cp311-linux_armv7l.whl"));
    // Served: the normalised name is a link to the stored wheel (same bytes, same hash).
    const published = `${out}/simple/foo-bar/foo_bar-1.3rc1-cp311-cp311-linux_armv7l.whl`;
    assert.equal(Deno.readLinkSync(published), "foo_bar-1.3_RC1-cp311-cp311-linux_armv7l.whl");
    assert.equal(
      await sha256Hex(Deno.readFileSync(published)),
      fx.wheels.get("foo_bar-1.3_RC1-cp311-cp311-linux_armv7l.whl")!.hash,
    );
    // Every listed name is one pip >= 25.3 accepts: strict PEP 427 with a normalised version.
    for (const name of names) parseWheelFilename(name, { strict: true });
  },
  "Requires-Python is HTML-escaped and yanked files carry data-yanked": ({ out }) => {
    const html = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    assert.ok(html.includes('data-requires-python="&gt;=3.7"'));
    for (const a of links(html)) {
      const version = versionOf(a.text);
      assert.equal(a.attrs.get("data-requires-python"), version === "2.0" ? ">=3.7" : undefined);
      assert.equal(a.attrs.get("data-yanked"), version === "0.9" ? "" : undefined, a.text);
    }
  },
  "PEP 658 metadata is advertised only for files that are there, with their hash": async (
    { out, fx },
  ) => {
    const html = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    for (const a of links(html)) {
      const url = a.attrs.get("href")!.split("#")[0];
      const core = a.attrs.get("data-core-metadata");
      // PEP 714: the old attribute mirrors the new one exactly.
      assert.equal(a.attrs.get("data-dist-info-metadata"), core, a.text);
      if (a.text === "foo_bar-1.1-cp311-cp311-linux_armv7l.whl") {
        // In the database but not on disk: nothing to extract, nothing advertised.
        assert.equal(core, undefined);
        assert.throws(() => Deno.statSync(`${out}${url}.metadata`));
        continue;
      }
      assert.ok(core, `no metadata for ${a.text}`);
      const metadata = Deno.readFileSync(`${out}${url}.metadata`);
      assert.equal(core, `sha256=${await sha256Hex(metadata)}`);
      // The exact METADATA bytes of the wheel (the armv6l twin's are its armv7l target's).
      const stored = [...fx.wheels.keys()].find((w) =>
        w === a.text || w === a.text.replace("1.3rc1", "1.3_RC1")
      )!;
      assert.equal(new TextDecoder().decode(metadata), fx.wheels.get(stored)!.metadata);
      assert.equal(Deno.statSync(`${out}${url}.metadata`).mode! & 0o777, 0o644);
    }
  },
  "the PEP 691 project JSON has API 1.1, versions, sizes and upload times": ({ out, fx }) => {
    const data = JSON.parse(Deno.readTextFileSync(`${out}/simple/foo-bar/index.json`));
    assert.deepEqual(Object.keys(data).sort(), ["files", "meta", "name", "versions"]);
    assert.deepEqual(data.meta, { "api-version": "1.1" });
    assert.equal(data.name, "foo-bar");
    assert.ok(Array.isArray(data.versions));
    assert.ok(data.versions.every((v: unknown) => typeof v === "string"));
    assert.equal(new Set(data.versions).size, data.versions.length);
    assert.ok(!data.versions.includes("2013d"));
    const html = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
    const anchors = links(html);
    assert.deepEqual(
      data.files.map((f: { filename: string }) => f.filename),
      anchors.map((a) => a.text),
    );
    const allowed = new Set([
      "filename",
      "url",
      "hashes",
      "requires-python",
      "size",
      "upload-time",
      "yanked",
      "core-metadata",
    ]);
    const versions = new Set(
      data.versions.filter(isValidVersion).map((v: string) => normaliseVersion(v)),
    );
    for (const [i, f] of data.files.entries()) {
      for (const key of Object.keys(f)) assert.ok(allowed.has(key), `unexpected key ${key}`);
      const a = anchors[i];
      assert.equal(typeof f.filename, "string");
      assert.equal(f.url, a.attrs.get("href")!.split("#")[0]);
      assert.deepEqual(Object.keys(f.hashes), ["sha256"]);
      assert.match(f.hashes.sha256, HASH);
      assert.equal(`sha256=${f.hashes.sha256}`, a.attrs.get("href")!.split("#")[1]);
      assert.equal(typeof f.size, "number");
      assert.match(f["upload-time"], UPLOAD_TIME);
      assert.equal(f.yanked, a.attrs.has("data-yanked"));
      assert.equal(f["requires-python"], a.attrs.get("data-requires-python"));
      const core = a.attrs.get("data-core-metadata");
      assert.deepEqual(f["core-metadata"], core ? { sha256: core.slice(7) } : false);
      // PEP 714: the old JSON key breaks pip 22.3 to 23.1.
      assert.equal("dist-info-metadata" in f, false);
      // Every file belongs to a listed version.
      assert.ok(versions.has(normaliseVersion(versionOf(f.filename))), f.filename);
      const stored = fx.wheels.get(f.filename) ??
        fx.wheels.get(f.filename.replace("1.3rc1", "1.3_RC1"));
      if (stored) assert.equal(f.size, stored.size);
    }
  },
  "the root index lists every package in HTML and PEP 691 JSON": ({ out }) => {
    const html = Deno.readTextFileSync(`${out}/simple/index.html`);
    const meta = parseTags(html).find((t) => t.name === "meta");
    assert.equal(meta?.attrs.get("content"), "1.1");
    const anchors = links(html);
    assert.deepEqual(anchors.map((a) => [a.attrs.get("href"), a.text]), [["foo-bar/", "foo-bar"]]);
    const json = JSON.parse(Deno.readTextFileSync(`${out}/simple/index.json`));
    assert.deepEqual(json, { meta: { "api-version": "1.1" }, projects: [{ name: "foo-bar" }] });
  },
  "a metadata file that disappears with its wheel is no longer advertised": async (
    { out, site, data },
  ) => {
    const dir = `${out}/simple/foo-bar`;
    const name = "foo_bar-1.0-cp39-cp39-linux_armv7l.whl";
    const before = links(Deno.readTextFileSync(`${dir}/index.html`)).find((a) => a.text === name);
    assert.ok(before?.attrs.has("data-core-metadata"));
    Deno.removeSync(`${dir}/${name}.metadata`);
    Deno.removeSync(`${dir}/${name}`);
    // Same WebSite (its hash cache warm), same records: the file is still listed, bare.
    await site.writeProject(data, { simple: true, project: false });
    const after = links(Deno.readTextFileSync(`${dir}/index.html`)).find((a) => a.text === name);
    assert.ok(after);
    assert.equal(after.attrs.get("data-core-metadata"), undefined);
    assert.equal(after.attrs.get("data-dist-info-metadata"), undefined);
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/index.json`));
    const file = json.files.find((f: { filename: string }) => f.filename === name);
    assert.equal(file["core-metadata"], false);
  },
  "a removed metadata file is extracted again from its wheel": async ({ out, site, data, fx }) => {
    const dir = `${out}/simple/foo-bar`;
    const name = "foo_bar-2.0-cp311-cp311-linux_armv7l.whl";
    Deno.removeSync(`${dir}/${name}.metadata`);
    await site.writeProject(data, { simple: true, project: false });
    assert.equal(Deno.readTextFileSync(`${dir}/${name}.metadata`), fx.wheels.get(name)!.metadata);
  },
};

Deno.test("simple index", async (t) => {
  // One database and output for every case (a PGlite copy and the fixture take seconds);
  // the cases that change the output run last.
  await withFooBar(async (ctx) => {
    for (const [name, fn] of Object.entries(cases)) await t.step(name, () => fn(ctx));
  });
});
