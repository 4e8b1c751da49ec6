/**
 * `piw initdb`: create or upgrade piw's schema in an existing database.
 * @module
 */
import type { InitdbOptions } from "../cli/options.ts";
import { openClient } from "../db/client.ts";
import { initializeDatabase, registerBuildAbis } from "./initdb.ts";

/**
 * Run `piw initdb`: connect with the (superuser) DSN, create or upgrade the schema for the
 * master's role `user`, printing a dot per statement. Resolves to 0; failures throw (`PiwError`,
 * or `DeclinedError` for a "no" at the prompt).
 */
export async function run(
  options: Pick<InitdbOptions, "dsn" | "user" | "yes"> & { abi?: string[] },
): Promise<number> {
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
