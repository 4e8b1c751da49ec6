/**
 * `piw initdb`: create or upgrade piw's schema in an existing database, or migrate a piwheels
 * database into a new one (`--from-piwheels`).
 * @module
 */
import type { InitdbOptions } from "../cli/options.ts";
import { openClient } from "../db/client.ts";
import { parseDsn } from "../db/dsn.ts";
import { UsageError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { initializeDatabase, registerBuildAbis } from "./initdb.ts";
import { migrateFromPiwheels } from "./migrate.ts";

const log = getLogger("initdb");

/**
 * Run `piw initdb`: connect with the (superuser) DSN, create or upgrade the schema for the
 * master's role `user`, printing a dot per statement; with `fromPiwheels`, migrate that
 * piwheels database into it instead. Resolves to 0; failures throw (`PiwError`, or
 * `DeclinedError` for a "no" at the prompt).
 */
export async function run(
  options: Pick<InitdbOptions, "dsn" | "user" | "yes" | "fromPiwheels"> & { abi?: string[] },
): Promise<number> {
  if (options.fromPiwheels !== undefined) return await migrate(options, options.fromPiwheels);
  // A PGlite database is a directory, which initdb may create; PostgreSQL databases it never does.
  const client = await openClient(options.dsn, { create: true });
  const encoder = new TextEncoder();
  let dots = 0;
  try {
    await initializeDatabase(client, {
      user: options.user,
      yes: options.yes,
      progress: () => {
        dots++;
        Deno.stdout.writeSync(encoder.encode("."));
      },
    });
    if (dots > 0) Deno.stdout.writeSync(encoder.encode("\n"));
    dots = 0;
    await registerBuildAbis(client, options.abi ?? []);
  } finally {
    if (dots > 0) Deno.stdout.writeSync(encoder.encode("\n"));
    await client.close();
  }
  return 0;
}

/** `piw initdb --from-piwheels SOURCE`: progress and the report go to the log (stderr). */
async function migrate(
  options: Pick<InitdbOptions, "dsn" | "user" | "yes"> & { abi?: string[] },
  from: string,
): Promise<number> {
  if (parseDsn(from).kind !== "postgres") {
    throw new UsageError(`--from-piwheels: ${from} is not a PostgreSQL DSN (piwheels uses one)`);
  }
  const source = await openClient(from);
  try {
    const target = await openClient(options.dsn, { create: true });
    try {
      const started = performance.now();
      const result = await migrateFromPiwheels(source, target, {
        user: options.user,
        yes: options.yes,
        say: (line) => log.warning(line),
      });
      if (result.status === "migrated") {
        const rows = result.tables.reduce((n, t) => n + t.carried, 0);
        log.warning(
          `Migrated ${rows.toLocaleString("en")} rows in ` +
            `${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        for (const line of result.changed) log.warning(`Changed: ${line}`);
        for (const line of result.notCarried) log.warning(`Not carried: ${line}`);
      }
      await registerBuildAbis(target, options.abi ?? []);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
  return 0;
}
