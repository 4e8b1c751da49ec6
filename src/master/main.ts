/**
 * `piw master`: check the user and the output path, make sure no other master owns the output
 * path, the queues or the database, wait for the database, then run the {@link Master}.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { MasterOptions } from "../cli/options.ts";
import {
  lockDatabase,
  openClient,
  openDatabase,
  parseDsn,
  redactDsn,
  UnreachableError,
} from "../db/mod.ts";
import { acquireLock, type Lock, MASTER_LOCK } from "../lock.ts";
import { getLogger } from "../log.ts";
import { configFromOptions, siteUrlWarning } from "./config.ts";
import { Master } from "./master.ts";
import { checkQueuesFree } from "./queue_owners.ts";

const log = getLogger("master");

export { MASTER_LOCK };
/** The longest pause between attempts to reach an unreachable database. */
const MAX_RETRY_MS = 30_000;

/** Run `piw master` with parsed options; resolves to the exit code. */
export async function run(options: MasterOptions): Promise<number> {
  refuseRoot();
  const outputPath = await checkOutputPath(options.outputPath);
  const config = configFromOptions(options, outputPath);
  // Each refusal comes before anything is bound or removed, so the master that owns these is
  // not disturbed.
  const locks: Lock[] = [];
  try {
    locks.push(await acquireLock(`${outputPath}/${MASTER_LOCK}`, `output path ${outputPath}`));
    await checkQueuesFree(config);
    // Held for the whole run: the oracle's Worker opens the database under this lock.
    locks.push(await lockDatabase(config.dsn));
    // After the refusals: a master that is refused says one line, its refusal.
    const warning = siteUrlWarning(config);
    if (warning) log.warning(warning);
    if (!await checkDatabase(config.dsn)) return 0;
    return await new Master(config).run();
  } finally {
    for (const lock of locks.reverse()) lock.release();
  }
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
 * says to run "piw initdb"), then close it: the tasks open their own connections. A server that
 * cannot be reached is waited for (one line says which), retrying with backoff; false if a
 * signal stopped the wait.
 */
async function checkDatabase(dsn: string): Promise<boolean> {
  let retryMs = 1000;
  let waiting = false;
  for (;;) {
    try {
      const db = await openDatabase(dsn);
      await db.close();
      if (waiting) log.warning(`connected to the database ${redactDsn(dsn)}`);
      await warnIfSuperuser(dsn);
      return true;
    } catch (error) {
      if (!(error instanceof UnreachableError)) {
        if (error instanceof PiwError) throw error;
        throw new PiwError(`cannot open database ${redactDsn(dsn)}: ${(error as Error).message}`);
      }
      if (!waiting) log.warning(`${error.message}; waiting for it (retrying with backoff)`);
      else log.info(`still waiting: ${error.message}`);
      waiting = true;
    }
    if (await signalled(retryMs)) return false;
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }
}

/**
 * The master's help says its user must not be a PostgreSQL superuser (one can drop piw's schema
 * or read any database on the cluster): say so loudly at start, but run, so that a farm whose
 * role was made a superuser by hand still starts. PGlite has a single (superuser) role.
 */
async function warnIfSuperuser(dsn: string): Promise<void> {
  const parsed = parseDsn(dsn);
  if (parsed.kind === "pglite") return;
  const client = await openClient(parsed);
  try {
    const [me] = await client.query<{ name: string; superuser: boolean }>(
      "SELECT current_user AS name, rolsuper AS superuser FROM pg_roles " +
        "WHERE rolname = current_user",
    );
    if (me?.superuser) {
      log.warning(
        `WARNING: the database user ${me.name} is a PostgreSQL superuser; piw master must run ` +
          `as an ordinary user (create one with piw initdb --user, and give it in --dsn)`,
      );
    }
  } finally {
    await client.close();
  }
}

/** Wait `ms`; true if SIGTERM or SIGINT came first. */
async function signalled(ms: number): Promise<boolean> {
  const { promise, resolve } = Promise.withResolvers<boolean>();
  const timer = setTimeout(() => resolve(false), ms);
  const stop = () => resolve(true);
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    const stopped = await promise;
    if (stopped) log.warning("stopped while waiting for the database");
    return stopped;
  } finally {
    clearTimeout(timer);
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
