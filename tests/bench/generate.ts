/**
 * Fills an initialised, empty piw database with PyPI-scale synthetic data through COPY, for
 * benchmarks. Builds follow the queue's rules (lowest ABI first, a `none` or abi3 wheel ends a
 * version's builds), so the derived build queue looks like a real farm's.
 *
 * Scale: `FULL_SCALE` (600,000 packages, 7,000,000 versions, 4 ABIs, 3,000,000 builds, about
 * 4,000,000 files), scaled by env `PIW_BENCH_SCALE` (e.g. 0.01) and overridable per field with
 * `PIW_BENCH_PACKAGES`, `_VERSIONS`, `_ABIS`, `_BUILDS`, `_DOWNLOADS`.
 * @module
 */
import type { Writable } from "node:stream";
import postgres from "postgres";

/** How much data to generate. Files follow from builds (about 1.35 per build). */
export interface Scale {
  packages: number;
  versions: number;
  /** Build ABIs: cp39, cp311, cp313, cp314, cp315, ... */
  abis: number;
  builds: number;
  downloads: number;
}

/** PyPI scale, as of the piwheels database this benchmark models. */
export const FULL_SCALE: Scale = {
  packages: 600_000,
  versions: 7_000_000,
  abis: 4,
  builds: 3_000_000,
  downloads: 1_000_000,
};

/** `base` scaled by env PIW_BENCH_SCALE, with per-field PIW_BENCH_<FIELD> overrides. */
export function scaleFromEnv(base: Scale = FULL_SCALE): Scale {
  const factor = Number(Deno.env.get("PIW_BENCH_SCALE") ?? 1);
  const scale = { ...base };
  for (const key of Object.keys(scale) as (keyof Scale)[]) {
    const override = Deno.env.get(`PIW_BENCH_${key.toUpperCase()}`);
    scale[key] = override !== undefined
      ? Number(override)
      : key === "abis"
      ? base[key]
      : Math.max(1, Math.round(base[key] * factor));
  }
  return scale;
}

/** What was generated, and how long each phase took (seconds). */
export interface GenerateResult {
  counts: Record<"packages" | "versions" | "builds" | "files" | "downloads", number>;
  abis: string[];
  seconds: { load: number; derive: number; vacuum: number; total: number };
}

/** The build ABIs for a scale: cp39, cp311, then each later CPython. */
export function abiNames(count: number): string[] {
  const minors = [9, 11, 13, 14, 15, 16, 17, 18, 19, 20];
  return minors.slice(0, count).map((m) => `cp3${m}`);
}

/** mulberry32: small, fast and seedable, so runs are repeatable. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Reserved = postgres.ReservedSql;

/** A COPY FROM STDIN on its own connection, fed in 1 MB chunks (per-row writes are slow). */
class CopyStream {
  #buffer = "";
  #rows = 0;
  private constructor(
    private readonly conn: Reserved,
    private readonly stream: Writable,
  ) {}

  static async open(sql: postgres.Sql, table: string, columns: string[]): Promise<CopyStream> {
    const conn = await sql.reserve();
    // Skips triggers and foreign-key checks: the generator's data is consistent by construction
    // and the derived data is recomputed in bulk afterwards.
    await conn`SET session_replication_role = replica`;
    const stream = await conn.unsafe(`COPY ${table} (${columns.join(", ")}) FROM STDIN`)
      .writable();
    return new CopyStream(conn, stream);
  }

  get rows(): number {
    return this.#rows;
  }

  async row(...values: (string | number | boolean | null)[]): Promise<void> {
    this.#buffer += values.map((v) => v === null ? "\\N" : String(v)).join("\t") + "\n";
    this.#rows++;
    if (this.#buffer.length > 1 << 20) await this.#flush();
  }

  async #flush(): Promise<void> {
    const chunk = this.#buffer;
    this.#buffer = "";
    if (!this.stream.write(chunk)) {
      await new Promise((resolve) => this.stream.once("drain", resolve));
    }
  }

  async close(): Promise<void> {
    await this.#flush();
    await new Promise((resolve, reject) => {
      this.stream.once("finish", resolve);
      this.stream.once("error", reject);
      this.stream.end();
    });
    await this.conn`SET session_replication_role = DEFAULT`;
    this.conn.release();
  }
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Fill the piw database at `dsn` (a superuser DSN; schema created by initdb, tables empty) with
 * `scale` worth of data, then derive the build queue and counters and VACUUM ANALYZE.
 */
export async function generateData(
  dsn: string,
  scale: Scale,
  options: { seed?: number; log?: (message: string) => void } = {},
): Promise<GenerateResult> {
  const log = options.log ?? (() => {});
  const rand = random(options.seed ?? 42);
  const sql = postgres(dsn, { max: 6, onnotice: () => {} });
  const started = performance.now();
  const abis = abiNames(scale.abis);
  try {
    for (const abi of abis) await sql`INSERT INTO build_abis (abi_tag) VALUES (${abi})`;

    // Versions per package: exponential weights give PyPI's long tail (most packages have a
    // few versions, some hundreds).
    const weights = new Float64Array(scale.packages);
    let total = 0;
    for (let p = 0; p < scale.packages; p++) total += weights[p] = -Math.log(1 - rand());
    const counts = new Uint32Array(scale.packages);
    let assigned = 0;
    for (let p = 0; p < scale.packages; p++) {
      assigned += counts[p] = Math.floor(weights[p] / total * scale.versions);
    }
    for (let p = 0; assigned < scale.versions; p = (p + 1) % scale.packages, assigned++) {
      counts[p]++;
    }

    const packages = await CopyStream.open(sql, "packages", ["package", "skip", "description"]);
    const versions = await CopyStream.open(sql, "versions", [
      "package",
      "version",
      "released",
      "skip",
      "yanked",
      "queued_abi",
    ]);
    const builds = await CopyStream.open(sql, "builds", [
      "build_id",
      "package",
      "version",
      "built_by",
      "built_at",
      "duration",
      "status",
      "abi_tag",
    ]);
    const files = await CopyStream.open(sql, "files", [
      "filename",
      "build_id",
      "filesize",
      "filehash",
      "package_tag",
      "package_version_tag",
      "py_version_tag",
      "abi_tag",
      "platform_tag",
      "requires_python",
    ]);

    const now = Date.now();
    // Buildable share of versions (~83%) times builds per built version (~1.6).
    const buildChance = Math.min(1, scale.builds / (scale.versions * 0.83 * 1.6));
    const sampleFiles: string[] = [];
    let buildId = 0;
    for (let p = 0; p < scale.packages; p++) {
      const pkg = `pkg${p}`;
      const pkgSkip = rand() < 0.01 ? "too big" : "";
      await packages.row(pkg, pkgSkip, `Synthetic package number ${p}`);
      // A package lives between two dates (some until now), its versions spread over that time.
      const end = now - (rand() < 0.3 ? 0 : rand() * 8 * 365 * DAY);
      const span = rand() * 12 * 365 * DAY;
      for (let j = 0; j < counts[p]; j++) {
        const version = `${Math.floor(j / 10)}.${j % 10}`;
        const released = end - span * (1 - (j + rand()) / counts[p]);
        const skip = rand() < 0.15 ? "binary only" : "";
        const yanked = rand() < 0.01;
        const buildable = !pkgSkip && !skip && !yanked;
        // The queue's rules, applied as the builds are made up: each attempt covers its ABI,
        // a none or abi3 (cp37) wheel covers them all. refresh_build_queue() checks this.
        let covered = 0;
        const attempts = buildable && buildId < scale.builds && rand() < buildChance
          ? 1 + Math.floor(rand() * abis.length)
          : 0;
        for (const abi of abis.slice(0, attempts)) {
          if (buildId >= scale.builds) break;
          covered++;
          const outcome = rand();
          const ok = outcome >= 0.15;
          const builtAt = released + rand() * Math.min(30 * DAY, now - released);
          await builds.row(
            ++buildId,
            pkg,
            version,
            1 + (buildId % 50),
            iso(builtAt),
            `${(10 + rand() * 600).toFixed(3)} seconds`,
            ok,
            abi,
          );
          if (!ok) continue;
          const kind = outcome < 0.5 ? "none" : outcome < 0.9 ? abi : "abi3";
          const tags: [string, string, string][] = kind === "none"
            ? [["py3", "none", "any"]]
            : ["linux_armv7l", "linux_armv6l"].map((plat) =>
              [kind === "abi3" ? "cp37" : abi, kind, plat] as [string, string, string]
            );
          for (const [py, fileAbi, platform] of tags) {
            const filename = `${pkg}-${version}-${py}-${fileAbi}-${platform}.whl`;
            const hash = (files.rows + 1).toString(16).padStart(64, "0");
            await files.row(
              filename,
              buildId,
              10_000 + Math.floor(rand() * 5_000_000),
              hash,
              pkg,
              version,
              py,
              fileAbi,
              platform,
              rand() < 0.3 ? ">=3.7" : null,
            );
            if (sampleFiles.length < 100_000) {
              sampleFiles.push(filename);
            } else if (rand() < 0.01) {
              sampleFiles[Math.floor(rand() * sampleFiles.length)] = filename;
            }
          }
          if (kind !== abi) {
            covered = abis.length;
            break;
          }
        }
        const queued = buildable && covered < abis.length ? abis[covered] : null;
        await versions.row(pkg, version, iso(released), skip, yanked, queued);
      }
      if (p % 100_000 === 0 && p > 0) log(`  ${p.toLocaleString("en")} packages written`);
    }
    await Promise.all([packages.close(), versions.close(), builds.close(), files.close()]);

    const downloads = await CopyStream.open(sql, "downloads", [
      "filename",
      "accessed_by",
      "accessed_at",
      "arch",
      "py_name",
      "py_version",
      "installer_name",
    ]);
    for (let i = 0; i < scale.downloads && sampleFiles.length > 0; i++) {
      const ip = `10.${i & 255}.${(i >> 8) & 255}.${Math.floor(rand() * 256)}`;
      await downloads.row(
        sampleFiles[Math.floor(rand() * sampleFiles.length)],
        ip,
        iso(now - rand() * 60 * DAY),
        "armv7l",
        "CPython",
        "3.11.2",
        "pip",
      );
    }
    await downloads.close();
    await sql`SELECT setval(pg_get_serial_sequence('builds', 'build_id'), ${Math.max(1, buildId)})`;
    const loaded = performance.now();
    log(`  loaded in ${((loaded - started) / 1000).toFixed(1)} s; deriving queue and counters`);

    const [{ changed }] = await sql`SELECT refresh_build_queue() AS changed`;
    if (Number(changed) !== 0) {
      throw new Error(`refresh_build_queue() changed ${changed} versions the generator queued`);
    }
    await sql`SELECT refresh_statistics()`;
    // The queue's popularity order, as TheArchitect's hourly refresh keeps it.
    await sql`SELECT refresh_queue_ranks()`;
    const derived = performance.now();
    log(`  derived in ${((derived - loaded) / 1000).toFixed(1)} s; vacuuming`);
    await sql.unsafe("VACUUM ANALYZE");
    const vacuumed = performance.now();

    return {
      counts: {
        packages: packages.rows,
        versions: versions.rows,
        builds: builds.rows,
        files: files.rows,
        downloads: downloads.rows,
      },
      abis,
      seconds: {
        load: (loaded - started) / 1000,
        derive: (derived - loaded) / 1000,
        vacuum: (vacuumed - derived) / 1000,
        total: (vacuumed - started) / 1000,
      },
    };
  } finally {
    await sql.end();
  }
}
