/**
 * deploy/apache/piw.conf in a real Apache (skipped where `apache2` is not installed): the URLs
 * of served_site.ts (which the demo's server answers too), and real pip downloading from it.
 */
import assert from "node:assert/strict";
import { configureLogging } from "../../src/log.ts";
import { checkServedSite, JSON_TYPE, makeSite } from "./served_site.ts";
import { freePort } from "../fixtures/piw_process.ts";
import { pipDownload } from "../fixtures/package_index.ts";
import { apacheInstalled, startApache } from "./apache.ts";

configureLogging({ level: "error" });

Deno.test({
  name: "the Apache config negotiates the simple index and serves the rest",
  ignore: !apacheInstalled(),
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "piw-apache-" });
    const out = `${dir}/www`;
    Deno.chmodSync(dir, 0o755);
    Deno.mkdirSync(out, { mode: 0o755 });
    await makeSite(out);
    const port = freePort();
    const apache = await startApache(out, dir, port);
    const base = `http://127.0.0.1:${port}`;
    try {
      await checkServedSite(t, port, out);
      await t.step(
        "pip downloads from it, reading the JSON form and the metadata file",
        async () => {
          const dest = `${dir}/pip-dest`;
          const { success, log } = await pipDownload(`${base}/simple/`, "foo==1.0", dest, dir);
          assert.ok(success, log);
          assert.ok(Deno.statSync(`${dest}/foo-1.0-py3-none-any.whl`).isFile);
          // pip resolved from the PEP 658 metadata file before fetching the wheel.
          assert.match(log, /dependency information for foo==1\.0 from \S+\.whl\.metadata/);
          // And it was given the JSON form of the project page.
          const access = Deno.readTextFileSync(`${dir}/access.log`).split("\n");
          assert.ok(
            access.includes(`GET /simple/foo/ HTTP/1.1|200|${JSON_TYPE}`),
            access.filter((l) => l.includes("/simple/foo/ ")).join("\n"),
          );
        },
      );
    } finally {
      apache.kill("SIGTERM");
      await apache.output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
