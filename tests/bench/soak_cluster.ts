/**
 * A private PostgreSQL cluster for the durability soak (`durability_soak_bench.ts`): created with
 * `pg_createcluster` on a free port, stopped and started at will (`pg_ctlcluster`) to simulate a
 * database outage, and dropped at the end. Needs root (it runs `psql` as `postgres` through
 * `runuser`) and Debian's postgresql-common. Clusters are named `piw_soak_<pid>_<random>`, so a
 * later run drops those whose creating process is gone.
 * @module
 */
import { freePort } from "../fixtures/piw_process.ts";

const NAME_PREFIX = "piw_soak_";

/** A private cluster, its roles (a superuser and the master's role) and one database. */
export interface SoakCluster {
  /** The PostgreSQL major version (`pg_createcluster`'s first argument). */
  readonly version: string;
  readonly name: string;
  readonly port: number;
  /** The database piw uses. */
  readonly database: string;
  /** The superuser DSN of the database (for `piw initdb`). */
  readonly superDsn: string;
  /** The master's (ordinary) role name and its DSN. */
  readonly user: string;
  readonly dsn: string;
  /** Whether the cluster is running (as far as this process started and stopped it). */
  readonly running: boolean;
  /** Rows of `sql` run as `postgres` in the database, tab-separated fields; throws if down. */
  query(sql: string): Promise<string[][]>;
  /** `pg_ctlcluster stop -m fast` (or `immediate`: a crash, recovered from the WAL at start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** `pg_ctlcluster start`, then wait until it answers. */
  start(): Promise<void>;
  /** Stop and remove the cluster (data and configuration). */
  drop(): Promise<void>;
}

async function command(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${out.code}): ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
  return text;
}

/** The newest PostgreSQL major version installed (as scripts/test-services picks it). */
function installedVersion(): string {
  const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name)
    .filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(a) - Number(b));
  if (!versions.length) throw new Error("PostgreSQL is not installed (scripts/setup --tests)");
  return versions[versions.length - 1];
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Drop soak clusters left by runs that died before dropping their own. */
async function dropStale(version: string): Promise<string[]> {
  const dropped: string[] = [];
  for (const line of (await command("pg_lsclusters", ["-h"])).split("\n")) {
    const [ver, name] = line.trim().split(/\s+/);
    const m = name && new RegExp(`^${NAME_PREFIX}(\\d+)_`).exec(name);
    if (ver !== version || !m || alive(Number(m[1]))) continue;
    await command("pg_dropcluster", ["--stop", ver, name]).catch(() => {});
    dropped.push(name);
  }
  return dropped;
}

/** Create, start and set up a private cluster (roles `super` and `user`, one database). */
export async function createSoakCluster(
  options: { user?: string; database?: string } = {},
): Promise<SoakCluster & { staleDropped: string[] }> {
  const version = installedVersion();
  const staleDropped = await dropStale(version);
  const name = `${NAME_PREFIX}${Deno.pid}_${crypto.randomUUID().slice(0, 8)}`;
  const port = freePort();
  const user = options.user ?? "piw_soak";
  const database = options.database ?? "piw_soak";
  const superUser = `${user}_super`;
  try {
    await command("pg_createcluster", [
      version,
      name,
      "-p",
      String(port),
      "--start",
      "-o",
      "max_connections=60",
    ]);
  } catch (e) {
    await command("pg_dropcluster", ["--stop", version, name]).catch(() => {});
    throw e;
  }
  let running = true;
  const psql = (sql: string, db = "postgres") =>
    command("runuser", [
      "-u",
      "postgres",
      "--",
      "psql",
      "-p",
      String(port),
      "-d",
      db,
      "-qAtX",
      "-F",
      "\t",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      sql,
    ]);
  const waitReady = async () => {
    for (let i = 0;; i++) {
      try {
        await psql("SELECT 1");
        return;
      } catch (e) {
        if (i >= 60) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const cluster = {
    version,
    name,
    port,
    database,
    superDsn: `postgres://${superUser}:${superUser}@127.0.0.1:${port}/${database}`,
    user,
    dsn: `postgres://${user}:${user}@127.0.0.1:${port}/${database}`,
    staleDropped,
    get running() {
      return running;
    },
    async query(sql: string) {
      const text = await psql(sql, database);
      return text.split("\n").filter((line) => line !== "").map((line) => line.split("\t"));
    },
    async stop(mode: "fast" | "immediate" = "fast") {
      running = false;
      await command("pg_ctlcluster", [version, name, "stop", "-m", mode]);
    },
    async start() {
      await command("pg_ctlcluster", [version, name, "start"]);
      running = true;
      await waitReady();
    },
    async drop() {
      running = false;
      await command("pg_dropcluster", ["--stop", version, name]);
    },
  };
  try {
    await waitReady();
    await psql(`CREATE ROLE ${superUser} SUPERUSER LOGIN PASSWORD '${superUser}'`);
    await psql(`CREATE ROLE ${user} LOGIN PASSWORD '${user}'`);
    await psql(`CREATE DATABASE ${database}`);
  } catch (e) {
    await cluster.drop().catch(() => {});
    throw e;
  }
  return cluster;
}
