/**
 * A static file server for a piw output directory on loopback, standing in for Apache in the
 * demo and in end-to-end tests. It serves the site as deploy/apache/piw.conf does (tests/web/
 * served_site.ts checks both against the same URLs): PEP 691 negotiation of `/simple/` (JSON
 * when accepted and written, `?format=` first, 406 when nothing is acceptable, `Vary: Accept`), the
 * directory indexes `index.html` then `index.json` (the project JSON), build logs as
 * gzip-encoded text (inflated for clients that do not accept gzip; `.txt` finds `.txt.gz`),
 * `/project/` and `/p/<pkg>` redirects, the site's 404 page, and no dot-files (atomic writes'
 * temporary files, the master's `.piw-*` working files).
 * @module
 */

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  json: "application/json",
  xml: "application/xml",
  whl: "application/octet-stream",
  metadata: "text/plain; charset=utf-8",
  gz: "application/gzip",
  css: "text/css",
  js: "text/javascript",
  svg: "image/svg+xml",
  txt: "text/plain; charset=utf-8",
};

const SIMPLE_JSON = "application/vnd.pypi.simple.v1+json";
const SIMPLE_HTML = "application/vnd.pypi.simple.v1+html";
const SIMPLE_TYPE = /^application\/vnd\.pypi\.simple\.(v1|latest)\+(json|html)$/i;

/** The q-value of each media range in an Accept header (lower-cased). */
function acceptRanges(accept: string): Map<string, number> {
  const ranges = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [type, ...params] = part.trim().toLowerCase().split(";");
    if (!type) continue;
    const q = Number(params.find((p) => p.trim().startsWith("q="))?.split("=")[1] ?? "1");
    ranges.set(type.trim(), Number.isNaN(q) ? 1 : q);
  }
  return ranges;
}

/**
 * Which form of a simple index to send, as the Apache config chooses it: `?format=` wins; else
 * JSON when accepted with q > 0, versioned HTML when accepted, text/html otherwise; null (406)
 * for an unknown format or an Accept header that allows none of them.
 */
function simpleForm(url: URL, accept: string | null): "json" | "vhtml" | "html" | null {
  const format = url.searchParams.get("format");
  if (format !== null) {
    const m = format.match(SIMPLE_TYPE);
    if (m) return m[2].toLowerCase() === "json" ? "json" : "vhtml";
    return format.toLowerCase() === "text/html" ? "html" : null;
  }
  if (!accept?.trim()) return "html";
  const ranges = acceptRanges(accept);
  const accepted = (type: string) => (ranges.get(type) ?? 0) > 0;
  if (accepted(SIMPLE_JSON) || accepted("application/vnd.pypi.simple.latest+json")) return "json";
  if (accepted(SIMPLE_HTML) || accepted("application/vnd.pypi.simple.latest+html")) {
    return "vhtml";
  }
  if ([...ranges.keys()].some((t) => t === "text/html" || t === "text/*" || t === "*/*")) {
    return "html";
  }
  return null;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

/**
 * Serve `root` on 127.0.0.1:`port` (0 for any free port); `shutdown()` stops it. `onRequest`
 * sees each request's path (tests check what pip fetched).
 */
export function serveDirectory(
  root: string,
  port = 0,
  onRequest?: (path: string, request: Request) => void,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    onRequest?.(url.pathname, request);
    const response = await answer(root, url, request);
    response.headers.set("access-control-allow-origin", "*");
    return response;
  });
}

function redirect(location: string): Response {
  return new Response(null, { status: 301, headers: { location } });
}

async function answer(root: string, url: URL, request: Request): Promise<Response> {
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return new Response("bad path", { status: 400 });
  }
  const parts = path.split("/");
  if (parts.includes("..")) return new Response("bad path", { status: 400 });
  // As Apache: dot-files (temporary files, the master's .piw-* working files) are private.
  if (parts.some((p) => p.startsWith("."))) return new Response("forbidden", { status: 403 });
  if (/^\/project\/?$/.test(path)) return redirect("/packages.html");
  const short = path.match(/^\/p\/([^/]+)\/?$/);
  if (short) return redirect(`/project/${short[1]}/`);
  const simple = path.startsWith("/simple/");
  const headers = new Headers();
  if (simple) headers.set("vary", "Accept");
  let file = `${root}${path}`;
  let info = await statOrNull(file);
  if (info?.isDirectory) {
    if (!path.endsWith("/")) return redirect(`${url.pathname}/`);
    if (simple) {
      const form = simpleForm(url, request.headers.get("accept"));
      if (form === null) return new Response("not acceptable", { status: 406, headers });
      info = form === "json" ? await statOrNull(`${file}index.json`) : null;
      if (info) {
        file += "index.json";
        headers.set("content-type", SIMPLE_JSON);
      } else {
        // No JSON form (yet: a piwheels tree piw has not rewritten): the HTML one, as Apache's
        // `DirectoryIndex index.json index.html` does, as text/html unless asked for vhtml.
        file += "index.html";
        if (form === "vhtml") headers.set("content-type", SIMPLE_HTML);
        info = await statOrNull(file);
      }
    } else {
      // DirectoryIndex index.html index.json: the project JSON is /project/<pkg>/json/.
      info = null;
      for (const name of ["index.html", "index.json"]) {
        info = await statOrNull(`${file}${name}`);
        if (info) {
          file += name;
          break;
        }
      }
    }
  }
  if (path.startsWith("/logs/")) {
    // A build log: gzip-encoded text; MultiViews finds CCCC.txt.gz for CCCC.txt.
    if (!info && path.endsWith(".txt")) {
      file += ".gz";
      info = await statOrNull(file);
    }
    if (info?.isFile && file.endsWith(".txt.gz")) {
      headers.set("content-type", TYPES.txt);
      const gzip = /\bgzip\b/i.test(request.headers.get("accept-encoding") ?? "");
      if (request.method === "HEAD") return new Response(null, { headers });
      const body = (await Deno.open(file)).readable;
      if (!gzip) {
        return new Response(body.pipeThrough(new DecompressionStream("gzip")), { headers });
      }
      headers.set("content-encoding", "gzip");
      headers.set("content-length", String(info.size));
      return new Response(body, { headers });
    }
  }
  if (!info?.isFile) return await notFound(root);
  const ext = file.split(".").pop() ?? "";
  if (!headers.has("content-type")) {
    headers.set("content-type", TYPES[ext] ?? "application/octet-stream");
  }
  headers.set("content-length", String(info.size));
  const body = request.method === "HEAD" ? null : (await Deno.open(file)).readable;
  return new Response(body, { headers });
}

/** The site's own 404 page (ErrorDocument 404 /404.html), or a line when there is none. */
async function notFound(root: string): Promise<Response> {
  try {
    const page = await Deno.readFile(`${root}/404.html`);
    return new Response(page, { status: 404, headers: { "content-type": TYPES.html } });
  } catch {
    return new Response("not found", { status: 404 });
  }
}
