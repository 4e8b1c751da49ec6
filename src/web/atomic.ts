/**
 * Writing the web tree so that a reader (Apache, pip) never sees a half-written file: every file
 * is written to a temporary name in the same directory, given mode 0644, then renamed over the
 * target (rename within a directory is atomic on POSIX file systems). The calls are synchronous:
 * the scribe writes one thing at a time, and the sync ops are several times cheaper per file
 * than their async twins, which matters when 100,000 projects are rewritten.
 *
 * Nothing here calls fsync, on purpose. Atomicity against readers needs only the rename; fsync
 * adds durability across a power cut, and costs a journal commit per file (a full rewrite makes
 * 400,000 files). Everything written here is regenerable from the database (`piw rebuild`),
 * so a page lost or emptied by a crash is repaired by rewriting it. Wheels are different: they
 * cannot be regenerated, and FileJuggler publishes them (`src/master/publish.ts`), not these
 * helpers.
 * @module
 */

const encoder = new TextEncoder();

/** Mode of every published file (piwheels' AtomicReplaceFile). */
export const FILE_MODE = 0o644;

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

function dirAndBase(path: string): [string, string] {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? [".", path] : [path.slice(0, slash) || "/", path.slice(slash + 1)];
}

/**
 * Write `data` to a new temporary file beside `path` (a dot-file, which the Apache config
 * refuses to serve) with mode 0644 whatever the umask; returns its path.
 */
function writeTemp(path: string, data: Uint8Array): string {
  const [dir, base] = dirAndBase(path);
  for (;;) {
    const temp = `${dir}/.${base}.${Math.random().toString(36).slice(2, 10)}.tmp`;
    try {
      // Deno applies `mode` with fchmod after opening ("always applied"), so the umask cannot
      // mask it and no separate chmod is needed: one metadata write less per file.
      Deno.writeFileSync(temp, data, { createNew: true, mode: FILE_MODE });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      // A full disk fails the write after the file was made: leave no empty temporary behind.
      removeQuietly(temp);
      throw error;
    }
    return temp;
  }
}

/** Remove a temporary file after a failure, keeping that failure as the one reported. */
function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Gone already, or the directory itself is unusable: the first error says why.
  }
}

/** How {@link writeTemp} names its temporary files (so leftovers can be recognised). */
const TEMP_NAME = /^\..+\.[0-9a-z]{1,8}\.tmp$/;

/**
 * Remove temporary files of this module's naming (`.<name>.<random>.tmp`) last modified before
 * `before` from `dir` (not its subdirectories): what a writer killed between write and rename
 * left. Returns how many were removed; a missing directory has none.
 */
export function removeStaleTemps(dir: string, before: Date): number {
  let removed = 0;
  let entries;
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isFile || !TEMP_NAME.test(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    try {
      const mtime = Deno.lstatSync(path).mtime;
      if (mtime && mtime < before && removeFile(path)) removed++;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return removed;
}

/**
 * Replace `path` atomically with `data` (text is written as UTF-8); the directory must exist.
 * @example writeFileAtomic("/var/www/simple/index.html", html);
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temp = writeTemp(path, toBytes(data));
  try {
    Deno.renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
}

/**
 * Whether `old` is `text` but for the time of writing: where `text` holds `stamp`, `old` may
 * hold any other text of the same length (an earlier stamp); everywhere else they are equal.
 */
export function sameButStamp(old: string, text: string, stamp: string): boolean {
  if (old.length !== text.length) return false;
  if (!stamp) return old === text;
  let from = 0;
  for (let at = text.indexOf(stamp); at >= 0; at = text.indexOf(stamp, from)) {
    if (old.slice(from, at) !== text.slice(from, at)) return false;
    from = at + stamp.length;
  }
  return old.slice(from) === text.slice(from);
}

const decoder = new TextDecoder();

/**
 * {@link writeFileAtomic}, unless `path` holds `text` already apart from the time of writing
 * (`stamp`, see {@link sameButStamp}); true if it wrote. An unchanged page keeps its mtime, so
 * web caches and mirrors keep their copies, and a rebuild of the whole site costs a read per
 * unchanged page instead of a create, a rename and a freed inode, which is what a busy disk is
 * slow at. The page's own "last updated" then says when its content last changed.
 */
export function writeTextIfChanged(path: string, text: string, stamp = ""): boolean {
  const data = encoder.encode(text);
  let old: Uint8Array | null = null;
  try {
    old = Deno.readFileSync(path);
  } catch {
    // Missing or unreadable: writing replaces it (or reports why it cannot).
  }
  if (
    old !== null && old.length === data.length && sameButStamp(decoder.decode(old), text, stamp)
  ) {
    return false;
  }
  writeFileAtomic(path, data);
  return true;
}

/**
 * Create `path` with `data` atomically, only if nothing is there (a hard link never replaces);
 * throws `Deno.errors.AlreadyExists` otherwise. Build logs are written once, like this.
 */
export function writeFileExclusive(path: string, data: string | Uint8Array): void {
  const temp = writeTemp(path, toBytes(data));
  try {
    Deno.linkSync(temp, path);
  } finally {
    removeFile(temp);
  }
}

/** Remove a file or symlink; false if there was nothing to remove. */
export function removeFile(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Remove a directory and everything in it; false if there was none. */
export function removeTree(path: string): boolean {
  try {
    Deno.removeSync(path, { recursive: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Whether `path` exists (following symlinks, so a dangling link does not count). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Make `dir` a real directory (with its parents), replacing a symlink left there by an older
 * layout (piwheels' mkdir_override_symlink). True if it was made (so it is empty).
 */
export function makeRealDir(dir: string): boolean {
  // mkdir first: a new directory then costs one syscall and no exception (exceptions are
  // expensive in Deno, and a full rewrite makes 300,000 directories).
  try {
    Deno.mkdirSync(dir);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      Deno.mkdirSync(dir, { recursive: true });
      return true;
    }
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = Deno.lstatSync(dir);
  if (info.isDirectory) return false;
  if (!info.isSymlink) throw new Deno.errors.AlreadyExists(`${dir} exists and is not a directory`);
  Deno.removeSync(dir);
  Deno.mkdirSync(dir);
  return true;
}

/**
 * Create the relative symlink `path` → `target` unless something is at `path` already; true if
 * it was created. A symlink is one atomic syscall, so no temporary name is needed.
 */
export function symlinkOnce(target: string, path: string): boolean {
  try {
    Deno.symlinkSync(target, path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}
