/**
 * Which schema version a database holds, and the check every master connection makes.
 * @module
 */
import { PiwError } from "../errors.ts";
import { PIW_VERSION } from "../version.ts";
import type { SqlClient } from "./client.ts";

/** The comment on the configuration table that marks a piw schema (piwheels has none). */
export const SCHEMA_MARKER = "piw";

/**
 * Compare dotted version strings numerically part by part (`0.10.0` > `0.9.1`); non-numeric
 * parts compare as text. Negative, zero or positive, like a sort comparator.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split("."), pb = b.split(".");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0", y = pb[i] ?? "0";
    const nx = Number(x), ny = Number(y);
    const diff = Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x.localeCompare(y);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/**
 * The schema version of the database, or null when it is empty (no tables in `public`).
 * Throws `PiwError` for a database that has tables but is not piw's, such as a piwheels one.
 */
export async function detectSchemaVersion(client: SqlClient): Promise<string | null> {
  const [state] = await client.query<
    { configured: boolean; marker: string | null; tables: number }
  >(
    `SELECT c.oid IS NOT NULL AS configured,
            obj_description(c.oid::oid, 'pg_class') AS marker,
            (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables
     FROM (SELECT to_regclass('public.configuration') AS oid) c`,
  );
  if (!state.configured) {
    if (state.tables === 0) return null;
    throw new PiwError(
      `Database ${client.database} has tables but no piw schema; piw will not touch it`,
    );
  }
  const [row] = await client.query<{ version: string }>(
    "SELECT version FROM configuration WHERE id = 1",
  );
  if (state.marker !== SCHEMA_MARKER) {
    throw new PiwError(
      `Database ${client.database} is not a piw database (its configuration says version ` +
        `${row?.version ?? "unknown"}; a piwheels database?); piw cannot use or upgrade it in ` +
        'place: copy it into a new database with "piw initdb --dsn NEW --from-piwheels THIS"',
    );
  }
  if (!row) throw new PiwError(`Database ${client.database} has an empty configuration table`);
  return row.version;
}

/**
 * Refuse a database whose schema is not exactly this piw's version, naming both versions and
 * saying what to do. Every connection the master makes runs this first.
 */
export async function checkSchemaVersion(client: SqlClient): Promise<void> {
  const version = await detectSchemaVersion(client);
  if (version === null) {
    throw new PiwError(
      `Database ${client.database} is not initialised; run "piw initdb" to create piw's schema`,
    );
  }
  if (version === PIW_VERSION) return;
  if (compareVersions(version, PIW_VERSION) > 0) {
    throw new PiwError(
      `Database version (${version}) is newer than piw's (${PIW_VERSION}); upgrade piw ` +
        `(piw initdb never downgrades)`,
    );
  }
  throw new PiwError(
    `Database version (${version}) does not match piw's (${PIW_VERSION}); run "piw initdb" ` +
      "to upgrade the database",
  );
}
