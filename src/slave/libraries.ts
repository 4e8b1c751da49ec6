/**
 * Which of the headers, libraries and tools of the Debian table (`src/failures/debian.ts`) this
 * slave's toolchain finds, for the HAVE message (`slaveExtrasProtocol`): the master retries the
 * missing-library failures of the slave's ABI that name one of them. Cheap and bounded: a few
 * `stat` calls per name in a fixed list of directories (no compiler, no ldconfig), so it runs on
 * every HELLO.
 * @module
 */
import { KNOWN_NAMES } from "../failures/debian.ts";
import type { InterpreterFacts } from "../system/facts.ts";

/** At most this many directories of each search path are looked in (a path is operator input). */
const MAX_DIRS = 32;

/** The directories the compiler, the linker and the shell search, in order, without repeats. */
export interface SearchDirs {
  headers: string[];
  libraries: string[];
  tools: string[];
}

function pathList(value: string | undefined): string[] {
  return (value ?? "").split(":").filter((d) => d.startsWith("/")).slice(0, MAX_DIRS);
}

function unique(dirs: string[]): string[] {
  return [...new Set(dirs.filter((d) => d !== ""))];
}

/**
 * Where the target toolchain looks: headers in CPATH/C_INCLUDE_PATH, the interpreter's include
 * dirs, /usr/local/include, /usr/include and its multiarch dir; libraries in LIBRARY_PATH, the
 * interpreter's LIBDIR and the standard (and multiarch) lib dirs; tools on PATH.
 */
export function searchDirs(
  facts: Pick<InterpreterFacts, "includeDirs" | "multiarch" | "libDir">,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): SearchDirs {
  const arch = facts.multiarch;
  const archDirs = (dirs: string[]) => arch ? dirs.flatMap((d) => [`${d}/${arch}`, d]) : dirs;
  return {
    headers: unique([
      ...pathList(env.CPATH),
      ...pathList(env.C_INCLUDE_PATH),
      ...facts.includeDirs,
      "/usr/local/include",
      ...archDirs(["/usr/include"]),
    ]),
    libraries: unique([
      ...pathList(env.LIBRARY_PATH),
      facts.libDir,
      ...archDirs(["/usr/local/lib", "/usr/lib", "/lib"]),
      "/usr/lib64",
      "/lib64",
    ]),
    tools: unique(pathList(env.PATH)),
  };
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Whether `name` (a header, "-l<lib>" or a tool) is found in `dirs`. */
export function hasName(name: string, dirs: SearchDirs): boolean {
  if (name.startsWith("-l")) {
    const lib = name.slice(2);
    return dirs.libraries.some((d) => exists(`${d}/lib${lib}.so`) || exists(`${d}/lib${lib}.a`));
  }
  if (name.endsWith(".h")) return dirs.headers.some((d) => exists(`${d}/${name}`));
  return dirs.tools.some((d) => exists(`${d}/${name}`));
}

/** The names of the Debian table this slave's toolchain finds, in the table's order. */
export function librariesFound(dirs: SearchDirs): string[] {
  return KNOWN_NAMES.filter((name) => hasName(name, dirs));
}
