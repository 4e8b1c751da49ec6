/**
 * Values from PyPI and from slaves are not trusted: whatever they hold comes out of the pages
 * escaped (the markup has only the tags and attributes piw's templates write) or is rejected.
 */
import assert from "node:assert/strict";
import type { ProjectData, ProjectFile } from "../../src/db/types.ts";
import { BadPackageNameError, indexProject, Templates, WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import { links, parseTags } from "./helpers.ts";

configureLogging({ level: "error" });

const SCRIPT = "<script>alert(1)</script>";
const ATTR_BREAK = `"><img src=x onerror=alert(1)>`;
const QUOTES = `x' onmouseover='alert(1)`;

/** The tags piw's templates write; anything else came from data. */
const ALLOWED_TAGS = new Set([
  "html",
  "head",
  "meta",
  "title",
  "link",
  "body",
  "header",
  "nav",
  "a",
  "main",
  "footer",
  "p",
  "h1",
  "h2",
  "section",
  "pre",
  "span",
  "aside",
  "ul",
  "li",
  "table",
  "thead",
  "tr",
  "th",
  "td",
  "tbody",
  "div",
  "code",
  "small",
  "br",
  "article",
  "script",
  "svg",
  "line",
  "text",
  "rect",
  "figure",
  "figcaption",
  "dl",
  "dt",
  "dd",
  "form",
  "label",
  "input",
  "noscript",
  "var",
]);

function checkMarkup(html: string): void {
  for (const tag of parseTags(html)) {
    assert.ok(ALLOWED_TAGS.has(tag.name), `unexpected <${tag.name}>`);
    for (const name of tag.attrs.keys()) {
      assert.ok(!name.startsWith("on"), `event handler attribute ${name} on <${tag.name}>`);
    }
    if (tag.name === "script") assert.match(tag.attrs.get("src") ?? "", /^\/[a-z]+\.js$/);
    const href = tag.attrs.get("href");
    if (href !== undefined) assert.match(href, /^(\/|https:\/\/|[a-z0-9-]+\/$)/, href);
  }
}

function file(filename: string, overrides: Partial<ProjectFile> = {}): ProjectFile {
  return {
    filename,
    buildId: 1,
    filesize: 100,
    filehash: "a".repeat(64),
    packageTag: "evil",
    packageVersionTag: "1.0",
    pyVersionTag: "py3",
    abiTag: "none",
    platformTag: "any",
    requiresPython: null,
    location: "/simple",
    builderAbi: "cp311",
    aptDependencies: [],
    pipDependencies: [],
    ...overrides,
  };
}

function hostileProject(): ProjectData {
  const built = new Date("2024-01-01T00:00:00Z");
  return {
    package: "evil",
    name: ATTR_BREAK,
    description: SCRIPT + QUOTES,
    skip: "",
    aliases: ["../../etc", "Evil", "<b>", "a/b", ".."],
    releases: [{
      version: `1.0${SCRIPT}`,
      released: built,
      skip: ATTR_BREAK,
      yanked: false,
      queuedAbi: null,
      builds: [{
        buildId: 1,
        abiTag: `cp311${SCRIPT}`,
        status: true,
        builtAt: built,
        builtBy: 1,
        durationMs: 1,
      }],
      files: [],
      abis: { [`cp311${ATTR_BREAK}`]: { status: "success", buildId: 1 } },
    }, {
      version: "1.0",
      released: built,
      skip: "",
      yanked: false,
      queuedAbi: null,
      builds: [{
        buildId: 2,
        abiTag: "cp311",
        status: true,
        builtAt: built,
        builtBy: 1,
        durationMs: 1,
      }],
      files: [
        file("evil-1.0-py3-none-any.whl", {
          buildId: 2,
          requiresPython: `>=3${ATTR_BREAK}`,
          aptDependencies: [SCRIPT, QUOTES],
          pipDependencies: [ATTR_BREAK, "javascript:alert(1)", "ok-dep"],
        }),
        file(`evil-1.0-py3-none-any.whl"><script>x</script>`, { buildId: 2 }),
        file("../../../etc/passwd.whl", { buildId: 2 }),
        file("evil-1.0-py2-none-any.whl", { buildId: 2, location: "javascript:alert(1)//" }),
        file("evil-1.0-py2.py3-none-any.whl", { buildId: 2, filehash: `${"a".repeat(63)}"` }),
        file("other-1.0-py3-none-any.whl", { buildId: 2 }),
        file("evil-2.0-cp311-none-any.whl", { buildId: 2 }),
      ],
      abis: { cp311: { status: "success", buildId: 2 } },
    }],
  };
}

async function withSite(
  fn: (site: WebSite, out: string) => Promise<void> | void,
): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "piw-web-hostile-" });
  try {
    const site = new WebSite({ outputPath: out });
    site.setup();
    await fn(site, out);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("hostile names, descriptions and dependencies come out escaped", async () => {
  await withSite(async (site, out) => {
    await site.writeProject(hostileProject(), { simple: true, project: true });
    const html = Deno.readTextFileSync(`${out}/project/evil/index.html`);
    checkMarkup(html);
    const tags = parseTags(html);
    // The values survive intact as text and attribute values, only escaped.
    assert.equal(tags.find((t) => t.name === "h1")?.text, ATTR_BREAK);
    assert.equal(tags.find((t) => t.attrs.get("class") === "description")?.text, SCRIPT + QUOTES);
    assert.ok(tags.some((t) => t.attrs.get("data-apt") === `${SCRIPT} ${QUOTES}`));
    assert.ok(tags.some((t) => t.attrs.get("title") === ATTR_BREAK));
    // A pip dependency that is not a valid project name is shown, not linked; one not built
    // here links to PyPI.
    const deps = tags.filter((t) => t.attrs.get("class")?.startsWith("dependency"));
    assert.deepEqual(
      deps.map((t) => [t.name, t.attrs.get("href") ?? null, t.text]),
      [
        ["span", null, ATTR_BREAK],
        ["span", null, "javascript:alert(1)"],
        ["a", "https://pypi.org/project/ok-dep/", "ok-dep"],
      ],
    );
    const simple = Deno.readTextFileSync(`${out}/simple/evil/index.html`);
    checkMarkup(simple);
    const [only, ...rest] = links(simple);
    assert.deepEqual(rest, []);
    assert.equal(only.text, "evil-1.0-py3-none-any.whl");
    assert.equal(only.attrs.get("data-requires-python"), `>=3${ATTR_BREAK}`);
    // The JSON forms carry the same strings, as JSON.
    const json = JSON.parse(Deno.readTextFileSync(`${out}/simple/evil/index.json`));
    assert.equal(json.files[0]["requires-python"], `>=3${ATTR_BREAK}`);
    const project = JSON.parse(Deno.readTextFileSync(`${out}/project/evil/json/index.json`));
    assert.equal(project.summary, SCRIPT + QUOTES);
  });
});

Deno.test("files with hostile names, hashes, locations or projects are left out with a reason", () => {
  const { releases, excluded } = indexProject(hostileProject());
  assert.deepEqual(releases.flatMap((r) => r.files.map((f) => f.filename)), [
    "evil-1.0-py3-none-any.whl",
  ]);
  const reasons = new Map(excluded.map((e) => [e.filename, e.reason]));
  assert.match(
    reasons.get(`evil-1.0-py3-none-any.whl"><script>x</script>`)!,
    /Invalid wheel filename/,
  );
  assert.match(reasons.get("../../../etc/passwd.whl")!, /Invalid wheel filename/);
  assert.match(reasons.get("evil-1.0-py2-none-any.whl")!, /bad location/);
  assert.match(reasons.get("evil-1.0-py2.py3-none-any.whl")!, /bad sha256/);
  assert.match(reasons.get("other-1.0-py3-none-any.whl")!, /names project other/);
  assert.match(reasons.get("evil-2.0-cp311-none-any.whl")!, /is not release 1.0/);
});

Deno.test("alias links are made only for valid project names", async () => {
  await withSite(async (site, out) => {
    await site.writeProject(hostileProject(), { simple: false, project: true });
    const entries = [...Deno.readDirSync(`${out}/project`)].map((e) => e.name).sort();
    assert.deepEqual(entries, ["Evil", "evil"]);
    assert.throws(() => Deno.lstatSync(`${out}/etc`), Deno.errors.NotFound);
  });
});

Deno.test("package names that are not canonical are refused, never used as paths", async () => {
  await withSite(async (site, out) => {
    for (const pkg of ["", "..", "../etc", "a/b", "<script>", "Foo", "foo_bar", "foo bar"]) {
      await assert.rejects(
        () =>
          site.writeProject({ ...hostileProject(), package: pkg }, { simple: true, project: true }),
        BadPackageNameError,
        pkg,
      );
      assert.throws(() => site.deletePackage(pkg), BadPackageNameError);
      assert.throws(() => site.deleteVersion(pkg, "1.0", []), BadPackageNameError);
    }
    assert.ok(Deno.statSync(`${out}/simple`).isDirectory);
    assert.ok(Deno.statSync(`${out}/project`).isDirectory);
    // Names that are not canonical never reach the root index either.
    site.setPackages(["ok", "<script>", "../x", "Upper"]);
    site.writeSimpleRoot();
    const root = Deno.readTextFileSync(`${out}/simple/index.html`);
    checkMarkup(root);
    assert.deepEqual(links(root).map((a) => a.text), ["ok"]);
  });
});

Deno.test("deleting a version only removes wheels, never paths named by the database", async () => {
  await withSite((site, out) => {
    Deno.mkdirSync(`${out}/simple/evil`, { recursive: true });
    Deno.writeTextFileSync(`${out}/keep.txt`, "keep");
    Deno.writeTextFileSync(`${out}/simple/index.html`, "keep");
    site.deleteVersion("evil", "1.0", ["../../keep.txt", "../index.html", "/etc/passwd"]);
    assert.equal(Deno.readTextFileSync(`${out}/keep.txt`), "keep");
    assert.equal(Deno.readTextFileSync(`${out}/simple/index.html`), "keep");
  });
});

Deno.test("templates never use mustache's unescaped forms", () => {
  const templates = new Templates();
  assert.ok(templates.names.length >= 10);
  for (const name of templates.names) {
    const source = templates.source(name);
    assert.ok(!source.includes("{{{"), `${name} uses {{{ }}}`);
    assert.ok(!/\{\{\s*&/.test(source), `${name} uses {{& }}`);
    assert.ok(!/\{\{\s*=/.test(source), `${name} changes delimiters`);
  }
});
