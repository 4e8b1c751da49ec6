/**
 * Which files of a project go into its index, and under what name. Filenames, hashes and
 * locations come from slaves and imports, so each is checked before it reaches an index:
 * - a filename that does not parse as a wheel's, or names another project, is left out;
 * - a version that is not PEP 440 at all is left out (pip ≥ 25.3 refuses such wheels), and one
 *   that is PEP 440 but not normalised is published under the normalised filename;
 * - a hash that is not 64 hex digits, or a location that is not a plain path or http(s) URL, is
 *   left out;
 * - releases marked `deleted` (removed from PyPI, awaiting deletion) are left out entirely.
 * Every exclusion carries its reason, which the scribe logs.
 * @module
 */
import type { ProjectData, ProjectFile, ProjectRelease } from "../db/types.ts";
import {
  canonicaliseName,
  InvalidWheelFilenameError,
  isValidVersion,
  normaliseVersion,
  parseWheelFilename,
  sortVersionsNewestFirst,
} from "../wheel/mod.ts";

/** The location of files stored in the master's own `simple/` tree. */
export const LOCAL_LOCATION = "/simple";

/** The skip reason of a release (or package) removed from PyPI. */
export const DELETED = "deleted";

/** A file as it is listed in the indexes. */
export interface IndexedFile {
  /** The name it is listed and served under. */
  filename: string;
  /** The name in the database and on disk (differs when the version was normalised). */
  storedName: string;
  /** Where it is served: `<location>/<package>/<filename>`. */
  url: string;
  /** Whether it lives in this master's `simple/` tree (so its `.metadata` can be written). */
  local: boolean;
  /** SHA-256, lower-case hex. */
  hash: string;
  size: number;
  requiresPython: string | null;
  yanked: boolean;
  /** When its build was logged (PEP 700 `upload-time`); null if the build is unknown. */
  uploadTime: Date | null;
  /** The release it belongs to (the version as PyPI spells it). */
  version: string;
  /** The database record. */
  file: ProjectFile;
}

/** A release with the files it lists. */
export interface IndexedRelease {
  release: ProjectRelease;
  files: IndexedFile[];
}

/** A file left out of the index, and why. */
export interface ExcludedFile {
  filename: string;
  reason: string;
}

/** A project's releases as the indexes show them, newest first. */
export interface ProjectIndex {
  releases: IndexedRelease[];
  excluded: ExcludedFile[];
}

const HASH_RE = /^[0-9a-f]{64}$/;
// A path of URL-safe characters, optionally after an http(s) origin: nothing that could break
// out of an attribute or smuggle in a `javascript:` URL.
const LOCATION_RE = /^(https?:\/\/[A-Za-z0-9.-]+(:\d+)?)?(\/[A-Za-z0-9._~-]+)+$/;

/** Whether `location` is acceptable as the base of a file URL. */
export function isSafeLocation(location: string): boolean {
  return LOCATION_RE.test(location) && !location.split("/").includes("..");
}

// The common case, checked with one regex: five dash-separated fields, a plain name, a
// release-only version without leading zeros (valid and already normalised) and plain tags.
// Everything it accepts, parseWheelFilename accepts with the same name and version (a test
// checks); anything else takes the full parse. Worth it: the scribe checks every filename of a
// project each time it writes the project, and a full parse costs ten times as much.
const PLAIN_WHEEL_RE =
  /^([A-Za-z0-9]+(?:[._][A-Za-z0-9]+)*)-((?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*)(?:-[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*){3}\.whl$/;

/** Name and version of a wheel filename that is already in the normalised common form. */
export function parsePlainWheelFilename(
  filename: string,
): { name: string; version: string } | null {
  if (filename.length > 255) return null;
  const m = PLAIN_WHEEL_RE.exec(filename);
  return m ? { name: m[1], version: m[2] } : null;
}

/** The release's version normalised, or null when it is not PEP 440. */
function normalisedOrNull(version: string): string | null {
  return isValidVersion(version) ? normaliseVersion(version) : null;
}

/**
 * The name `file` is published under, or the reason it is not published. `releaseVersion` is
 * the release's version normalised (null when it is not PEP 440).
 */
function publishedName(
  pkg: string,
  releaseVersion: string | null,
  release: ProjectRelease,
  file: ProjectFile,
): { name: string } | { reason: string } {
  let name: string, version: string, normalised: string;
  let published = file.filename;
  const plain = parsePlainWheelFilename(file.filename);
  if (plain) {
    ({ name, version } = plain);
    normalised = version;
  } else {
    let wheel;
    try {
      wheel = parseWheelFilename(file.filename, { allowLegacyVersion: true });
    } catch (error) {
      if (!(error instanceof InvalidWheelFilenameError)) throw error;
      return { reason: error.message };
    }
    ({ name, version } = wheel);
    if (!isValidVersion(version)) {
      return { reason: `version ${version} is not PEP 440, so pip ≥ 25.3 would refuse it` };
    }
    normalised = normaliseVersion(version);
    if (normalised !== version) {
      const fields = [name, normalised];
      if (wheel.buildTag !== null) fields.push(wheel.buildTag);
      fields.push(wheel.pythonTag, wheel.abiTag, wheel.platformTag);
      published = fields.join("-") + ".whl";
    }
  }
  const project = canonicaliseName(name);
  if (project !== pkg) return { reason: `the filename names project ${project}, not ${pkg}` };
  if (releaseVersion !== null && releaseVersion !== normalised) {
    return { reason: `the filename's version ${version} is not release ${release.version}` };
  }
  if (!HASH_RE.test(file.filehash)) return { reason: `bad sha256 ${file.filehash}` };
  const location = file.location || LOCAL_LOCATION;
  if (!isSafeLocation(location)) return { reason: `bad location ${location}` };
  return { name: published };
}

const COLLATOR = new Intl.Collator("en", { numeric: true, sensitivity: "variant" });

/**
 * Wheel filenames in natural order: runs of digits compare as numbers, so build tag 40 comes
 * after 9 and cp311 after cp39 (as strings they would not); equal ones by code point.
 */
export function compareFilenames(a: string, b: string): number {
  return COLLATOR.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The releases and files the indexes of `data.package` list, newest release first (files by
 * name, descending, digits compared as numbers), with every file left out and why.
 */
export function indexProject(data: ProjectData): ProjectIndex {
  const pkg = data.package;
  const excluded: ExcludedFile[] = [];
  const byVersion = new Map(data.releases.map((r) => [r.version, r]));
  const seen = new Set<string>();
  const releases: IndexedRelease[] = [];
  for (const version of sortVersionsNewestFirst(byVersion.keys())) {
    const release = byVersion.get(version)!;
    if (release.skip === DELETED) continue;
    const builtAt = new Map(release.builds.map((b) => [b.buildId, b.builtAt]));
    const releaseVersion = normalisedOrNull(version);
    const files: IndexedFile[] = [];
    const sorted = [...release.files].sort((a, b) => compareFilenames(b.filename, a.filename));
    for (const file of sorted) {
      const published = publishedName(pkg, releaseVersion, release, file);
      if ("reason" in published) {
        excluded.push({ filename: file.filename, reason: published.reason });
        continue;
      }
      if (seen.has(published.name)) {
        excluded.push({ filename: file.filename, reason: `${published.name} is listed already` });
        continue;
      }
      seen.add(published.name);
      const location = file.location || LOCAL_LOCATION;
      files.push({
        filename: published.name,
        storedName: file.filename,
        url: `${location}/${pkg}/${published.name}`,
        local: location === LOCAL_LOCATION,
        hash: file.filehash,
        size: file.filesize,
        requiresPython: file.requiresPython,
        yanked: release.yanked,
        uploadTime: builtAt.get(file.buildId) ?? null,
        version,
        file,
      });
    }
    releases.push({ release, files });
  }
  return { releases, excluded };
}
