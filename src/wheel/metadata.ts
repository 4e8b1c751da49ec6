/**
 * Core metadata (`METADATA`, `PKG-INFO`) and `WHEEL` files: RFC 822-style headers, parsed the
 * way Python's email parser reads them, plus the PEP 508 requirement names piw records.
 * @module
 */
import { canonicaliseName } from "./names.ts";

/** Headers of an RFC 822-style file, in order, names as written. */
export class Headers822 {
  constructor(readonly entries: [string, string][], readonly body: string) {}

  /** The first value of header `name` (case-insensitive), or undefined. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.entries.find(([k]) => k.toLowerCase() === lower)?.[1];
  }

  /** Every value of header `name` (case-insensitive), in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.entries.filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v);
  }
}

/**
 * Parse RFC 822-style headers; continuation lines (leading space or tab) are joined to the
 * previous value with a newline, as Python's email parser keeps them. Headers end at the first
 * blank line; the rest is the body (the long description in METADATA).
 */
export function parseHeaders(input: string | Uint8Array): Headers822 {
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  const lines = text.split(/\r?\n/);
  const entries: [string, string][] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") {
      i++;
      break;
    }
    if (/^[ \t]/.test(line) && entries.length) {
      entries[entries.length - 1][1] += "\n" + line;
      continue;
    }
    const m = /^([^\s:]+):[ \t]*(.*)$/.exec(line);
    if (!m) break; // not a header: the body starts here, as with Python's parser
    entries.push([m[1], m[2]]);
  }
  return new Headers822(entries, lines.slice(i).join("\n"));
}

/** The fields of core metadata piw uses, plus all headers. */
export interface CoreMetadata {
  metadataVersion: string | null;
  name: string | null;
  version: string | null;
  /** `Requires-Python`, trimmed, or null when absent. */
  requiresPython: string | null;
  /** Every `Requires-Dist` value as written. */
  requiresDist: string[];
  headers: Headers822;
}

/** Parse a METADATA (or PKG-INFO) file. */
export function parseMetadata(input: string | Uint8Array): CoreMetadata {
  const headers = parseHeaders(input);
  const one = (k: string) => headers.get(k)?.trim() ?? null;
  return {
    metadataVersion: one("Metadata-Version"),
    name: one("Name"),
    version: one("Version"),
    requiresPython: one("Requires-Python"),
    requiresDist: headers.getAll("Requires-Dist").map((v) => v.trim()),
    headers,
  };
}

/** The `WHEEL` file of a wheel. */
export interface WheelFileInfo {
  wheelVersion: string | null;
  generator: string | null;
  rootIsPurelib: boolean | null;
  /** Every `Tag` value (`py3-none-any`). */
  tags: string[];
  build: string | null;
  headers: Headers822;
}

/** Parse a wheel's `WHEEL` file. */
export function parseWheelFile(input: string | Uint8Array): WheelFileInfo {
  const headers = parseHeaders(input);
  const one = (k: string) => headers.get(k)?.trim() ?? null;
  const purelib = one("Root-Is-Purelib");
  return {
    wheelVersion: one("Wheel-Version"),
    generator: one("Generator"),
    rootIsPurelib: purelib === null ? null : purelib.toLowerCase() === "true",
    tags: headers.getAll("Tag").map((t) => t.trim()),
    build: one("Build"),
    headers,
  };
}

/** The parts of a PEP 508 requirement piw cares about. */
export interface Requirement {
  name: string;
  extras: string[];
  /** Version specifier or `@ url` part, as written (trimmed), possibly empty. */
  specifier: string;
  /** The environment marker after `;`, trimmed, or null. */
  marker: string | null;
}

const REQ_NAME = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*/;
// Comma-separated version clauses, optionally in parentheses (the older METADATA spelling).
const SPECIFIER = /^\(?\s*(?:(?:===|[<>!=~]=?)\s*[A-Za-z0-9._*+!-]+\s*,?\s*)+\)?$/;

/**
 * Parse a PEP 508 requirement loosely (name, extras, specifier, marker); returns null when it is
 * malformed. Specifiers and markers are not validated beyond their shape.
 * @example parseRequirement("Foo[bar] (>=1.0) ; extra == 'x'")?.name // "Foo"
 */
export function parseRequirement(text: string): Requirement | null {
  const m = REQ_NAME.exec(text);
  if (!m) return null;
  let rest = text.slice(m[0].length);
  let extras: string[] = [];
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return null;
    extras = rest.slice(1, close).split(",").map((s) => s.trim()).filter((s) => s);
    if (extras.some((e) => !/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(e))) return null;
    rest = rest.slice(close + 1).trimStart();
  }
  let marker: string | null = null;
  let specifier: string;
  if (rest.startsWith("@")) {
    // In a URL requirement the marker needs whitespace before `;` (URLs may contain `;`).
    const semi = rest.search(/\s;/);
    specifier = (semi < 0 ? rest : rest.slice(0, semi)).trim();
    if (semi >= 0) marker = rest.slice(semi).trim().slice(1).trim();
  } else {
    const semi = rest.indexOf(";");
    specifier = (semi < 0 ? rest : rest.slice(0, semi)).trim();
    if (semi >= 0) marker = rest.slice(semi + 1).trim();
    if (specifier && !SPECIFIER.test(specifier)) {
      return null;
    }
  }
  if (marker === "") return null;
  return { name: m[1], extras, specifier, marker };
}

/**
 * The pip dependencies piwheels records from `Requires-Dist`: canonical names, skipping malformed
 * requirements, those whose marker involves `extra` (optional), and names over 255 characters;
 * sorted, without duplicates.
 */
export function pipDependencies(requiresDist: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const text of requiresDist) {
    const req = parseRequirement(text);
    if (!req || (req.marker && /\bextra\b/.test(req.marker))) continue;
    const name = canonicaliseName(req.name);
    if (name.length <= 255) names.add(name);
  }
  return [...names].sort();
}
