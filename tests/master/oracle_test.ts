/**
 * Seraph and TheOracle (and DbClient) with real libzmq and real databases: PGlite always,
 * PostgreSQL unless PIW_SKIP_PG=1.
 */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  theOracleProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import type { MasterConfig } from "../../src/master/task.ts";
import { DbClient, OracleError } from "../../src/clients/db.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import {
  captureLogs,
  delay,
  ENGINES,
  startOracles,
  startTask,
  testConfig,
  type TestDatabase,
  testDatabase,
} from "./helpers.ts";

/** A fresh context with Seraph, `config.oracleCount` oracles and DbClients; `stop()` ends it all. */
async function startDbSide(config: MasterConfig) {
  const context = new Context();
  const oracles = await startOracles(context, config);
  const clients: DbClient[] = [];
  return {
    context,
    client() {
      const client = new DbClient(context, config);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.close();
      await oracles.stop();
      await context.close();
    },
  };
}

const addAbi = (abi: string) => async (admin: { query(sql: string): Promise<unknown> }) => {
  await admin.query(`INSERT INTO build_abis (abi_tag) VALUES ('${abi}')`);
};

function engineTest(name: string, fn: (db: TestDatabase) => Promise<void>) {
  for (const kind of ENGINES) {
    Deno.test({
      name: `${name} (${kind})`,
      async fn() {
        const db = await testDatabase(kind, addAbi("cp311"));
        try {
          await fn(db);
        } finally {
          await db.remove();
        }
      },
    });
  }
}

engineTest("DbClient requests round-trip through Seraph and TheOracle", async (db) => {
  const master = await startDbSide(testConfig({ dsn: db.dsn }));
  try {
    const client = master.client();
    assert.equal(await client.call("NEWPKG", ["foo", "", "A package"]), true);
    assert.equal(await client.call("NEWPKG", ["foo", "", "A package"]), false);
    assert.equal(await client.call("PKGEXISTS", "foo"), true);
    assert.equal(await client.call("PKGEXISTS", "bar"), false);
    assert.deepEqual(await client.call("ALLPKGS"), new Set(["foo"]));
    const released = new Date(Date.UTC(2024, 0, 2));
    assert.equal(await client.call("NEWVER", ["foo", "1.0", released, ""]), true);
    assert.deepEqual(await client.call("ALLVERS"), new Set([["foo", "1.0"]]));
    assert.equal(await client.call("VEREXISTS", ["foo", "1.0"]), true);
    assert.deepEqual(await client.call("GETABIS", true), new Set(["cp311"]));
    assert.deepEqual(await client.call("GETQUEUE", 100), { cp311: [["foo", "1.0"]] });
    assert.equal(await client.call("GETSKIP", ["foo", "1.0"]), "");
    await client.call("SETPYPI", 42);
    assert.equal(await client.call("GETPYPI"), 42);
    const buildId = await client.call("LOGBUILD", [
      1,
      "foo",
      "1.0",
      "cp311",
      false,
      new TimeDelta(0, 60),
      "build log",
      [],
    ]);
    assert.equal(typeof buildId, "number");
    assert.deepEqual(await client.call("GETQUEUE", 100), { cp311: [] });
    const stats = await client.call("GETSTATS");
    assert.equal(typeof stats.filesCount, "number");
    assert.deepEqual(await client.call("PKGFILES", "foo"), {});
    const data = await client.call("PROJDATA", "foo");
    assert.equal(data?.package, "foo");
    assert.ok(data.releases[0].builds[0].builtAt instanceof Date);
    assert.equal(data.releases[0].builds[0].durationMs, 60_000);
    assert.equal(await client.call("PROJDATA", "unknown"), null);
    const [known, unknown] = await client.call("PROJDATAS", ["foo", "unknown"]);
    assert.deepEqual([known, unknown], [data, null]);
    assert.deepEqual(await client.call("INITSTATS"), { downloadsAll: stats.downloadsAll });
    assert.deepEqual(await client.call("LOADRWP"), []);
  } finally {
    await master.stop();
  }
});

engineTest("a database error is answered ERROR and the oracle carries on", async (db) => {
  const logs = captureLogs("error");
  const master = await startDbSide(testConfig({ dsn: db.dsn }));
  try {
    const client = master.client();
    await client.call("SETPYPI", 10);
    await assert.rejects(() => client.call("SETPYPI", 5), OracleError);
    assert.equal(await client.call("GETPYPI"), 10);
    assert.ok(logs.lines.some((l) => l.includes("SETPYPI failed")), logs.lines.join("\n"));
  } finally {
    await master.stop();
    logs.stop();
  }
});

Deno.test({
  name: "a malformed or unknown request is answered ERROR",
  async fn() {
    const db = await testDatabase("pglite");
    const logs = captureLogs("error");
    const config = testConfig({ dsn: db.dsn });
    const master = await startDbSide(config);
    const req = master.context.socket("REQ", { linger: 0 });
    req.connect(config.dbQueue);
    const client = theOracleProtocol.reversed();
    try {
      for (const bad of [new Uint8Array([0xff]), encodeMessage(client, "ALLPKGS").slice(0, 3)]) {
        await req.send([bad]);
        const [reply] = (await req.recv(5000))!;
        const msg = decodeMessage(client, reply);
        assert.equal(msg.name, "ERROR");
        assert.match(msg.data as string, /the_oracle/);
      }
      // A well-formed request for a message the oracle does not know.
      await req.send([new TextEncoder().encode("dGETX")]); // CBOR text "GETX"
      const msg = decodeMessage(client, (await req.recv(5000))![0]);
      assert.equal(msg.name, "ERROR");
      assert.match(msg.data as string, /GETX: unknown message/);
      // And the oracle still answers properly.
      await req.send([encodeMessage(client, "GETPYPI")]);
      assert.deepEqual(decodeMessage(client, (await req.recv(5000))![0]), { name: "OK", data: 0 });
      assert.ok(logs.lines.some((l) => l.includes("bad request")), logs.lines.join("\n"));
    } finally {
      req.close();
      await master.stop();
      logs.stop();
      await db.remove();
    }
  },
});

Deno.test({
  name: "Seraph holds requests until an oracle is ready",
  async fn() {
    const db = await testDatabase("pglite");
    const config = testConfig({ dsn: db.dsn });
    const context = new Context();
    const seraph = await startTask(new Seraph(context, config));
    const client = new DbClient(context, config);
    try {
      let answered = false;
      const pending = client.call("GETPYPI").then((serial) => {
        answered = true;
        return serial;
      });
      await delay(200);
      assert.equal(answered, false);
      const oracle = await startTask(new TheOracle(context, config));
      assert.equal(await pending, 0);
      await oracle.stop();
    } finally {
      client.close();
      await seraph.stop();
      await context.close();
      await db.remove();
    }
  },
});

Deno.test({
  name: "Seraph spreads concurrent requests over idle oracles (postgres)",
  ignore: !ENGINES.includes("postgres"),
  async fn() {
    const db = await testDatabase("postgres");
    const logs = captureLogs("debug");
    const master = await startDbSide(testConfig({ dsn: db.dsn, oracleCount: 3 }));
    try {
      const clients = Array.from({ length: 6 }, () => master.client());
      const serials = await Promise.all(clients.map((c) => c.call("GETPYPI")));
      assert.deepEqual(serials, [0, 0, 0, 0, 0, 0]);
      const oracles = new Set(
        logs.lines.filter((l) => l.includes("<< GETPYPI")).map((l) => l.split(":")[0]),
      );
      assert.ok(oracles.size >= 2, [...oracles].join(", "));
    } finally {
      logs.stop();
      await master.stop();
      await db.remove();
    }
  },
});
