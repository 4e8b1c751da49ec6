/**
 * The homepage (`index.html`): the master's statistics from BigBrother's HOME message, the
 * failed builds of the last week by failure class, charts of builds and downloads per hour over
 * the last day, and when it was written.
 * @module
 */
import type { MasterStats } from "../protocols/mod.ts";
import type { Templates } from "./templates.ts";
import { formatMinute, formatNumber, formatSize } from "./format.ts";
import { type HomeSamples, hourlyChart, type StatsSample } from "./charts.ts";
import { FAILURE_CLASSES, FAILURE_LABELS } from "../failures/classify.ts";

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** The chart sample a HOME message contributes. */
export function sampleOf(stats: MasterStats): StatsSample {
  return { time: stats[0], builds: sum(stats[2]), downloads: stats[8] };
}

/** pip's fetches of wheels' PEP 658 metadata: in the last 30 days, and ever. */
export interface MetadataFetches {
  lastMonth: number;
  all: number;
}

/** The homepage's rows of failure counts: each class with failures, then retries pending. */
export function failureRows(counts: Record<string, number>): { label: string; count: string }[] {
  const rows = FAILURE_CLASSES.filter((c) => counts[c] > 0)
    .map((c) => ({ label: FAILURE_LABELS[c], count: formatNumber(counts[c]) }));
  if (counts[""] > 0) rows.push({ label: "not classified", count: formatNumber(counts[""]) });
  return rows;
}

/** The view of the homepage. */
export function homeView(
  stats: MasterStats,
  history: HomeSamples,
  now: Date,
  siteUrl: string,
  metadataFetches?: MetadataFetches,
  failures: Record<string, number> = {},
) {
  const [
    ,
    packagesBuilt,
    buildsLastHour,
    buildsTime,
    buildsSize,
    buildsPending,
    newLastHour,
    filesCount,
    downloadsLastHour,
    downloadsLastMonth,
    downloadsAll,
    diskSize,
    diskFree,
  ] = stats;
  return {
    page: "home",
    title: "Home",
    siteUrl,
    canonical: `${siteUrl}/`,
    metaDescription: "Python wheels for the Raspberry Pi, built by piw: pip installs them " +
      "instead of compiling on the Pi.",
    packagesBuilt: formatNumber(packagesBuilt),
    filesCount: formatNumber(filesCount),
    buildsLastHour: formatNumber(sum(buildsLastHour)),
    buildsPending: formatNumber(sum(buildsPending)),
    buildsHours: formatNumber(buildsTime.totalSeconds() / 3600),
    buildsSize: formatSize(buildsSize),
    newLastHour: formatNumber(newLastHour),
    downloadsLastHour: formatNumber(downloadsLastHour),
    downloadsLastMonth: formatNumber(downloadsLastMonth),
    downloadsAll: formatNumber(downloadsAll),
    metadataFetches: metadataFetches && {
      lastMonth: formatNumber(metadataFetches.lastMonth),
      all: formatNumber(metadataFetches.all),
    },
    failures: failureRows(failures),
    retriesPending: formatNumber(failures["retries pending"] ?? 0),
    diskFree: diskSize > 0 ? `${Math.round((diskFree / diskSize) * 100)}%` : "unknown",
    charts: [
      hourlyChart("Builds per hour", history.hourly("builds", now)),
      hourlyChart("Downloads per hour", history.hourly("downloads", now)),
    ],
    timestamp: formatMinute(now),
  };
}

/** Render the homepage (the view's arguments follow `templates`). */
export function renderHome(
  templates: Templates,
  ...view: Parameters<typeof homeView>
): string {
  return templates.render("index", homeView(...view));
}
