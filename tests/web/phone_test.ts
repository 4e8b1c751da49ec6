/**
 * A project page in real headless Chromium at a phone's width (390 px): the Files column is not
 * cut off (long wheel names wrap, the page does not scroll sideways), and the downloads read 0
 * rather than "–" for a package with none counted yet. The page is measured from inside by a
 * same-origin frame, whose results the dumped DOM carries; the screenshot is kept for a look.
 */
import assert from "node:assert/strict";
import { WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { chromiumBinary, render } from "./chromium.ts";
import { projectWith } from "./helpers.ts";

configureLogging({ level: "error" });

const PHONE = 390;
const LONG = "a-package-with-a-rather-long-name";
const WHEELS = [
  "a_package_with_a_rather_long_name-10.20.30-cp311-cp311-manylinux_2_36_armv7l.whl",
  "a_package_with_a_rather_long_name-10.20.30-cp311-cp311-linux_armv6l.whl",
];

/** A page that frames `path` at the phone's width and writes what it measured into its body. */
const MEASURE = (path: string) =>
  `<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="${path}" style="border:0;width:${PHONE}px;height:1200px"></iframe>
<script>
document.getElementById("f").addEventListener("load", function () {
  // After the page's own script has fetched the download counts.
  setTimeout(() => measure(this.contentDocument), 1000);
});
function measure(doc) {
  const width = doc.documentElement.clientWidth;
  const files = [...doc.querySelectorAll(".file a")].map((a) => Math.ceil(a.getBoundingClientRect().right));
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({
    width,
    scrollWidth: doc.documentElement.scrollWidth,
    files,
    downloads: [...doc.querySelectorAll("[data-downloads]")].map((s) => s.textContent),
  });
  document.body.appendChild(out);
}
</script></body></html>`;

Deno.test({
  name: "at phone width the Files column fits and the downloads read 0, in Chromium",
  ignore: chromiumBinary() === null,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "piw-phone-" });
    const server = serveDirectory(out, 0);
    try {
      const site = new WebSite({ outputPath: out });
      site.setup();
      const data = await projectWith(out, LONG, "10.20.30", WHEELS, ["numpy"]);
      data.releases[0].abis.cp39 = { status: "fail", buildId: 2 };
      await site.writeProject(data, { simple: true, project: true });
      site.writeSearchIndex({});
      site.writeSimpleRoot();
      Deno.writeTextFileSync(`${out}/measure.html`, MEASURE(`/project/${LONG}/`));
      const base = `http://127.0.0.1:${server.addr.port}`;
      // The page itself at phone width, for the screenshot (PIW_KEEP_SCREENSHOT=path keeps it).
      const shot = Deno.env.get("PIW_KEEP_SCREENSHOT") ?? `${out}/phone.png`;
      const page = await render(`${base}/project/${LONG}/`, shot, { width: PHONE, height: 900 });
      assert.match(page.dom, /a_package_with_a_rather_long_name-10\.20\.30-cp311/);
      const { dom } = await render(`${base}/measure.html`, `${out}/measure.png`, {
        width: PHONE,
        height: 1200,
      });
      const text = dom.match(/<pre id="measured">([^<]*)<\/pre>/)?.[1];
      assert.ok(text, `nothing measured:\n${dom}`);
      const measured = JSON.parse(text.replaceAll("&quot;", '"'));
      assert.equal(measured.width, PHONE);
      assert.equal(measured.files.length, WHEELS.length);
      for (const right of measured.files) {
        assert.ok(right <= measured.width, `a wheel name is cut off: ${text}`);
      }
      assert.ok(measured.scrollWidth <= measured.width, `the page scrolls sideways: ${text}`);
      assert.deepEqual(measured.downloads, ["0", "0"]);
    } finally {
      await server.shutdown();
      await Deno.remove(out, { recursive: true });
    }
  },
});
