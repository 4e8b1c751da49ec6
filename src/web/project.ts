/**
 * Project pages: `project/<pkg>/index.html` (releases, per-ABI build status with log links,
 * files, install line with apt and pip dependencies, skip reasons, yank badges) and the
 * piwheels project JSON `project/<pkg>/json/index.json`. Pure functions from data to text.
 * @module
 */
import type { AbiStatus, ProjectData, ProjectRelease } from "../db/types.ts";
import { FAILURE_LABELS, isFailureClass } from "../failures/classify.ts";
import { debianPackageFor } from "../failures/debian.ts";
import {
  canonicaliseName,
  isPrerelease,
  isValidProjectName,
  isValidVersion,
} from "../wheel/mod.ts";
import type { Templates } from "./templates.ts";
import type { ListedFile, ListedRelease } from "./simple.ts";
import { formatDate, formatMinute, formatSecond, formatSize } from "./format.ts";
import { logUrl } from "./logs.ts";

/** Build ABIs in the order piwheels shows them, with the Raspberry Pi OS release each serves. */
export const ABI_RELEASES: [abi: string, release: string][] = [
  ["cp34m", "Jessie"],
  ["cp35m", "Stretch"],
  ["cp37m", "Buster"],
  ["cp39", "Bullseye"],
  ["cp311", "Bookworm"],
  ["cp313", "Trixie"],
];

const ABI_RANK = new Map(ABI_RELEASES.map(([abi], i) => [abi, i]));
const ABI_LABEL = new Map(ABI_RELEASES);

/** Sort ABIs by piwheels' fixed order, unknown ones after, alphabetically. */
export function sortAbis(abis: Iterable<string>): string[] {
  return [...new Set(abis)].sort((a, b) => {
    const ra = ABI_RANK.get(a) ?? Infinity, rb = ABI_RANK.get(b) ?? Infinity;
    return ra !== rb ? ra - rb : a < b ? -1 : a > b ? 1 : 0;
  });
}

/** Where the site is served from and where PyPI's pages are, for absolute links. */
export interface SiteUrls {
  /** The site's own origin, e.g. `https://www.piwheels.org` (no trailing slash). */
  siteUrl: string;
}

function prerelease(version: string): boolean {
  return isValidVersion(version) && isPrerelease(version);
}

/** The file whose dependencies the install line shows: first of the newest stable release. */
function installFile(releases: ListedRelease[]): ListedFile | null {
  for (const r of releases) {
    if (r.release.yanked || prerelease(r.release.version) || r.files.length === 0) continue;
    return r.files[0];
  }
  return null;
}

const STATUS_TEXT: Record<AbiStatus["status"], string> = {
  success: "✓",
  fail: "✗",
  pending: "…",
  skip: "–",
};

/**
 * A pip dependency as a link: to its project page when the project is on this site, to PyPI
 * when it is not (a link here would be a 404), none when the name is not a valid project name.
 */
function pipLink(name: string, isHere: (pkg: string) => boolean): PipLink {
  if (!isValidProjectName(name)) return { name, href: null, external: false };
  const pkg = canonicaliseName(name);
  return isHere(pkg)
    ? { name, href: `/project/${pkg}/`, external: false }
    : { name, href: `https://pypi.org/project/${pkg}/`, external: true };
}

interface PipLink {
  name: string;
  href: string | null;
  external: boolean;
}

/** The Python version of a CPython ABI tag ("cp311" → "3.11"), or null. */
function pythonOf(abi: string): string | null {
  const m = abi.match(/^cp(\d)(\d+)/);
  return m ? `${m[1]}.${m[2]}` : null;
}

/** A failed build's class, detail and lines as the project page and JSON show them. */
export interface FailureView {
  class: string;
  label: string;
  detail: string;
  debianPackage: string | null;
  lines: string;
  retryAt: Date | null;
  /** When it is retried, for people, or null. */
  retry: string | null;
  /** The cell's tooltip. */
  title: string;
}

/** The failure of build `buildId` of `release`, or null when it has no class. */
export function failureOf(release: ProjectRelease, buildId: number | null): FailureView | null {
  const build = release.builds.find((b) => b.buildId === buildId);
  if (!build?.failureClass) return null;
  const cls = build.failureClass;
  const label = isFailureClass(cls) ? FAILURE_LABELS[cls] : cls;
  const detail = build.failureDetail ?? "";
  const lines = build.failureLines ?? "";
  const retryAt = build.retryAt ?? null;
  const debianPackage = cls === "missing-library" ? debianPackageFor(detail) : null;
  const what = detail ? ` ${detail}${debianPackage ? ` (apt: ${debianPackage})` : ""}` : "";
  const retry = retryAt ? `; retried from ${formatMinute(retryAt)}` : "";
  return {
    class: cls,
    label,
    detail,
    debianPackage,
    lines,
    retryAt,
    retry: retryAt && formatMinute(retryAt),
    title: `${label}${what}${retry}${lines ? `\n${lines}` : ""}`,
  };
}

/** What a project page knows of the site around it. */
export interface PageContext {
  /** The site's public origin, for the canonical link (none without it). */
  siteUrl?: string;
  /** Whether a project has pages on this site (dependencies link there, else to PyPI). */
  isHere?: (pkg: string) => boolean;
}

/** "1 version", "2 versions". */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The project page's "last updated" text for a page written at `now`. */
export function projectStamp(now: Date): string {
  return formatMinute(now);
}

/** The view of a project page. */
export function projectView(
  data: ProjectData,
  listed: ListedRelease[],
  now: Date,
  context: PageContext = {},
): Record<string, unknown> {
  const isHere = context.isHere ?? (() => false);
  const pkg = data.package;
  const abis = sortAbis(listed.flatMap((r) => Object.keys(r.release.abis)));
  const install = installFile(listed);
  const apt = install?.file.aptDependencies ?? [];
  const pip = install?.file.pipDependencies ?? [];
  let fileCount = 0;
  const releases = listed.map(({ release, files }) => {
    fileCount += files.length;
    return {
      version: release.version,
      released: formatDate(release.released),
      prerelease: prerelease(release.version),
      yanked: release.yanked,
      skip: release.skip,
      cells: abis.map((abi) => {
        const state = release.abis[abi] ?? { status: "pending", buildId: null };
        const failure = state.status === "fail" ? failureOf(release, state.buildId) : null;
        return {
          abi,
          status: state.status,
          text: STATUS_TEXT[state.status] ?? state.status,
          title: `${abi}: ${state.status}${
            state.status === "skip" && release.skip ? ` (${release.skip})` : ""
          }${failure ? `: ${failure.title}` : ""}`,
          log: state.buildId === null ? null : logUrl(state.buildId),
          failure,
        };
      }),
      files: files.map((f) => ({
        filename: f.filename,
        url: f.url,
        hash: f.hash,
        size: formatSize(f.size),
        abi: f.file.abiTag,
        platform: f.file.platformTag,
        requiresPython: f.requiresPython,
        apt: f.file.aptDependencies.join(" "),
        pip: f.file.pipDependencies.join(" "),
      })),
      hasFiles: files.length > 0,
    };
  });
  const name = data.name || pkg;
  // Where the newest stable release was built, as piwheels.org lists it: an OS release per ABI.
  const builtFor = install === null ? [] : sortAbis(
    Object.entries(listed.find((r) => r.files.includes(install))!.release.abis)
      .filter(([, state]) => state.status === "success").map(([abi]) => abi),
  ).map((abi) => ({ abi, os: ABI_LABEL.get(abi) ?? null, python: pythonOf(abi) }));
  return {
    page: "project",
    title: name,
    canonical: context.siteUrl ? `${context.siteUrl}/project/${pkg}/` : null,
    metaDescription: data.description
      ? `${name}: ${data.description}`
      : `Python wheels of ${name} for the Raspberry Pi, built by piw.`,
    builtFor,
    hasBuiltFor: builtFor.length > 0,
    package: pkg,
    name: data.name || pkg,
    description: data.description,
    skip: data.skip,
    pypiUrl: `https://pypi.org/project/${pkg}/`,
    jsonUrl: `/project/${pkg}/json/`,
    apt: apt.length ? apt.join(" ") : null,
    pipDependencies: pip.map((name) => pipLink(name, isHere)),
    hasPipDependencies: pip.length > 0,
    abis: abis.map((abi) => ({ abi, label: ABI_LABEL.get(abi) ?? null })),
    releases,
    hasReleases: releases.length > 0,
    counts: `${plural(releases.length, "version")}, ${plural(fileCount, "file")}`,
    timestamp: projectStamp(now),
  };
}

/** Render a project page. */
export function renderProjectPage(
  templates: Templates,
  data: ProjectData,
  listed: ListedRelease[],
  now: Date,
  context?: PageContext,
): string {
  return templates.render("project", projectView(data, listed, now, context));
}

/** The piwheels project JSON (`/project/<pkg>/json/`), releases keyed by version. */
export function projectJson(
  data: ProjectData,
  listed: ListedRelease[],
  urls: SiteUrls,
): string {
  const pkg = data.package;
  const absolute = (url: string) => url.startsWith("/") ? urls.siteUrl + url : url;
  const releases: Record<string, unknown> = {};
  for (const r of listed) {
    const fileMap: Record<string, unknown> = {};
    for (const f of r.files) {
      fileMap[f.filename] = {
        file_url: absolute(f.url),
        filehash: f.hash,
        filesize: f.size,
        builder_abi: f.file.builderAbi,
        file_abi_tag: f.file.abiTag,
        platform: f.file.platformTag,
        requires_python: f.requiresPython,
        apt_dependencies: [...f.file.aptDependencies].sort(),
        pip_dependencies: [...f.file.pipDependencies].sort(),
      };
    }
    releases[r.release.version] = {
      released: formatSecond(r.release.released),
      prerelease: prerelease(r.release.version),
      yanked: r.release.yanked,
      skip_reason: r.release.skip,
      files: fileMap,
      // piw's addition: each builder ABI's outcome, so tools need not scrape the HTML.
      builds: Object.fromEntries(
        sortAbis(Object.keys(r.release.abis)).map((abi) => {
          const { status, buildId } = r.release.abis[abi];
          const failure = status === "fail" ? failureOf(r.release, buildId) : null;
          return [abi, {
            status,
            log_url: buildId === null ? null : absolute(logUrl(buildId)),
            // piw: why it failed, and when it is tried again (null: not automatically).
            failure: failure && {
              class: failure.class,
              detail: failure.detail,
              debian_package: failure.debianPackage,
              lines: failure.lines,
              retry_at: failure.retryAt && formatSecond(failure.retryAt),
            },
          }];
        }),
      ),
    };
  }
  return JSON.stringify({
    package: pkg,
    summary: data.description,
    pypi_url: `https://pypi.org/project/${pkg}/`,
    piwheels_url: `${urls.siteUrl}/project/${pkg}/`,
    releases,
  });
}
