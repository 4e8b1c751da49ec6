/**
 * The rest of the site: homepage with its charts, search index and page, sitemaps, build logs,
 * static assets and startup pages.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { type MasterStats, TimeDelta } from "../../src/protocols/mod.ts";
import { HomeSamples, hourlyChart, logPath, URLS_PER_SITEMAP, WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import { parseTags } from "./helpers.ts";

configureLogging({ level: "error" });

const HOUR = 3_600_000;
const NOW = new Date("2024-06-01T12:00:00Z");

function stats(time: Date, builds: Record<string, number>, downloads: number): MasterStats {
  return [
    time,
    123456,
    builds,
    TimeDelta.fromSeconds(7 * 3600),
    5 * 1024 ** 3,
    { cp311: 1000, cp313: 234 },
    17,
    1234567,
    downloads,
    9876543,
    1234567890,
    1000,
    250,
    1,
    1,
    1,
    1,
    0.5,
    45.0,
  ];
}

async function withSite(
  fn: (site: WebSite, out: string) => Promise<void> | void,
  now = () => NOW,
): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "piw-web-home-" });
  try {
    const site = new WebSite({ outputPath: out, siteUrl: "https://piw.example.org", now });
    site.setup();
    await fn(site, out);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("the homepage shows the statistics with thousands separators", async () => {
  await withSite((site, out) => {
    site.writeHome(stats(NOW, { cp311: 30, cp313: 12 }, 4321));
    const html = Deno.readTextFileSync(`${out}/index.html`);
    const tags = parseTags(html);
    const values = new Map<string, string>();
    const dts = tags.filter((t) => t.name === "dt" || t.name === "dd");
    for (let i = 0; i < dts.length; i += 2) values.set(dts[i].text, dts[i + 1].text);
    assert.equal(values.get("Packages built"), "123,456");
    assert.equal(values.get("Wheels"), "1,234,567");
    assert.equal(values.get("Builds in the last hour"), "42");
    assert.equal(values.get("Builds pending"), "1,234");
    assert.equal(values.get("Downloads in the last 30 days"), "9,876,543");
    assert.equal(values.get("Downloads ever"), "1,234,567,890");
    assert.equal(values.get("Total size of wheels"), "5.0 GB");
    assert.equal(values.get("Disk free"), "25%");
    assert.ok(html.includes("Last updated 2024-06-01 12:00 UTC"));
  });
});

Deno.test("the homepage charts are inline SVG, with no script or external asset", async () => {
  await withSite((site, out) => {
    // A sample every hour for 30 hours: only the last day is drawn, one bar per hour.
    for (let h = 29; h >= 0; h--) {
      site.history.add({ time: new Date(NOW.getTime() - h * HOUR), builds: h, downloads: 100 + h });
    }
    site.writeHome(stats(NOW, { cp311: 0 }, 100));
    const html = Deno.readTextFileSync(`${out}/index.html`);
    const tags = parseTags(html);
    assert.equal(tags.filter((t) => t.name === "svg").length, 2);
    assert.equal(tags.filter((t) => t.name === "script").length, 0);
    // The canonical link names the page itself, not an asset.
    for (const t of tags.filter((t) => t.attrs.get("rel") !== "canonical")) {
      for (const attr of ["src", "href"]) {
        const url = t.attrs.get(attr);
        if (url !== undefined) assert.ok(url.startsWith("/"), `${attr}=${url} is not local`);
      }
    }
    const bars = tags.filter((t) => t.name === "rect");
    assert.equal(bars.length, 48);
    // Builds: the oldest drawn hour had 23 builds (the tallest bar), the newest 0.
    const heights = bars.slice(0, 24).map((b) => Number(b.attrs.get("height")));
    assert.equal(Math.max(...heights), heights[0]);
    assert.equal(heights[23], 0);
    assert.ok(heights.every((h, i) => i === 0 || h <= heights[i - 1]));
  });
});

Deno.test("hourly charts bucket samples by hour and skip hours without any", () => {
  const history = new HomeSamples();
  history.add({ time: new Date(NOW.getTime() - 26 * HOUR), builds: 99, downloads: 0 });
  history.add({ time: new Date(NOW.getTime() - 90 * 60_000), builds: 5, downloads: 50 });
  history.add({ time: new Date(NOW.getTime() - 80 * 60_000), builds: 7, downloads: 70 });
  history.add({ time: new Date(NOW.getTime() - 10 * 60_000), builds: 2, downloads: 20 });
  // The 26-hour-old sample was dropped when newer ones came.
  assert.equal(history.samples.length, 3);
  const hourly = history.hourly("builds", NOW);
  assert.equal(hourly.length, 24);
  assert.deepEqual(hourly.slice(21), [null, 7, 2]);
  const chart = hourlyChart("Builds", hourly);
  assert.equal(chart.bars.length, 2);
  assert.equal(chart.max, 7);
  assert.equal(chart.bars[0].height, 130);
  assert.equal(hourlyChart("Nothing", new Array(24).fill(null)).empty, true);
});

Deno.test("the home page says what a download is: a wheel, not its PEP 658 metadata", async () => {
  await withSite((site, out) => {
    site.writeHome(stats(NOW, {}, 3));
    const html = Deno.readTextFileSync(`${out}/index.html`);
    assert.match(html, /<code>\.whl\.metadata<\/code>[^<]*PEP 658/);
    assert.match(html, /neither downloads nor searches/);
  });
});

Deno.test("the home page counts PEP 658 metadata fetches apart from downloads", async () => {
  await withSite((site, out) => {
    site.writeHome(stats(NOW, {}, 3), { lastMonth: 4321, all: 98765 });
    const html = Deno.readTextFileSync(`${out}/index.html`);
    assert.match(html, /<dt>Downloads in the last hour<\/dt><dd>3<\/dd>/);
    assert.match(html, /<dt>Metadata fetches in the last 30 days<\/dt><dd>4,321<\/dd>/);
    assert.match(html, /<dt>Metadata fetches ever<\/dt><dd>98,765<\/dd>/);
    assert.match(html, /Metadata fetches count pip's fetches/);
  });
});

Deno.test("packages.json is a compact list of [package, recent, all]", async () => {
  await withSite((site, out) => {
    site.writeSearchIndex({ numpy: [100, 5000], "foo-bar": [0, 3] });
    const text = Deno.readTextFileSync(`${out}/packages.json`);
    assert.ok(!text.includes(" "));
    assert.deepEqual(JSON.parse(text), [["foo-bar", 0, 3], ["numpy", 100, 5000]]);
  });
});

Deno.test("the search page loads packages.json with its script, and the assets are copied", async () => {
  await withSite((_site, out) => {
    const html = Deno.readTextFileSync(`${out}/packages.html`);
    const script = parseTags(html).find((t) => t.name === "script");
    assert.equal(script?.attrs.get("src"), "/search.js");
    const js = Deno.readTextFileSync(`${out}/search.js`);
    assert.ok(js.includes('fetch("/packages.json")'));
    // Names reach the page as text, never as markup.
    assert.ok(!js.includes("innerHTML"));
    for (const name of ["piw.css", "project.js", "favicon.svg", "robots.txt"]) {
      assert.ok(Deno.statSync(`${out}/${name}`).isFile, name);
    }
    for (const page of ["faq.html", "json.html", "404.html"]) {
      const tags = parseTags(Deno.readTextFileSync(`${out}/${page}`));
      assert.ok(tags.some((t) => t.name === "h1"), page);
    }
    assert.ok(Deno.readTextFileSync(`${out}/faq.html`).includes("https://piw.example.org/simple/"));
  });
});

Deno.test("the sitemap index names every sitemap; each holds at most 50,000 URLs", async () => {
  await withSite((site, out) => {
    const packages = Array.from({ length: URLS_PER_SITEMAP + 2 }, (_, i) => `pkg-${i}`);
    site.setPackages(packages);
    site.writeHome(stats(NOW, {}, 0));
    const index = parseTags(Deno.readTextFileSync(`${out}/sitemap.xml`));
    const locs = index.filter((t) => t.name === "loc").map((t) => t.text);
    assert.deepEqual(locs, [0, 1, 2].map((n) => `https://piw.example.org/sitemap${n}.xml`));
    assert.ok(index.filter((t) => t.name === "lastmod").every((t) => t.text === "2024-06-01"));
    const urls = (n: number) =>
      parseTags(Deno.readTextFileSync(`${out}/sitemap${n}.xml`)).filter((t) => t.name === "loc")
        .map((t) => t.text);
    assert.deepEqual(urls(0), [
      "https://piw.example.org/index.html",
      "https://piw.example.org/packages.html",
      "https://piw.example.org/faq.html",
      "https://piw.example.org/json.html",
    ]);
    const projects = [...urls(1), ...urls(2)];
    assert.equal(urls(1).length, URLS_PER_SITEMAP);
    assert.equal(projects.length, packages.length);
    assert.ok(projects.every((u) => /^https:\/\/piw\.example\.org\/project\/pkg-\d+\/$/.test(u)));
    // Unchanged packages: the next HOME leaves the sitemaps alone.
    const before = Deno.statSync(`${out}/sitemap1.xml`).mtime;
    site.writeHome(stats(NOW, {}, 0));
    assert.deepEqual(Deno.statSync(`${out}/sitemap1.xml`).mtime, before);
  });
});

Deno.test("build logs go to logs/AAAA/BBBB/CCCC.txt.gz, once", async () => {
  assert.equal(logPath(0), "logs/0000/0000/0000.txt.gz");
  assert.equal(logPath(15712701), "logs/0000/1571/2701.txt.gz");
  assert.equal(logPath(123456789012), "logs/1234/5678/9012.txt.gz");
  assert.throws(() => logPath(-1), RangeError);
  await withSite((site, out) => {
    const text = "Collecting foo\nBuilding wheel … ✓\n";
    assert.equal(site.writeLog(15712701, text), true);
    const path = `${out}/logs/0000/1571/2701.txt.gz`;
    assert.equal(new TextDecoder().decode(gunzipSync(Deno.readFileSync(path))), text);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
    assert.equal(site.writeLog(15712701, "other"), false);
    assert.equal(new TextDecoder().decode(gunzipSync(Deno.readFileSync(path))), text);
    assert.deepEqual([...Deno.readDirSync(`${out}/logs/0000/1571`)].map((e) => e.name), [
      "2701.txt.gz",
    ]);
  });
});
