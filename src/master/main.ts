/**
 * `piw master`: check the user, the output path and the database, then run the {@link Master}.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { MasterOptions } from "../cli/options.ts";
import { openDatabase, redactDsn } from "../db/mod.ts";
import { configFromOptions } from "./config.ts";
import { Master } from "./master.ts";

/** Run `piw master` with parsed options; resolves to the exit code. */
export async function run(options: MasterOptions): Promise<number> {
  refuseRoot();
  const outputPath = await checkOutputPath(options.outputPath);
  const config = configFromOptions(options, outputPath);
  await checkDatabase(config.dsn);
  return await new Master(config).run();
}

/** piwheels refuses root; tests running as root set PIW_ALLOW_ROOT=1. */
function refuseRoot(): void {
  if (Deno.uid() === 0 && Deno.env.get("PIW_ALLOW_ROOT") !== "1") {
    throw new PiwError(
      "piw master must not run as root; run it as an unprivileged user " +
        "(or set PIW_ALLOW_ROOT=1)",
    );
  }
}

/** `~` expanded; the path must be a writable directory. */
async function checkOutputPath(path: string): Promise<string> {
  const home = Deno.env.get("HOME") ?? "";
  const expanded = path === "~" || path.startsWith("~/") ? home + path.slice(1) : path;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(expanded);
  } catch {
    throw new PiwError(`output path ${expanded} does not exist`);
  }
  if (!info.isDirectory) throw new PiwError(`output path ${expanded} is not a directory`);
  const probe = `${expanded}/.piw-write-test-${Deno.pid}`;
  try {
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
  } catch {
    throw new PiwError(`output path ${expanded} is not writable`);
  }
  return expanded;
}

/**
 * Open the database once to check its schema version (the message names both versions and
 * says to run "piw initdb"), then close it: the tasks open their own connections.
 */
async function checkDatabase(dsn: string): Promise<void> {
  try {
    const db = await openDatabase(dsn);
    await db.close();
  } catch (error) {
    if (error instanceof PiwError) throw error;
    throw new PiwError(`cannot open database ${redactDsn(dsn)}: ${(error as Error).message}`);
  }
}
