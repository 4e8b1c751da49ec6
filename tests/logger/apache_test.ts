/**
 * The whole logging path with real programs: Apache (Debian's apache2) serves an output tree
 * and pipes its combined log into `piw logger --drop`; a `piw master` subprocess's Lumberjack
 * writes the hits; real `pip download` makes them. Needs apache2 and pip (scripts/setup
 * --tests installs them).
 */
import assert from "node:assert/strict";
import { openClient } from "../../src/db/mod.ts";
import { delay, ENGINES, testDatabase, waitFor } from "../master/helpers.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const APACHE = "/usr/sbin/apache2";
const MODULES = "/usr/lib/apache2/modules";

function requireApache(): void {
  try {
    Deno.statSync(APACHE);
  } catch {
    throw new Error(`${APACHE} is missing: run scripts/setup --tests to install apache2`);
  }
}

/** A minimal valid wheel, made by Python's zipfile (pip reads its METADATA). */
async function writeWheel(path: string): Promise<void> {
  const script = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("foo/__init__.py", "")
    z.writestr("foo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: foo\\nVersion: 1.0\\n")
    z.writestr("foo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: piw\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("foo-1.0.dist-info/RECORD", "")
`;
  const { code, stderr } = await new Deno.Command("python3", { args: ["-c", script, path] })
    .output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function apacheConf(root: string, www: string, port: number, logQueue: string): string {
  const user = Deno.uid() === 0 ? "User nobody\nGroup nogroup\n" : "";
  // Debian builds log_config and unixd in; load only what exists as a module file.
  const modules = ["mpm_event", "authz_core", "dir", "mime", "log_config", "unixd"]
    .filter((m) => exists(`${MODULES}/mod_${m}.so`))
    .map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join("\n");
  const logger = `${Deno.execPath()} run -A ${MAIN} logger --drop --log-queue ${logQueue}`;
  return `ServerRoot "${root}"
${modules}
${user}Listen 127.0.0.1:${port}
ServerName localhost
PidFile "${root}/httpd.pid"
ErrorLog "${root}/error.log"
DocumentRoot "${www}"
DirectoryIndex index.html
TypesConfig /etc/mime.types
<Directory "${www}">
  Require all granted
</Directory>
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
CustomLog "|${logger}" combined
`;
}

for (const kind of ENGINES) {
  Deno.test({
    name: `pip downloads through real Apache land in the database (${kind})`,
    async fn() {
      requireApache();
      const root = Deno.makeTempDirSync({ prefix: "piw-apache-" });
      Deno.chmodSync(root, 0o755);
      const www = `${root}/www`;
      Deno.mkdirSync(`${www}/simple/foo`, { recursive: true });
      const wheel = "foo-1.0-py3-none-any.whl";
      await writeWheel(`${www}/simple/foo/${wheel}`);
      Deno.writeTextFileSync(
        `${www}/simple/foo/index.html`,
        `<!DOCTYPE html><html><body><a href="${wheel}">${wheel}</a></body></html>\n`,
      );
      Deno.writeTextFileSync(`${www}/index.html`, "<html>home</html>\n");
      const queues = masterQueues(`${root}/`);
      const db = await testDatabase(kind);
      const pypi = await startPyPIStandIn();
      Deno.mkdirSync(`${root}/output`);
      const master = new PiwProcess("master", [
        ...masterCommand(db.dsn, `${root}/output`, queues),
        ...pypi.masterArgs,
      ]);
      const port = freePort();
      Deno.writeTextFileSync(`${root}/httpd.conf`, apacheConf(root, www, port, queues.log));
      let apache: Deno.ChildProcess | null = null;
      try {
        await master.waitForLine("master: ready", 120_000);
        apache = new Deno.Command(APACHE, {
          args: ["-f", `${root}/httpd.conf`, "-DFOREGROUND"],
          env: { PIW_CONFIG_PATHS: "" },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        // Apache is up once it answers.
        await waitFor(
          async () => {
            try {
              const res = await fetch(`http://127.0.0.1:${port}/`);
              await res.body?.cancel();
              return res.ok;
            } catch {
              return false;
            }
          },
          30_000,
          "apache answering",
        );
        const pip = await new Deno.Command("pip", {
          args: [
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            `http://127.0.0.1:${port}/simple/`,
            "-d",
            `${root}/dl`,
            "foo",
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(pip.code, 0, new TextDecoder().decode(pip.stderr));
        if (kind === "pglite") {
          // A PGlite directory is the running master's alone: read it once the master has
          // stopped (Lumberjack writes what it holds as it stops; the logger sends at once).
          await delay(2000);
          assert.equal(await master.stop(), 0, master.tail());
        }
        const admin = await openClient(db.dsn);
        try {
          // Lumberjack writes within a second of receiving; the logger sends at once.
          const rows = await waitFor(
            async () => {
              const downloads = await admin.query<{ filename: string; host: string }>(
                "SELECT filename, host(accessed_by) AS host, installer_name FROM downloads",
              );
              const searches = await admin.query<{ package: string }>(
                "SELECT package, installer_name FROM searches",
              );
              return downloads.length && searches.length ? { downloads, searches } : null;
            },
            30_000,
            "download and search rows",
          );
          assert.deepEqual(
            rows!.downloads.map((r) => [r.filename, r.host]),
            [[wheel, "127.0.0.1"]],
          );
          assert.deepEqual(rows!.searches, [{ package: "foo", installer_name: "pip" }]);
        } finally {
          await admin.close();
        }
      } catch (error) {
        let apacheLog = "";
        try {
          apacheLog = Deno.readTextFileSync(`${root}/error.log`);
        } catch { /* none */ }
        throw new Error(
          `${(error as Error).message}\nmaster:\n${master.lines.join("\n")}\napache:\n${apacheLog}`,
          { cause: error },
        );
      } finally {
        if (apache) {
          try {
            apache.kill("SIGTERM");
          } catch { /* already gone */ }
          await apache.status;
          await apache.stderr.cancel().catch(() => {});
        }
        await master.stop();
        await delay(100);
        await pypi.close();
        await db.remove();
        Deno.removeSync(root, { recursive: true });
      }
    },
  });
}
