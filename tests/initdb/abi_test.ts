/** `piw initdb --abi`: registering build ABIs, keeping existing ones, refusing non-ABIs. */
import assert from "node:assert/strict";
import { run } from "../../src/initdb/main.ts";
import { openClient } from "../../src/db/mod.ts";

Deno.test("initdb --abi registers build ABIs once and refuses tags that are not ABIs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-initdb-abi-" });
  const dsn = `pglite://${dir}`;
  try {
    assert.equal(await run({ dsn, user: "piwheels", yes: true, abi: ["cp311", "cp39"] }), 0);
    assert.equal(await run({ dsn, user: "piwheels", yes: true, abi: ["cp311", "cp313"] }), 0);
    await assert.rejects(
      () => run({ dsn, user: "piwheels", yes: true, abi: ["cp312", "abi3"] }),
      /"abi3" is not a build ABI tag/,
    );
    const client = await openClient(dsn);
    try {
      const rows = await client.query<{ abi_tag: string }>(
        "SELECT abi_tag FROM build_abis ORDER BY abi_tag",
      );
      // cp312 was refused along with abi3: nothing of a refused call is registered.
      assert.deepEqual(rows.map((r) => r.abi_tag), ["cp311", "cp313", "cp39"]);
    } finally {
      await client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
