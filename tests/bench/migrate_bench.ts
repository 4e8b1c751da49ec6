/**
 * Benchmark: `piw initdb --from-piwheels` on a generated piwheels 0.23 database. Creates two
 * scratch databases on the test cluster (PIW_TEST_PG_SUPER_DSN): the source, made with piwheels'
 * own create script and filled server-side (generate_series) with piwheels.org-shaped data
 * (non-normalised names, skipped and yanked versions, legacy version strings, failed builds
 * without files, armv6l twins, dependencies, access logs), and an empty target. Runs the real
 * CLI and reports rows/s per table (read + carry), the total time and the migrator's peak RSS
 * (VmHWM, sampled from /proc while it runs): flat as the data grows, since every table streams.
 *
 * Run: `deno run -A tests/bench/migrate_bench.ts` (scale 0.05 of piwheels.org: a few minutes
 * here), `--scale 0.2`, or `--full` (600,000 packages, 7,000,000 versions, 3,000,000 builds,
 * 30,000,000 downloads). PIW_BENCH_KEEP=1 keeps both databases.
 * @module
 */
import { PG_USER, pgDsn, scratchDatabase } from "../db/harness.ts";
import { piwheelsDatabase } from "../fixtures/piwheels_db.ts";
import { PiwProcess } from "../fixtures/piw_process.ts";

/** How much to generate; files (about 1.1 per build), logs and names follow. */
export interface MigrateScale {
  packages: number;
  versions: number;
  builds: number;
  downloads: number;
}

/** piwheels.org as of this benchmark: the scale `--full` generates. */
export const FULL: MigrateScale = {
  packages: 600_000,
  versions: 7_000_000,
  builds: 3_000_000,
  downloads: 30_000_000,
};

function scaleFromArgs(args: string[]): MigrateScale {
  if (args.includes("--full")) return FULL;
  const at = args.indexOf("--scale");
  const factor = at >= 0 ? Number(args[at + 1]) : 0.05;
  if (!(factor > 0)) throw new Error(`--scale: expected a positive number, got ${args[at + 1]}`);
  return {
    packages: Math.max(10, Math.round(FULL.packages * factor)),
    versions: Math.max(20, Math.round(FULL.versions * factor)),
    builds: Math.max(10, Math.round(FULL.builds * factor)),
    downloads: Math.max(10, Math.round(FULL.downloads * factor)),
  };
}

/** The SQL filling a piwheels 0.23 database at `scale`, a statement each. */
function fillStatements(s: MigrateScale): string[] {
  const { packages: P, versions: V, downloads: D } = s;
  const B = Math.min(s.builds, V);
  // One in a thousand packages has a name piwheels stored unnormalised.
  const name = (i: string) => `(CASE WHEN (${i}) % 1000 = 0 THEN 'Pkg_' ELSE 'pkg-' END || (${i}))`;
  // Versions j = 0..V-1: package j % P + 1, its (j / P)th version; one in 97 a legacy string.
  const version = (j: string) =>
    `(CASE WHEN (${j}) % 97 = 0 THEN ((${j}) / ${P}) || 'd' ELSE ((${j}) / ${P}) || '.0' END)`;
  const searches = Math.round(D / 10);
  return [
    `UPDATE configuration SET pypi_serial = 25000000`,
    `INSERT INTO packages (package, skip, description)
     SELECT ${name("i")}, CASE WHEN i % 200 = 0 THEN 'deleted' ELSE '' END,
            'Synthetic package number ' || i
     FROM generate_series(1, ${P}) i`,
    `INSERT INTO package_names (package, name, seen)
     SELECT ${name("i")}, ${name("i")}, '2018-01-01'::timestamp + i * interval '1 minute'
     FROM generate_series(1, ${P}) i`,
    `INSERT INTO versions (package, version, released, skip, yanked)
     SELECT ${name(`j % ${P} + 1`)}, ${version("j")},
            '2015-01-01'::timestamp + j * interval '20 seconds',
            CASE WHEN j % 300 = 0 THEN 'binary only' ELSE '' END, j % 400 = 0
     FROM generate_series(0, ${V - 1}) j`,
    `INSERT INTO build_abis (abi_tag) VALUES ('cp37m'), ('cp39'), ('cp311')`,
    `INSERT INTO preinstalled_apt_packages (abi_tag, apt_package)
     SELECT abi, 'lib' || n FROM unnest(ARRAY['cp37m', 'cp39', 'cp311']) abi,
            generate_series(1, 300) n`,
    `INSERT INTO builds (build_id, package, version, built_by, built_at, duration, status,
                         abi_tag)
     SELECT k, ${name(`(k - 1) % ${P} + 1`)}, ${version("k - 1")}, k % 40,
            '2015-01-01 01:00:00'::timestamp + (k - 1) * interval '20 seconds',
            (k % 600) * interval '1 second', k % 5 <> 0, 'cp37m'
     FROM generate_series(1, ${B}) k`,
    `SELECT setval('builds_build_id_seq', ${B})`,
    `INSERT INTO files (filename, build_id, filesize, filehash, package_tag,
                        package_version_tag, py_version_tag, abi_tag, platform_tag,
                        requires_python)
     SELECT replace(package, '-', '_') || '-' || version || '-cp37-cp37m-linux_' || arch ||
              '.whl', build_id, 1000 + build_id % 100000,
            encode(sha256(build_id::text::bytea), 'hex'), package, version, 'cp37', 'cp37m',
            'linux_' || arch, CASE WHEN build_id % 2 = 0 THEN '>=3.7' END
     FROM builds, unnest(ARRAY['armv7l', 'armv6l']) arch
     WHERE status AND (arch = 'armv7l' OR build_id % 8 = 0)`,
    `INSERT INTO dependencies (filename, tool, dependency)
     SELECT filename, 'apt', 'libfoo' || (build_id % 50) FROM files WHERE build_id % 4 = 0
     UNION ALL
     SELECT filename, 'pip', 'numpy' FROM files WHERE build_id % 8 = 0`,
    `INSERT INTO downloads
     SELECT replace(${
      name(`(d::BIGINT * 7919) % ${B} % ${P} + 1`)
    }, '-', '_') || '-0.0-cp37-cp37m-' ||
              'linux_armv7l.whl',
            '10.0.0.0'::inet + (d % 16777216), '2020-01-01'::timestamp + d * interval '2 s',
            'armv7l', 'Raspbian GNU/Linux', '11', 'Linux', '6.1.21-v7+', 'CPython', '3.9.2',
            'pip', '23.0.1', '66.1.1'
     FROM generate_series(1, ${D}) d`,
    `INSERT INTO searches (package, accessed_by, accessed_at, arch, installer_name)
     SELECT ${name(`s % ${P} + 1`)}, '10.1.0.0'::inet + (s % 65536),
            '2020-01-01'::timestamp + s * interval '20 s', 'aarch64', 'pip'
     FROM generate_series(1, ${searches}) s`,
    `INSERT INTO project_page_hits
     SELECT ${name(`s % ${P} + 1`)}, '10.2.0.0'::inet + (s % 65536),
            '2020-01-01'::timestamp + s * interval '20 s',
            'Mozilla/5.0 (X11; Linux armv7l) Firefox/115.0', s % 10 = 0
     FROM generate_series(1, ${searches}) s`,
    `INSERT INTO project_json_downloads
     SELECT ${name(`s % ${P} + 1`)}, '10.3.0.0'::inet + (s % 65536),
            '2020-01-01'::timestamp + s * interval '60 s', 'pip/23.0.1'
     FROM generate_series(1, ${Math.round(searches / 3)}) s`,
    `INSERT INTO web_page_hits
     SELECT (ARRAY['index', 'faq', 'packages', 'stats'])[s % 4 + 1], '10.4.0.0'::inet + s,
            '2020-01-01'::timestamp + s * interval '60 s', 'curl/7.88', false
     FROM generate_series(1, ${Math.round(searches / 3)}) s`,
    `INSERT INTO rewrites_pending (package, added_at, command)
     SELECT ${name("i")}, '2024-01-01'::timestamp, 'BOTH' FROM generate_series(1, 100) i`,
    "ANALYZE",
  ];
}

/** The peak resident set of a process so far, bytes (0 once it is gone). */
function peakRss(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

if (import.meta.main) {
  const scale = scaleFromArgs(Deno.args);
  console.log(`scale: ${JSON.stringify(scale)}`);
  const source = await piwheelsDatabase("mgsrc");
  const target = await scratchDatabase("mgdst");
  const keep = Deno.env.get("PIW_BENCH_KEEP") === "1";
  try {
    let started = performance.now();
    for (const statement of fillStatements(scale)) await source.admin.query(statement);
    const [{ size }] = await source.admin.query<{ size: number }>(
      "SELECT pg_database_size(current_database()) AS size",
    );
    console.log(
      `generated the piwheels database in ${((performance.now() - started) / 1000).toFixed(1)}` +
        ` s (${mb(size)})`,
    );

    started = performance.now();
    const child = new PiwProcess("initdb", [
      "initdb",
      "-y",
      "-u",
      PG_USER,
      "--dsn",
      pgDsn(target.name),
      "--from-piwheels",
      source.userDsn,
    ]);
    let peak = 0;
    const sampler = setInterval(() => peak = Math.max(peak, peakRss(child.process.pid)), 100);
    const code = await child.exit(24 * 3600_000);
    clearInterval(sampler);
    const total = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`piw initdb --from-piwheels exited ${code}:\n${child.tail()}`);

    // "<table>: N rows read in T s, ...", "<table>: N of M rows carried in T s, ...",
    // "<table>: N rows copied in T s, ...": per table, the rows and the seconds they took.
    const tables = new Map<string, { rows: number; seconds: number }>();
    for (const line of child.lines) {
      const m = /^(\w+): ([\d,]+)(?: of [\d,]+)? rows (read|carried|copied) in ([\d.]+) s/
        .exec(line);
      if (!m) continue;
      const entry = tables.get(m[1]) ?? { rows: 0, seconds: 0 };
      if (m[3] !== "read") entry.rows = Number(m[2].replaceAll(",", ""));
      entry.seconds += Number(m[4]);
      tables.set(m[1], entry);
    }
    console.log("\ntable                        rows   seconds      rows/s");
    let rows = 0;
    for (const [table, { rows: n, seconds }] of tables) {
      rows += n;
      console.log(
        `${table.padEnd(26)} ${String(n).padStart(10)} ${seconds.toFixed(1).padStart(9)} ` +
          `${(seconds > 0 ? Math.round(n / seconds) : 0).toString().padStart(11)}`,
      );
    }
    for (const line of child.lines) {
      if (/^(Changed|Not carried|Build queue|Migrated)/.test(line)) console.log(line);
    }
    console.log(
      `\ntotal: ${rows.toLocaleString("en")} rows in ${total.toFixed(1)} s ` +
        `(${Math.round(rows / total).toLocaleString("en")} rows/s overall); ` +
        `migrator peak RSS ${mb(peak)}`,
    );
  } finally {
    if (keep) {
      console.log(`kept: source ${source.name}, target ${target.name}`);
      await source.admin.close();
    } else {
      await target.drop();
      await source.drop();
    }
  }
}
