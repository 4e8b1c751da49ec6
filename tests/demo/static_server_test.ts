/**
 * The demo's web server (tests/fixtures/static_server.ts) answers the URLs of served_site.ts as
 * Apache with deploy/apache/piw.conf does (apache_test.ts checks Apache against the same list).
 */
import { configureLogging } from "../../src/log.ts";
import { serveDirectory } from "../../src/demo/static_server.ts";
import { checkServedSite, makeSite } from "../web/served_site.ts";

configureLogging({ level: "error" });

Deno.test({
  name: "the demo's server serves the site as the Apache config does",
  async fn(t) {
    const out = await Deno.makeTempDir({ prefix: "piw-static-" });
    await makeSite(out);
    const server = serveDirectory(out, 0);
    try {
      await checkServedSite(t, server.addr.port, out);
    } finally {
      await server.shutdown();
      await Deno.remove(out, { recursive: true });
    }
  },
});
