/**
 * The sitemap: `sitemap.xml` (the index) naming `sitemap0.xml` (the static pages) and
 * `sitemap1.xml`… (project pages, at most 50,000 URLs each, the sitemap protocol's limit).
 * @module
 */
import type { Templates } from "./templates.ts";
import { formatDate } from "./format.ts";

/** URLs per sitemap file (the protocol's limit). */
export const URLS_PER_SITEMAP = 50_000;

/** The static pages sitemap0 lists. */
export const SITEMAP_PAGES = ["index.html", "packages.html", "faq.html", "json.html"];

/** Every sitemap file to write, name → XML, for the packages (canonical names) given. */
export function renderSitemaps(
  templates: Templates,
  siteUrl: string,
  packages: string[],
  now: Date,
): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    "sitemap0.xml",
    templates.render("sitemap_urls", { urls: SITEMAP_PAGES.map((p) => `${siteUrl}/${p}`) }),
  );
  const sorted = [...packages].sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i += URLS_PER_SITEMAP) {
    n++;
    const urls = sorted.slice(i, i + URLS_PER_SITEMAP).map((p) => `${siteUrl}/project/${p}/`);
    files.set(`sitemap${n}.xml`, templates.render("sitemap_urls", { urls }));
  }
  const sitemaps = Array.from({ length: n + 1 }, (_, i) => `${siteUrl}/sitemap${i}.xml`);
  files.set("sitemap.xml", templates.render("sitemap_index", { sitemaps, date: formatDate(now) }));
  return files;
}
