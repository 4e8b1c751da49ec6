/**
 * The single `dist/piw` binary from `deno task build`: `--version`, `initdb` on PGlite and a
 * master that starts and stops. `deno compile` needs a denort runtime (DENORT_BIN or one cached
 * by an earlier online compile); only its absence may skip this test, and the test says so.
 */
import assert from "node:assert/strict";

const TOP = new URL("../../", import.meta.url).pathname;

function denortAvailable(): string | null {
  const bin = Deno.env.get("DENORT_BIN");
  if (bin) return bin;
  const version = Deno.version.deno;
  const dir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  const cached = `${dir}/dl/release/v${version}/denort-${arch}-unknown-linux-gnu.zip`;
  try {
    Deno.statSync(cached);
    return cached;
  } catch {
    return null;
  }
}

const runtime = denortAvailable();
if (!runtime) {
  console.log(
    "SKIPPED the compiled-binary test: no denort runtime (DENORT_BIN is unset and none is " +
      "cached under DENO_DIR/dl); this network cannot download one",
  );
}

async function exec(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, cwd: TOP }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test({
  name: "the compiled binary runs --version, initdb on PGlite and a master",
  ignore: runtime === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const build = await exec("bash", ["scripts/build"]);
    assert.equal(build.code, 0, build.text);
    const piw = `${TOP}dist/piw`;
    const version = await exec(piw, ["--version"]);
    assert.equal(version.code, 0, version.text);
    assert.match(version.text, /^\d+\.\d+\.\d+/);
    const dir = await Deno.makeTempDir({ prefix: "piw-binary-" });
    try {
      // scripts/install links piwheels' names to the binary, which runs the command named.
      const installed = await exec("bash", ["scripts/install", "--prefix", `${dir}/prefix`]);
      assert.equal(installed.code, 0, installed.text);
      assert.equal(Deno.readLinkSync(`${dir}/prefix/bin/piw-add`), "piw");
      const help = await exec(`${dir}/prefix/bin/piw-add`, ["--help"], { PIW_CONFIG_PATHS: "" });
      assert.equal(help.code, 0, help.text);
      assert.match(help.text, /^Usage: piw add /);
      const initdb = await exec(piw, [
        "initdb",
        "--dsn",
        `pglite://${dir}/db`,
        "-y",
        "--abi",
        "cp311",
      ], {
        PIW_CONFIG_PATHS: "",
      });
      assert.equal(initdb.code, 0, initdb.text);
      await Deno.mkdir(`${dir}/www`);
      const master = new Deno.Command(piw, {
        args: [
          "master",
          "--dsn",
          `pglite://${dir}/db`,
          "-o",
          `${dir}/www`,
          "--pypi-xmlrpc",
          "http://127.0.0.1:9/pypi",
          "--status-queue",
          `ipc://${dir}/status`,
          "--control-queue",
          `ipc://${dir}/control`,
          "--import-queue",
          `ipc://${dir}/import`,
          "--log-queue",
          `ipc://${dir}/log`,
          "--slave-queue",
          "tcp://127.0.0.1:0",
          "--file-queue",
          "tcp://127.0.0.1:0",
          "-v",
        ],
        env: { PIW_CONFIG_PATHS: "", PIW_ALLOW_ROOT: "1" },
        stderr: "piped",
      }).spawn();
      const lines: string[] = [];
      const reader = master.stderr.pipeThrough(new TextDecoderStream()).getReader();
      const deadline = Date.now() + 120_000;
      while (!lines.join("").includes("master: ready") && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        lines.push(value);
      }
      assert.match(lines.join(""), /master: ready/);
      master.kill("SIGTERM");
      reader.releaseLock();
      assert.equal((await master.status).code, 0);
      assert.ok(Deno.statSync(`${dir}/www/index.html`).isFile);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
