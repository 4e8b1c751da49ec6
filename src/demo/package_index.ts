/**
 * A PEP 503 simple index on 127.0.0.1 (ephemeral port) serving fixture sdists
 * beside the setuptools and wheel wheels from `/usr/share/python-wheels/`, so that
 * `pip wheel --index-url <url>` can build with full build isolation and no internet.
 * @example
 * const index = await createFixtureIndex([{ name: "piw-pure", version: "1.0" }]);
 * try { ... pip wheel --index-url index.url ... } finally { await index.close(); }
 * @module
 */
import { canonicaliseName } from "../wheel/names.ts";
import { parseWheelFilename } from "../wheel/filename.ts";
import { buildSdist, type SdistFile, type SdistSpec } from "./sdists.ts";

/** A file the index serves under a project. */
export interface IndexFile {
  /** Where the file is on disk. */
  path: string;
  /** The project it is listed under (any spelling; canonicalised). */
  project: string;
  /** Its `data-requires-python` attribute, if any. */
  requiresPython?: string;
  /** Defaults to the sha256 of the file's contents. */
  sha256?: string;
}

/** A running fixture index. */
export interface PackageIndex {
  /** The simple index URL, ending in `/simple/`. */
  url: string;
  /** Every request path served, in order (for assertions). */
  requests: string[];
  /** Add a file to the index while it runs. */
  add(file: IndexFile | SdistFile): Promise<void>;
  /** Stop serving (and remove the temporary directory of `createFixtureIndex`). */
  close(): Promise<void>;
}

const PYTHON_WHEELS_DIR = "/usr/share/python-wheels";

// The wheels in a directory whose canonical project name is setuptools or wheel.
function toolWheelsIn(dir: string): Map<string, IndexFile> {
  const found = new Map<string, IndexFile>();
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.name.endsWith(".whl")) continue;
      const w = parseWheelFilename(entry.name);
      if (w.canonicalName === "setuptools" || w.canonicalName === "wheel") {
        found.set(w.canonicalName, { path: `${dir}/${entry.name}`, project: w.canonicalName });
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found;
}

/**
 * The build requirements pip needs offline for the interpreter `python`: setuptools and wheel.
 * Debian's python3-setuptools-whl is patched for Debian's own Python (other interpreters fail
 * with "AttributeError: install_layout"), so the setuptools bundled with `python`'s ensurepip is
 * preferred when it has one; wheel comes from Debian's python3-wheel-whl.
 */
export async function buildToolWheels(python = "python3"): Promise<IndexFile[]> {
  const tools = toolWheelsIn(PYTHON_WHEELS_DIR);
  const out = await new Deno.Command(python, {
    args: ["-c", "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (out.success) {
    const bundled = toolWheelsIn(`${new TextDecoder().decode(out.stdout).trim()}/_bundled`);
    for (const [name, file] of bundled) tools.set(name, file);
  }
  if (!tools.has("setuptools") || !tools.has("wheel")) {
    throw new Error(
      `setuptools and wheel wheels not found in ${PYTHON_WHEELS_DIR} ` +
        "(apt-get install python3-setuptools-whl python3-wheel-whl)",
    );
  }
  return [...tools.values()];
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

async function sha256File(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Served {
  path: string;
  filename: string;
  sha256: string;
  requiresPython?: string;
}

function html(title: string, body: string): Response {
  const page = `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" ` +
    `content="1.0"><title>${escapeHtml(title)}</title></head><body>\n${body}</body></html>\n`;
  return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
}

/**
 * Serve `files` (plus the build tool wheels unless `buildTools` is false) as a simple index.
 * Project pages are `/simple/<canonical>/` with `#sha256=` links; files live under `/files/`.
 */
export async function startPackageIndex(
  options: {
    files?: (IndexFile | SdistFile)[];
    /** Serve setuptools and wheel (default true). */
    buildTools?: boolean;
    /** The interpreter that will build from this index (picks the setuptools wheel). */
    python?: string;
    /** The TCP port (default: any free one), e.g. to bring an index "back up" where it was. */
    port?: number;
  } = {},
): Promise<PackageIndex> {
  const projects = new Map<string, Map<string, Served>>();
  const byFilename = new Map<string, Served>();
  const requests: string[] = [];

  async function add(file: IndexFile | SdistFile): Promise<void> {
    const filename = file.path.slice(file.path.lastIndexOf("/") + 1);
    const served: Served = {
      path: file.path,
      filename,
      sha256: file.sha256 ?? await sha256File(file.path),
      requiresPython: file.requiresPython,
    };
    const project = canonicaliseName(file.project);
    if (!projects.has(project)) projects.set(project, new Map());
    projects.get(project)!.set(filename, served);
    byFilename.set(filename, served);
  }

  for (const f of options.buildTools === false ? [] : await buildToolWheels(options.python)) {
    await add(f);
  }
  for (const f of options.files ?? []) await add(f);

  async function handle(request: Request): Promise<Response> {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    if (path === "/simple") return Response.redirect(new URL("/simple/", request.url), 301);
    if (path === "/simple/") {
      const links = [...projects.keys()].sort()
        .map((p) => `<a href="${escapeHtml(p)}/">${escapeHtml(p)}</a><br>\n`).join("");
      return html("Simple index", links);
    }
    let m = /^\/simple\/([^/]+)(\/?)$/.exec(path);
    if (m) {
      const canonical = canonicaliseName(m[1]);
      if (canonical !== m[1] || !m[2]) {
        return Response.redirect(new URL(`/simple/${canonical}/`, request.url), 301);
      }
      const files = projects.get(canonical);
      if (!files) return new Response("Not Found", { status: 404 });
      const links = [...files.values()].map((f) => {
        const rp = f.requiresPython
          ? ` data-requires-python="${escapeHtml(f.requiresPython)}"`
          : "";
        return `<a href="../../files/${encodeURIComponent(f.filename)}#sha256=${f.sha256}"${rp}>` +
          `${escapeHtml(f.filename)}</a><br>\n`;
      }).join("");
      return html(`Links for ${canonical}`, links);
    }
    m = /^\/files\/([^/]+)$/.exec(path);
    const served = m && byFilename.get(m[1]);
    if (served) {
      const data = await Deno.readFile(served.path);
      return new Response(data, { headers: { "content-type": "application/octet-stream" } });
    }
    return new Response("Not Found", { status: 404 });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handle,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/simple/`,
    requests,
    add,
    close: () => server.shutdown(),
  };
}

/** A running index whose sdists were built from specs; `sdists` follows the spec order. */
export interface FixtureIndex extends PackageIndex {
  /** The sdists served, in spec order. */
  sdists: SdistFile[];
  /** The temporary directory holding the sdists (removed by `close`). */
  dir: string;
}

/**
 * Build an sdist for each spec into a temporary directory and serve them with the build tools.
 * @example const index = await createFixtureIndex([{ name: "piw-cext", version: "1.0", kind: "cext" }]);
 */
export async function createFixtureIndex(
  specs: SdistSpec[],
  options: { python?: string } = {},
): Promise<FixtureIndex> {
  const dir = await Deno.makeTempDir({ prefix: "piw-index-" });
  try {
    const sdists: SdistFile[] = [];
    for (const spec of specs) sdists.push(await buildSdist(spec, dir));
    const index = await startPackageIndex({ files: sdists, python: options.python });
    return {
      ...index,
      sdists,
      dir,
      close: async () => {
        await index.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

/**
 * Environment overrides (for `BuildOptions.env`) that keep the machine's pip configuration out
 * of a build: no config files, no `PIP_*` variables (find-links, extra indexes, constraints).
 */
export function hermeticPipEnv(): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  for (const key of Object.keys(Deno.env.toObject())) {
    if (key.startsWith("PIP_")) env[key] = null;
  }
  env.PIP_CONFIG_FILE = "/dev/null";
  return env;
}

/** hermeticPipEnv as a child process's env: a variable to clear is set empty (pip ignores it). */
export function hermeticPipChildEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(hermeticPipEnv()).map(([k, v]) => [k, v ?? ""]));
}

/** The fixture packages a demo index serves: one of each kind that completes. */
export const DEMO_SPECS: SdistSpec[] = [
  { name: "piw-demo-pure", version: "1.0", requiresDist: ["requests>=2"] },
  { name: "piw-demo-cext", version: "1.0", kind: "cext", libraries: ["m"] },
  { name: "piw-demo-py3only", version: "2.0rc1", requiresPython: ">=3.8" },
  { name: "piw-demo-broken", version: "0.1", kind: "fail" },
];

// `deno run -A src/demo/package_index.ts [PYTHON]` serves the demo index until killed.
if (import.meta.main) {
  const index = await createFixtureIndex(DEMO_SPECS, { python: Deno.args[0] });
  console.log(index.url);
  for (const s of index.sdists) console.log(`  ${s.project} ${s.version}: ${s.filename}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      await index.close();
      Deno.exit(0);
    });
  }
}
