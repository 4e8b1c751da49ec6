/**
 * Which access-log entries become lumberjack messages, per piwheels' `piw-logger` rules: only
 * GET requests answered 200 with a User-Agent; the first matching (agent, path) rule wins.
 * @module
 */
import { canonicaliseName } from "../wheel/names.ts";
import type { DownloadLog, PageLog } from "../protocols/mod.ts";
import type { LogEntry } from "./format.ts";

/** A message for the lumberjack queue. */
export type LogMessage =
  | { name: "LOGDOWNLOAD" | "LOGSEARCH" | "LOGMETADATA"; data: DownloadLog }
  | { name: "LOGPROJECT" | "LOGJSON" | "LOGPAGE"; data: PageLog };

type Outcome = LogMessage["name"] | null;

/** One rule: user-agent glob, path glob, what the hit becomes (null = ignored). */
export type Rule = [agent: string, path: string, outcome: Outcome];

/**
 * piwheels' rules, in order, plus one: pip's fetches of a wheel's PEP 658 core metadata
 * (`*.whl.metadata`, which piwheels does not serve) are neither downloads nor searches: they
 * are metadata fetches, counted apart.
 */
export const RULES: readonly Rule[] = [
  ["pip/*", "/simple/", null],
  ["*", "/project/", null],
  ["*", "/simple/*.whl", "LOGDOWNLOAD"],
  ["*", "/simple/*.whl.metadata", "LOGMETADATA"],
  ["pip/*", "/simple/*", "LOGSEARCH"],
  ["*", "/simple/*", null],
  ["*", "/project/*/json/*", "LOGJSON"],
  ["*", "/project/*", "LOGPROJECT"],
  ["*", "/", "LOGPAGE"],
  ["*", "/*.html", "LOGPAGE"],
];

/** Python fnmatch: `*` matches anything (including `/`), `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

/** A glob as a test; `*` and `prefix*` skip the regex (agents can be long). */
function globTest(glob: string): (text: string) => boolean {
  if (glob === "*") return () => true;
  const star = glob.indexOf("*");
  if (star === glob.length - 1 && !/[?[]/.test(glob)) {
    const prefix = glob.slice(0, -1);
    return (text) => text.startsWith(prefix);
  }
  const regex = globToRegExp(glob);
  return (text) => regex.test(text);
}

const COMPILED = RULES.map(([agent, path, outcome]) => ({
  agent: globTest(agent),
  path: globTest(path),
  outcome,
}));

/** What a (user agent, path) pair becomes under {@link RULES}; null when ignored. */
export function ruleFor(userAgent: string, path: string): Outcome {
  for (const rule of COMPILED) {
    if (rule.agent(userAgent) && rule.path(path)) return rule.outcome;
  }
  return null;
}

/** The client fields of a pip or uv user agent (everything after the host and time). */
export type ClientDetails = DownloadLog extends [string, string, Date, ...infer R] ? R : never;

const NO_DETAILS: ClientDetails = [null, null, null, null, null, null, null, null, null, null];
const detailsCache = new Map<string, ClientDetails>();

/** The installer's JSON from a pip/uv user agent (after the first `{`), as message fields. */
export function clientDetails(userAgent: string): ClientDetails {
  // Agents repeat across millions of lines; parsing the JSON once each is the big saving.
  const cached = detailsCache.get(userAgent);
  if (cached) return cached;
  const details = parseDetails(userAgent);
  if (detailsCache.size > 10_000) detailsCache.clear();
  detailsCache.set(userAgent, details);
  return details;
}

function parseDetails(userAgent: string): ClientDetails {
  const brace = userAgent.indexOf("{");
  if (brace < 0) return NO_DETAILS;
  let json: unknown;
  try {
    json = JSON.parse(userAgent.slice(brace));
  } catch {
    return NO_DETAILS;
  }
  if (!isObject(json)) return NO_DETAILS;
  const distro = isObject(json.distro) ? json.distro : {};
  const system = isObject(json.system) ? json.system : {};
  const impl = isObject(json.implementation) ? json.implementation : {};
  const installer = isObject(json.installer) ? json.installer : {};
  return [
    text(json.cpu),
    text(distro.name),
    text(distro.version),
    text(system.name),
    text(system.release),
    text(impl.name) ?? "CPython",
    text(impl.version) ?? text(json.python),
    text(installer.name),
    text(installer.version),
    text(json.setuptools_version),
  ];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** The user-agent summary for page hits: before the first `/`, no NULs, lower case, ≤ 200. */
export function agentSummary(userAgent: string): string {
  return userAgent.split("/", 1)[0].replaceAll("\0", "").toLowerCase().slice(0, 200);
}

/** The page name of a LOGPAGE hit: `home` for `/` and `/index.html`, else the bare name. */
export function pageName(path: string): string {
  if (path === "/" || path === "/index.html") return "home";
  return path.replaceAll("/", "").replace(/\.html$/, "");
}

/** Path component 2 (`/simple/<pkg>/…`, `/project/<pkg>/…`), canonicalised. */
function packageOf(path: string): string {
  return canonicaliseName(path.split("/")[2] ?? "");
}

/** The lumberjack message for one log entry, or null when the entry is not logged. */
export function classify(entry: LogEntry): LogMessage | null {
  const { host, time, method, path, status, userAgent } = entry;
  if (status !== 200 || method !== "GET" || !userAgent) return null;
  if (host === undefined || time === undefined || path === undefined) return null;
  const outcome = ruleFor(userAgent, path);
  switch (outcome) {
    case null:
      return null;
    case "LOGDOWNLOAD": {
      const filename = path.slice(path.lastIndexOf("/") + 1);
      return { name: outcome, data: [filename, host, time, ...clientDetails(userAgent)] };
    }
    case "LOGMETADATA": {
      // The wheel's name: what the metadata describes, and what `files` knows.
      const filename = path.slice(path.lastIndexOf("/") + 1, -".metadata".length);
      return { name: outcome, data: [filename, host, time, ...clientDetails(userAgent)] };
    }
    case "LOGSEARCH":
      return { name: outcome, data: [packageOf(path), host, time, ...clientDetails(userAgent)] };
    case "LOGJSON":
    case "LOGPROJECT":
      return { name: outcome, data: [packageOf(path), host, time, agentSummary(userAgent)] };
    case "LOGPAGE":
      return { name: outcome, data: [pageName(path), host, time, agentSummary(userAgent)] };
  }
}
