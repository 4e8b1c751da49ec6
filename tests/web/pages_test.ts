/**
 * What a visitor reads on the pages (issue 16): the search index lists the packages the index
 * lists as soon as their pages are written, counts are pluralised, a release's files are in
 * natural order, dependencies link where they exist, and the home page says what it counts.
 */
import assert from "node:assert/strict";
import { WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import { links, parseTags, projectWith } from "./helpers.ts";

configureLogging({ level: "error" });

async function withSite(
  fn: (site: WebSite, out: string) => Promise<void> | void,
): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "piw-web-pages-" });
  try {
    const site = new WebSite({ outputPath: out, siteUrl: "http://127.0.0.1:8000" });
    site.setup();
    await fn(site, out);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

const BOTH = { simple: true, project: true };
const readJson = (path: string) => JSON.parse(Deno.readTextFileSync(path));

Deno.test("the search index lists a new package as soon as the index does", async () => {
  await withSite(async (site, out) => {
    site.writeSearchIndex({ old: [5, 50] });
    site.setPackages(["old"]);
    await site.writeProject(
      await projectWith(out, "fresh", "1.0", ["fresh-1.0-py3-none-any.whl"]),
      BOTH,
    );
    assert.ok(site.flushSimpleRoot());
    // Not an hour later, with the next SEARCH: now, with no downloads yet.
    assert.deepEqual(readJson(`${out}/packages.json`), [["fresh", 0, 0], ["old", 5, 50]]);
    // A restarted master keeps the counts until its first SEARCH.
    const again = new WebSite({ outputPath: out });
    again.setup();
    again.setPackages(["fresh", "old"]);
    again.writeSimpleRoot();
    assert.deepEqual(readJson(`${out}/packages.json`), [["fresh", 0, 0], ["old", 5, 50]]);
    // And a deleted package leaves the search with the index.
    again.deletePackage("old");
    again.flushSimpleRoot();
    assert.deepEqual(readJson(`${out}/packages.json`), [["fresh", 0, 0]]);
  });
});

Deno.test("a project page says 1 version, 1 file", async () => {
  await withSite(async (site, out) => {
    await site.writeProject(
      await projectWith(out, "one", "1.0", ["one-1.0-py3-none-any.whl"]),
      BOTH,
    );
    const html = Deno.readTextFileSync(`${out}/project/one/index.html`);
    assert.match(html, /<li>1 version, 1 file<\/li>/);
  });
});

Deno.test("a release's files are in natural order: build 40 before 9 before 8", async () => {
  await withSite(async (site, out) => {
    const names = [
      "nat-1.0-4-py3-none-any.whl",
      "nat-1.0-40-py3-none-any.whl",
      "nat-1.0-8-py3-none-any.whl",
      "nat-1.0-9-py3-none-any.whl",
    ];
    await site.writeProject(await projectWith(out, "nat", "1.0", names), BOTH);
    const html = Deno.readTextFileSync(`${out}/project/nat/index.html`);
    const shown = links(html).map((l) => l.attrs.get("href") ?? "").filter((h) =>
      h.endsWith(".whl") || h.includes(".whl#")
    ).map((h) => h.replace(/#.*/, "").split("/").pop());
    assert.deepEqual(shown, [
      "nat-1.0-40-py3-none-any.whl",
      "nat-1.0-9-py3-none-any.whl",
      "nat-1.0-8-py3-none-any.whl",
      "nat-1.0-4-py3-none-any.whl",
    ]);
  });
});

Deno.test("dependencies link to their page here, else to PyPI", async () => {
  await withSite(async (site, out) => {
    site.setPackages(["numpy"]);
    const data = await projectWith(out, "dep", "1.0", ["dep-1.0-py3-none-any.whl"], [
      "numpy",
      "Requests",
    ]);
    await site.writeProject(data, BOTH);
    const html = Deno.readTextFileSync(`${out}/project/dep/index.html`);
    const deps = links(html).filter((l) => (l.attrs.get("class") ?? "").includes("dependency"));
    assert.deepEqual(deps.map((l) => l.attrs.get("href")), [
      "/project/numpy/",
      "https://pypi.org/project/requests/",
    ]);
  });
});

Deno.test("a project page has a canonical link, description and og tags, and what piwheels shows", async () => {
  await withSite(async (site, out) => {
    await site.writeProject(
      await projectWith(out, "meta", "1.0", ["meta-1.0-py3-none-any.whl"]),
      BOTH,
    );
    const tags = parseTags(Deno.readTextFileSync(`${out}/project/meta/index.html`));
    const attr = (name: string, key: string, value: string, want: string) =>
      tags.find((t) => t.name === name && t.attrs.get(key) === value)?.attrs.get(want);
    assert.equal(attr("link", "rel", "canonical", "href"), "http://127.0.0.1:8000/project/meta/");
    assert.equal(attr("meta", "name", "description", "content"), "meta: meta does things");
    assert.equal(attr("meta", "property", "og:title", "content"), "meta");
    assert.equal(
      attr("meta", "property", "og:url", "content"),
      "http://127.0.0.1:8000/project/meta/",
    );
    assert.equal(attr("meta", "property", "og:description", "content"), "meta: meta does things");
    assert.equal(attr("a", "class", "issues", "href"), "/faq.html#report");
    const os = tags.filter((t) => t.attrs.get("class") === "os").map((t) => t.text);
    assert.deepEqual(os, ["Raspberry Pi OS Bookworm (Python 3.11)"]);
  });
});

Deno.test("the FAQ answers what piwheels' FAQ answers, and every question has an anchor", async () => {
  await withSite((_site, out) => {
    const html = Deno.readTextFileSync(`${out}/faq.html`);
    const tags = parseTags(html);
    const ids = tags.filter((t) => t.name === "h2").map((t) => t.attrs.get("id"));
    for (
      const id of [
        "install",
        "pip-conf",
        "venv",
        "apt",
        "python",
        "missing",
        "report",
        "yanked",
        "json",
      ]
    ) {
      assert.ok(ids.includes(id), `no question #${id}: ${ids}`);
    }
    // The table of contents links each question.
    const toc = links(html).map((l) => l.attrs.get("href")).filter((h) => h?.startsWith("#"));
    assert.deepEqual(toc, ids.map((id) => `#${id}`));
    assert.ok(html.includes("extra-index-url=http://127.0.0.1:8000/simple/"));
    assert.ok(!html.includes("piwheels.org"));
    const canonical = tags.find((t) => t.attrs.get("rel") === "canonical");
    assert.equal(canonical?.attrs.get("href"), "http://127.0.0.1:8000/faq.html");
  });
});
