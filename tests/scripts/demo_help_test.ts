/** `bash scripts/demo --help` prints its usage before (and instead of) installing anything. */
import assert from "node:assert/strict";

const DEMO = new URL("../../scripts/demo", import.meta.url).pathname;

Deno.test("scripts/demo --help prints usage and installs nothing", async () => {
  for (const flag of ["--help", "-h"]) {
    const output = await new Deno.Command("bash", {
      args: [DEMO, "--once", flag],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0);
    assert.match(stdout, /^usage: bash scripts\/demo \[--once\] \[--slaves N\]/);
    assert.doesNotMatch(stdout, /checking prerequisites/);
    assert.equal(new TextDecoder().decode(output.stderr), "");
  }
});
