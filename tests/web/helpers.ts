/**
 * Helpers of the web tests: a tiny HTML tag/attribute parser (enough to check what pip and a
 * browser would see), real wheel files (a minimal valid zip with METADATA), and a project in a
 * real database (PGlite copied from the master tests' template) filled through `Database`.
 * @module
 */
import { crc32 } from "../../src/wheel/zip.ts";
import { Database, openClient, type SqlClient } from "../../src/db/mod.ts";
import type { FileRecord, ProjectData, ProjectRelease } from "../../src/db/types.ts";
import { sha256Hex } from "../../src/web/mod.ts";
import { testDatabase } from "../master/helpers.ts";
import { wheel } from "../db/harness.ts";

/** One HTML start tag: its name (lower case) and attributes (entities decoded). */
export interface Tag {
  name: string;
  attrs: Map<string, string>;
  /** The text between it and the next tag, start or end (entities decoded). */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decode the character references an HTML parser decodes. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X"
        ? parseInt(ref.slice(2), 16)
        : parseInt(ref.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

const TAG_RE =
  /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>\/"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*\/?>/g;
const ATTR_RE = /([^\s=>\/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;

/**
 * Every start tag of `html` with its attributes, in order. Comments and doctype are skipped.
 * Strict on purpose: a `<` that does not start a well-formed tag makes it throw, since escaped
 * output never contains one outside a tag.
 */
export function parseTags(html: string): Tag[] {
  const body = html.replace(/<!--[\s\S]*?-->/g, "").replace(/<!DOCTYPE[^>]*>/i, "")
    .replace(/<\?xml[^>]*\?>/, "");
  const tags: Tag[] = [];
  let last = 0;
  let current: Tag | null = null;
  for (const m of body.matchAll(TAG_RE)) {
    const between = body.slice(last, m.index);
    if (between.includes("<")) throw new Error(`stray '<' in ${JSON.stringify(between)}`);
    if (current) current.text += unescapeHtml(between);
    last = m.index! + m[0].length;
    if (m[1]) {
      current = null; // text belongs to the tag it directly follows
      continue;
    }
    const attrs = new Map<string, string>();
    for (const a of m[3].matchAll(ATTR_RE)) {
      const name = a[1].toLowerCase();
      if (attrs.has(name)) throw new Error(`duplicate attribute ${name} in ${m[0]}`);
      attrs.set(name, unescapeHtml(a[2] ?? a[3] ?? a[4] ?? ""));
    }
    current = { name: m[2].toLowerCase(), attrs, text: "" };
    tags.push(current);
  }
  if (body.slice(last).includes("<")) throw new Error("stray '<' at the end");
  return tags;
}

/** The `<a>` tags of `html`. */
export function links(html: string): Tag[] {
  return parseTags(html).filter((t) => t.name === "a");
}

/** Files of a minimal zip archive (stored, not compressed). */
export function makeZip(members: Record<string, string | Uint8Array>): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(members)) {
    const data = typeof content === "string" ? enc.encode(content) : content;
    const nameBytes = enc.encode(name);
    const crc = crc32(data);
    const local = new Uint8Array(30 + nameBytes.length + data.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    local.set(data, 30 + nameBytes.length);
    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, centrals.length, true);
  ev.setUint16(10, centrals.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + 22);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The METADATA a test wheel holds. */
export function metadataOf(name: string, version: string, requiresPython?: string): string {
  return `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n` +
    (requiresPython ? `Requires-Python: ${requiresPython}\n` : "") +
    `Summary: test wheel\n\n`;
}

/**
 * A real wheel `filename` in `dir` whose .dist-info is named after `distInfo` (default: the
 * filename's name and version); resolves to its size and sha256.
 */
export async function writeWheel(
  dir: string,
  filename: string,
  options: { distInfo?: string; requiresPython?: string; metadata?: string } = {},
): Promise<{ path: string; size: number; hash: string; metadata: string }> {
  const [name, version] = filename.split("-");
  const distInfo = options.distInfo ?? `${name}-${version}.dist-info`;
  const metadata = options.metadata ?? metadataOf(name, version, options.requiresPython);
  const bytes = makeZip({
    [`${name}/__init__.py`]: "VALUE = 1\n",
    [`${distInfo}/METADATA`]: metadata,
    [`${distInfo}/WHEEL`]: "Wheel-Version: 1.0\nGenerator: piw-test\nRoot-Is-Purelib: false\n" +
      "Tag: cp311-cp311-linux_armv7l\n",
    [`${distInfo}/RECORD`]: "",
  });
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/${filename}`;
  await Deno.writeFile(path, bytes);
  return { path, size: bytes.length, hash: await sha256Hex(bytes), metadata };
}

/** A file record for `filename` (tags taken from the name), overridable field by field. */
export function fileRecord(filename: string, overrides: Partial<FileRecord> = {}): FileRecord {
  const parts = filename.slice(0, -4).split("-");
  const [py, abi, platform] = parts.slice(-3);
  return wheel(parts[0], parts[1], abi, {
    filename,
    pyVersionTag: py,
    platformTag: platform,
    ...overrides,
  });
}

/** A real database for one test: the master's `Database` API on a fresh PGlite copy. */
export interface WebTestDb {
  db: Database;
  admin: SqlClient;
  dsn: string;
  /** Everything the scribe would get for `pkg` (throws if unknown). */
  project(pkg: string): Promise<ProjectData>;
  close(): Promise<void>;
}

/** A fresh PGlite database with build ABIs `abis`, opened for direct use. */
export async function webTestDb(abis: string[] = ["cp39", "cp311"]): Promise<WebTestDb> {
  const test = await testDatabase("pglite", async (admin) => {
    for (const abi of abis) {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ($1)", [abi]);
    }
  });
  const admin = await openClient(test.dsn);
  const db = new Database(admin);
  return {
    db,
    admin,
    dsn: test.dsn,
    async project(pkg) {
      const data = await db.getProjectData(pkg);
      if (!data) throw new Error(`no project ${pkg}`);
      return data;
    },
    async close() {
      await admin.close();
      await test.remove();
    },
  };
}

const BUILT = new Date("2024-01-01T00:00:00Z");

/** A project with one release of `version` holding real wheels `filenames` (built on cp311). */
export async function projectWith(
  out: string,
  pkg: string,
  version: string,
  filenames: string[],
  pip: string[] = [],
): Promise<ProjectData> {
  const files: ProjectRelease["files"] = [];
  for (const filename of filenames) {
    const wheel = await writeWheel(`${out}/simple/${pkg}`, filename);
    const [, , ...tags] = filename.slice(0, -4).split("-");
    const [py, abi, platform] = tags.slice(-3);
    files.push({
      filename,
      buildId: 1,
      filesize: wheel.size,
      filehash: wheel.hash,
      packageTag: filename.split("-")[0],
      packageVersionTag: version,
      pyVersionTag: py,
      abiTag: abi,
      platformTag: platform,
      requiresPython: null,
      location: "/simple",
      builderAbi: "cp311",
      aptDependencies: [],
      pipDependencies: pip,
    });
  }
  return {
    package: pkg,
    name: pkg,
    description: `${pkg} does things`,
    skip: "",
    aliases: [],
    releases: [{
      version,
      released: BUILT,
      skip: "",
      yanked: false,
      queuedAbi: null,
      builds: [{
        buildId: 1,
        abiTag: "cp311",
        status: true,
        builtAt: BUILT,
        builtBy: 1,
        durationMs: 1,
      }],
      files,
      abis: { cp311: { status: "success", buildId: 1 } },
    }],
  };
}
