/**
 * piw's database layer: `openDatabase(dsn)` gives the same `Database` API over PostgreSQL
 * (postgres.js) and PGlite; `checkSchemaVersion` is the check every master connection makes.
 * @module
 */
export { Database, openDatabase, type OpenOptions } from "./database.ts";
export {
  type ClientOptions,
  connectTimeout,
  lockDatabase,
  openClient,
  postgresAddress,
  queryValue,
  type SqlClient,
} from "./client.ts";
export { type Dsn, parseDsn, type PgliteDsn, type PostgresDsn, redactDsn } from "./dsn.ts";
export { DatabaseError, UnreachableError } from "./errors.ts";
export { EPOCH } from "./packages.ts";
export type { ProjectVersion } from "./project.ts";
export { checkSchemaVersion, compareVersions, detectSchemaVersion } from "./schema.ts";
export type { AccessLogJson, AccessLogText } from "./access.ts";
export { LOG_TABLES, type LogColumn, type LogTable } from "./log_tables.ts";
export {
  type ChangelogAction,
  type ChangelogBatch,
  type ChangelogEvent,
  type NameSighting,
  PACKAGE_ADDED,
  VERSION_ADDED,
  VERSION_ENABLED,
} from "./changelog.ts";
export type * from "./types.ts";
