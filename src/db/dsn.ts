/**
 * Database DSNs: `postgres://user:pass@host:port/db`, `postgres:///db` (local socket), and
 * `pglite:///path/to/dir` or `pglite:` (in memory) for the embedded PGlite engine.
 * @module
 */
import { UsageError } from "../errors.ts";

/** Where libpq (and so piwheels) looks for the local PostgreSQL socket on Debian. */
const DEFAULT_SOCKET_DIR = "/var/run/postgresql";

/** A PostgreSQL server reached over TCP or a Unix socket. */
export interface PostgresDsn {
  kind: "postgres";
  /** Host name, or a socket directory (starts with `/`). */
  host: string;
  port: number;
  database: string;
  /** Undefined means the driver's default (PGUSER, then the OS user). */
  user?: string;
  password?: string;
  /** Other query parameters (e.g. `sslmode`), passed to the driver. */
  params: Record<string, string>;
}

/** An embedded PGlite database, in a directory or (dataDir null) in memory. */
export interface PgliteDsn {
  kind: "pglite";
  dataDir: string | null;
}

/** A parsed DSN. */
export type Dsn = PostgresDsn | PgliteDsn;

/**
 * Parse a DSN; throws `UsageError` naming the DSN when it is not one of the accepted forms.
 * @example
 * parseDsn("postgres:///piwheels"); // local socket, database "piwheels"
 * parseDsn("pglite:"); // { kind: "pglite", dataDir: null }
 */
export function parseDsn(dsn: string): Dsn {
  const scheme = /^([a-z]+):/i.exec(dsn)?.[1]?.toLowerCase();
  if (scheme === "pglite") return parsePglite(dsn);
  if (scheme === "postgres" || scheme === "postgresql") return parsePostgres(dsn);
  throw new UsageError(
    `Unsupported database DSN ${JSON.stringify(redactDsn(dsn))}: expected postgres://..., ` +
      "postgres:///DB, pglite:///PATH or pglite:",
  );
}

/** The DSN with any password replaced by `***`, for messages and logs. */
export function redactDsn(dsn: string): string {
  return dsn.replace(/^([a-z]+:\/\/[^:/@]*:)[^@/]*@/i, "$1***@");
}

function parsePglite(dsn: string): PgliteDsn {
  let rest = dsn.slice("pglite:".length);
  if (rest.startsWith("//")) {
    rest = rest.slice(2);
    // Only an empty authority makes sense: pglite:///abs/path or pglite://
    if (rest !== "" && !rest.startsWith("/")) {
      throw new UsageError(`Invalid PGlite DSN ${JSON.stringify(dsn)}: use pglite:///PATH`);
    }
  }
  if (rest === "" || rest === "memory") return { kind: "pglite", dataDir: null };
  return { kind: "pglite", dataDir: decodeURIComponent(rest) };
}

function parsePostgres(dsn: string): PostgresDsn {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new UsageError(`Invalid PostgreSQL DSN ${JSON.stringify(redactDsn(dsn))}`);
  }
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) params[key] = value;
  const env = (name: string) => Deno.env.get(name) || undefined;
  const host = url.hostname
    ? decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, "$1")
    : params.host ?? env("PGHOST") ?? DEFAULT_SOCKET_DIR;
  delete params.host;
  const port = Number(url.port || params.port || env("PGPORT") || 5432);
  delete params.port;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new UsageError(`Invalid port in DSN ${JSON.stringify(redactDsn(dsn))}`);
  }
  const user = url.username ? decodeURIComponent(url.username) : params.user ?? env("PGUSER");
  delete params.user;
  const password = url.password ? decodeURIComponent(url.password) : params.password;
  delete params.password;
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) ||
    params.dbname || env("PGDATABASE") || user || "";
  delete params.dbname;
  if (!database) {
    throw new UsageError(`No database name in DSN ${JSON.stringify(redactDsn(dsn))}`);
  }
  return { kind: "postgres", host, port, database, user, password, params };
}
