/**
 * One list of URLs and what each must answer, checked against every server of a piw site: real
 * Apache with deploy/apache/piw.conf (apache_test.ts) and the demo's server
 * (src/demo/static_server.ts, tests/demo/static_server_test.ts), so both serve the site the same way.
 * @module
 */
import assert from "node:assert/strict";
import { WebSite } from "../../src/web/mod.ts";
import type { ProjectData } from "../../src/db/types.ts";
import { writeWheel } from "./helpers.ts";

export const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
export const HTML_TYPE = "application/vnd.pypi.simple.v1+html";
export const PIP_ACCEPT = `${JSON_TYPE}, ${HTML_TYPE}; q=0.1, text/html; q=0.01`;

/** GET with nothing but a Host header; the response's head and body as text. */
export async function rawGet(port: number, path: string): Promise<{ head: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      ),
    );
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const split = text.indexOf("\r\n\r\n");
    let body = text.slice(split + 4);
    if (/transfer-encoding: chunked/i.test(text.slice(0, split))) {
      let out = "";
      while (body.length) {
        const eol = body.indexOf("\r\n");
        const size = parseInt(body.slice(0, eol), 16);
        if (!size) break;
        out += body.slice(eol + 2, eol + 2 + size);
        body = body.slice(eol + 2 + size + 2);
      }
      body = out;
    }
    return { head: text.slice(0, split), body };
  } finally {
    conn.close();
  }
}

/**
 * A small site: foo with one real wheel and its metadata, a build log, a stray temp file, and
 * `old`, a project page as piwheels wrote it (HTML only).
 */
export async function makeSite(out: string): Promise<void> {
  const wheel = await writeWheel(`${out}/simple/foo`, "foo-1.0-py3-none-any.whl");
  const built = new Date("2024-01-01T00:00:00Z");
  const data: ProjectData = {
    package: "foo",
    name: "foo",
    description: "",
    skip: "",
    aliases: [],
    releases: [{
      version: "1.0",
      released: built,
      skip: "",
      yanked: false,
      queuedAbi: null,
      builds: [{
        buildId: 1,
        abiTag: "cp311",
        status: true,
        builtAt: built,
        builtBy: 1,
        durationMs: 1,
      }],
      files: [{
        filename: "foo-1.0-py3-none-any.whl",
        buildId: 1,
        filesize: wheel.size,
        filehash: wheel.hash,
        packageTag: "foo",
        packageVersionTag: "1.0",
        pyVersionTag: "py3",
        abiTag: "none",
        platformTag: "any",
        requiresPython: ">=3.7",
        location: "/simple",
        builderAbi: "cp311",
        aptDependencies: [],
        pipDependencies: [],
      }],
      abis: { cp311: { status: "success", buildId: 1 } },
    }],
  };
  const site = new WebSite({ outputPath: out });
  site.setup();
  site.setPackages(["foo"]);
  await site.writeProject(data, { simple: true, project: true });
  site.writeSimpleRoot();
  site.writeLog(15712701, "the build log\n");
  Deno.writeTextFileSync(`${out}/simple/foo/.index.html.abc123.tmp`, "half");
  // A page piwheels wrote, which piw has not rewritten yet: HTML only, no index.json.
  Deno.mkdirSync(`${out}/simple/old`);
  Deno.writeTextFileSync(
    `${out}/simple/old/index.html`,
    '<!DOCTYPE html>\n<html><body><a href="/simple/old/old-1.0-py3-none-any.whl#sha256=' +
      `${"0".repeat(64)}">old-1.0-py3-none-any.whl</a><br></body></html>\n`,
  );
}

/** Check every URL of the site made by {@link makeSite} in `out`, served at 127.0.0.1:`port`. */
export async function checkServedSite(
  t: Deno.TestContext,
  port: number,
  out: string,
): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, { headers, redirect: "manual" });
    const body = new Uint8Array(await response.arrayBuffer());
    return { response, body, text: new TextDecoder().decode(body) };
  };
  for (const path of ["/simple/", "/simple/foo/"]) {
    await t.step(`${path}: pip's Accept gets the JSON form`, async () => {
      const { response, text } = await get(path, { Accept: PIP_ACCEPT });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), JSON_TYPE);
      assert.match(response.headers.get("vary") ?? "", /Accept/);
      assert.equal(JSON.parse(text).meta["api-version"], "1.1");
    });
    await t.step(`${path}: the latest JSON version is answered with v1`, async () => {
      const { response } = await get(path, {
        Accept: "application/vnd.pypi.simple.latest+json",
      });
      assert.equal(response.headers.get("content-type"), JSON_TYPE);
    });
    await t.step(`${path}: the versioned HTML form`, async () => {
      const { response, text } = await get(path, { Accept: `${HTML_TYPE}, text/html;q=0.5` });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), HTML_TYPE);
      assert.match(response.headers.get("vary") ?? "", /Accept/);
      assert.ok(text.includes('<meta name="pypi:repository-version" content="1.1">'));
    });
    await t.step(`${path}: browsers, curl and no Accept get text/html`, async () => {
      for (
        const accept of [
          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
          "*/*",
          null,
        ]
      ) {
        const { response, text } = await get(path, accept ? { Accept: accept } : {});
        assert.equal(response.status, 200, String(accept));
        assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
        assert.match(response.headers.get("vary") ?? "", /Accept/);
        assert.ok(text.startsWith("<!DOCTYPE html>"));
      }
    });
    await t.step(`${path}: JSON refused with q=0 is not sent`, async () => {
      const { response } = await get(path, { Accept: `${JSON_TYPE};q=0, text/html` });
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
    });
    await t.step(`${path}: nothing acceptable gives 406`, async () => {
      const { response } = await get(path, { Accept: "application/json" });
      assert.equal(response.status, 406);
    });
    await t.step(`${path}: ?format= overrides the Accept header`, async () => {
      const { response } = await get(`${path}?format=${encodeURIComponent(JSON_TYPE)}`, {
        Accept: "text/html",
      });
      assert.equal(response.headers.get("content-type"), JSON_TYPE);
    });
  }
  await t.step("a project with no JSON form yet answers pip with its HTML form", async () => {
    const { response, text } = await get("/simple/old/", { Accept: PIP_ACCEPT });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(response.headers.get("vary") ?? "", /Accept/);
    assert.ok(text.includes(">old-1.0-py3-none-any.whl</a>"));
    const versioned = await get("/simple/old/", { Accept: `${HTML_TYPE}, text/html;q=0.5` });
    assert.equal(versioned.response.headers.get("content-type"), HTML_TYPE);
  });
  await t.step("a project URL without its slash is redirected", async () => {
    const { response } = await get("/simple/foo", { Accept: PIP_ACCEPT });
    assert.equal(response.status, 301);
    assert.match(response.headers.get("location") ?? "", /\/simple\/foo\/$/);
  });
  await t.step("wheels and their .metadata files are served", async () => {
    const wheel = await get("/simple/foo/foo-1.0-py3-none-any.whl");
    assert.equal(wheel.response.status, 200);
    assert.equal(wheel.body[0], 0x50); // "PK"
    const metadata = await get("/simple/foo/foo-1.0-py3-none-any.whl.metadata");
    assert.equal(metadata.response.status, 200);
    assert.match(metadata.response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.ok(metadata.text.startsWith("Metadata-Version: 2.1\nName: foo\n"));
  });
  await t.step("the project JSON is the directory index of json/", async () => {
    const { response, text } = await get("/project/foo/json/");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(JSON.parse(text).package, "foo");
    const page = await get("/project/foo/");
    assert.match(page.response.headers.get("content-type") ?? "", /^text\/html/);
    const short = await get("/p/foo");
    assert.equal(short.response.status, 301);
    const search = await get("/project/");
    assert.equal(search.response.status, 301);
    assert.match(search.response.headers.get("location") ?? "", /\/packages\.html$/);
  });
  await t.step(
    "build logs are gzip-encoded text, inflated for clients without gzip",
    async () => {
      const raw = await fetch(`${base}/logs/0000/1571/2701.txt.gz`, {
        headers: { "Accept-Encoding": "gzip" },
      });
      assert.equal(raw.status, 200);
      assert.match(raw.headers.get("content-type") ?? "", /^text\/plain/);
      assert.equal(raw.headers.get("content-encoding"), "gzip");
      // fetch decodes gzip itself.
      assert.equal(await raw.text(), "the build log\n");
      // A client that says nothing about encodings (fetch always does, so by hand).
      const plain = await rawGet(port, "/logs/0000/1571/2701.txt");
      assert.match(plain.head, /^HTTP\/1\.1 200/);
      assert.doesNotMatch(plain.head, /content-encoding/i);
      assert.equal(plain.body, "the build log\n");
    },
  );
  await t.step(
    "temporary and staged files are never served; missing pages get the 404 page",
    async () => {
      const temp = await get("/simple/foo/.index.html.abc123.tmp");
      assert.equal(temp.response.status, 403);
      // Nor the master's staged wheels and build journal.
      Deno.mkdirSync(`${out}/.piw-incoming/staged`, { recursive: true });
      Deno.writeTextFileSync(`${out}/.piw-incoming/staged/ab-foo-1.0-py3-none-any.whl`, "x");
      const staged = await get("/.piw-incoming/staged/ab-foo-1.0-py3-none-any.whl");
      assert.equal(staged.response.status, 403);
      const missing = await get("/no/such/page.html");
      assert.equal(missing.response.status, 404);
      assert.ok(missing.text.includes("Not found"));
    },
  );
}
