/**
 * Wheel filenames per the binary distribution format spec:
 * `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
 * Filenames arrive from slaves and imports and end up as paths on the master's disk, so the
 * parser is a validator first: anything that could name another file is rejected.
 * @module
 */
import { InvalidWheelFilenameError } from "./errors.ts";
import { canonicaliseName, escapeWheelName } from "./names.ts";
import { isValidVersion, normaliseVersion } from "./version.ts";

/** A parsed wheel filename; string fields are exactly as written in the filename. */
export interface WheelFilename {
  filename: string;
  /** The name part (escaped form; older wheels may hold uppercase letters or dots). */
  name: string;
  /** The PEP 503 canonical project name. */
  canonicalName: string;
  version: string;
  /** The build tag as written, or null. */
  buildTag: string | null;
  /** The build tag split as packaging does: leading number, rest; null without a build tag. */
  build: { number: number; suffix: string } | null;
  /** The three tag fields as written, possibly compressed (`py2.py3`). */
  pythonTag: string;
  abiTag: string;
  platformTag: string;
  /** Every `python-abi-platform` combination the compressed tag sets expand to. */
  tags: string[];
}

/** Options for `parseWheelFilename`. */
export interface ParseWheelFilenameOptions {
  /**
   * Require the name and version in normalised form (escaped lowercase name, PEP 440 normalised
   * version), as tools producing wheels must write them. Default false: accept older spellings
   * installers must still accept.
   */
  strict?: boolean;
  /** Accept a non-PEP 440 (legacy) version made of safe characters. Default false. */
  allowLegacyVersion?: boolean;
}

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?$/;
const LEGACY_VERSION_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._+!]*[A-Za-z0-9])?$/;
const BUILD_RE = /^(\d+)([A-Za-z0-9._]*)$/;
const TAG_PART_RE = /^[A-Za-z0-9_]+$/;
const MAX_FILENAME_BYTES = 255;

function fail(filename: string, why: string): never {
  throw new InvalidWheelFilenameError(`Invalid wheel filename ${JSON.stringify(filename)}: ${why}`);
}

function tagSet(filename: string, field: string, what: string): string[] {
  const parts = field.split(".");
  for (const p of parts) {
    if (!TAG_PART_RE.test(p)) fail(filename, `bad ${what} tag ${JSON.stringify(field)}`);
  }
  return parts;
}

/**
 * Parse and validate a wheel filename (a bare name, never a path); throws
 * `InvalidWheelFilenameError` saying what is wrong.
 * @example parseWheelFilename("foo-1.0-py2.py3-none-any.whl").tags // ["py2-none-any", "py3-none-any"]
 */
export function parseWheelFilename(
  filename: string,
  options: ParseWheelFilenameOptions = {},
): WheelFilename {
  if (typeof filename !== "string" || filename.length === 0) fail(String(filename), "empty");
  if (/[/\\]/.test(filename)) fail(filename, "contains a path separator");
  if (filename.includes("..")) fail(filename, "contains '..'");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20\x7f]/.test(filename)) fail(filename, "contains whitespace or control characters");
  if (new TextEncoder().encode(filename).length > MAX_FILENAME_BYTES) fail(filename, "too long");
  if (!filename.endsWith(".whl")) fail(filename, "does not end in .whl");
  const parts = filename.slice(0, -4).split("-");
  if (parts.length !== 5 && parts.length !== 6) {
    fail(filename, `has ${parts.length} dash-separated parts, not 5 or 6`);
  }
  const [name, version] = parts;
  const [pythonTag, abiTag, platformTag] = parts.slice(-3);
  const buildTag = parts.length === 6 ? parts[2] : null;

  if (!NAME_RE.test(name) || name.includes("__")) {
    fail(filename, `bad name ${JSON.stringify(name)}`);
  }
  if (options.strict && name !== escapeWheelName(name)) {
    fail(filename, `name ${JSON.stringify(name)} is not normalised (${escapeWheelName(name)})`);
  }
  if (isValidVersion(version)) {
    if (options.strict && normaliseVersion(version) !== version) {
      fail(filename, `version ${version} is not normalised (${normaliseVersion(version)})`);
    }
  } else if (options.strict || !options.allowLegacyVersion || !LEGACY_VERSION_RE.test(version)) {
    fail(filename, `bad version ${JSON.stringify(version)}`);
  }
  let build: WheelFilename["build"] = null;
  if (buildTag !== null) {
    const m = BUILD_RE.exec(buildTag);
    if (!m) fail(filename, `build tag ${JSON.stringify(buildTag)} must start with a digit`);
    build = { number: Number(m[1]), suffix: m[2] };
  }
  const pys = tagSet(filename, pythonTag, "python");
  const abis = tagSet(filename, abiTag, "ABI");
  const plats = tagSet(filename, platformTag, "platform");
  const tags = pys.flatMap((p) => abis.flatMap((a) => plats.map((pl) => `${p}-${a}-${pl}`)));
  return {
    filename,
    name,
    canonicalName: canonicaliseName(name),
    version,
    buildTag,
    build,
    pythonTag,
    abiTag,
    platformTag,
    tags,
  };
}

/** Whether `filename` is a valid wheel filename under the given options. */
export function isValidWheelFilename(
  filename: string,
  options: ParseWheelFilenameOptions = {},
): boolean {
  try {
    parseWheelFilename(filename, options);
    return true;
  } catch (e) {
    if (e instanceof InvalidWheelFilenameError) return false;
    throw e;
  }
}

/** The parts `wheelFilename` assembles; name and version are escaped/normalised by it. */
export interface WheelFilenameParts {
  name: string;
  version: string;
  buildTag?: string | null;
  pythonTag: string;
  abiTag: string;
  platformTag: string;
}

/**
 * Assemble a valid wheel filename, escaping the name and normalising the version.
 * @example wheelFilename({name: "Foo.Bar", version: "1.0-1", pythonTag: "py3", abiTag: "none", platformTag: "any"})
 * // "foo_bar-1.0.post1-py3-none-any.whl"
 */
export function wheelFilename(parts: WheelFilenameParts): string {
  const fields = [escapeWheelName(parts.name), normaliseVersion(parts.version)];
  if (parts.buildTag) fields.push(parts.buildTag);
  fields.push(parts.pythonTag, parts.abiTag, parts.platformTag);
  const filename = fields.join("-") + ".whl";
  parseWheelFilename(filename, { strict: true });
  return filename;
}

/**
 * The filename a wheel should be published under: the same, except that a version not in PEP 440
 * normalised form is normalised (pip ≥ 25.3 refuses wheels whose version is not). With
 * `{ name: true }` the name is escaped to its normalised form too. Throws
 * `InvalidWheelFilenameError` for filenames that cannot be parsed.
 * @example normalisedWheelFilename("foo-1.0_RC1-py3-none-any.whl") // "foo-1.0rc1-py3-none-any.whl"
 */
export function normalisedWheelFilename(
  filename: string,
  options: { name?: boolean } = {},
): string {
  const w = parseWheelFilename(filename);
  const fields = [options.name ? escapeWheelName(w.name) : w.name, normaliseVersion(w.version)];
  if (w.buildTag !== null) fields.push(w.buildTag);
  fields.push(w.pythonTag, w.abiTag, w.platformTag);
  return fields.join("-") + ".whl";
}
