/**
 * Creating or upgrading piw's schema in an existing database, in one transaction, after checking
 * the roles involved and asking the user.
 * @module
 */
import { confirm, type PromptIO } from "../cli/prompt.ts";
import { PiwError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { PIW_VERSION } from "../version.ts";
import type { SqlClient } from "../db/client.ts";
import { compareVersions, detectSchemaVersion } from "../db/schema.ts";
import {
  CREATE_SCRIPT,
  DEFAULT_SQL_DIR,
  loadScript,
  planUpgrade,
  readUpdateSteps,
  type Statement,
} from "./scripts.ts";

const log = getLogger("initdb");

/** Any number will do, as long as nothing else in piw takes the same advisory lock. */
const INITDB_LOCK = 0x70697701;

/** Options of `initializeDatabase`. */
export interface InitializeOptions {
  /** The ordinary role the master connects as (ignored on PGlite, which has one role). */
  user: string;
  /** Proceed without asking. */
  yes: boolean;
  /** Where the scripts are (default: piw's `sql/`). */
  sqlDir?: URL | string;
  /** The version to reach (default: `PIW_VERSION`). */
  targetVersion?: string;
  /** Called after each statement (default: nothing; `run` prints a dot). */
  progress?: (done: number, total: number) => void;
  /** Where to ask (default: the terminal). */
  promptIO?: PromptIO;
}

/** What `initializeDatabase` did. */
export type InitializeResult = "created" | "upgraded" | "current";

/**
 * Create piw's schema in an empty database, or upgrade an older one, as one transaction: on any
 * failure the database is left as it was. Refuses downgrades, unknown versions, a connection
 * that is not a cluster superuser, and a master role that is missing or a superuser. A "no" at
 * the prompt throws `DeclinedError`.
 */
export async function initializeDatabase(
  client: SqlClient,
  options: InitializeOptions,
): Promise<InitializeResult> {
  const target = options.targetVersion ?? PIW_VERSION;
  const sqlDir = options.sqlDir ?? DEFAULT_SQL_DIR;
  log.info(`piw initdb version ${PIW_VERSION}`);
  const grantee = await checkRoles(client, options.user);

  log.info("Detecting database version");
  const version = await detectSchemaVersion(client);
  let files: string[];
  let question: string;
  if (version === target) {
    log.warning("Database is the current version");
    return "current";
  } else if (version === null) {
    log.warning("Database appears to be uninitialized");
    files = [CREATE_SCRIPT];
    question = "Do you wish to initialize the database?";
  } else if (compareVersions(version, target) > 0) {
    throw new PiwError(
      `Database version ${version} is newer than piw's (${target}); piw initdb never downgrades`,
    );
  } else {
    log.warning(`Detected database version ${version}`);
    files = planUpgrade(await readUpdateSteps(sqlDir), version, target);
    question = `Do you wish to proceed with the upgrade to ${target}?`;
  }
  const scripts: { file: string; statements: Statement[] }[] = [];
  for (const file of files) scripts.push({ file, statements: await loadScript(sqlDir, file) });

  await confirm(question, { yes: options.yes, io: options.promptIO });
  if (version === null) {
    log.warning(`Initializing database at version ${target}`);
  } else {
    log.warning(`Upgrading database to version ${target}`);
    log.warning("Have patience: this can be a long operation!");
  }

  const total = scripts.reduce((n, s) => n + s.statements.length, 0);
  await client.transaction(async (tx) => {
    // Serialise concurrent runs, then make sure nothing changed since we asked.
    await tx.query("SELECT pg_advisory_xact_lock($1)", [INITDB_LOCK]);
    const now = await detectSchemaVersion(tx);
    if (now !== version) {
      throw new PiwError(`Database version changed from ${version} to ${now} meanwhile`);
    }
    await tx.query("SELECT set_config('piw.username', $1, true)", [grantee]);
    let done = 0;
    for (const { file, statements } of scripts) {
      for (const statement of statements) {
        log.debug(statement.text);
        try {
          await tx.query(statement.text);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new PiwError(
            `${file} line ${statement.line}: ${message}; the database is unchanged`,
            { cause: error },
          );
        }
        options.progress?.(++done, total);
      }
    }
    const reached = await detectSchemaVersion(tx);
    if (reached !== target) {
      throw new PiwError(
        `${files.join(", ")} left the database at version ${reached}, not ${target}; ` +
          "the database is unchanged",
      );
    }
  });
  log.info("Complete");
  return version === null ? "created" : "upgraded";
}

/**
 * Check that we are a cluster superuser and that `user` exists and is not one; returns the role
 * to grant to. PGlite has a single (superuser) role, so there the checks do not apply.
 */
async function checkRoles(client: SqlClient, user: string): Promise<string> {
  const [me] = await client.query<{ name: string; superuser: boolean }>(
    "SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user",
  );
  if (client.kind === "pglite") {
    log.warning(
      `PGlite has a single role (${me.name}): the superuser and --user checks do not apply, ` +
        `and privileges go to ${me.name}`,
    );
    return me.name;
  }
  log.info("Checking username and superuser status");
  if (!me?.superuser) {
    throw new PiwError(`User ${me?.name} is not a cluster superuser; piw initdb needs one`);
  }
  const [target] = await client.query<{ superuser: boolean }>(
    "SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = $1",
    [user],
  );
  if (!target) throw new PiwError(`User ${user} doesn't exist as a cluster user`);
  if (target.superuser) {
    throw new PiwError(
      `User ${user} is a cluster superuser; the master must connect as an ordinary user`,
    );
  }
  log.info("Administration and master users verified");
  return user;
}

/** What an ABI tag may look like: letters, digits and underscores, as in wheel filenames. */
const ABI_TAG = /^[a-z][a-z0-9_]*$/;

/**
 * Register build ABIs (slaves build for these; piwheels leaves this table to be filled by
 * hand). Existing ABIs are kept as they are; `none` and `abi3` are wheel tags, not build ABIs.
 */
export async function registerBuildAbis(client: SqlClient, abis: string[]): Promise<void> {
  for (const abi of abis) {
    if (!ABI_TAG.test(abi) || abi === "none" || abi === "abi3") {
      throw new PiwError(`${JSON.stringify(abi)} is not a build ABI tag (e.g. cp311)`);
    }
  }
  for (const abi of abis) {
    const added = await client.query(
      "INSERT INTO build_abis (abi_tag) VALUES ($1) ON CONFLICT (abi_tag) DO NOTHING RETURNING abi_tag",
      [abi],
    );
    log.warning(
      added.length ? `Registered build ABI ${abi}` : `Build ABI ${abi} already registered`,
    );
  }
}
