/**
 * Inspection of a freshly built wheel: everything the BUILT message says about one file.
 * @module
 */
import { createHash } from "node:crypto";
import type { Dependencies, FileStateTuple } from "../protocols/mod.ts";
import type { WheelFacts } from "../wheel/facts.ts";
import { parseWheelFilename } from "../wheel/filename.ts";
import { pipDependencies } from "../wheel/metadata.ts";
import { readWheelInfo } from "../wheel/wheelfile.ts";
import { libraryDependencies } from "./deps.ts";

/** One built wheel, described as a file_state of the BUILT message needs. */
export interface BuiltFile extends WheelFacts {
  /** Where the wheel is on the slave (not sent; for the transfer). */
  path: string;
  /** `Requires-Dist` values as written in METADATA. */
  requiresDist: string[];
  /** Tool → sorted dependency names: "apt", "pip" and "" (orphan libraries); empty lists left out. */
  dependencies: Dependencies;
  /** Where the file is served from; the slave always says "/simple". */
  location: string;
}

/** A built file as the 11-field file_state of the BUILT message. */
export function fileStateTuple(f: BuiltFile): FileStateTuple {
  return [
    f.filename,
    f.filesize,
    f.filehash,
    f.packageTag,
    f.packageVersionTag,
    f.pyVersionTag,
    f.abiTag,
    f.platformTag,
    f.requiresPython,
    f.dependencies,
    f.location,
  ];
}

/** The sha256 of a file as lowercase hex, read in chunks. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Inspect the wheel at `path`: size, hash, filename tags, METADATA and dependencies.
 * `workDir` is scratch space for extracted libraries (the caller removes it). Throws
 * `InvalidWheelFilenameError`, `BadWheelError` or `ZipError` for a wheel that cannot be used.
 * With `python` (the target interpreter), library dependencies are looked up through it.
 */
export async function inspectWheel(
  path: string,
  workDir: string,
  signal?: AbortSignal,
  python?: string,
): Promise<BuiltFile> {
  const filename = path.slice(path.lastIndexOf("/") + 1);
  const w = parseWheelFilename(filename, { allowLegacyVersion: true });
  const info = await readWheelInfo(path, { project: w.name, version: w.version });
  const libs = await libraryDependencies(path, workDir, signal, python);
  const dependencies: Dependencies = {};
  if (libs.apt.length) dependencies.apt = libs.apt;
  const pip = pipDependencies(info.metadata.requiresDist);
  if (pip.length) dependencies.pip = pip;
  if (libs.orphans.length) dependencies[""] = libs.orphans;
  return {
    path,
    filename,
    filesize: (await Deno.stat(path)).size,
    filehash: await fileSha256(path),
    packageTag: w.name,
    packageVersionTag: w.version,
    pyVersionTag: w.pythonTag,
    // "noabi" was retired for "none"; piwheels rewrites it the same way.
    abiTag: w.abiTag === "noabi" ? "none" : w.abiTag,
    platformTag: w.platformTag,
    requiresPython: info.metadata.requiresPython,
    requiresDist: info.metadata.requiresDist,
    dependencies,
    location: "/simple",
  };
}
