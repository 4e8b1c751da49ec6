/**
 * Moving a verified transfer into the web tree: `<output>/simple/<package>/<filename>`, mode
 * 0644, atomically, never changing bytes already published, plus the armv6l twin symlink of an
 * armv7l wheel.
 * @module
 */

import { PiwError } from "../errors.ts";
import { isCanonicalName } from "../wheel/names.ts";
import { armv6lTwinName, type FileState, sha256File } from "./states.ts";

/** A verified file the master will not publish (it would change published bytes, or bad names). */
export class PublishRefusedError extends PiwError {
  override name = "PublishRefusedError";
}

/** What publishing did: a new (or twin-replacing) file, or nothing as the same bytes were there. */
export type PublishOutcome = "published" | "unchanged";

/** Make `dir` a real directory, replacing a symlink there (piwheels' mkdir_override_symlink). */
export async function mkdirOverrideSymlink(dir: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    await Deno.mkdir(dir, { recursive: true });
    return;
  }
  if (info.isDirectory) return;
  if (!info.isSymlink) throw new PublishRefusedError(`${dir} exists and is not a directory`);
  await Deno.remove(dir);
  await Deno.mkdir(dir);
}

/**
 * Publish the verified temporary file `tempPath` (whose hash is `file.filehash`) as
 * `<simpleDir>/<pkg>/<file.filename>`. A hard link puts it in place only if nothing is there
 * (atomic, never clobbering); an armv6l twin symlink there is replaced by the real file; an
 * existing file with the same bytes is left alone; one with different bytes is refused
 * ({@link PublishRefusedError}). The temporary file is gone afterwards in every case.
 */
export async function publishFile(
  tempPath: string,
  file: FileState,
  simpleDir: string,
  pkg: string,
): Promise<PublishOutcome> {
  try {
    if (!isCanonicalName(pkg)) {
      throw new PublishRefusedError(`${JSON.stringify(pkg)} is not a canonical package name`);
    }
    const problem = file.problem();
    if (problem) throw new PublishRefusedError(problem);
    const pkgDir = `${simpleDir}/${pkg}`;
    await mkdirOverrideSymlink(pkgDir);
    const final = `${pkgDir}/${file.filename}`;
    await Deno.chmod(tempPath, 0o644);
    // The bytes reach the disk before the name does: after a power cut, a published name must
    // not hold a truncated wheel (pages can be rebuilt from the database; wheels cannot).
    await syncFileData(tempPath);
    let outcome: PublishOutcome = "published";
    try {
      await Deno.link(tempPath, final);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      outcome = await replaceExisting(tempPath, final, file);
    }
    if (file.platformTag === "linux_armv7l") await linkTwin(pkgDir, file.filename);
    return outcome;
  } finally {
    await Deno.remove(tempPath).catch(() => {});
  }
}

async function syncFileData(path: string): Promise<void> {
  using handle = await Deno.open(path, { read: true });
  await handle.syncData();
}

async function replaceExisting(
  tempPath: string,
  final: string,
  file: FileState,
): Promise<PublishOutcome> {
  const info = await Deno.lstat(final);
  if (info.isSymlink) {
    // An armv6l twin made from an armv7l wheel: a real armv6l build rightly replaces it.
    await Deno.rename(tempPath, final);
    return "published";
  }
  if (info.isFile && info.size === file.filesize && await sha256File(final) === file.filehash) {
    return "unchanged";
  }
  throw new PublishRefusedError(
    `${final} is already published with different contents; published files never change`,
  );
}

/** Symlink the armv6l name to an armv7l wheel (relative), unless something is already there. */
async function linkTwin(pkgDir: string, filename: string): Promise<void> {
  try {
    await Deno.symlink(filename, `${pkgDir}/${armv6lTwinName(filename)}`);
  } catch (e) {
    // A real armv6l build (or the twin from an earlier transfer) must be kept as it is.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
}
