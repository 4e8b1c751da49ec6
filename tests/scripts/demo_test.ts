/**
 * The README's first command: the demo farm builds the demo sdists, pip installs a wheel piw
 * built, and the summary says so (run with `--once`, as a new user would after Ctrl+C).
 */
import assert from "node:assert/strict";

const DEMO = new URL("../../scripts/demo.ts", import.meta.url).pathname;

Deno.test({
  name: "the demo farm builds every version, pip installs one, and it cleans up",
  sanitizeOps: false,
  sanitizeResources: false,
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
    const recorded = text.search(
      /\d+ built, 1 failed: all builds recorded; waiting for the master/,
    );
    assert.ok(recorded >= 0, text);
    assert.ok(recorded < text.search(/\d+ built, 1 failed of \d+/), text);
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
