/**
 * The simple repository API pages: PEP 503 HTML (with PEP 592 yanks, PEP 629 version, PEP 658/714
 * metadata attributes and Requires-Python) and the PEP 691 JSON form (with PEP 700's
 * `versions`, `size` and `upload-time`), for the root and for each project. Pure functions from
 * data to text; `site.ts` writes them.
 * @module
 */
import type { Templates } from "./templates.ts";
import type { ProjectRelease } from "../db/types.ts";
import type { IndexedFile } from "./files.ts";
import { uploadTime } from "./format.ts";
import { isValidVersion, normaliseVersion } from "../wheel/mod.ts";

/** The repository API version piw serves (PEP 629 in HTML, `meta.api-version` in JSON). */
export const API_VERSION = "1.1";

/** The media type of the PEP 691 JSON form. */
export const SIMPLE_JSON_TYPE = "application/vnd.pypi.simple.v1+json";

/** A file as listed, with the hash of its `.metadata` file when that file exists. */
export interface ListedFile extends IndexedFile {
  /** SHA-256 of `<url>.metadata`, or null when there is none to advertise. */
  metadataHash: string | null;
}

/** A release with the files listed for it. */
export interface ListedRelease {
  release: ProjectRelease;
  files: ListedFile[];
}

/** The timestamp comment of a simple page written at `now`. */
export function simpleStamp(now: Date): string {
  return now.toISOString();
}

/** The root index (HTML): one link per project, relative, ending in `/` as PEP 503 wants. */
export function renderSimpleRoot(templates: Templates, packages: string[], now: Date): string {
  return templates.render("simple_root", {
    apiVersion: API_VERSION,
    packages,
    timestamp: simpleStamp(now),
  });
}

/** The root index (PEP 691 JSON). */
export function simpleRootJson(packages: string[]): string {
  return JSON.stringify({
    meta: { "api-version": API_VERSION },
    projects: packages.map((name) => ({ name })),
  });
}

/** A project's index (HTML): every listed file, newest release first. */
export function renderSimpleProject(
  templates: Templates,
  pkg: string,
  releases: ListedRelease[],
  now: Date,
): string {
  return templates.render("simple_project", {
    apiVersion: API_VERSION,
    package: pkg,
    files: releases.flatMap((r) => r.files).map((f) => ({
      filename: f.filename,
      url: f.url,
      hash: f.hash,
      requiresPython: f.requiresPython,
      yanked: f.yanked,
      metadata: f.metadataHash,
    })),
    timestamp: simpleStamp(now),
  });
}

/**
 * PEP 700's `versions`: every release, in the normalised spelling its files use; releases whose
 * version is not PEP 440 are left out, like their files, so strict clients never meet one.
 */
function pep440Versions(releases: ListedRelease[]): string[] {
  const versions = new Set<string>();
  for (const r of releases) {
    if (isValidVersion(r.release.version)) versions.add(normaliseVersion(r.release.version));
  }
  return [...versions];
}

/** A project's index (PEP 691 JSON, API 1.1). */
export function simpleProjectJson(pkg: string, releases: ListedRelease[]): string {
  return JSON.stringify({
    meta: { "api-version": API_VERSION },
    name: pkg,
    versions: pep440Versions(releases),
    files: releases.flatMap((r) => r.files).map((f) => {
      const metadata = f.metadataHash ? { sha256: f.metadataHash } : false;
      return {
        filename: f.filename,
        url: f.url,
        hashes: { sha256: f.hash },
        ...(f.requiresPython ? { "requires-python": f.requiresPython } : {}),
        size: f.size,
        ...(f.uploadTime ? { "upload-time": uploadTime(f.uploadTime) } : {}),
        yanked: f.yanked,
        // PEP 714: only the new key. pip 22.3 to 23.1 (Debian 12's pip is 23.0.1, as on
        // Raspberry Pi OS) crash on a `dist-info-metadata` dict in JSON, so PyPI never sends it.
        "core-metadata": metadata,
      };
    }),
  });
}
