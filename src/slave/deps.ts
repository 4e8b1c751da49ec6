/**
 * The Debian packages a built wheel needs at run time: the shared libraries its ELF objects
 * link to (`ldd`), and the packages owning those files (`dpkg-query -S`). Libraries no package
 * owns are reported as orphans (tool "").
 *
 * Given the target interpreter, `ldd`, `dpkg-query` and path resolution run through it, so a
 * slave driving a 32-bit chroot (`--python` wrapper) asks the chroot's own loader and package
 * database, not the host's.
 * @module
 */
import { getLogger } from "../log.ts";
import { ZipReader } from "../wheel/zip.ts";

const log = getLogger("slave.deps");
const LDD_TIMEOUT_MS = 30_000;
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
// Replaces the interpreter with the command in its argv: the command runs wherever the
// interpreter runs (inside its chroot, say).
const EXEC_SNIPPET = "import os, sys; os.execvp(sys.argv[1], sys.argv[1:])";
const REALPATH_SNIPPET = "import os, sys\n" +
  "for p in sys.argv[1:]: print(os.path.realpath(p) if os.path.exists(p) else '')";
// Directories usrmerge made into symlinks: dpkg knows a file by the path its package shipped.
const MERGED_DIRS = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/** Whether a wheel member may be a shared library (the names piwheels considers). */
export function isSharedLibraryName(name: string): boolean {
  return name.endsWith(".so") || name.includes(".so.");
}

/**
 * Extract the wheel's ELF shared objects under `destDir` (keeping their relative paths, so
 * `$ORIGIN` rpaths still resolve) and return their paths. Members whose names could escape
 * `destDir` are skipped.
 */
export async function extractSharedLibraries(
  wheelPath: string,
  destDir: string,
): Promise<string[]> {
  const zip = await ZipReader.open(wheelPath);
  const paths: string[] = [];
  try {
    for (const entry of zip.entries) {
      if (entry.isDirectory || !isSharedLibraryName(entry.name)) continue;
      const parts = entry.name.split("/");
      if (entry.name.startsWith("/") || parts.some((p) => p === ".." || p === "" || p === ".")) {
        log.warning(`${wheelPath}: skipping suspicious member ${JSON.stringify(entry.name)}`);
        continue;
      }
      const data = await zip.read(entry, { maxSize: 2 ** 31 });
      if (!ELF_MAGIC.every((b, i) => data[i] === b)) continue;
      const path = `${destDir}/${entry.name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, data, { mode: 0o755 });
      paths.push(path);
    }
  } finally {
    zip.close();
  }
  return paths;
}

/** A command run on the host, or through the target interpreter `python` when given. */
function targetCommand(
  python: string | undefined,
  argv: string[],
  signal?: AbortSignal,
): Deno.Command {
  const [program, args] = python
    ? [python, ["-c", EXEC_SNIPPET, ...argv]]
    : [argv[0], argv.slice(1)];
  return new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  });
}

/**
 * The real paths (symlinks resolved) of `paths` as the target sees them; "" for a path that
 * does not exist there.
 */
async function realPaths(paths: string[], python?: string): Promise<string[]> {
  if (!python) {
    return await Promise.all(paths.map((p) => Deno.realPath(p).catch(() => "")));
  }
  if (!paths.length) return [];
  const out = await new Deno.Command(python, {
    args: ["-c", REALPATH_SNIPPET, ...paths],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${python} could not resolve library paths: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout).split("\n").slice(0, paths.length);
}

/**
 * The libraries `lib` loads, as real paths (symlinks resolved); libraries ldd cannot find are
 * left out, as piwheels does. Returns [] when ldd fails (not a dynamic object, say). With
 * `python`, ldd runs through that interpreter (in its chroot, say).
 */
export async function linkedLibraries(
  lib: string,
  signal?: AbortSignal,
  python?: string,
): Promise<string[]> {
  const timeout = AbortSignal.timeout(LDD_TIMEOUT_MS);
  const out = await targetCommand(
    python,
    ["ldd", lib],
    signal ? AbortSignal.any([signal, timeout]) : timeout,
  ).output();
  if (!out.success) return [];
  const named: string[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^\s*(.*)\s=>\s(\/.*)\s\(0x[0-9a-fA-F]+\)$/.exec(line);
    if (m) named.push(m[2]);
  }
  // A file ldd named that does not exist has nothing to attribute.
  return (await realPaths(named, python)).filter((p) => p !== "");
}

// Every spelling of `path` dpkg might have recorded, the path itself first.
function pathAliases(path: string): string[] {
  const aliases = [path];
  for (const d of MERGED_DIRS) {
    if (path.startsWith(`/usr/${d}/`)) aliases.push(path.slice(4));
    else if (path.startsWith(`/${d}/`)) aliases.push(`/usr${path}`);
  }
  return aliases;
}

/**
 * The Debian package owning each path (architecture qualifiers removed), for paths some
 * installed package owns. Empty when dpkg is not available.
 */
export async function packageOwners(
  paths: string[],
  signal?: AbortSignal,
  python?: string,
): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  if (!paths.length) return owners;
  const queries = [...new Set(paths.flatMap(pathAliases))];
  let out: Deno.CommandOutput;
  try {
    // Without wildcards an absolute pattern is an exact match; escape any that occur.
    const patterns = queries.map((q) => q.replace(/[*?[\\]/g, "\\$&"));
    out = await targetCommand(python, ["dpkg-query", "-S", ...patterns], signal).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return owners;
    throw e;
  }
  const byQuery = new Map<string, string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line.startsWith("diversion by ")) continue;
    const m = /^(.+?): (\/.*)$/.exec(line);
    if (m) byQuery.set(m[2], m[1].split(",")[0].trim().replace(/:.*$/, ""));
  }
  for (const path of paths) {
    const owner = pathAliases(path).map((a) => byQuery.get(a)).find((o) => o !== undefined);
    if (owner !== undefined) owners.set(path, owner);
  }
  return owners;
}

/** Apt dependencies and orphan library paths of a wheel, as sorted lists. */
export interface LibraryDependencies {
  apt: string[];
  orphans: string[];
}

/**
 * Work out which Debian packages the wheel's shared libraries need, extracting them under
 * `workDir` (which the caller removes). With `python`, the target interpreter is asked (its
 * chroot must see `workDir` at the same path, as schroot's bind mount of /tmp gives).
 */
export async function libraryDependencies(
  wheelPath: string,
  workDir: string,
  signal?: AbortSignal,
  python?: string,
): Promise<LibraryDependencies> {
  const libs = await extractSharedLibraries(wheelPath, workDir);
  const linked = new Set<string>();
  for (const lib of libs) {
    signal?.throwIfAborted();
    for (const path of await linkedLibraries(lib, signal, python)) linked.add(path);
  }
  // Libraries the wheel ships itself are not dependencies.
  const own = new Set(await realPaths(libs, python));
  const needed = [...linked].filter((p) => !own.has(p));
  const owners = await packageOwners(needed, signal, python);
  const apt = new Set<string>(), orphans = new Set<string>();
  for (const path of needed) {
    const owner = owners.get(path);
    if (owner) apt.add(owner);
    else orphans.add(path);
  }
  return { apt: [...apt].sort(), orphans: [...orphans].sort() };
}
