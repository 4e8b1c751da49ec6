/**
 * The README's first command: the demo farm builds the demo sdists, pip installs a wheel piw
 * built, and the summary says so (run with `--once`, as a new user would after Ctrl+C).
 */
import assert from "node:assert/strict";

const DEMO = new URL("../../scripts/demo.ts", import.meta.url).pathname;

Deno.test({
  name: "the demo farm builds every version, pip installs one, and it cleans up",
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", DEMO, "--once", "--slaves", "1", "--port", "0"],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, text);
    assert.match(text, /piw-demo-cext 1\.0: built/);
    assert.match(text, /piw-demo-pure 1\.0: built/);
    assert.match(text, /piw-demo-broken 0\.1: failed/);
    // Progress follows the builds as the master records them, not the pages a minute later.
    // The late release's first build fails too (its sdist is not on the index yet) ...
    const recorded = text.search(
      /\d+ built, 2 failed: all builds recorded; waiting for the master/,
    );
    assert.ok(recorded >= 0, text);
    assert.ok(recorded < text.search(/\d+ built, 2 failed of \d+/), text);
    assert.match(text, /piw-demo-late 1\.0: failed \(failure class no-sdist\)/);
    // ... and its automatic retry builds it once the sdist is there.
    assert.match(text, /piw-demo-late 1\.0: built on its automatic retry/);
    assert.match(text, /piw-demo-late 1\.0: built\n/);
    assert.match(text, /pip installed piw-demo-cext from piw's index: piw_demo_cext imported/);
    const work = text.match(/working directory (\S+)/)?.[1];
    assert.ok(work, text);
    assert.throws(
      () => Deno.statSync(work),
      Deno.errors.NotFound,
      "the demo removed its directory",
    );
  },
});

Deno.test({
  name: "the demo's pages point at the demo's own site, which serves the JSON, logs and 404 page",
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", DEMO, "--slaves", "1", "--port", "0"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let text = "";
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
    })();
    const errors = new Response(child.stderr).text();
    let exited = false;
    const status = child.status.then((status) => {
      exited = true;
      return status;
    });
    try {
      // The demo bounds its own wait for the builds (--timeout); a slow start under load is no
      // failure, its exit before the farm runs is.
      while (!text.includes("the farm keeps running")) {
        if (exited) {
          await reading;
          assert.fail(
            `the demo exited (code ${(await status).code}) before the farm was running:\n` +
              `${text}\n${await errors}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const deadline = Date.now() + 10 * 60_000;
      const site = text.match(/site: +(http:\/\/127\.0\.0\.1:\d+)\//)?.[1];
      assert.ok(site, text);
      const json = await (await fetch(`${site}/project/piw-demo-pure/json/`)).json();
      assert.equal(json.piwheels_url, `${site}/project/piw-demo-pure/`);
      const logs = Object.values(json.releases["1.0"].builds) as { log_url: string }[];
      assert.ok(logs[0].log_url.startsWith(`${site}/logs/`), JSON.stringify(json));
      const log = await fetch(logs[0].log_url.replace(/\.gz$/, ""));
      assert.equal(log.status, 200);
      assert.match(log.headers.get("content-type") ?? "", /^text\/plain/);
      assert.ok((await log.text()).length > 0);
      // The home page is written with the first statistics, a minute or so after the start.
      while ((await fetch(`${site}/index.html`, { method: "HEAD" })).status !== 200) {
        assert.ok(Date.now() < deadline, "no home page");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      for (const page of ["/", "/faq.html", "/sitemap.xml"]) {
        const response: Response = await fetch(site + page);
        assert.equal(response.status, 200, page);
        const body = await response.text();
        assert.ok(!body.includes("piwheels.org"), `${page} points at piwheels.org`);
        if (page !== "/sitemap.xml") assert.ok(body.includes(site), `${page} names ${site}`);
      }
      const missing = await fetch(`${site}/project/no-such-project/`);
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /<h1>Not found<\/h1>/);
    } finally {
      if (!exited) child.kill("SIGINT");
      await status;
      await reading;
      await errors;
    }
  },
});
