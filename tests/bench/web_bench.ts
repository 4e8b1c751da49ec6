/**
 * Benchmark: write the simple index (HTML and JSON) and project page (HTML and JSON) of every
 * package, as a full rewrite of the website does: 100,000 packages of 3 releases with 4 files
 * each by default, generated in memory (no database), written to a temporary directory with the
 * scribe's own `WebSite`. Target: under 2 minutes. Wheels are not on disk, so no `.metadata`
 * is extracted (each file still costs the two stats that look for it).
 *
 * Run: `deno run -A tests/bench/web_bench.ts [--packages N] [--dir PARENT] [--baseline]
 * [--rewrite] [--db DSN] [--keep]`
 * (`--baseline` makes the same directories and atomic writes with fixed content: the disk's
 * share of the figure).
 * (`--rewrite` then writes everything a second time, an hour later by the site's clock, as
 * `piw rebuild` does on a live site: pages whose content has not changed are left alone.)
 * (`--db DSN` takes each project's data from a database, `getProjectsData` of 100 packages at
 * a time, read one chunk ahead of the writing as the scribe reads a backlog, instead of
 * generating it: e.g. the database `db_bench.ts` keeps
 * with `PIW_BENCH_KEEP=1 PIW_BENCH_PACKAGES=100000 PIW_BENCH_VERSIONS=300000
 * PIW_BENCH_BUILDS=450000 PIW_BENCH_ABIS=2`; the figure then includes the queries.)
 * (`--dir /dev/shm` measures piw rather than the disk: on a busy disk, creating 400,000 files
 * and 300,000 directories costs more than rendering them).
 * @module
 */
import type { ProjectData, ProjectFile, ProjectRelease } from "../../src/db/types.ts";
import { fetchAhead, makeRealDir, WebSite, writeFileAtomic } from "../../src/web/mod.ts";
import { cpuUsage } from "node:process";
import { configureLogging } from "../../src/log.ts";
import { type Database, openDatabase } from "../../src/db/mod.ts";

/** What one run measured. */
export interface WebBenchResult {
  packages: number;
  /** Files written (pages and JSON, not counting directories). */
  files: number;
  /** Seconds to render and write every project, then the root index and sitemaps. */
  seconds: number;
  /** Of which rendering and writing the projects. */
  projectSeconds: number;
  packagesPerSecond: number;
  /** Of the project seconds, waiting for the database (`--db` only; reads overlap writes). */
  dbSeconds: number;
  /**
   * CPU seconds the process used (user + system, all threads): on a machine shared with other
   * work, a steadier figure than the wall-clock seconds.
   */
  cpuSeconds: number;
}

// As the scribe reads a backlog (PROJDATAS of this many packages at a time).
const FETCH_CHUNK = 100;

/** Where each project's data comes from. */
export interface ProjectSource {
  /** The package names, in writing order. */
  packages: string[];
  /** The data of some of the packages, in order (read a chunk ahead, as the scribe does). */
  fetch(pkgs: string[]): Promise<(ProjectData | null)[]>;
}

/** `count` synthetic projects. */
export function syntheticSource(count: number): ProjectSource {
  return {
    packages: Array.from({ length: count }, (_, i) => `package-${i}`),
    fetch: (pkgs) => Promise.resolve(pkgs.map((p) => syntheticProject(Number(p.slice(8))))),
  };
}

/** The first `count` packages of a database, fetched as the scribe fetches a backlog. */
export async function databaseSource(db: Database, count: number): Promise<ProjectSource> {
  const packages = [...await db.getAllPackages()].sort().slice(0, count);
  return { packages, fetch: (pkgs) => db.getProjectsData(pkgs) };
}

const ABIS = ["cp39", "cp311", "cp313"];
const BASE = Date.UTC(2024, 0, 1);

/** Synthetic project `i`: 3 releases, 4 wheels each (armv7l/armv6l for two ABIs). */
export function syntheticProject(i: number): ProjectData {
  const pkg = `package-${i}`;
  const tag = `package_${i}`;
  const releases: ProjectRelease[] = [];
  for (let v = 3; v >= 1; v--) {
    const version = `1.${v}.0`;
    const released = new Date(BASE + i * 1000 + v * 86_400_000);
    const builds = ABIS.slice(0, 2).map((abi, b) => ({
      buildId: i * 10 + v * 3 + b,
      abiTag: abi,
      status: true,
      builtAt: new Date(released.getTime() + 3_600_000),
      builtBy: 1,
      durationMs: 60_000,
    }));
    const files: ProjectFile[] = builds.flatMap((build) =>
      ["linux_armv7l", "linux_armv6l"].map((platform) => ({
        filename: `${tag}-${version}-${build.abiTag}-${build.abiTag}-${platform}.whl`,
        buildId: build.buildId,
        filesize: 100_000 + i,
        filehash: (i * 31 + v).toString(16).padStart(64, "0"),
        packageTag: tag,
        packageVersionTag: version,
        pyVersionTag: build.abiTag,
        abiTag: build.abiTag,
        platformTag: platform,
        requiresPython: ">=3.7",
        location: "/simple",
        builderAbi: build.abiTag,
        aptDependencies: i % 3 ? [] : ["libatlas3-base", "libopenjp2-7"],
        pipDependencies: ["numpy", "requests"],
      }))
    );
    releases.push({
      version,
      released,
      skip: "",
      yanked: v === 2 && i % 10 === 0,
      queuedAbi: null,
      builds,
      files,
      abis: {
        cp39: { status: "success", buildId: builds[0].buildId },
        cp311: { status: "success", buildId: builds[1].buildId },
        cp313: { status: "pending", buildId: null },
      },
    });
  }
  return {
    package: pkg,
    name: `Package-${i}`,
    description: `Synthetic package number ${i} for the web benchmark`,
    skip: "",
    aliases: i % 5 ? [] : [`Package-${i}`],
    releases,
  };
}

/**
 * Write every project of `source` under `root` and time it (`now`: the site's clock, so a
 * second run can be an hour later).
 */
export async function runWebBench(
  source: ProjectSource,
  root: string,
  now?: () => Date,
): Promise<WebBenchResult> {
  const packages = source.packages.length;
  const site = new WebSite({ outputPath: root, siteUrl: "https://example.org", now });
  site.setup();
  // As the scribe starts: the package cache holds every known package (ALLPKGS).
  site.setPackages(source.packages);
  let dbSeconds = 0;
  const cpuStart = cpuUsage();
  const start = performance.now();
  const projects = fetchAhead(source.packages, FETCH_CHUNK, source.fetch);
  while (true) {
    const asked = performance.now();
    const next = await projects.next();
    dbSeconds += (performance.now() - asked) / 1000;
    if (next.done) break;
    const data = next.value[1];
    if (data) await site.writeProject(data, { simple: true, project: true });
  }
  const projectSeconds = (performance.now() - start) / 1000;
  site.writeSimpleRoot();
  site.writeSitemaps();
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuUsage(cpuStart);
  return {
    packages,
    files: packages * 4 + 2 + Math.ceil(packages / 50_000) + 2,
    seconds,
    projectSeconds,
    packagesPerSecond: packages / seconds,
    dbSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * The filesystem's share: the same directories and atomic writes with fixed content (no data,
 * no rendering), so a run can tell piw's cost from the disk's. Seconds.
 */
export function runFilesystemBaseline(packages: number, root: string): number {
  const html = "x".repeat(6000), json = "y".repeat(3000), small = "z".repeat(2000);
  for (const dir of ["simple", "project"]) makeRealDir(`${root}/${dir}`);
  const start = performance.now();
  for (let i = 0; i < packages; i++) {
    const simple = `${root}/simple/package-${i}`, project = `${root}/project/package-${i}`;
    makeRealDir(simple);
    makeRealDir(`${project}/json`);
    writeFileAtomic(`${simple}/index.html`, small);
    writeFileAtomic(`${simple}/index.json`, json);
    writeFileAtomic(`${project}/index.html`, html);
    writeFileAtomic(`${project}/json/index.json`, json);
  }
  return (performance.now() - start) / 1000;
}

if (import.meta.main) {
  configureLogging({ level: "error" });
  const args = Deno.args;
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const packages = Number(option("--packages") ?? 100_000);
  const root = await Deno.makeTempDir({ prefix: "piw-web-bench-", dir: option("--dir") });
  try {
    if (args.includes("--baseline")) {
      const seconds = runFilesystemBaseline(packages, root);
      console.log(
        `web baseline: the same ${packages * 4} atomic writes and directories with fixed ` +
          `content in ${seconds.toFixed(1)} s (the filesystem's share)`,
      );
    } else {
      const dsn = option("--db");
      const db = dsn ? await openDatabase(dsn) : null;
      try {
        const source = db ? await databaseSource(db, packages) : syntheticSource(packages);
        const what = db
          ? `packages of ${dsn!.replace(/:[^:@/]*@/, "@")}`
          : "packages (3 releases x 4 files)";
        const report = (label: string, r: WebBenchResult) =>
          console.log(
            `web${label}: ${r.packages} ${what}, ${r.files} files written to ` +
              `${root} in ${r.seconds.toFixed(1)} s (projects ${r.projectSeconds.toFixed(1)} s` +
              (db ? `, of which database ${r.dbSeconds.toFixed(1)} s` : "") +
              `, ${r.packagesPerSecond.toFixed(0)} packages/s, CPU ${
                r.cpuSeconds.toFixed(1)
              } s); ` +
              "target 120 s: " +
              (r.seconds <= 120 ? "met" : "MISSED"),
          );
        report("", await runWebBench(source, root));
        if (args.includes("--rewrite")) {
          const later = new Date(Date.now() + 3_600_000);
          report(" (rewrite)", await runWebBench(source, root, () => later));
        }
      } finally {
        await db?.close();
      }
    }
  } finally {
    if (args.includes("--keep")) console.log(`output kept in ${root}`);
    else await Deno.remove(root, { recursive: true });
  }
}
