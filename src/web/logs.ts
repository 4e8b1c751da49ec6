/**
 * Build logs: `logs/AAAA/BBBB/CCCC.txt.gz`, where the build id is AAAA·10⁸ + BBBB·10⁴ + CCCC
 * (each part zero-padded to four digits), gzipped UTF-8, written once.
 * @module
 */
import { gzipSync } from "node:zlib";
import { writeFileExclusive } from "./atomic.ts";

/** The path of a build's log below the output root, e.g. `logs/0000/1571/2701.txt.gz`. */
export function logPath(buildId: number): string {
  if (!Number.isSafeInteger(buildId) || buildId < 0) {
    throw new RangeError(`invalid build id ${buildId}`);
  }
  const pad = (n: number) => String(n).padStart(4, "0");
  const top = Math.floor(buildId / 1e8);
  const middle = Math.floor(buildId / 1e4) % 1e4;
  return `logs/${pad(top)}/${pad(middle)}/${pad(buildId % 1e4)}.txt.gz`;
}

/** The URL of a build's log. */
export function logUrl(buildId: number): string {
  return `/${logPath(buildId)}`;
}

/** The log directory made last: 10,000 builds share one, so it is made once, not per log. */
let lastDir = "";

/**
 * Write the log of build `buildId` below `root` (creating its directories); throws
 * `Deno.errors.AlreadyExists` if that build's log was written before (and nothing else does:
 * a log's pending output is forgotten on it).
 */
export function writeBuildLog(root: string, buildId: number, output: string): string {
  const path = `${root}/${logPath(buildId)}`;
  const dir = path.slice(0, path.lastIndexOf("/"));
  const data = gzipSync(new TextEncoder().encode(output));
  if (dir === lastDir) {
    try {
      writeLogFile(path, data);
      return path;
    } catch (error) {
      // Removed behind our back (an audit, an operator): made again below.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (error) {
    // Something that is not a directory is in the way: not the log existing already.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    throw new Error(`cannot make ${dir}: ${(error as Error).message}`);
  }
  lastDir = dir;
  writeLogFile(path, data);
  return path;
}

/** Create the log file `path`; what is in its place already counts as the log only if a file. */
function writeLogFile(path: string, data: Uint8Array): void {
  try {
    writeFileExclusive(path, data);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists && !Deno.lstatSync(path).isFile) {
      throw new Error(`cannot write ${path}: something that is not a file is in the way`);
    }
    throw error;
  }
}
