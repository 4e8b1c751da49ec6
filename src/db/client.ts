/**
 * `SqlClient`: the one interface the database layer needs from a driver (parameterised queries
 * and transactions), implemented over postgres.js and over PGlite.
 * @module
 */
import net from "node:net";
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { PiwError } from "../errors.ts";
import { acquireLock, type Lock } from "../lock.ts";
import { getLogger } from "../log.ts";
import { type Dsn, parseDsn, type PgliteDsn, type PostgresDsn } from "./dsn.ts";
import { DatabaseError, toDatabaseError, UnreachableError } from "./errors.ts";

const log = getLogger("db");

/** A connection (or small pool) to a database, whichever engine is behind it. */
export interface SqlClient {
  /** Which engine this is: PGlite has no roles, so a few checks differ. */
  readonly kind: "postgres" | "pglite";
  /** The database's name, for messages. */
  readonly database: string;
  /** Run one statement with `$1`-style parameters; resolves to its rows. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /**
   * Run `fn` in a transaction: committed when it resolves, rolled back when it throws.
   * Inside `fn`, use the client it is given; a nested call joins the outer transaction.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /**
   * Run `COPY … FROM STDIN` statements with their data, one after another (PostgreSQL only);
   * resolves to the rows copied. Absent on PGlite.
   */
  copyFrom?(copies: readonly CopyIn[]): Promise<number>;
  /**
   * Stream data (text format, whole or split rows) into one `COPY … FROM STDIN`, a chunk at a
   * time with back-pressure; resolves to the rows copied. On PGlite the rows go in batches of a
   * few MB through `/dev/blob`.
   */
  copyIn(statement: string, data: AsyncIterable<Uint8Array>): Promise<number>;
  /** Stream the output of one `COPY … TO STDOUT` (PostgreSQL only; absent on PGlite). */
  copyOut?(statement: string): AsyncIterable<Uint8Array>;
  /** Close the connection (the last user of a shared PGlite directory closes the engine). */
  close(): Promise<void>;
}

/** One `COPY … FROM STDIN` and its data (text format). */
export interface CopyIn {
  statement: string;
  data: string;
}

/** The `value` column of the first row of a query (undefined when there is no row). */
export async function queryValue<T>(
  sql: SqlClient,
  text: string,
  params: unknown[] = [],
): Promise<T> {
  const [row] = await sql.query<{ value: T }>(text, params);
  return row?.value;
}

/** Options of `openClient`. */
export interface ClientOptions {
  /** PostgreSQL pool size (default 1: one connection, like each piwheels `Database`). */
  maxConnections?: number;
  /**
   * Create a PGlite directory that does not exist yet (initdb does; a PGlite database is a
   * directory). Otherwise a missing directory fails like a missing PostgreSQL database.
   */
  create?: boolean;
}

/**
 * Connect to the database named by a DSN (see `parseDsn`). Fails with a one-line `PiwError` when
 * the server is unreachable, the login is refused or the database does not exist.
 *
 * PGlite is single-connection: opening the same directory twice in one isolate shares one engine,
 * and a directory must never be opened from two isolates (Workers) or processes at once: it is
 * locked (see `lockDatabase`), and a second process is refused with a line naming the holder.
 */
export async function openClient(
  dsn: string | Dsn,
  options: ClientOptions = {},
): Promise<SqlClient> {
  const parsed = typeof dsn === "string" ? parseDsn(dsn) : dsn;
  return parsed.kind === "pglite"
    ? await openPglite(parsed, options)
    : await openPostgres(parsed, options);
}

/**
 * Lock the database a DSN names for this process until `release()`: a PGlite directory (the
 * file `piw.lock` in it) belongs to one process at a time; PostgreSQL needs no lock. `openClient`
 * takes the lock itself; the master holds it for its whole run, across its Workers.
 */
export async function lockDatabase(dsn: string | Dsn): Promise<Lock> {
  const parsed = typeof dsn === "string" ? parseDsn(dsn) : dsn;
  if (parsed.kind !== "pglite" || parsed.dataDir === null) return { release() {} };
  // A missing directory is for openClient to report (or create).
  if (!await exists(parsed.dataDir)) return { release() {} };
  return await acquireLock(`${parsed.dataDir}/piw.lock`, `the database ${parsed.dataDir}`);
}

/** Where a PostgreSQL DSN connects, for messages: `host:port` or `socket DIR`. */
export function postgresAddress(dsn: PostgresDsn): string {
  return dsn.host.startsWith("/") ? `socket ${dsn.host}` : `${dsn.host}:${dsn.port}`;
}

/**
 * How long a connection to PostgreSQL may take, ms: `PIW_DB_CONNECT_TIMEOUT` seconds, else 10 s.
 * (postgres.js would wait 30 s, and an unanswered TCP connection longer.)
 */
export function connectTimeout(): number {
  const seconds = Number(Deno.env.get("PIW_DB_CONNECT_TIMEOUT") || 10);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 10) * 1000;
}

// Counts and sums are int8/numeric; JavaScript numbers are exact far beyond piw's values.
const toNumber = (text: string) => Number(text);

async function openPostgres(dsn: PostgresDsn, options: ClientOptions): Promise<SqlClient> {
  const { sslmode, ...params } = dsn.params;
  const timeout = connectTimeout();
  const sql = postgres({
    host: dsn.host,
    port: dsn.port,
    database: dsn.database,
    username: dsn.user,
    password: dsn.password,
    max: options.maxConnections ?? 1,
    connect_timeout: timeout / 1000,
    ssl: sslmode === undefined || sslmode === "disable" ? false : sslmode as "require",
    connection: { application_name: "piw", ...params },
    onnotice: (notice) => log.debug(`${notice.severity}: ${notice.message}`),
    transform: { undefined: null },
    // postgres.js leaves Nagle's algorithm on: a COMMIT after a COPY (or any message sent
    // behind another) then waits for the server's delayed ACK, 40 ms on Linux. (Its `socket`
    // option is missing from its type declarations.)
    ...(dsn.host.startsWith("/") ? {} : { socket: () => noDelaySocket(dsn) }) as object,
    types: {
      int8: { to: 20, from: [20], serialize: String, parse: toNumber },
      numeric: { to: 1700, from: [1700], serialize: String, parse: toNumber },
    },
  });
  // Our own deadline too: whatever the driver does with a server that never answers, a
  // connection attempt ends.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
      timeout,
    );
  });
  try {
    await Promise.race([sql`SELECT 1`, timedOut]);
  } catch (error) {
    // Not awaited: ending a connection stuck in connect may itself wait for the network.
    sql.end({ timeout: 0 }).catch(() => {});
    throw connectError(error, dsn, timeout);
  } finally {
    clearTimeout(timer);
  }
  return new PostgresClient(sql, dsn.database);
}

/** A TCP connection to the server with Nagle's algorithm off. */
function noDelaySocket(dsn: PostgresDsn): net.Socket {
  const socket = new net.Socket();
  socket.setNoDelay(true);
  return socket.connect(dsn.port, dsn.host);
}

/** SQLSTATEs of a server that cannot take a connection now: starting up, too many clients. */
const NOT_NOW = new Set(["57P01", "57P02", "57P03", "53300"]);

function connectError(error: unknown, dsn: PostgresDsn, timeout: number): Error {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const where = postgresAddress(dsn);
  if (code === "3D000") return new PiwError(`Database ${dsn.database} does not exist`);
  if (code === "28P01" || code === "28000") {
    return new PiwError(`Cannot log in to database ${dsn.database}: ${message}`);
  }
  if (code === "TIMEOUT" || code === "CONNECT_TIMEOUT") {
    return new UnreachableError(
      `cannot reach PostgreSQL at ${where} within ${timeout / 1000} s`,
      where,
    );
  }
  if (code?.startsWith("E") || code?.startsWith("CONNECTION_") || NOT_NOW.has(code ?? "")) {
    return new UnreachableError(`cannot reach PostgreSQL at ${where}: ${message}`, where);
  }
  return toDatabaseError(error);
}

/** Wrap errors raised by the driver (BEGIN/COMMIT failures); let the caller's own errors pass. */
function fromDriver(error: unknown): unknown {
  return error instanceof Error && "severity" in error ? toDatabaseError(error) : error;
}

type PgTypes = { int8: number; numeric: number };
type PgSql = postgres.Sql<PgTypes>;
type PgTx = postgres.TransactionSql<PgTypes>;

class PostgresClient implements SqlClient {
  readonly kind = "postgres";
  #closed = false;

  constructor(
    private readonly sql: PgSql | PgTx,
    readonly database: string,
    private readonly root = true,
  ) {}

  async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    try {
      const rows = await this.sql.unsafe(
        text,
        params as postgres.ParameterOrJSON<PgTypes[keyof PgTypes]>[],
      );
      // A plain array, like PGlite's, rather than postgres.js's Result subclass.
      return Array.from(rows) as T[];
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async copyFrom(copies: readonly CopyIn[]): Promise<number> {
    let rows = 0;
    for (const { statement, data } of copies) {
      rows += await this.copyIn(statement, oneChunk(data));
    }
    return rows;
  }

  async copyIn(statement: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    let finished = false, rows = 0;
    try {
      const writable = await this.sql.unsafe(statement).writable();
      writable.on("finish", () => finished = true);
      let failure: unknown = null;
      const failed = new Promise<void>((resolve) =>
        writable.on("error", (error) => {
          failure = error;
          resolve();
        })
      );
      // The connection takes another query once the stream has sent CopyDone (in its
      // _final, called when all the data is written).
      const ended = new Promise<void>((resolve) => {
        const final = writable._final!;
        writable._final = (callback) => {
          final.call(writable, callback);
          resolve();
        };
      });
      for await (const chunk of batched(data)) {
        rows += countLines(chunk);
        if (!writable.write(chunk)) {
          await Promise.race([new Promise((resolve) => writable.once("drain", resolve)), failed]);
        }
        if (failure) throw failure;
      }
      writable.end();
      await Promise.race([ended, failed]);
      if (failure) throw failure;
      // postgres.js 3.4 never settles a COPY the server refused (its stream waits forever),
      // but the connection moves on: a query sent now runs after the COPY either way, and by
      // then a COPY that succeeded has finished. (In a transaction it fails if the COPY
      // aborted it.)
      await this.sql.unsafe("SELECT 1").catch(() => {});
      // The stream reports its end a few ticks after the COPY's completion.
      await new Promise((resolve) => setTimeout(resolve, 0));
    } catch (error) {
      throw toDatabaseError(error);
    }
    if (!finished) {
      throw new DatabaseError(`${statement.split(" (")[0]}: the database refused a row`);
    }
    return rows;
  }

  async *copyOut(statement: string): AsyncIterable<Uint8Array> {
    let readable: AsyncIterable<Uint8Array> & { _read?: (size: number) => void };
    try {
      readable = await this.sql.unsafe(statement).readable();
    } catch (error) {
      throw toDatabaseError(error);
    }
    try {
      // Node streams hand over everything buffered at each step, not a message per row.
      yield* readable;
    } catch (error) {
      throw toDatabaseError(error);
    } finally {
      // postgres.js pauses its socket while the stream's buffer is full and resumes it only
      // from the stream's _read, which an ended stream never calls: a COPY whose end arrived
      // while paused would leave the connection deaf to the next query's reply.
      readable._read?.(0);
    }
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    if (!this.root) return fn(this);
    try {
      return await (this.sql as PgSql).begin((tx) =>
        fn(new PostgresClient(tx, this.database, false))
      ) as T;
    } catch (error) {
      throw fromDriver(error);
    }
  }

  async close(): Promise<void> {
    if (this.root && !this.#closed) {
      this.#closed = true;
      await (this.sql as PgSql).end({ timeout: 5 });
    }
  }
}

/** One string as a stream of one chunk. */
async function* oneChunk(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text);
}

/** How many rows a chunk of COPY text holds (every row ends with a newline). */
function countLines(chunk: Uint8Array): number {
  let rows = 0;
  for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) rows++;
  return rows;
}

/** Gather small chunks into ones of at least `size` bytes: a COPY message each costs alike. */
async function* batched(
  data: AsyncIterable<Uint8Array>,
  size = 256 * 1024,
): AsyncIterable<Uint8Array> {
  let parts: Uint8Array[] = [], length = 0;
  for await (const chunk of data) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= size) {
      yield concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield concat(parts, length);
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Whole rows in batches of at least `size` bytes (PGlite copies a blob at a time). */
async function* wholeRows(
  data: AsyncIterable<Uint8Array>,
  size: number,
): AsyncIterable<Uint8Array> {
  let rest = new Uint8Array(0);
  for await (const chunk of batched(data, size)) {
    const joined = rest.length ? concat([rest, chunk], rest.length + chunk.length) : chunk;
    const end = joined.lastIndexOf(10) + 1;
    if (end > 0) yield joined.subarray(0, end);
    rest = joined.slice(end);
  }
  if (rest.length) yield rest;
}

type PgliteQueryable = Pick<PGlite, "query">;

const pgliteSettings = { parsers: { 20: toNumber, 1700: toNumber } };

/** An open PGlite directory and the lock that makes it this process's. */
interface PgliteEngine {
  engine: PGlite;
  lock: Lock;
}

/** Engines per data directory in this isolate (once open), with how many clients use each. */
const pgliteEngines = new Map<string, { opening: Promise<PgliteEngine>; users: number }>();

async function openPglite(dsn: PgliteDsn, options: ClientOptions): Promise<SqlClient> {
  if (dsn.dataDir === null) {
    const engine = new PGlite(pgliteSettings);
    await engine.waitReady;
    return new PgliteClient(engine, "pglite (in memory)", () => engine.close());
  }
  const dataDir = dsn.dataDir;
  let entry = pgliteEngines.get(dataDir);
  if (!entry) {
    entry = { opening: openPgliteEngine(dataDir, options), users: 0 };
    pgliteEngines.set(dataDir, entry);
  }
  const shared = entry;
  shared.users++;
  let opened: PgliteEngine;
  try {
    opened = await shared.opening;
  } catch (error) {
    if (--shared.users === 0) pgliteEngines.delete(dataDir);
    throw error;
  }
  return new PgliteClient(opened.engine, `pglite ${dataDir}`, async () => {
    if (--shared.users === 0) {
      pgliteEngines.delete(dataDir);
      try {
        await opened.engine.close();
      } finally {
        opened.lock.release();
      }
    }
  });
}

/** Lock a PGlite directory (made first if `create`), then start its engine. */
async function openPgliteEngine(dataDir: string, options: ClientOptions): Promise<PgliteEngine> {
  if (!await exists(dataDir)) {
    if (!options.create) throw new PiwError(`Database ${dataDir} does not exist`);
    await Deno.mkdir(dataDir, { recursive: true });
  }
  const lock = await lockDatabase({ kind: "pglite", dataDir });
  try {
    const engine = new PGlite(dataDir, pgliteSettings);
    await engine.waitReady;
    return { engine, lock };
  } catch (error) {
    lock.release();
    throw new PiwError(`Cannot open PGlite database ${dataDir}: ${String(error)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

class PgliteClient implements SqlClient {
  readonly kind = "pglite";
  #closed = false;

  constructor(
    private readonly engine: PgliteQueryable,
    readonly database: string,
    private readonly closer?: () => Promise<void>,
  ) {}

  async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    try {
      const result = await this.engine.query<T>(text, params, {
        onNotice: (notice) => log.debug(`${notice.severity}: ${notice.message}`),
      });
      return result.rows;
    } catch (error) {
      throw toDatabaseError(error);
    }
  }

  async copyIn(statement: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    const blobCopy = statement.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'");
    let rows = 0;
    for await (const chunk of wholeRows(data, 8 * 1024 * 1024)) {
      try {
        await this.engine.query(blobCopy, [], {
          blob: new Blob([chunk as Uint8Array<ArrayBuffer>]),
        });
      } catch (error) {
        throw toDatabaseError(error);
      }
      rows += countLines(chunk);
    }
    return rows;
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    if (!this.closer) return fn(this);
    try {
      return await (this.engine as PGlite).transaction((tx) =>
        fn(new PgliteClient(tx, this.database))
      );
    } catch (error) {
      throw fromDriver(error);
    }
  }

  async close(): Promise<void> {
    if (this.closer && !this.#closed) {
      this.#closed = true;
      await this.closer();
    }
  }
}
