/**
 * `piw master` warns when its pages would point at piwheels.org: the default `--site-url` with an
 * output path of its own. The database is a closed port, so the master is still waiting for it
 * when the startup lines are read.
 */
import assert from "node:assert/strict";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";

const FAST = { PIW_DB_CONNECT_TIMEOUT: "1" };

async function startupLines(extra: string[]): Promise<PiwProcess> {
  const output = Deno.makeTempDirSync({ prefix: "piw-site-url-www-" });
  const queues = masterQueues(`/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`);
  const dsn = `postgres://piw@127.0.0.1:${freePort()}/piw`;
  const master = new PiwProcess("master", [...masterCommand(dsn, output, queues), ...extra], FAST);
  try {
    await master.waitForLine("waiting for it");
  } finally {
    await master.stop();
    Deno.removeSync(output, { recursive: true });
  }
  return master;
}

Deno.test(
  "the master warns that the default --site-url points a new site at piwheels.org",
  async () => {
    const master = await startupLines([]);
    const warning = master.lines.find((line) => line.includes("--site-url"));
    assert.ok(warning, master.tail());
    assert.match(warning, /default https:\/\/www\.piwheels\.org but the output path is \/tmp\//);
  },
);

Deno.test("the master does not warn when --site-url is given", async () => {
  const master = await startupLines(["--site-url", "http://127.0.0.1:8000"]);
  assert.ok(master.lines.every((line) => !line.includes("--site-url")), master.tail());
});
