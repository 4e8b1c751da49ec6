/**
 * `piw initdb --from-piwheels`: copy a piwheels 0.23 database into a new piw database, streaming
 * every table with COPY (nothing is held in memory) in one transaction on each side: a
 * repeatable-read snapshot of the source, and on the target piw's schema, the data and the
 * derived data (build queue, statistics) together, or nothing.
 * @module
 */
import { confirm, type PromptIO } from "../cli/prompt.ts";
import { PiwError } from "../errors.ts";
import type { SqlClient } from "../db/client.ts";
import { detectSchemaVersion } from "../db/schema.ts";
import { initializeDatabase } from "./initdb.ts";

/** The piwheels schema version this migration reads. */
export const PIWHEELS_VERSION = "0.23";

/** What the comment on piw's packages table starts with once a migration has filled it. */
const MIGRATED = "piw: migrated from piwheels";

/**
 * The piwheels tables copied into temporary tables first, as piwheels types them (text rather
 * than piw's column widths, so no row is refused on the way in), then carried by SQL.
 */
const STAGED: Record<string, string> = {
  packages: "package text, skip text, description text",
  package_names: "package text, name text, seen timestamp",
  versions: "package text, version text, released timestamp, skip text, yanked boolean",
  build_abis: "abi_tag text, skip text",
  builds: "build_id integer, package text, version text, built_by integer, " +
    "built_at timestamp, duration interval, status boolean, abi_tag text",
  files: "filename text, build_id integer, filesize integer, filehash text, package_tag text, " +
    "package_version_tag text, py_version_tag text, abi_tag text, platform_tag text, " +
    "requires_python text, location text",
  dependencies: "filename text, tool text, dependency text",
  preinstalled_apt_packages: "abi_tag text, apt_package text",
  rewrites_pending: "package text, added_at timestamp, command text",
};

const CLIENT_COLUMNS = "accessed_by, accessed_at, arch, distro_name, distro_version, os_name, " +
  "os_version, py_name, py_version, installer_name, installer_version, setuptools_version";

/**
 * The access logs, whose columns piw has exactly as piwheels (timestamps read as UTC): copied
 * straight into piw's tables, the bulk of the rows.
 */
const LOGS: Record<string, string> = {
  downloads: `filename, ${CLIENT_COLUMNS}`,
  searches: `package, ${CLIENT_COLUMNS}`,
  project_page_hits: "package, accessed_by, accessed_at, user_agent, bot",
  project_json_downloads: "package, accessed_by, accessed_at, user_agent",
  web_page_hits: "page, accessed_by, accessed_at, user_agent, bot",
};

/** piw tables whose triggers maintain derived data; off during the load, recomputed after. */
const TRIGGERED = ["packages", "versions", "build_abis", "builds", "files", "built_packages"];

/** A name or version PostgreSQL's `[[:cntrl:]]` matches: piw's checks refuse them. */
const CNTRL = "'[[:cntrl:]]'";

/** Options of `migrateFromPiwheels`. */
export interface MigrateOptions {
  /** The ordinary role the master connects as (as for `initializeDatabase`). */
  user: string;
  /** Proceed without asking. */
  yes: boolean;
  /** Where to ask (default: the terminal). */
  promptIO?: PromptIO;
  /** One line of progress or report (`piw initdb` logs it). */
  say: (line: string) => void;
  /** How often a long copy reports its rows so far, ms (default 10 s). */
  progressEvery?: number;
}

/** One table's rows in the source and in piw after the migration, and the copy's time. */
export interface TableCount {
  table: string;
  source: number;
  carried: number;
  seconds: number;
}

/** What the migration did: "already" when the target had been migrated before. */
export interface MigrationResult {
  status: "migrated" | "already";
  tables: TableCount[];
  /** Lines saying what could not be carried, and why. */
  notCarried: string[];
  /** Lines saying what was carried but changed on the way, and why. */
  changed: string[];
}

/**
 * Check that `source` is a piwheels 0.23 database; returns its PyPI serial. Throws a one-line
 * `PiwError` otherwise (a piw database, another piwheels version, something else).
 */
export async function checkPiwheelsSource(source: SqlClient): Promise<number> {
  const [state] = await source.query<{ configured: boolean; marker: string | null }>(
    `SELECT c.oid IS NOT NULL AS configured, obj_description(c.oid::oid, 'pg_class') AS marker
     FROM (SELECT to_regclass('public.configuration') AS oid) c`,
  );
  if (!state.configured) {
    throw new PiwError(`Database ${source.database} is not a piwheels database (no configuration)`);
  }
  if (state.marker === "piw") {
    throw new PiwError(`Database ${source.database} is a piw database, not a piwheels one`);
  }
  const [row] = await source.query<{ version: string; serial: number }>(
    "SELECT version, pypi_serial AS serial FROM configuration WHERE id = 1",
  );
  if (row?.version !== PIWHEELS_VERSION) {
    throw new PiwError(
      `Database ${source.database} is piwheels version ${row?.version ?? "unknown"}; piw ` +
        `migrates piwheels ${PIWHEELS_VERSION} databases (upgrade it with piwheels ` +
        `${PIWHEELS_VERSION}'s piw-initdb first)`,
    );
  }
  return row.serial;
}

/**
 * Whether the target was migrated before (`migrated`: what its marker says) or is ready for a
 * migration (null); throws when it holds other piw data.
 */
async function targetState(target: SqlClient): Promise<{ migrated: string | null }> {
  if (await detectSchemaVersion(target) === null) return { migrated: null };
  const [row] = await target.query<{ comment: string | null; occupied: boolean }>(
    `SELECT obj_description('public.packages'::regclass, 'pg_class') AS comment,
            EXISTS (SELECT 1 FROM packages) OR EXISTS (SELECT 1 FROM downloads)
            OR EXISTS (SELECT 1 FROM searches) OR EXISTS (SELECT 1 FROM builds) AS occupied`,
  );
  if (row.comment?.startsWith(MIGRATED)) return { migrated: row.comment.slice(5) };
  if (row.occupied) {
    throw new PiwError(
      `Database ${target.database} already holds piw data; migrate a piwheels database into a ` +
        "new (empty or freshly initialised) database",
    );
  }
  return { migrated: null };
}

/**
 * Migrate the piwheels 0.23 database `source` into `target` (connected as a cluster superuser,
 * like `piw initdb`): creates (or upgrades) piw's schema there if needed, then copies every
 * table. A target migrated before is left alone ("already"); one holding other data is refused.
 */
export async function migrateFromPiwheels(
  source: SqlClient,
  target: SqlClient,
  options: MigrateOptions,
): Promise<MigrationResult> {
  const { say } = options;
  await checkPiwheelsSource(source);
  const before = await targetState(target);
  if (before.migrated) {
    say(`Database ${target.database} was ${before.migrated}; nothing to do`);
    return { status: "already", tables: [], notCarried: [], changed: [] };
  }
  await confirm(
    `Copy piwheels database ${source.database} into piw database ${target.database}?`,
    { yes: options.yes, io: options.promptIO },
  );
  return await source.transaction(async (src) => {
    // One snapshot of the source for every table, while its master may still be running.
    await src.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const serial = await checkPiwheelsSource(src);
    return await target.transaction(async (tx) => {
      await initializeDatabase(tx, { user: options.user, yes: true });
      const now = await targetState(tx);
      if (now.migrated) {
        say(`Database ${target.database} was ${now.migrated}; nothing to do`);
        return { status: "already" as const, tables: [], notCarried: [], changed: [] };
      }
      const migration = new Migration(src, tx, options);
      const result = await migration.run(serial);
      const comment = `${MIGRATED} database ${source.database} (PyPI serial ${serial}) at ` +
        new Date().toISOString();
      await tx.query(`COMMENT ON TABLE packages IS '${comment.replaceAll("'", "''")}'`);
      return result;
    });
  });
}

/** Seconds since `started` (a `performance.now()`). */
function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

/** One migration's steps, inside both transactions. */
class Migration {
  readonly tables: TableCount[] = [];
  readonly notCarried: string[] = [];
  readonly changed: string[] = [];
  readonly #staged = new Map<string, { rows: number; seconds: number }>();

  constructor(
    private readonly src: SqlClient,
    private readonly tx: SqlClient,
    private readonly options: MigrateOptions,
  ) {}

  async run(serial: number): Promise<MigrationResult> {
    const { tx } = this;
    // piwheels stores UTC in plain timestamps: read them as UTC (the logs are copied as text).
    await tx.query("SELECT set_config('TimeZone', 'UTC', true)");
    for (const table of TRIGGERED) await tx.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    for (const [table, columns] of Object.entries(STAGED)) {
      await tx.query(`CREATE TEMPORARY TABLE pw_${table} (${columns}) ON COMMIT DROP`);
      const names = columns.split(", ").map((column) => column.split(" ")[0]).join(", ");
      const started = performance.now();
      const rows = await this.copy(table, names, `pw_${table} (${names})`);
      this.#staged.set(table, { rows, seconds: (performance.now() - started) / 1000 });
      this.say(table, "read", rows, started);
      await tx.query(`ANALYZE pw_${table}`);
    }
    await this.carry();
    for (const [table, columns] of Object.entries(LOGS)) {
      const started = performance.now();
      const rows = await this.copy(table, columns, `${table} (${columns})`);
      this.tables.push({ table, source: rows, carried: rows, seconds: seconds(started) });
      this.say(table, "copied", rows, started);
    }
    await tx.query("UPDATE configuration SET pypi_serial = $1 WHERE id = 1", [serial]);
    this.options.say(`PyPI serial: ${serial}`);
    for (const table of TRIGGERED) await tx.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    this.options.say("Computing the build queue and statistics");
    const started = performance.now();
    for (const table of ["packages", "versions", "builds", "files", "downloads"]) {
      await tx.query(`ANALYZE ${table}`);
    }
    await tx.query("SELECT refresh_statistics()");
    await tx.query("SELECT refresh_build_queue()");
    // Popularity (downloads of the last 30 days) ranks the queue: count it from the migrated log.
    await tx.query("SELECT refresh_queue_ranks()");
    this.options.say(`Build queue and statistics computed in ${seconds(started).toFixed(1)} s`);
    this.notCarried.push(
      "build output: piwheels 0.23 keeps build logs as files (logs/), not in its database; " +
        "they stay where they are",
    );
    return {
      status: "migrated",
      tables: this.tables,
      notCarried: this.notCarried,
      changed: this.changed,
    };
  }

  /** Stream one source table into `into` ("table (columns)"), reporting progress; the rows. */
  async copy(table: string, columns: string, into: string): Promise<number> {
    const { say, progressEvery = 10_000 } = this.options;
    let rows = 0, last = performance.now();
    const counted = async function* (data: AsyncIterable<Uint8Array>) {
      for await (const chunk of data) {
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) rows++;
        if (performance.now() - last >= progressEvery) {
          last = performance.now();
          say(`${table}: ${rows.toLocaleString("en")} rows so far`);
        }
        yield chunk;
      }
    };
    const data = this.src.copyOut!(`COPY (SELECT ${columns} FROM ${table}) TO STDOUT`);
    return await this.tx.copyIn(`COPY ${into} FROM STDIN`, counted(data));
  }

  /** Say how many rows of a table went where since `started`, and how fast. */
  say(table: string, what: string, rows: number, started: number, of?: number) {
    const took = seconds(started);
    const rate = took > 0 ? `, ${Math.round(rows / took).toLocaleString("en")} rows/s` : "";
    const total = of === undefined ? "" : ` of ${of.toLocaleString("en")}`;
    this.options.say(
      `${table}: ${rows.toLocaleString("en")}${total} rows ${what} in ${took.toFixed(1)} s${rate}`,
    );
  }

  async count(query: string): Promise<number> {
    const [row] = await this.tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${query}`);
    return Number(row.n);
  }

  /**
   * Run the statements filling `table` from its staged copy, then record the counts and explain
   * any rows left behind: each reason's count (the last takes the remainder).
   */
  async fill(
    table: string,
    load: string[] | (() => Promise<void>),
    reasons: [string, string | null][],
  ) {
    const started = performance.now();
    if (typeof load === "function") await load();
    else for (const statement of load) await this.tx.query(statement);
    const staged = this.#staged.get(table)!;
    const carried = await this.count(table);
    this.tables.push({
      table,
      source: staged.rows,
      carried,
      seconds: staged.seconds + seconds(started),
    });
    this.say(table, "carried", carried, started, staged.rows);
    let left = staged.rows - carried;
    if (left <= 0) return;
    const parts: string[] = [];
    for (const [reason, query] of reasons) {
      const n = query === null ? left : Math.min(left, await this.count(query));
      if (n > 0) parts.push(`${n.toLocaleString("en")} ${reason}`);
      left -= n;
      if (left <= 0) break;
    }
    this.notCarried.push(
      `${table}: ${(staged.rows - carried).toLocaleString("en")} of ` +
        `${staged.rows.toLocaleString("en")} rows: ${parts.join("; ")}`,
    );
  }

  /** Carry the staged tables into piw's, parents before children. */
  async carry() {
    const { tx } = this;
    // Every package under its canonical (PEP 503) name, as piw keys them; one whose name has
    // control characters cannot be carried at all.
    await tx.query(
      `CREATE TEMPORARY TABLE pw_names ON COMMIT DROP AS
       SELECT package AS old, lower(regexp_replace(package, '[-_.]+', '-', 'g')) AS new,
              package ~ ${CNTRL} AS bad
       FROM pw_packages`,
    );
    await tx.query("CREATE INDEX ON pw_names (old)");
    await tx.query("ANALYZE pw_names");
    const renamed = await tx.query<{ old: string; new: string }>(
      "SELECT old, new FROM pw_names WHERE NOT bad AND old <> new ORDER BY old LIMIT 5",
    );
    if (renamed.length) {
      const all = await this.count("pw_names WHERE NOT bad AND old <> new");
      this.changed.push(
        `packages: ${all.toLocaleString("en")} renamed to their canonical names (` +
          renamed.map((r) => `${r.old} -> ${r.new}`).join(", ") + (all > 5 ? ", ..." : "") +
          "); the old names are kept as aliases",
      );
    }
    // Rows of canonically named packages first (they cannot clash), then the renamed ones,
    // which give way to whatever is there already under the same canonical name.
    const twice = (statement: string, tail = "") => [
      `${statement} AND n.old = n.new`,
      `${statement} AND n.old <> n.new ORDER BY n.old ON CONFLICT DO NOTHING${tail}`,
    ];
    await this.fill(
      "packages",
      twice(
        `INSERT INTO packages (package, skip, description)
         SELECT n.new, p.skip, p.description FROM pw_packages p JOIN pw_names n ON n.old = p.package
         WHERE NOT n.bad`,
      ),
      [
        ["with control characters in the name (piw refuses them)", "pw_names WHERE bad"],
        ["merged into another package with the same canonical name", null],
      ],
    );
    await this.fill(
      "package_names",
      [
        `INSERT INTO package_names (package, name, seen)
         SELECT n.new, pn.name, pn.seen AT TIME ZONE 'UTC'
         FROM pw_package_names pn JOIN pw_names n ON n.old = pn.package
         WHERE NOT n.bad AND pn.name !~ ${CNTRL}`,
      ],
      [["of packages not carried, or with control characters in the name", null]],
    );
    // A renamed package keeps the name piwheels knew it by as an alias (its display name).
    await tx.query(
      `INSERT INTO package_names (package, name)
       SELECT new, old FROM pw_names WHERE NOT bad AND old <> new ON CONFLICT DO NOTHING`,
    );
    await this.fill(
      "versions",
      twice(
        `INSERT INTO versions (package, version, released, skip, yanked)
         SELECT n.new, v.version, v.released AT TIME ZONE 'UTC', v.skip, v.yanked
         FROM pw_versions v JOIN pw_names n ON n.old = v.package
         WHERE NOT n.bad AND v.version !~ ${CNTRL}`,
      ),
      [
        [
          "of packages not carried",
          "pw_versions v JOIN pw_names n ON n.old = v.package WHERE n.bad",
        ],
        [
          "with control characters in the version (piw refuses them)",
          `pw_versions v
          JOIN pw_names n ON n.old = v.package WHERE NOT n.bad AND v.version ~ ${CNTRL}`,
        ],
        ["the same version of a package merged by canonical name", null],
      ],
    );
    await this.fill(
      "build_abis",
      [
        `INSERT INTO build_abis (abi_tag, skip)
         SELECT abi_tag, skip FROM pw_build_abis WHERE abi_tag NOT IN ('none', 'abi3')
         ON CONFLICT (abi_tag) DO NOTHING`,
      ],
      [["'abi3' (a wheel tag: piw never builds for it)", null]],
    );
    const buildsInsert = `INSERT INTO builds (build_id, package, version, built_by, built_at,
                                              duration, status, abi_tag)
         SELECT b.build_id, n.new, b.version, b.built_by,
                b.built_at AT TIME ZONE 'UTC' + $1 * INTERVAL '1 microsecond',
                b.duration, b.status, b.abi_tag
         FROM pw_builds b JOIN pw_names n ON n.old = b.package
         WHERE NOT n.bad AND b.version !~ ${CNTRL}`;
    await this.fill(
      "builds",
      async () => {
        await tx.query(`${buildsInsert} AND n.old = n.new`, [0]);
        // A build of a merged package that clashes with one of the same (package, version,
        // time, slave) is kept a microsecond later: its files are on disk and must keep a row.
        let nudged = 0;
        for (let micro = 0; micro <= 10; micro++) {
          const [{ n }] = await tx.query<{ n: number }>(
            `WITH added AS (
               ${buildsInsert} AND n.old <> n.new
               AND NOT EXISTS (SELECT 1 FROM builds x WHERE x.build_id = b.build_id)
               ORDER BY b.build_id ON CONFLICT DO NOTHING RETURNING 1
             ) SELECT count(*) AS n FROM added`,
            [micro],
          );
          if (micro > 0) nudged += n;
          else if (n === 0 && await this.count("pw_names WHERE NOT bad AND old <> new") === 0) {
            break;
          }
        }
        if (nudged > 0) {
          this.changed.push(
            `builds: ${nudged.toLocaleString("en")} of merged packages moved by a ` +
              "microsecond or a few, as piw's builds are unique by (package, version, time, " +
              "slave)",
          );
        }
      },
      [
        [
          "of versions not carried",
          `pw_builds b JOIN pw_names n ON n.old = b.package
          WHERE n.bad OR b.version ~ ${CNTRL}`,
        ],
        ["duplicates (package, version, time, slave) after merging packages", null],
      ],
    );
    // New builds continue after piwheels' last id, carried or not: build logs are files named
    // by build id, and a new build must not take an old one's.
    const [{ last }] = await this.src.query<{ last: number | null }>(
      `SELECT CASE WHEN has_sequence_privilege(s, 'SELECT') THEN pg_sequence_last_value(s) END
         AS last
       FROM (SELECT pg_get_serial_sequence('public.builds', 'build_id')::regclass AS s) q`,
    );
    await tx.query(
      `SELECT setval(pg_get_serial_sequence('public.builds', 'build_id'),
                     GREATEST(COALESCE($1::BIGINT, 0), (SELECT COALESCE(max(build_id), 0)
                                                        FROM pw_builds)) + 1, false)`,
      [last],
    );
    await this.fill(
      "files",
      [
        `INSERT INTO files (filename, build_id, filesize, filehash, package_tag,
                            package_version_tag, py_version_tag, abi_tag, platform_tag,
                            requires_python, location)
         SELECT f.filename, f.build_id, f.filesize, f.filehash, f.package_tag,
                f.package_version_tag, f.py_version_tag, f.abi_tag, f.platform_tag,
                CASE WHEN length(f.requires_python) <= 100 THEN f.requires_python END, f.location
         FROM pw_files f JOIN builds b ON b.build_id = f.build_id`,
      ],
      [["of builds not carried", null]],
    );
    const longRequires = await this.count("pw_files WHERE length(requires_python) > 100");
    if (longRequires > 0) {
      this.changed.push(
        `files: ${longRequires.toLocaleString("en")} Requires-Python values over piw's 100 ` +
          "characters dropped (the files are carried without one)",
      );
    }
    await this.fill(
      "dependencies",
      [
        `INSERT INTO dependencies (filename, tool, dependency)
         SELECT d.filename, d.tool, d.dependency
         FROM pw_dependencies d JOIN files f ON f.filename = d.filename`,
      ],
      [["of files not carried", null]],
    );
    await this.fill(
      "preinstalled_apt_packages",
      [
        `INSERT INTO preinstalled_apt_packages (abi_tag, apt_package)
         SELECT p.abi_tag, p.apt_package
         FROM pw_preinstalled_apt_packages p JOIN build_abis a ON a.abi_tag = p.abi_tag
         ON CONFLICT DO NOTHING`,
      ],
      [["of build ABIs not carried", null]],
    );
    // Pending rewrites may name deleted packages (their pages are due to go): keep those too.
    await this.fill(
      "rewrites_pending",
      [
        `INSERT INTO rewrites_pending (package, added_at, command)
         SELECT DISTINCT ON (pkg) pkg, added_at, command
         FROM (SELECT lower(regexp_replace(package, '[-_.]+', '-', 'g')) AS pkg,
                      added_at AT TIME ZONE 'UTC' AS added_at, command
               FROM pw_rewrites_pending WHERE package !~ ${CNTRL}) r
         ORDER BY pkg, command = 'BOTH' DESC, added_at`,
      ],
      [
        ["with control characters in the name", `pw_rewrites_pending WHERE package ~ ${CNTRL}`],
        ["merged with another of the same canonical name", null],
      ],
    );
  }
}
