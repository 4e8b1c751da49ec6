/**
 * PEP 440 versions: parsing, the normalised string form, and ordering (as `packaging.version`).
 * Numbers are bigints because PyPI has release segments beyond 2^53 (date stamps and worse).
 * @module
 */
import { InvalidVersionError } from "./errors.ts";

/** A pre-release kind in normalised spelling. */
export type PreLabel = "a" | "b" | "rc";

/** A parsed PEP 440 version. */
export interface Version {
  epoch: bigint;
  release: bigint[];
  pre: [PreLabel, bigint] | null;
  post: bigint | null;
  dev: bigint | null;
  /** Local segments, lowercased; all-digit segments are numbers (they compare numerically). */
  local: (string | bigint)[] | null;
}

// The packaging.version pattern, anchored, without possessive quantifiers (JS has none).
const VERSION_RE = new RegExp(
  "^\\s*v?" +
    "(?:(\\d+)!)?" + // epoch
    "(\\d+(?:\\.\\d+)*)" + // release
    "(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\\d+)?)?" + // pre
    "(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d+)?)?" + // post
    "(?:[-_.]?(dev)[-_.]?(\\d+)?)?" + // dev
    "(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?" + // local
    "\\s*$",
  "i",
);

const PRE_LABELS: Record<string, PreLabel> = {
  a: "a",
  alpha: "a",
  b: "b",
  beta: "b",
  c: "rc",
  rc: "rc",
  pre: "rc",
  preview: "rc",
};

/** Parse a PEP 440 version, or return null when the string is not one. */
export function tryParseVersion(text: string): Version | null {
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  const [, epoch, release, preL, preN, postN1, postL, postN2, devL, devN, local] = m;
  return {
    epoch: epoch ? BigInt(epoch) : 0n,
    release: release.split(".").map(BigInt),
    pre: preL ? [PRE_LABELS[preL.toLowerCase()], BigInt(preN ?? 0)] : null,
    post: postN1 !== undefined ? BigInt(postN1) : postL ? BigInt(postN2 ?? 0) : null,
    dev: devL ? BigInt(devN ?? 0) : null,
    local: local
      ? local.toLowerCase().split(/[-_.]/).map((s) => /^\d+$/.test(s) ? BigInt(s) : s)
      : null,
  };
}

/** Parse a PEP 440 version; throws `InvalidVersionError` naming the string otherwise. */
export function parseVersion(text: string): Version {
  const v = tryParseVersion(text);
  if (!v) throw new InvalidVersionError(`Invalid PEP 440 version: ${JSON.stringify(text)}`);
  return v;
}

/** Whether `text` is a valid PEP 440 version (in any accepted spelling). */
export function isValidVersion(text: string): boolean {
  return VERSION_RE.test(text);
}

/** The normalised string of a parsed version (`str(packaging.version.Version(...))`). */
export function formatVersion(v: Version): string {
  let s = v.epoch !== 0n ? `${v.epoch}!` : "";
  s += v.release.join(".");
  if (v.pre) s += `${v.pre[0]}${v.pre[1]}`;
  if (v.post !== null) s += `.post${v.post}`;
  if (v.dev !== null) s += `.dev${v.dev}`;
  if (v.local) s += `+${v.local.join(".")}`;
  return s;
}

/**
 * The PEP 440 normalised form of a version string; throws `InvalidVersionError` if invalid.
 * @example normaliseVersion("1.0-Beta.2_post-3") // "1.0b2.post3"
 */
export function normaliseVersion(text: string): string {
  return formatVersion(parseVersion(text));
}

/** Whether `text` is a valid version already in its normalised form. */
export function isNormalisedVersion(text: string): boolean {
  const v = tryParseVersion(text);
  return v !== null && formatVersion(v) === text;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const PRE_ORDER: Record<PreLabel, number> = { a: 0, b: 1, rc: 2 };

// Pre-release rank: a dev-only release sorts before any pre-release of the same release,
// a final release after all of them (packaging's _cmpkey uses -inf/+inf the same way).
function preRank(v: Version): [number, bigint] {
  if (v.pre) return [PRE_ORDER[v.pre[0]], v.pre[1]];
  return v.post === null && v.dev !== null ? [-1, 0n] : [3, 0n];
}

function compareLocal(a: (string | bigint)[] | null, b: (string | bigint)[] | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i], y = b[i];
    if (typeof x === "bigint" && typeof y === "bigint") {
      if (x !== y) return cmp(x, y);
    } else if (typeof x === "bigint") return 1; // numeric segments outrank alphanumeric ones
    else if (typeof y === "bigint") return -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Compare two versions by PEP 440 ordering: negative, zero or positive like a sort comparator. */
export function compareVersions(a: Version | string, b: Version | string): number {
  const x = typeof a === "string" ? parseVersion(a) : a;
  const y = typeof b === "string" ? parseVersion(b) : b;
  let c = cmp(x.epoch, y.epoch);
  if (c) return c;
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const n = Math.max(x.release.length, y.release.length);
  for (let i = 0; i < n; i++) {
    c = cmp(x.release[i] ?? 0n, y.release[i] ?? 0n);
    if (c) return c;
  }
  const [xp, xn] = preRank(x), [yp, yn] = preRank(y);
  if (xp !== yp) return xp - yp;
  c = cmp(xn, yn);
  if (c) return c;
  if (x.post !== y.post) {
    if (x.post === null || y.post === null) return x.post === null ? -1 : 1;
    return cmp(x.post, y.post);
  }
  if (x.dev !== y.dev) {
    if (x.dev === null || y.dev === null) return x.dev === null ? 1 : -1;
    return cmp(x.dev, y.dev);
  }
  return compareLocal(x.local, y.local);
}

/** Whether a version is a pre-release (has a pre or dev segment), as pip judges it. */
export function isPrerelease(v: Version | string): boolean {
  const x = typeof v === "string" ? parseVersion(v) : v;
  return x.pre !== null || x.dev !== null;
}

/**
 * Sort version strings newest first. Strings that are not PEP 440 (legacy PyPI versions) sort
 * after every valid one, among themselves in reverse code-point order, so the result is total.
 * @example sortVersionsNewestFirst(["1.0", "2.0rc1", "1.10"]) // ["2.0rc1", "1.10", "1.0"]
 */
export function sortVersionsNewestFirst(versions: Iterable<string>): string[] {
  const keyed = [...versions].map((s) => ({ s, v: tryParseVersion(s) }));
  keyed.sort((a, b) => {
    if (a.v && b.v) return compareVersions(b.v, a.v) || (a.s < b.s ? 1 : a.s > b.s ? -1 : 0);
    if (a.v || b.v) return a.v ? -1 : 1;
    return a.s < b.s ? 1 : a.s > b.s ? -1 : 0;
  });
  return keyed.map((k) => k.s);
}
