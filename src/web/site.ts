/**
 * `WebSite`: everything the scribe writes under the output path, with no ZeroMQ in sight, so it
 * can be tested and benchmarked alone. Every file is replaced atomically (see `atomic.ts`).
 *
 * Layout (piwheels' `www/`): static assets and `faq.html`, `packages.html`, `json.html`, `404.html`
 * at the root; `index.html` (HOME), `packages.json` (SEARCH), the sitemaps; `simple/index.html`
 * and `simple/index.json`; per project `simple/<pkg>/index.{html,json}` with a `.metadata`
 * beside each wheel, `project/<pkg>/index.html`, `project/<pkg>/json/index.json` and a
 * `project/<alias>` symlink per alias; build logs under `logs/`.
 * @module
 */
import { PiwError } from "../errors.ts";
import type { ProjectData } from "../db/types.ts";
import type { MasterStats, SearchIndex } from "../protocols/mod.ts";
import type { Logger } from "../log.ts";
import {
  isCanonicalName,
  isValidProjectName,
  isValidVersion,
  normaliseVersion,
  parseWheelFilename,
} from "../wheel/mod.ts";
import {
  exists,
  makeRealDir,
  removeFile,
  removeStaleTemps,
  removeTree,
  symlinkOnce,
  writeFileAtomic,
  writeTextIfChanged,
} from "./atomic.ts";
import { Templates } from "./templates.ts";
import { DELETED, indexProject } from "./files.ts";
import { listDir, MetadataStore } from "./metadata.ts";
import {
  type ListedFile,
  type ListedRelease,
  renderSimpleProject,
  renderSimpleRoot,
  simpleProjectJson,
  simpleRootJson,
  simpleStamp,
} from "./simple.ts";
import { projectJson, projectStamp, renderProjectPage } from "./project.ts";
import { HomeSamples } from "./charts.ts";
import { type MetadataFetches, renderHome, sampleOf } from "./home.ts";
import { renderSitemaps } from "./sitemap.ts";
import { writeBuildLog } from "./logs.ts";

/** Pages rendered once at start from templates of the same name, with their titles. */
export const STARTUP_PAGES: Record<string, string> = {
  faq: "FAQ",
  packages: "Packages",
  json: "JSON API",
  404: "Not found",
};

/** What search engines and link previews say of each startup page. */
const STARTUP_DESCRIPTIONS: Record<string, string> = {
  faq: "Questions and answers about installing Python wheels for the Raspberry Pi from piw.",
  packages: "Search the Python packages piw builds wheels of for the Raspberry Pi.",
  json: "The JSON API of piw's project pages and simple index.",
};

/** The default public origin of the site (absolute URLs in sitemaps and the project JSON). */
export const DEFAULT_SITE_URL = "https://www.piwheels.org";

/** A package name the web output refuses (not canonical, so possibly a path). */
export class BadPackageNameError extends PiwError {
  override name = "BadPackageNameError";
}

/** Options of {@link WebSite}. */
export interface WebSiteOptions {
  /** The output root (piw master's `--output-path`). */
  outputPath: string;
  /** The public origin, no trailing slash (default {@link DEFAULT_SITE_URL}). */
  siteUrl?: string;
  /** Templates (default: piw's own). */
  templates?: Templates;
  /** Where exclusions and problems are logged. */
  log?: Logger | null;
  /** The clock (tests fix it). */
  now?: () => Date;
}

/** What to write for a project. */
export interface ProjectWrite {
  /** The simple index (`simple/<pkg>/`), as BOTH does. */
  simple: boolean;
  /** The project page and JSON, as PROJECT and BOTH do. */
  project: boolean;
}

function checkPackage(pkg: string): void {
  if (!isCanonicalName(pkg)) {
    throw new BadPackageNameError(`refusing package name ${JSON.stringify(pkg)}: not canonical`);
  }
}

/** Whether wheel `filename` belongs to `version` (compared normalised when both are PEP 440). */
function isOfVersion(filename: string, version: string): boolean {
  try {
    const w = parseWheelFilename(filename, { allowLegacyVersion: true });
    if (w.version === version) return true;
    return isValidVersion(w.version) && isValidVersion(version) &&
      normaliseVersion(w.version) === normaliseVersion(version);
  } catch {
    return false;
  }
}

/** Whether `name` is safe to join to a directory as a wheel (no separators, no `..`). */
function isWheelName(name: string): boolean {
  try {
    parseWheelFilename(name, { allowLegacyVersion: true });
    return true;
  } catch {
    return false;
  }
}

/** The web output tree and the state the scribe keeps about it. */
export class WebSite {
  /** The output root. */
  readonly root: string;
  /** The public origin. */
  readonly siteUrl: string;
  /** The templates in use. */
  readonly templates: Templates;
  /** Samples for the homepage charts. */
  readonly history = new HomeSamples();
  /** Hashes of the `.metadata` files. */
  readonly metadata: MetadataStore;
  readonly #packages = new Set<string>();
  /** Download counts from the last SEARCH (or the last packages.json): [30 days, all time]. */
  readonly #downloads = new Map<string, [number, number]>();
  readonly #log: Logger | null;
  readonly #now: () => Date;
  #sitemapStale = true;
  #rootStale = false;
  /** Directories made (or found) real since start; forgotten when a package is deleted. */
  readonly #dirs = new Set<string>();
  /** When this site was made (the real clock): older temporary files are leftovers. */
  readonly #created = new Date();

  /** A site rooted at `options.outputPath` (nothing is written until asked). */
  constructor(options: WebSiteOptions) {
    this.root = options.outputPath.replace(/\/+$/, "") || "/";
    this.siteUrl = (options.siteUrl ?? DEFAULT_SITE_URL).replace(/\/+$/, "");
    this.templates = options.templates ?? new Templates();
    this.#log = options.log ?? null;
    this.#now = options.now ?? (() => new Date());
    this.metadata = new MetadataStore(this.#log);
  }

  /** The packages the root index lists, sorted. */
  get packages(): string[] {
    return [...this.#packages].sort();
  }

  /** Create the tree, copy the static assets and render the startup pages. */
  setup(): void {
    for (const dir of ["", "/simple", "/project", "/logs"]) {
      makeRealDir(this.root + dir);
      // A writer killed between write and rename left these; only the top directories are
      // looked at (where the big pages are): a walk of every project's directory is too dear.
      const removed = removeStaleTemps(this.root + dir, this.#created);
      if (removed) {
        this.#log?.warning(`removed ${removed} stale temporary files in ${this.root}${dir}`);
      }
    }
    for (const [name, bytes] of this.templates.staticFiles()) {
      writeFileAtomic(`${this.root}/${name}`, bytes);
    }
    this.#loadSearchIndex();
    for (const [page, title] of Object.entries(STARTUP_PAGES)) {
      writeFileAtomic(
        `${this.root}/${page}.html`,
        this.templates.render(page, {
          page,
          title,
          siteUrl: this.siteUrl,
          timestamp: null,
          // The 404 page is served at every missing URL: no canonical address of its own.
          canonical: page === "404" ? null : `${this.siteUrl}/${page}.html`,
          metaDescription: STARTUP_DESCRIPTIONS[page] ?? null,
        }),
      );
    }
  }

  /** Replace the package cache (names that are not canonical are dropped and logged). */
  setPackages(packages: Iterable<string>): void {
    this.#packages.clear();
    for (const pkg of packages) {
      if (isCanonicalName(pkg)) this.#packages.add(pkg);
      else this.#log?.warning(`not listing package ${JSON.stringify(pkg)}: not canonical`);
    }
    this.#sitemapStale = true;
  }

  /** Whether the root index has been written. */
  hasSimpleRoot(): boolean {
    return exists(`${this.root}/simple/index.html`);
  }

  /** Whether the package cache changed since the root index was last written. */
  get rootStale(): boolean {
    return this.#rootStale;
  }

  /** Write the root index if the package cache changed since it was last written. */
  flushSimpleRoot(): boolean {
    if (!this.#rootStale) return false;
    this.writeSimpleRoot();
    return true;
  }

  /** Write `simple/index.html` and `simple/index.json` from the package cache. */
  writeSimpleRoot(): void {
    this.#rootStale = false;
    const packages = this.packages;
    writeFileAtomic(
      `${this.root}/simple/index.html`,
      renderSimpleRoot(this.templates, packages, this.#now()),
    );
    writeFileAtomic(`${this.root}/simple/index.json`, simpleRootJson(packages));
    // The search page lists the same packages as the index, not those of an hour ago.
    this.#writePackagesJson();
  }

  /**
   * Write a project's simple index and/or project page from its data. A package marked
   * deleted has its output removed instead. Resolves to the files listed.
   */
  async writeProject(data: ProjectData, what: ProjectWrite): Promise<ListedRelease[]> {
    checkPackage(data.package);
    try {
      return await this.#writeProject(data, what);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // A directory remembered as made was removed behind our back: make it again.
      this.#forgetDirs(data.package);
      return await this.#writeProject(data, what);
    }
  }

  #forgetDirs(pkg: string): void {
    for (const dir of [`simple/${pkg}`, `project/${pkg}`, `project/${pkg}/json`]) {
      this.#dirs.delete(`${this.root}/${dir}`);
    }
  }

  async #writeProject(data: ProjectData, what: ProjectWrite): Promise<ListedRelease[]> {
    const pkg = data.package;
    if (data.skip === DELETED) {
      this.deletePackage(pkg, data.aliases);
      return [];
    }
    const index = indexProject(data);
    for (const { filename, reason } of index.excluded) {
      this.#log?.warning(`${pkg}: not listing ${JSON.stringify(filename)}: ${reason}`);
    }
    const now = this.#now();
    const simpleDir = `${this.root}/simple/${pkg}`;
    let present = new Set<string>();
    // A directory just made is empty: no need to list it.
    if (what.simple && !this.#realDir(simpleDir)) present = listDir(simpleDir);
    const simpleExisted = present.has("index.html");
    const releases: ListedRelease[] = [];
    for (const r of index.releases) {
      const files: ListedFile[] = [];
      for (const f of r.files) {
        let metadataHash: string | null = null;
        if (what.simple && f.local) {
          if (
            f.filename !== f.storedName && present.has(f.storedName) && !present.has(f.filename)
          ) {
            // Published under the normalised name pip ≥ 25.3 insists on; same bytes.
            symlinkOnce(f.storedName, `${simpleDir}/${f.filename}`);
            present.add(f.filename);
          }
          metadataHash = await this.metadata.ensure(simpleDir, f.filename, f.storedName, present);
        }
        files.push({ ...f, metadataHash });
      }
      releases.push({ release: r.release, files });
    }
    if (what.simple) {
      const html = renderSimpleProject(this.templates, pkg, releases, now);
      const json = simpleProjectJson(pkg, releases);
      if (simpleExisted) {
        writeTextIfChanged(`${simpleDir}/index.html`, html, simpleStamp(now));
        writeTextIfChanged(`${simpleDir}/index.json`, json);
      } else {
        writeFileAtomic(`${simpleDir}/index.html`, html);
        writeFileAtomic(`${simpleDir}/index.json`, json);
      }
      if (!this.#packages.has(pkg)) {
        // Written by flushSimpleRoot, not here: a burst of new packages would otherwise
        // rewrite the whole root index once per package.
        this.#packages.add(pkg);
        this.#sitemapStale = true;
        this.#rootStale = true;
      }
    }
    if (what.project) {
      const projectDir = `${this.root}/project/${pkg}`;
      // Pages in a directory made just now are new: no old page to compare with.
      const fresh = this.#realDir(projectDir);
      this.#realDir(`${projectDir}/json`);
      const html = renderProjectPage(this.templates, data, releases, now, {
        siteUrl: this.siteUrl,
        isHere: (dep) => this.#packages.has(dep),
      });
      const json = projectJson(data, releases, { siteUrl: this.siteUrl });
      if (fresh) {
        writeFileAtomic(`${projectDir}/index.html`, html);
        writeFileAtomic(`${projectDir}/json/index.json`, json);
      } else {
        writeTextIfChanged(`${projectDir}/index.html`, html, projectStamp(now));
        writeTextIfChanged(`${projectDir}/json/index.json`, json);
      }
      this.#linkAliases(pkg, data.aliases);
    }
    return releases;
  }

  /**
   * makeRealDir, once per directory while it is known to exist (saves a syscall per write);
   * true if the directory was made now.
   */
  #realDir(dir: string): boolean {
    if (this.#dirs.has(dir)) return false;
    const made = makeRealDir(dir);
    this.#dirs.add(dir);
    return made;
  }

  /** `project/<alias>` → `<pkg>` for every alias that is a valid project name. */
  #linkAliases(pkg: string, aliases: string[]): void {
    for (const alias of aliases) {
      if (alias === pkg) continue;
      if (!isValidProjectName(alias)) {
        this.#log?.warning(`${pkg}: no link for alias ${JSON.stringify(alias)}: not a valid name`);
        continue;
      }
      symlinkOnce(pkg, `${this.root}/project/${alias}`);
    }
  }

  /**
   * Remove the files of `version` from `simple/<pkg>/` (those named in `files`, from the
   * database, and any other wheel of that version found there), with their `.metadata` files.
   * The caller then rewrites the project without the version.
   */
  deleteVersion(pkg: string, version: string, files: Iterable<string>): string[] {
    checkPackage(pkg);
    const dir = `${this.root}/simple/${pkg}`;
    const doomed = new Set<string>();
    for (const name of files) if (isWheelName(name)) doomed.add(name);
    try {
      for (const entry of Deno.readDirSync(dir)) {
        const wheel = entry.name.replace(/\.metadata$/, "");
        if (wheel.endsWith(".whl") && isOfVersion(wheel, version)) doomed.add(wheel);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const removed: string[] = [];
    for (const name of doomed) {
      for (const path of [`${dir}/${name}`, `${dir}/${name}.metadata`]) {
        this.metadata.forget(path);
        if (removeFile(path)) removed.push(path);
      }
    }
    return removed;
  }

  /**
   * Remove everything of `pkg`: `simple/<pkg>/`, `project/<pkg>/` and every `project/` symlink
   * to it (the aliases given and any other found). The root index is then stale
   * ({@link flushSimpleRoot}).
   */
  deletePackage(pkg: string, aliases: Iterable<string> = []): void {
    checkPackage(pkg);
    for (const dir of [`${this.root}/simple/${pkg}`, `${this.root}/project/${pkg}`]) {
      removeTree(dir);
      this.metadata.forgetDir(dir);
    }
    this.#forgetDirs(pkg);
    const projectDir = `${this.root}/project`;
    const links = new Set<string>();
    for (const alias of aliases) if (isValidProjectName(alias) && alias !== pkg) links.add(alias);
    try {
      for (const entry of Deno.readDirSync(projectDir)) {
        if (entry.isSymlink && Deno.readLinkSync(`${projectDir}/${entry.name}`) === pkg) {
          links.add(entry.name);
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const alias of links) {
      const path = `${projectDir}/${alias}`;
      try {
        if (Deno.lstatSync(path).isSymlink) removeFile(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    this.#downloads.delete(pkg);
    if (this.#packages.delete(pkg)) {
      this.#sitemapStale = true;
      this.#rootStale = true;
    }
  }

  /**
   * Write the homepage from HOME statistics (pip's metadata fetches, when known, and failure counts), then the
   * sitemaps if the package set changed.
   */
  writeHome(
    stats: MasterStats,
    metadataFetches?: MetadataFetches,
    failures: Record<string, number> = {},
  ): void {
    this.history.add(sampleOf(stats));
    const now = this.#now();
    writeFileAtomic(
      `${this.root}/index.html`,
      renderHome(this.templates, stats, this.history, now, this.siteUrl, metadataFetches, failures),
    );
    if (this.#sitemapStale || !exists(`${this.root}/sitemap.xml`)) this.writeSitemaps();
  }

  /** Write `sitemap.xml` and the files it names. */
  writeSitemaps(): void {
    const files = renderSitemaps(this.templates, this.siteUrl, this.packages, this.#now());
    // The index last, so it never names a file not yet written.
    for (const [name, xml] of files) {
      if (name !== "sitemap.xml") {
        writeFileAtomic(`${this.root}/${name}`, xml);
      }
    }
    writeFileAtomic(`${this.root}/sitemap.xml`, files.get("sitemap.xml")!);
    this.#sitemapStale = false;
  }

  /**
   * Take the download counts of SEARCH and write `packages.json`: `[[package, downloads in 30
   * days, all time], …]`, every package of the index, 0 for those with no downloads yet.
   */
  writeSearchIndex(index: SearchIndex): void {
    this.#downloads.clear();
    for (const [pkg, [recent, all]] of Object.entries(index)) {
      this.#downloads.set(pkg, [recent, all]);
    }
    this.#writePackagesJson();
  }

  /** packages.json from the package cache and the last known download counts. */
  #writePackagesJson(): void {
    const names = new Set(this.#packages);
    for (const pkg of this.#downloads.keys()) if (isCanonicalName(pkg)) names.add(pkg);
    const rows = [...names].sort().map((pkg) => [pkg, ...(this.#downloads.get(pkg) ?? [0, 0])]);
    writeFileAtomic(`${this.root}/packages.json`, JSON.stringify(rows));
  }

  /** The counts of the packages.json a previous run wrote, until the next SEARCH. */
  #loadSearchIndex(): void {
    let rows: unknown;
    try {
      rows = JSON.parse(Deno.readTextFileSync(`${this.root}/packages.json`));
    } catch {
      return; // none yet, or unreadable: the next SEARCH writes it
    }
    if (!Array.isArray(rows)) return;
    for (const row of rows) {
      if (
        Array.isArray(row) && typeof row[0] === "string" && Number.isSafeInteger(row[1]) &&
        Number.isSafeInteger(row[2])
      ) {
        this.#downloads.set(row[0], [row[1], row[2]]);
      }
    }
  }

  /**
   * Write a build's log once; false if it exists already (logged as an error, unless that is
   * `expected`: writing the logs a crash left, some of which were written before it).
   */
  writeLog(buildId: number, output: string, expected = false): boolean {
    try {
      writeBuildLog(this.root, buildId, output);
      return true;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      if (!expected) this.#log?.error(`log of build ${buildId} exists already; not overwritten`);
      return false;
    }
  }
}
