/**
 * Failure classes of a build, read from its output alone (pip's log plus what the slave adds):
 * piwheels 0.23 slaves send nothing else, so the master classifies every failed build itself.
 * @module
 */
import { canonicaliseName } from "../wheel/names.ts";
import { debianPackageFor } from "./debian.ts";

/** Why a build failed. */
export type FailureClass =
  /** The index has no sdist of the version (yet): only wheels, or not the version at all. */
  | "no-sdist"
  /** A build requirement (or its version) is not on the index. */
  | "dependency-missing"
  /** The index or a download could not be reached. */
  | "network"
  /** The build ran out of time and was stopped. */
  | "timeout"
  /** The build ran out of memory or was killed (SIGKILL). */
  | "out-of-memory"
  /** A header, library or `*-config` tool the build needs is not installed. */
  | "missing-library"
  /** The version does not support the builder's Python (Requires-Python). */
  | "unsupported-python"
  /** The compiler failed on the package's own code. */
  | "compiler-error"
  /** Anything else. */
  | "other";

/** Every class, in the order the pages list them. */
export const FAILURE_CLASSES: readonly FailureClass[] = [
  "no-sdist",
  "dependency-missing",
  "network",
  "timeout",
  "out-of-memory",
  "missing-library",
  "unsupported-python",
  "compiler-error",
  "other",
];

/** What each class means, for people. */
export const FAILURE_LABELS: Record<FailureClass, string> = {
  "no-sdist": "no source distribution",
  "dependency-missing": "dependency not found",
  "network": "network error",
  "timeout": "timed out",
  "out-of-memory": "out of memory / killed",
  "missing-library": "missing header or library",
  "unsupported-python": "unsupported Python",
  "compiler-error": "compiler error",
  "other": "other",
};

/** Classes that may succeed later with nothing changed: retried automatically. */
export const TRANSIENT_CLASSES: ReadonlySet<FailureClass> = new Set<FailureClass>([
  "no-sdist",
  "dependency-missing",
  "network",
  "timeout",
  "out-of-memory",
]);

/** Whether `name` is one of the classes. */
export function isFailureClass(name: string): name is FailureClass {
  return (FAILURE_CLASSES as readonly string[]).includes(name);
}

/** A classified failure. */
export interface Failure {
  failureClass: FailureClass;
  /** The missing header, library or requirement ("portaudio.h", "-lsnappy", "foo>=1"), or "". */
  detail: string;
  /** The Debian package that provides a missing header or library, when the table knows it. */
  debianPackage: string | null;
  /** The few lines of the output that show it (at most {@link MAX_LINES}). */
  lines: string;
}

/** Most lines kept to show a failure. */
export const MAX_LINES = 4;
/** Most characters kept of those lines (the database column's width). */
export const MAX_LINES_CHARS = 1000;
/** Most characters of a detail. */
export const MAX_DETAIL_CHARS = 200;

// Only the end of a long log is read: what failed is at the end, and a log may be megabytes.
const TAIL_CHARS = 64 * 1024;

const TIMEOUT_RE = /^Build timed out after .*$/m;
const MEMORY_RES = [
  /^.*\bMemoryError\b.*$/m,
  /^.*Cannot allocate memory.*$/m,
  /^.*virtual memory exhausted.*$/m,
  /^.*\bout of memory\b.*$/im,
  /^.*Killed signal terminated program.*$/m,
  /^.*exit code: -9$/m,
  /^.*exit status 137\b.*$/m,
];
const HEADER_RE = /^.*?fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory.*$/m;
const LIBRARY_RE = /^.*?(?:ld|ld\.\w+): cannot find -l([\w.+-]+).*$/m;
const CONFIG_TOOL_RES = [
  /^.*?\b(pg_config|mysql_config|xml2-config|xslt-config|pkg-config|gdal-config|geos-config|mariadb_config)\b(?: executable)? (?:not found|is required).*$/im,
  /^.*?Error: (pg_config) executable not found.*$/m,
];
const COMPILER_RES = [
  /^.*?: error: .*$/m,
  /^.*error: command '[^']*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|gfortran|x86_64-linux-gnu-gcc|arm-linux-gnueabihf-gcc|aarch64-linux-gnu-gcc)' failed.*$/m,
  /^.*error: could not compile `.*$/m,
];
const NO_MATCH_RE = /^.*No matching distribution found for (\S+).*$/m;
const IGNORED_PYTHON_RE =
  /^.*Ignored the following versions that require a different python version: (.*)$/m;
const WRONG_PYTHON_RE = /^.*Package '([^']+)' requires a different Python: .*$/m;
const NETWORK_RES = [
  /^.*\b(?:NewConnectionError|ConnectTimeoutError|ReadTimeoutError|ProxyError|SSLError)\b.*$/m,
  /^.*\b(?:Connection refused|Connection reset by peer|Temporary failure in name resolution|Name or service not known|Network is unreachable|No route to host|Read timed out)\b.*$/m,
  /^.*\b(?:RemoteDisconnected|IncompleteRead|ConnectionResetError|Max retries exceeded)\b.*$/m,
  /^.*HTTP error 5\d\d while getting.*$/m,
  /^.*Could not install packages due to an OSError: HTTP.*$/m,
  /^.*Could not fetch URL .*$/m,
];

function firstMatch(text: string, res: RegExp[]): RegExpExecArray | null {
  let best: RegExpExecArray | null = null;
  for (const re of res) {
    const m = re.exec(text);
    if (m && (best === null || m.index < best.index)) best = m;
  }
  return best;
}

function lastMatch(text: string, re: RegExp): RegExpExecArray | null {
  const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g");
  let last: RegExpExecArray | null = null;
  for (const m of text.matchAll(global)) last = m as RegExpExecArray;
  return last;
}

/** The name a requirement string is about ("foo[x]>=1.0" → "foo"), canonicalised. */
function requirementName(requirement: string): string {
  return canonicaliseName(requirement.split(/[\s<>=!~;[(@]/, 1)[0]);
}

function shown(...lines: (string | undefined | null)[]): string {
  const kept = lines.filter((l): l is string => !!l)
    // Terminal escapes and other control characters say nothing and could upset a page.
    // deno-lint-ignore no-control-regex
    .map((l) => l.trim().replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ""))
    .filter((l) => l !== "")
    .slice(0, MAX_LINES);
  return [...new Set(kept)].join("\n").slice(0, MAX_LINES_CHARS);
}

function failure(
  failureClass: FailureClass,
  lines: string,
  detail = "",
): Failure {
  detail = detail.slice(0, MAX_DETAIL_CHARS);
  const debianPackage = failureClass === "missing-library" ? debianPackageFor(detail) : null;
  return { failureClass, detail, debianPackage, lines };
}

/**
 * Classify a failed build of `pkg` `version` from its output. The checks go from the most
 * specific cause to the least: a timeout or a kill explains whatever pip said after it, a
 * missing header explains the compiler's failure, and a network error explains pip finding no
 * distribution.
 * @example classifyFailure("ERROR: No matching distribution found for foo==1.0", "foo", "1.0")
 * // { failureClass: "no-sdist", ... }
 */
export function classifyFailure(output: string, pkg: string, version: string): Failure {
  const text = output.length > TAIL_CHARS ? output.slice(-TAIL_CHARS) : output;

  const timeout = TIMEOUT_RE.exec(text);
  if (timeout) return failure("timeout", shown(timeout[0]));

  const memory = firstMatch(text, MEMORY_RES);
  if (memory) return failure("out-of-memory", shown(memory[0]));

  const header = HEADER_RE.exec(text);
  if (header) return failure("missing-library", shown(header[0]), header[1]);
  const library = LIBRARY_RE.exec(text);
  if (library) return failure("missing-library", shown(library[0]), `-l${library[1]}`);
  const tool = firstMatch(text, CONFIG_TOOL_RES);
  if (tool) return failure("missing-library", shown(tool[0]), tool[1]);

  const wrongPython = WRONG_PYTHON_RE.exec(text);
  if (wrongPython && requirementName(wrongPython[1]) === canonicaliseName(pkg)) {
    return failure("unsupported-python", shown(wrongPython[0]));
  }

  const noMatch = lastMatch(text, NO_MATCH_RE);
  const network = firstMatch(text, NETWORK_RES);
  if (noMatch) {
    if (network) return failure("network", shown(network[0], noMatch[0]));
    const wanted = noMatch[1];
    if (requirementName(wanted) !== canonicaliseName(pkg)) {
      return failure("dependency-missing", shown(noMatch[0]), wanted);
    }
    const ignored = IGNORED_PYTHON_RE.exec(text);
    if (ignored && ignoredVersions(ignored[1]).includes(version)) {
      return failure("unsupported-python", shown(ignored[0], noMatch[0]));
    }
    return failure("no-sdist", shown(noMatch[0]));
  }
  const compiler = firstMatch(text, COMPILER_RES);
  if (compiler && COMPILER_RES.slice(1).some((re) => re.test(text))) {
    return failure("compiler-error", shown(compiler[0]));
  }

  if (network && /^(?:ERROR|error)\b/m.test(text.slice(network.index))) {
    return failure("network", shown(network[0]));
  }

  return failure("other", shown(...lastErrorLines(text)));
}

// "1.0 Requires-Python >=4; 1.1 Requires-Python >=4" → ["1.0", "1.1"]
function ignoredVersions(list: string): string[] {
  return list.split(";").map((part) => part.trim().split(/\s+/, 1)[0]);
}

// The lines that say what went wrong when nothing more specific did: the last error lines of
// the build's own output (what it printed before "[end of output]"), else pip's last ERROR.
function lastErrorLines(text: string): string[] {
  const lines = text.split("\n").map((l) => l.trim());
  const end = lines.lastIndexOf("[end of output]");
  if (end > 0) {
    const own = lines.slice(0, end).reverse();
    const stop = own.findIndex((l) => /^╰─>|lines of output\]$/.test(l));
    const body = (stop < 0 ? own : own.slice(0, stop)).filter((l) => l !== "").slice(0, 2);
    if (body.length) return body.reverse();
  }
  const errors = lines.filter((l) => /^(?:ERROR|error)\b/.test(l));
  return errors.length ? errors.slice(-2) : lines.filter((l) => l !== "").slice(-2);
}
