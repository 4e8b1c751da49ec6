/**
 * The web output: pure page rendering (simple index HTML and JSON, project pages and JSON,
 * homepage with charts, sitemaps) and atomic writing of the tree, used by TheScribe and
 * testable and benchmarkable without ZeroMQ.
 *
 * @example
 * ```ts
 * import { WebSite } from "./mod.ts";
 * const site = new WebSite({ outputPath: "/var/www", siteUrl: "https://example.org" });
 * site.setup();
 * await site.writeProject(projectData, { simple: true, project: true });
 * ```
 * @module
 */
export * from "./atomic.ts";
export { escapeHtml } from "./escape.ts";
export { TemplateError, Templates, TEMPLATES_DIR } from "./templates.ts";
export * from "./format.ts";
export * from "./files.ts";
export { MetadataStore, sha256Hex } from "./metadata.ts";
export * from "./simple.ts";
export * from "./project.ts";
export { type Bar, type ChartView, HomeSamples, hourlyChart, type StatsSample } from "./charts.ts";
export { homeView, renderHome, sampleOf } from "./home.ts";
export { renderSitemaps, SITEMAP_PAGES, URLS_PER_SITEMAP } from "./sitemap.ts";
export { logPath, logUrl, writeBuildLog } from "./logs.ts";
export { fetchAhead } from "./fetch_ahead.ts";
export * from "./site.ts";
