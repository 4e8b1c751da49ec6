/**
 * Habits of piwheels operators (issue 16): a pure wheel is imported without `--abi`, and an
 * import of a package the master does not know says how to add it.
 */
import assert from "node:assert/strict";
import { adminWheel, runTool, withMaster } from "./harness.ts";

Deno.test({
  name: "piw import derives a pure wheel's ABI and suggests piw add for an unknown package",
  async fn() {
    const wheel = await adminWheel();
    assert.match(wheel.filename, /-py3-none-any\.whl$/);
    await withMaster(async (master) => {
      const unknown = await master.tool(["import", "-y", "--abi", "cp311", wheel.path]);
      assert.equal(unknown.code, 1, unknown.stderr);
      assert.equal(unknown.stderr.trim().split("\n").length, 1, unknown.stderr);
      assert.match(unknown.stderr, /unknown package version .*piw add piw-admin-pkg 1\.0/);

      for (const args of [["piw-admin-pkg", "-d", "x"], ["piw-admin-pkg", "1.0"]]) {
        const added = await master.tool(["add", "-y", ...args]);
        assert.equal(added.code, 0, added.stderr);
      }
      // No --abi: piwheels operators import pure wheels this way.
      const pure = await master.tool(["import", "-y", wheel.path]);
      assert.equal(pure.code, 0, `${pure.stdout}\n${pure.stderr}`);
      assert.match(pure.stdout, /ABI: +cp311/);
      assert.match(pure.stdout, /imported piw-admin-pkg 1\.0/);
    });
  },
});

Deno.test("piw import names the option and the file it cannot read, in one line", async () => {
  const wheel = await adminWheel();
  for (const option of ["--output", "--dependencies"]) {
    const result = await runTool(["import", "-y", option, "/tmp", wheel.path]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr,
      `piw import: cannot read ${option} file /tmp: it is a directory\n`,
    );
  }
});
