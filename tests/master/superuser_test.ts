/**
 * `piw master` on a PostgreSQL superuser connection warns loudly at start (issue 16): its help
 * says the user must not be one.
 */
import assert from "node:assert/strict";
import { SKIP_PG, testDatabase } from "./helpers.ts";
import { pgDsn } from "../db/harness.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";

Deno.test({
  name: "piw master warns when its database user is a PostgreSQL superuser",
  ignore: SKIP_PG,
  async fn() {
    const db = await testDatabase("postgres");
    const superDsn = pgDsn(new URL(db.dsn).pathname.slice(1));
    const output = await Deno.makeTempDir({ prefix: "piw-superuser-www-" });
    const queues = masterQueues(`/tmp/piw-su-${crypto.randomUUID().slice(0, 8)}-`, 0, freePort());
    const master = new PiwProcess("master", masterCommand(superDsn, output, queues));
    try {
      const line = await master.waitForLine("is a PostgreSQL superuser", 60_000);
      assert.match(line, /WARNING: the database user \S+ is a PostgreSQL superuser/);
      assert.match(line, /piw initdb --user/);
    } finally {
      await master.stop();
      await Deno.remove(output, { recursive: true });
      await db.remove();
    }
  },
});
