/**
 * Reading what piw needs from inside a wheel: the `.dist-info` directory, its METADATA (parsed,
 * and as exact bytes for PEP 658 `.metadata` files) and its WHEEL file.
 * @module
 */
import { BadWheelError } from "./errors.ts";
import {
  type CoreMetadata,
  parseMetadata,
  parseWheelFile,
  type WheelFileInfo,
} from "./metadata.ts";
import { canonicaliseName } from "./names.ts";
import { compareVersions, tryParseVersion } from "./version.ts";
import { parseWheelFilename } from "./filename.ts";
import { ZipReader } from "./zip.ts";

/** What `readWheelInfo` returns. */
export interface WheelInfo {
  /** The `.dist-info` directory name, without a trailing slash. */
  distInfo: string;
  /** METADATA exactly as stored in the wheel. */
  metadataBytes: Uint8Array;
  metadata: CoreMetadata;
  /** The WHEEL file, or null when the wheel has none (older tools). */
  wheel: WheelFileInfo | null;
}

// METADATA and WHEEL are small; anything huge is a hostile or broken wheel.
const MAX_METADATA_SIZE = 16 * 1024 * 1024;

function versionsEqual(a: string, b: string): boolean {
  const x = tryParseVersion(a), y = tryParseVersion(b);
  return x && y ? compareVersions(x, y) === 0 : a === b;
}

/**
 * Find the wheel's `.dist-info` directory among the archive's member names: a top-level
 * `{name}-{version}.dist-info/` holding METADATA whose name matches `project` (canonically) and,
 * when given, whose version equals `version`. Throws `BadWheelError` when there is none or the
 * choice is ambiguous.
 */
export function findDistInfoDir(names: string[], project: string, version?: string): string {
  const dirs = new Set<string>();
  for (const n of names) {
    const m = /^([^/]+\.dist-info)\/METADATA$/.exec(n);
    if (m) dirs.add(m[1]);
  }
  const want = canonicaliseName(project);
  const matching = [...dirs].filter((d) => {
    const stem = d.slice(0, -".dist-info".length);
    const dash = stem.indexOf("-");
    if (dash < 0 || canonicaliseName(stem.slice(0, dash)) !== want) return false;
    return version === undefined || versionsEqual(stem.slice(dash + 1), version);
  });
  if (matching.length === 1) return matching[0];
  const what = `${project}${version === undefined ? "" : " " + version}`;
  if (matching.length === 0) {
    throw new BadWheelError(
      `Unable to locate METADATA for ${what}; .dist-info directories present: ` +
        JSON.stringify([...dirs]),
    );
  }
  throw new BadWheelError(`Several .dist-info directories match ${what}: ${matching.join(", ")}`);
}

/** Which `.dist-info` to read; by default the project and version in the wheel's filename. */
export interface DistInfoSelector {
  project?: string;
  version?: string;
}

function selector(path: string, select: DistInfoSelector): { project: string; version?: string } {
  if (select.project !== undefined) return { project: select.project, version: select.version };
  const base = path.slice(path.lastIndexOf("/") + 1);
  const w = parseWheelFilename(base, { allowLegacyVersion: true });
  return { project: w.name, version: select.version ?? w.version };
}

/**
 * Read the `.dist-info` METADATA (parsed and as bytes) and WHEEL file of the wheel at `path`.
 * Throws `BadWheelError` for a wheel without usable metadata, `ZipError` for a corrupt archive,
 * `InvalidWheelFilenameError` when no project is given and the file's name is not a wheel's.
 */
export async function readWheelInfo(
  path: string,
  select: DistInfoSelector = {},
): Promise<WheelInfo> {
  const { project, version } = selector(path, select);
  const zip = await ZipReader.open(path);
  try {
    const distInfo = findDistInfoDir(zip.names(), project, version);
    const metadataBytes = await zip.read(`${distInfo}/METADATA`, { maxSize: MAX_METADATA_SIZE });
    const wheelEntry = zip.get(`${distInfo}/WHEEL`);
    const wheel = wheelEntry
      ? parseWheelFile(await zip.read(wheelEntry, { maxSize: MAX_METADATA_SIZE }))
      : null;
    return { distInfo, metadataBytes, metadata: parseMetadata(metadataBytes), wheel };
  } finally {
    zip.close();
  }
}

/** The METADATA bytes of the wheel at `path`, exactly as stored (for PEP 658 `.metadata`). */
export async function extractWheelMetadata(
  path: string,
  select: DistInfoSelector = {},
): Promise<Uint8Array> {
  return (await readWheelInfo(path, select)).metadataBytes;
}
