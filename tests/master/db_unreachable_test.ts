/**
 * An unreachable PostgreSQL: `piw initdb` gives up after the connect timeout with one line naming
 * host:port (a server that accepts but never answers, like a firewalled host, and a closed port);
 * `piw master` says which host:port it waits for and starts once the database answers. Only
 * 127.0.0.1 is used: the "firewalled host" is a local listener that never answers.
 */
import assert from "node:assert/strict";
import { parseDsn, type PostgresDsn } from "../../src/db/mod.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { SKIP_PG, testDatabase } from "./helpers.ts";

const FAST = { PIW_DB_CONNECT_TIMEOUT: "1" };

/**
 * A TCP port on 127.0.0.1 that accepts connections and never answers (a black hole) until
 * `open(target)`, from when it forwards new connections to `target`.
 */
class Gate {
  readonly port: number;
  readonly #listener: Deno.Listener;
  readonly #conns: Deno.Conn[] = [];
  #target: Deno.ConnectOptions | null = null;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.push(conn);
        if (this.#target) this.#forward(conn, this.#target);
      }
    } catch {
      // Closed.
    }
  }

  async #forward(conn: Deno.Conn, target: Deno.ConnectOptions): Promise<void> {
    try {
      const upstream = await Deno.connect(target);
      this.#conns.push(upstream);
      await Promise.all([
        conn.readable.pipeTo(upstream.writable).catch(() => {}),
        upstream.readable.pipeTo(conn.writable).catch(() => {}),
      ]);
    } catch {
      conn.close();
    }
  }

  /** Forward from now on; connections held so far are dropped. */
  open(target: Deno.ConnectOptions): void {
    this.#target = target;
    for (const conn of this.#conns.splice(0)) closeQuietly(conn);
  }

  close(): void {
    closeQuietly(this.#listener);
    for (const conn of this.#conns.splice(0)) closeQuietly(conn);
  }
}

function closeQuietly(thing: { close(): void }): void {
  try {
    thing.close();
  } catch {
    // Already closed.
  }
}

/** `piw initdb` on `dsn`: exit code and non-empty stderr lines. */
async function initdb(dsn: string): Promise<{ code: number; lines: string[] }> {
  const child = new PiwProcess("initdb", ["initdb", "-y", "--dsn", dsn], FAST);
  const code = await child.exit(60_000);
  return { code, lines: child.lines.filter((line) => line.trim() !== "") };
}

Deno.test({
  name: "piw initdb gives up on a PostgreSQL that never answers, naming host:port",
  async fn() {
    const gate = new Gate();
    try {
      const result = await initdb(`postgres://piw:secret@127.0.0.1:${gate.port}/piwheels`);
      assert.equal(result.code, 1, result.lines.join("\n"));
      assert.deepEqual(result.lines, [
        `piw initdb: cannot reach PostgreSQL at 127.0.0.1:${gate.port} within 1 s`,
      ]);
    } finally {
      gate.close();
    }
  },
});

Deno.test({
  name: "piw initdb on a closed PostgreSQL port fails with one line naming host:port",
  async fn() {
    const port = freePort();
    const result = await initdb(`postgres://piw:secret@127.0.0.1:${port}/piwheels`);
    assert.equal(result.code, 1, result.lines.join("\n"));
    assert.equal(result.lines.length, 1, result.lines.join("\n"));
    assert.ok(
      result.lines[0].startsWith(`piw initdb: cannot reach PostgreSQL at 127.0.0.1:${port}: `),
      result.lines[0],
    );
  },
});

Deno.test({
  name: "piw master waits for a PostgreSQL that does not answer, then starts when it does",
  ignore: SKIP_PG,
  async fn() {
    const db = await testDatabase("postgres", async (admin) => {
      await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
    });
    const real = parseDsn(db.dsn) as PostgresDsn;
    const gate = new Gate();
    const dsn = db.dsn.replace(`@${real.host}:${real.port}/`, `@127.0.0.1:${gate.port}/`);
    assert.notEqual(dsn, db.dsn);
    const pypi = await startPyPIStandIn();
    const output = Deno.makeTempDirSync({ prefix: "piw-unreachable-www-" });
    const queues = masterQueues(`/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`);
    const master = new PiwProcess("master", [
      ...masterCommand(dsn, output, queues),
      ...pypi.masterArgs,
    ], FAST);
    try {
      await master.waitForLine(
        `master: cannot reach PostgreSQL at 127.0.0.1:${gate.port} within 1 s; waiting for it`,
      );
      // Still waiting after a few attempts, having said so once.
      await master.waitForLine("still waiting");
      assert.ok(master.lines.every((line) => !line.includes("ready")), master.tail());
      assert.equal(master.lines.filter((line) => line.includes("waiting for it")).length, 1);
      gate.open({ hostname: real.host, port: real.port });
      await master.waitForLine("master: ready", 120_000);
      assert.ok(master.lines.some((line) => line.includes("connected to the database")));
      assert.equal(await master.stop(), 0, master.tail());
    } finally {
      master.kill("SIGKILL");
      await master.exit().catch(() => {});
      gate.close();
      Deno.removeSync(output, { recursive: true });
      await pypi.close();
      await db.remove();
    }
  },
});
