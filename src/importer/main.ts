/**
 * `piw import`: register wheel files as one successful build and send them to the master
 * (as piwheels' `piw-import`):
 * IMPORT with every file's description, then one SEND/transfer/SENT round per
 * file, until DONE. The originals are deleted (`-d`) only once the master said DONE.
 *
 * Files go to the master's file queue, `--file-queue` (default `tcp://localhost:5556`, the
 * address piwheels hard-codes); a wildcard host such as the master's own `tcp://*:5556` means
 * localhost.
 * @module
 */
import { fileErrorReason, PiwError, UsageError } from "../errors.ts";
import type { ImportOptions } from "../cli/options.ts";
import { confirm } from "../cli/prompt.ts";
import { expectDone, type ImportClient, withImportClient } from "../clients/import.ts";
import { type BuiltFile, fileStateTuple, inspectWheel } from "../slave/inspect.ts";
import { sendFile } from "../slave/transfer.ts";
import { TransferProgress } from "./progress.ts";
import { interpreterFacts } from "../system/facts.ts";
import { TimeDelta } from "../protocols/mod.ts";
import { canonicaliseName, readWheelInfo } from "../wheel/mod.ts";

/** The build output recorded when `--output` is not given. */
export const DEFAULT_OUTPUT = "Imported manually via piw import";

/** The file queue to connect to: a wildcard (bind-style) host means this machine. */
export function fileQueueAddress(address: string): string {
  return address.replace(/^tcp:\/\/(\*|0\.0\.0\.0|\[::\]):/, "tcp://localhost:");
}

/** The build to import: package, version, ABI and the files as inspected. */
interface ImportBuild {
  pkg: string;
  version: string;
  abi: string;
  files: BuiltFile[];
}

/** Inspect every file; a broken wheel names itself. */
async function inspectAll(paths: string[]): Promise<BuiltFile[]> {
  const workDir = await Deno.makeTempDir({ prefix: "piw-import-" });
  try {
    const files: BuiltFile[] = [];
    for (const path of paths) {
      try {
        files.push(await inspectWheel(path, workDir));
      } catch (e) {
        throw new PiwError(`${path}: not a usable wheel: ${(e as Error).message}`);
      }
    }
    const names = new Set(files.map((f) => f.filename));
    if (names.size !== files.length) throw new UsageError("the same file name is given twice");
    return files;
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
}

/** Work out package, version and ABI from the options and the first wheel. */
async function describeBuild(options: ImportOptions, files: BuiltFile[]): Promise<ImportBuild> {
  const first = files[0];
  const { metadata } = await readWheelInfo(first.path, {
    project: first.packageTag,
    version: first.packageVersionTag,
  }).catch((e) => {
    throw new PiwError(`${first.path}: not a usable wheel: ${(e as Error).message}`);
  });
  const pkg = canonicaliseName(options.package ?? metadata.name ?? first.packageTag);
  const version = options.packageVersion ?? metadata.version ?? first.packageVersionTag;
  const abi = options.abi ?? await builderAbi(first);
  return { pkg, version, abi, files };
}

/**
 * The builder ABI of a wheel imported without `--abi`: its own ABI tag; for a pure wheel ("none",
 * "abi3"), a CPython tag it names (`cp311-none-any`), else the ABI of this machine's python3 (the
 * master's machine, where piw import runs), so a `py3-none-any` wheel needs no `--abi`.
 */
async function builderAbi(wheel: BuiltFile): Promise<string> {
  if (/^cp\d+/.test(wheel.abiTag)) return wheel.abiTag;
  const named = wheel.pyVersionTag.split(".").find((tag) => /^cp\d+$/.test(tag));
  if (named) return named;
  const local = await interpreterFacts().then((facts) => facts.abi, () => "none");
  if (local === "none") {
    throw new UsageError(`couldn't determine the builder ABI from ${wheel.filename}; use --abi`);
  }
  return local;
}

/** The text of the file an option names; a file that cannot be read is one line naming both. */
async function readOptionFile(path: string, option: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new PiwError(`cannot read ${option} file ${path}: ${fileErrorReason(error)}`);
  }
}

/** The apt dependencies named in `--dependencies FILE`. */
async function aptDependencies(path: string | undefined): Promise<string[] | null> {
  if (path === undefined) return null;
  const text = await readOptionFile(path, "--dependencies");
  return [...new Set(text.split(/\s+/).filter(Boolean))].sort();
}

function summary(build: ImportBuild, abi: string): string {
  const lines = [
    `Package:         ${build.pkg}`,
    `Version:         ${build.version}`,
    `ABI:             ${abi}`,
  ];
  for (const f of build.files) {
    lines.push(
      `File:            ${f.filename}`,
      `  Size:          ${f.filesize} bytes`,
      `  Hash:          ${f.filehash}`,
      `  Tags:          ${f.pyVersionTag}-${f.abiTag}-${f.platformTag}`,
      `  Requires-Python: ${f.requiresPython ?? "any"}`,
    );
  }
  return lines.join("\n");
}

/** Answer each SEND with the file's transfer and SENT, until DONE or ERROR. */
async function transfer(
  client: ImportClient,
  options: ImportOptions,
  build: ImportBuild,
  output: string,
): Promise<void> {
  let reply = await client.request("IMPORT", [
    0,
    build.pkg,
    build.version,
    build.abi,
    true,
    TimeDelta.fromMilliseconds(options.duration),
    output,
    build.files.map(fileStateTuple),
  ]);
  const endpoint = fileQueueAddress(options.fileQueue);
  const byName = new Map(build.files.map((f) => [f.filename, f]));
  while (reply.name === "SEND") {
    const file = byName.get(reply.data);
    if (!file) throw new PiwError(`the master asked for an unknown file ${reply.data}`);
    const progress = new TransferProgress(file.filename, file.filesize);
    try {
      await sendFile(client.context, endpoint, 0, file.path, {
        giveUpAfterMs: options.timeout,
        onChunk: (bytes) => progress.add(bytes),
      });
    } catch (e) {
      throw new PiwError(`sending ${file.filename} to ${endpoint}: ${(e as Error).message}`);
    } finally {
      progress.finish();
    }
    reply = await client.request("SENT");
  }
  expectDone(reply, (error) => {
    const what = `${build.pkg} ${build.version}`;
    // The master cannot tell an unknown package from an unknown version: suggest both steps.
    const hint = error.startsWith("unknown package")
      ? ` (add it first: piw add ${build.pkg} ${build.version}, after piw add ${build.pkg} if ` +
        `the package is new)`
      : "";
    return `import of ${what} failed: ${error}${hint}`;
  });
}

/** Run `piw import` with parsed options; resolves to the exit code. */
export async function run(options: ImportOptions): Promise<number> {
  const files = await inspectAll(options.files);
  const build = await describeBuild(options, files);
  const apt = await aptDependencies(options.dependencies);
  if (apt !== null) {
    for (const f of files) {
      if (apt.length) f.dependencies.apt = apt;
      else delete f.dependencies.apt;
    }
  }
  const output = options.output === undefined
    ? DEFAULT_OUTPUT
    : await readOptionFile(options.output, "--output");
  console.log(summary(build, build.abi));
  // Deleting the originals is destructive: Enter must not do it.
  await confirm("Proceed?", { yes: options.yes, defaultNo: options.delete });
  await withImportClient(options, (client) => transfer(client, options, build, output));
  console.log(`imported ${build.pkg} ${build.version} (${files.length} files)`);
  if (options.delete) {
    for (const f of files) await Deno.remove(f.path);
  }
  return 0;
}
