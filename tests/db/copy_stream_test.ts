/**
 * Streaming COPY through `SqlClient.copyOut`/`copyIn` (PostgreSQL), as the piwheels migration
 * uses them: big tables one after another on the same connections.
 */
import { assertEquals } from "./assert.ts";
import { pgDsn, scratchDatabase, SKIP_PG } from "./harness.ts";
import { openClient } from "../../src/db/mod.ts";

const options = { ignore: SKIP_PG };

/** Pass chunks on, now and then a macrotask later, as a consumer slower than the network. */
async function* slowly(data: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let chunks = 0;
  for await (const chunk of data) {
    if (++chunks % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    yield chunk;
  }
}

/** `promise`, or a failure if it has not settled within `ms` (a deaf connection never does). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "copyOut read slowly, several times in a row, leaves the connection answering",
  ...options,
  async fn() {
    const scratch = await scratchDatabase("copystream");
    const source = await openClient(pgDsn(scratch.name));
    const target = await openClient(pgDsn(scratch.name));
    try {
      await source.query(
        "CREATE TABLE t AS SELECT i, repeat('x', 20) AS pad FROM generate_series(1, 20000) i",
      );
      await target.query("CREATE TABLE u (i INTEGER, pad TEXT)");
      // No transaction: a deaf connection could not even roll one back, and the test would hang.
      {
        const src = source;
        for (let round = 1; round <= 4; round++) {
          const rows = await target.copyIn(
            "COPY u FROM STDIN",
            slowly(src.copyOut!("COPY (SELECT i, pad FROM t) TO STDOUT")),
          );
          assertEquals(rows, 20000);
          // Each COPY's end must leave the source's connection reading: this reply comes back.
          const [{ n }] = await within(
            30_000,
            src.query<{ n: number }>("SELECT count(*) AS n FROM t"),
          );
          assertEquals(n, 20000);
        }
      }
      const [{ n }] = await target.query<{ n: number }>("SELECT count(*) AS n FROM u");
      assertEquals(n, 80000);
    } finally {
      await source.close();
      await target.close();
      await scratch.drop();
    }
  },
});
