/**
 * Slaves that ask again the instant they have their reply, against a real `piw master` on
 * PostgreSQL: ten C-client slaves (tests/bench/slave_client.c) cycling failed builds as fast as
 * the master answers. A failed build's DONE comes after its group commit; the slave's next IDLE
 * can reach SlaveDriver before the promise that sent DONE has settled, and SlaveDriver used to
 * drop it as "IDLE before its last reply", leaving that slave waiting for a reply that never
 * came (until its own timeout, minutes for a real slave).
 */
import assert from "node:assert/strict";
import { SKIP_PG } from "../db/harness.ts";
import { pendingVersions, testDatabase } from "./helpers.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { buildCClient, cClientArgs, type ClientResult } from "../bench/c_client.ts";

const VERSIONS = 20_000;

/** Run `n` C-client slaves for `seconds` against `endpoint`; what the client measured. */
async function cycle(binary: string, endpoint: string, n: number, seconds: number) {
  const out = await new Deno.Command(binary, {
    args: cClientArgs(endpoint, n, seconds),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.ok(out.success, `the C client failed: ${text.decode(out.stderr)}`);
  return JSON.parse(text.decode(out.stdout)) as ClientResult;
}

Deno.test({
  name: "slaves that ask again at once after DONE are always answered",
  ignore: SKIP_PG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "piw-quick-slaves-" });
    const binary = buildCClient(dir);
    assert.ok(binary, "no C compiler (scripts/setup --tests installs build-essential)");
    const db = await testDatabase("postgres", pendingVersions(VERSIONS, "quick"));
    await Deno.mkdir(`${dir}/www`);
    const pypi = await startPyPIStandIn();
    const slavePort = freePort();
    const queues = masterQueues(`${dir}/`, slavePort, freePort());
    const master = new PiwProcess("master", [
      ...masterCommand(db.dsn, `${dir}/www`, queues).filter((a) => a !== "-v"),
      ...pypi.masterArgs,
    ]);
    const endpoint = `tcp://127.0.0.1:${slavePort}`;
    try {
      await master.waitForLine("master: ready", 120_000);
      // Until TheArchitect's first queue reaches SlaveDriver, slaves only hear SLEEP.
      for (let i = 0; (await cycle(binary, endpoint, 10, 2)).builds === 0; i++) {
        assert.ok(i < 30, `no build handed out in a minute\n${master.tail()}`);
      }
      const result = await cycle(binary, endpoint, 10, 10);
      assert.ok(result.builds > 100, `only ${result.builds} builds\n${master.tail()}`);
      const dropped = master.lines.filter((l) => l.includes("before its last reply"));
      assert.deepEqual(dropped, [], "requests dropped as early");
      // Every slave has one request in flight when the run ends; none may have waited long.
      assert.ok(
        (result.oldestMs ?? 0) < 5_000,
        `${result.unanswered} requests unanswered at the end (${result.waitingFor}), the ` +
          `oldest for ${result.oldestMs} ms\n${master.tail()}`,
      );
    } finally {
      await master.stop();
      await pypi.close();
      await db.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
