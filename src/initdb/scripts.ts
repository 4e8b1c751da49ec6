/**
 * The SQL scripts `piw initdb` runs: splitting a script into statements, and finding the chain
 * of `update_<from>_<to>.sql` steps from a database's version to piw's.
 * @module
 */
import { PiwError } from "../errors.ts";

/** The scripts shipped with piw: `sql/` at the top of the source tree (or compiled binary). */
export const DEFAULT_SQL_DIR: URL = new URL("../../sql/", import.meta.url);

/** The script that creates the current schema in an empty database. */
export const CREATE_SCRIPT = "create_piw.sql";

const UPDATE_SCRIPT = /^update_(.+)_(.+)\.sql$/;

/** One statement of a script, with the line it starts on (for error messages). */
export interface Statement {
  text: string;
  line: number;
}

/**
 * Split a PostgreSQL script on the semicolons that end statements. Understands `--` and nested
 * `/* *\/` comments, `'strings'` (with `''`), `E'strings'` (with backslash escapes),
 * `"identifiers"` and `$tag$ bodies $tag$`. Statements that hold only comments are dropped.
 */
export function splitStatements(script: string): Statement[] {
  const statements: Statement[] = [];
  let start = -1;
  let i = 0;
  const push = (end: number) => {
    if (start >= 0) {
      const line = script.slice(0, start).split("\n").length;
      statements.push({ text: script.slice(start, end).trim(), line });
    }
    start = -1;
  };
  while (i < script.length) {
    const c = script[i];
    if (c === "-" && script[i + 1] === "-") {
      const end = script.indexOf("\n", i);
      i = end < 0 ? script.length : end + 1;
      continue;
    }
    if (c === "/" && script[i + 1] === "*") {
      i = skipBlockComment(script, i);
      continue;
    }
    if (c === ";") {
      push(i);
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (start < 0) start = i;
    if (c === "'") {
      const escapes = /[eE]/.test(script[i - 1] ?? "") && !/[\w$]/.test(script[i - 2] ?? "");
      i = skipQuoted(script, i, "'", escapes);
    } else if (c === '"') {
      i = skipQuoted(script, i, '"', false);
    } else if (c === "$" && !/[\w$]/.test(script[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64))?.[0];
      if (tag) {
        const end = script.indexOf(tag, i + tag.length);
        if (end < 0) throw new PiwError(`Unterminated ${tag} body in SQL script`);
        i = end + tag.length;
      } else {
        i++;
      }
    } else {
      i++;
    }
  }
  push(script.length);
  return statements;
}

function skipQuoted(script: string, i: number, quote: string, escapes: boolean): number {
  for (i++; i < script.length; i++) {
    if (escapes && script[i] === "\\") {
      i++;
    } else if (script[i] === quote) {
      if (script[i + 1] !== quote) return i + 1;
      i++;
    }
  }
  throw new PiwError(`Unterminated ${quote} in SQL script`);
}

function skipBlockComment(script: string, i: number): number {
  let depth = 0;
  while (i < script.length) {
    if (script.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (script.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new PiwError("Unterminated /* comment in SQL script");
}

/** The upgrade steps in a directory: from-version to `{to, file}`. */
export async function readUpdateSteps(
  dir: URL | string,
): Promise<Map<string, { to: string; file: string }>> {
  const steps = new Map<string, { to: string; file: string }>();
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? UPDATE_SCRIPT.exec(entry.name) : null;
    if (!match) continue;
    const [, from, to] = match;
    const other = steps.get(from);
    if (other) {
      throw new PiwError(
        `Two upgrade steps start at version ${from}: ${other.file}, ${entry.name}`,
      );
    }
    steps.set(from, { to, file: entry.name });
  }
  return steps;
}

/**
 * The script files that take a database from version `from` to `to`, in order. Throws
 * `PiwError` when the steps do not reach `to` (like piwheels, the walk never backtracks).
 */
export function planUpgrade(
  steps: Map<string, { to: string; file: string }>,
  from: string,
  to: string,
): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  for (let version = from; version !== to;) {
    const step = steps.get(version);
    if (!step || seen.has(version)) {
      throw new PiwError(`Unable to find an upgrade path from version ${from} to ${to}`);
    }
    seen.add(version);
    files.push(step.file);
    version = step.to;
  }
  return files;
}

/** Read a script from the SQL directory and split it into statements. */
export async function loadScript(dir: URL | string, file: string): Promise<Statement[]> {
  const path = typeof dir === "string"
    ? `${dir.replace(/\/+$/, "")}/${file}`
    : new URL(file, dir.href.endsWith("/") ? dir : `${dir.href}/`);
  return splitStatements(await Deno.readTextFile(path));
}
