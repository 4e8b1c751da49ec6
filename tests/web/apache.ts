/**
 * A real Apache serving an output tree with deploy/apache/piw.conf (apache_test.ts,
 * takeover_test.ts).
 * @module
 */

const APACHE = "/usr/sbin/apache2";
const MODULES = "/usr/lib/apache2/modules";
const CONF = new URL("../../deploy/apache/piw.conf", import.meta.url).pathname;

/** Whether Apache and its modules are installed (tests using it are skipped otherwise). */
export function apacheInstalled(): boolean {
  try {
    return Deno.statSync(APACHE).isFile && Deno.statSync(`${MODULES}/mod_rewrite.so`).isFile;
  } catch {
    return false;
  }
}

/**
 * Start Apache on 127.0.0.1:`port` serving `out` with deploy/apache/piw.conf, its config and logs
 * in `dir` (its access log: `<request line>|<status>|<content type>`).
 */
export async function startApache(
  out: string,
  dir: string,
  port: number,
): Promise<Deno.ChildProcess> {
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
