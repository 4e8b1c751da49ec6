/**
 * deploy/apache/piw.conf in a real Apache (skipped where `apache2` is not installed): the URLs
 * of served_site.ts (which the demo's server answers too), and real pip downloading from it.
 */
import assert from "node:assert/strict";
import { configureLogging } from "../../src/log.ts";
import { checkServedSite, JSON_TYPE, makeSite } from "./served_site.ts";
import { freePort } from "../fixtures/piw_process.ts";

configureLogging({ level: "error" });

const APACHE = "/usr/sbin/apache2";
const MODULES = "/usr/lib/apache2/modules";
const CONF = new URL("../../deploy/apache/piw.conf", import.meta.url).pathname;

function installed(): boolean {
  try {
    return Deno.statSync(APACHE).isFile && Deno.statSync(`${MODULES}/mod_rewrite.so`).isFile;
  } catch {
    return false;
  }
}

async function startApache(out: string, dir: string, port: number): Promise<Deno.ChildProcess> {
  const modules = [
    "mpm_event",
    "authz_core",
    "authz_host",
    "mime",
    "dir",
    "rewrite",
    "headers",
    "negotiation",
    "filter",
    "deflate",
    "alias",
  ];
  const conf = [
    ...modules.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`),
    `Define PIW_OUTPUT ${out}`,
    `Define PIW_PORT ${port}`,
    // No master here to take the access log (piw-logger).
    "Define PIW_NO_LOGGER",
    `Listen 127.0.0.1:${port}`,
    "ServerName localhost",
    `PidFile ${dir}/httpd.pid`,
    `ErrorLog ${dir}/error.log`,
    "LogLevel warn",
    'LogFormat "%r|%>s|%{Content-Type}o" piw',
    `CustomLog ${dir}/access.log piw`,
    "TypesConfig /etc/mime.types",
    `Mutex file:${dir} default`,
    // Running as root (CI), Apache drops to this user, which must be able to read the tree.
    Deno.uid() === 0 ? "User www-data\nGroup www-data" : "",
    `Include ${CONF}`,
  ].join("\n");
  Deno.writeTextFileSync(`${dir}/httpd.conf`, conf);
  const child = new Deno.Command(APACHE, {
    args: ["-f", `${dir}/httpd.conf`, "-DFOREGROUND"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return child;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        const { stderr } = await child.output();
        let log = "";
        try {
          log = Deno.readTextFileSync(`${dir}/error.log`);
        } catch { /* none */ }
        throw new Error(`apache did not start: ${new TextDecoder().decode(stderr)} ${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test({
  name: "the Apache config negotiates the simple index and serves the rest",
  ignore: !installed(),
  sanitizeResources: false,
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
          const pip = await new Deno.Command("python3", {
            args: [
              "-m",
              "pip",
              "download",
              "-v",
              "--no-deps",
              "--no-cache-dir",
              "--disable-pip-version-check",
            ]
              .concat(["--index-url", `${base}/simple/`, "-d", dest, "foo==1.0"]),
            clearEnv: true,
            env: {
              PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
              HOME: dir,
              PIP_CONFIG_FILE: "/dev/null",
              PIP_NO_INPUT: "1",
            },
            stdout: "piped",
            stderr: "piped",
          }).output();
          const log = new TextDecoder().decode(pip.stdout) + new TextDecoder().decode(pip.stderr);
          assert.ok(pip.success, log);
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
