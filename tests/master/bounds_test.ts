/**
 * Every input from a peer is bounded, against a real `piw master`: a huge junk frame on the log
 * queue, a slave claiming an enormous file, and a flood of HELLOs with absurd timeouts.
 */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import {
  encodeFileFrames,
  encodeMessage,
  fileJugglerProtocol,
  lumberjackProtocol,
  masterControlProtocol,
  parseFileFrames,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { openClient } from "../../src/db/mod.ts";
import { sendFile } from "../../src/slave/transfer.ts";
import { type TestDatabase, testDatabase, waitFor } from "./helpers.ts";
import { builtData, fileTuple, helloData, NO_DATA, ScriptedSlave } from "./slave_harness.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import {
  freePort,
  masterCommand,
  type MasterQueues,
  masterQueues,
  PiwProcess,
} from "../fixtures/piw_process.ts";

const MiB = 2 ** 20;

/** A running `piw master` with its own database, output path, queues and PyPI stand-in. */
interface RunningMaster {
  process: PiwProcess;
  queues: MasterQueues;
  outputPath: string;
  db: TestDatabase;
}

/**
 * Run `body` against a master started with `extra` options on a PGlite database holding build
 * ABI cp311 and, for each name in `packages`, version 1.0 (to build).
 */
async function withMaster(
  packages: string[],
  extra: string[],
  body: (master: RunningMaster) => Promise<void>,
): Promise<void> {
  const db = await testDatabase("pglite", async (admin) => {
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
    for (const pkg of packages) {
      await admin.query("SELECT add_new_package($1)", [pkg]);
      await admin.query("SELECT add_new_package_version($1, '1.0')", [pkg]);
    }
  });
  const pypi = await startPyPIStandIn();
  const queues = masterQueues(
    `/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`,
    freePort(),
    freePort(),
  );
  const outputPath = Deno.makeTempDirSync({ prefix: "piw-bounds-www-" });
  const process = new PiwProcess("master", [
    ...masterCommand(db.dsn, outputPath, queues),
    ...["--pypi-xmlrpc", pypi.xmlrpcUrl, "--pypi-json", pypi.jsonUrl],
    ...["--pypi-simple", pypi.simpleUrl],
    ...extra,
  ]);
  try {
    await process.waitForLine("master: ready", 120_000);
    await body({ process, queues, outputPath, db });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${process.tail(60)}`, { cause: error });
  } finally {
    process.kill("SIGKILL");
    await process.exit(120_000).catch(() => {});
    Deno.removeSync(outputPath, { recursive: true });
    await db.remove();
    await pypi.close();
  }
}

/** The resident memory of process `pid`, bytes. */
function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Bytes in regular files under `dir`, and the largest file. */
function treeSize(dir: string): { total: number; largest: number } {
  let total = 0, largest = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      const sub = treeSize(path);
      total += sub.total;
      largest = Math.max(largest, sub.largest);
    } else if (entry.isFile) {
      // Blocks actually used: a sparse file claiming much but holding little counts as little.
      const info = Deno.statSync(path);
      const used = (info.blocks ?? 0) * 512;
      total += used;
      largest = Math.max(largest, used);
    }
  }
  return { total, largest };
}

Deno.test({
  name:
    "piw master survives 16 MiB junk frames on the log and control queues, still serving others",
  async fn() {
    await withMaster([], [], async ({ process, queues, db }) => {
      const before = { lines: process.lines.length, rss: rss(process.process.pid) };
      const context = new Context();
      try {
        // Junk the web server's group can write: zero bytes, each a CBOR item but no message.
        const junk = context.socket("PUSH", { linger: 5000 });
        junk.connect(queues.log);
        assert.ok(await junk.send([new Uint8Array(16 * MiB)], { timeoutMs: 30_000 }));
        // Below the queue's limit, still junk: one line for the frame, not one per record.
        const smaller = context.socket("PUSH", { linger: 5000 });
        smaller.connect(queues.log);
        assert.ok(await smaller.send([new Uint8Array(1_000_000)], { timeoutMs: 30_000 }));
        await process.waitForLine("malformed messages of a 1000000-byte frame", 60_000);
        const good = context.socket("PUSH", { linger: 5000 });
        good.connect(queues.log);
        const hit = ["home", "192.0.2.7", new Date("2026-12-01T00:00:00Z"), "wget"] as const;
        assert.ok(
          await good.send([encodeMessage(lumberjackProtocol.reversed(), "LOGPAGE", [...hit])], {
            timeoutMs: 30_000,
          }),
        );
        // Let the master work through whatever it received.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        for (const socket of [junk, smaller, good]) socket.close();
      } finally {
        await context.close();
      }
      const added = process.lines.slice(before.lines);
      assert.ok(added.length < 20, `the log grew by ${added.length} lines`);
      const grown = rss(process.process.pid) - before.rss;
      assert.ok(grown < 300 * MiB, `RSS grew by ${Math.round(grown / MiB)} MiB`);
      // The monitors' control queue also cuts off a sender of junk, and still takes QUIT.
      const monitor = new Context();
      try {
        const junk = monitor.socket("PUSH", { linger: 5000 });
        junk.connect(queues.control);
        assert.ok(await junk.send([new Uint8Array(16 * MiB)], { timeoutMs: 30_000 }));
        const control = monitor.socket("PUSH", { linger: 5000 });
        control.connect(queues.control);
        const quit = encodeMessage(masterControlProtocol.reversed(), "QUIT");
        assert.ok(await control.send([quit], { timeoutMs: 30_000 }));
        // Stopping flushes Lumberjack's buffer; then the database can be opened.
        assert.equal(await process.exit(120_000), 0);
        junk.close(0);
        control.close(0);
      } finally {
        await monitor.close();
      }
      assert.ok(process.lines.some((line) => line.includes("QUIT from a monitor")));
      const sql = await openClient(db.dsn);
      try {
        const rows = await sql.query<{ host: string }>(
          "SELECT host(accessed_by) AS host FROM web_page_hits",
        );
        assert.deepEqual(rows, [{ host: "192.0.2.7" }]);
      } finally {
        await sql.close();
      }
    });
  },
});

const senderSide = fileJugglerProtocol.reversed();

/** HELLO, then IDLE until BUILD (the queue arrives shortly after start); slave id and job. */
async function takeBuild(
  slave: ScriptedSlave,
  hello = helloData(),
): Promise<{ id: number; pkg: string; version: string }> {
  const ack = await slave.call({ name: "HELLO", data: hello }, 30_000);
  assert.equal(ack.name, "ACK");
  for (let i = 0; i < 600; i++) {
    const reply = await slave.call({ name: "IDLE", data: statsNow() }, 30_000);
    if (reply.name === "BUILD") {
      return { id: ack.data[0], pkg: reply.data[0], version: reply.data[1] };
    }
    assert.equal(reply.name, "SLEEP");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("no BUILD");
}

function statsNow(): [Date, number, number, number, number, number, number, number, number] {
  return [new Date(), 1e9, 5e8, 4e9, 2e9, 1e8, 1e8, 1, 45];
}

/** Answer every FETCH with zeros for `ms` (what a slave padding its chunks does); bytes sent. */
async function padChunks(context: Context, endpoint: string, slaveId: number, ms: number) {
  const queue = context.socket("DEALER", { linger: 0 });
  queue.connect(endpoint);
  let sent = 0;
  try {
    await queue.send(encodeFileFrames(senderSide, { name: "HELLO", slaveId }));
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      const frames = await queue.recv(200);
      if (!frames) continue;
      const msg = parseFileFrames(senderSide, frames);
      if (msg.name !== "FETCH") break;
      const data = new Uint8Array(msg.length);
      await queue.send(encodeFileFrames(senderSide, { name: "CHUNK", offset: msg.offset, data }));
      sent += msg.length;
    }
  } finally {
    queue.close();
  }
  return sent;
}

Deno.test({
  name: "piw master refuses a file of 2^50 bytes before writing it; another slave's build works",
  async fn() {
    await withMaster(["pkga", "pkgb"], [], async ({ process, queues, outputPath }) => {
      const context = new Context();
      const wheelDir = Deno.makeTempDirSync({ prefix: "piw-bounds-wheel-" });
      const liar = new ScriptedSlave(context, queues.slave);
      const honest = new ScriptedSlave(context, queues.slave);
      try {
        const lie = await takeBuild(liar);
        const huge = fileTuple(`${lie.pkg}-1.0-cp311-cp311-linux_x86_64.whl`, { size: 2 ** 50 });
        const reply = await liar.call({ name: "BUILT", data: builtData(true, [huge]) }, 30_000);
        // Whether asked or not, the liar sends (the old master asked, and took what came).
        const padded = await padChunks(context, queues.file, lie.id, 5000);
        assert.equal(reply.name, "DONE", `BUILT of 2^50 bytes answered ${reply.name}`);
        assert.equal(padded, 0, "the master fetched nothing");
        await process.waitForLine("--max-file-size", 30_000);

        // Another slave's good build still goes through.
        const job = await takeBuild(honest);
        assert.notEqual(job.pkg, lie.pkg);
        const filename = `${job.pkg}-${job.version}-cp311-cp311-linux_x86_64.whl`;
        const bytes = new Uint8Array(200_000).map((_, i) => (i * 31 + 7) % 251);
        const path = `${wheelDir}/${filename}`;
        await Deno.writeFile(path, bytes);
        const hash = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        const file = fileTuple(filename, { size: bytes.length, hash });
        const send = await honest.call({ name: "BUILT", data: builtData(true, [file]) }, 30_000);
        assert.deepEqual(send, { name: "SEND", data: filename });
        await sendFile(context, queues.file, job.id, path, { giveUpAfterMs: 60_000 });
        const done = await honest.call({ name: "SENT", data: NO_DATA }, 60_000);
        assert.equal(done.name, "DONE");
        const published = await Deno.readFile(`${outputPath}/simple/${job.pkg}/${filename}`);
        assert.deepEqual(published, bytes);
      } finally {
        liar.close();
        honest.close();
        await context.close();
        Deno.removeSync(wheelDir, { recursive: true });
      }
      const { largest } = treeSize(outputPath);
      assert.ok(largest < 8 * MiB, `a file of ${largest} bytes under ${outputPath}`);
    });
  },
});

/** HELLO with both timeouts at 11,574 days (a billion seconds), as a hostile peer says it. */
function hostileHello(label: string) {
  const hello = helloData({ label });
  const forever = TimeDelta.fromSeconds(1e9);
  return [forever, forever, ...hello.slice(2)] as typeof hello;
}

/** `count` HELLOs, each from a new connection, `parallel` at a time; the replies by name. */
async function helloFlood(context: Context, endpoint: string, count: number, parallel: number) {
  const replies = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const peer = new ScriptedSlave(context, endpoint);
      try {
        const reply = await peer.call({ name: "HELLO", data: hostileHello(`flood-${n}`) }, 60_000);
        replies.set(reply.name, (replies.get(reply.name) ?? 0) + 1);
      } finally {
        peer.close();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return replies;
}

const FLOOD = 20_000;
const MAX_SLAVES = 50;

Deno.test({
  name: "piw master caps the slaves it serves and their timeouts: a silent builder's job returns",
  async fn() {
    const extra = ["--max-slaves", String(MAX_SLAVES), "--max-slave-timeout", "3s"];
    await withMaster(["pkgc"], extra, async ({ process, queues }) => {
      const before = rss(process.process.pid);
      const context = new Context();
      const builder = new ScriptedSlave(context, queues.slave);
      try {
        // Takes the only build, then says nothing more.
        const job = await takeBuild(builder, hostileHello("silent-builder"));
        assert.deepEqual([job.pkg, job.version], ["pkgc", "1.0"]);
        await process.waitForLine("timeouts cut to 0:00:03 (--max-slave-timeout)");

        const replies = await helloFlood(context, queues.slave, FLOOD, 100);
        const expired = process.lines.filter((line) => line.includes(": timed out while")).length;
        const acks = replies.get("ACK") ?? 0;
        assert.equal(acks + (replies.get("DIE") ?? 0), FLOOD, JSON.stringify([...replies]));
        // A slot is only freed by a slave timing out.
        assert.ok(acks <= MAX_SLAVES - 1 + expired, `${acks} ACKs, ${expired} expired`);
        const refusals = process.lines.filter((line) => line.includes("(--max-slaves)"));
        assert.ok(refusals.length <= 30, `${refusals.length} lines about refused HELLOs`);
        const grown = rss(process.process.pid) - before;
        assert.ok(grown < 300 * MiB, `RSS grew by ${Math.round(grown / MiB)} MiB`);

        // The silent builder expires (3 s, checked every 10 s) and its build is queued again.
        await process.waitForLine("silent-builder): timed out while building pkgc 1.0", 60_000);
        await process.waitForLine("re-queueing pkgc 1.0 for cp311", 60_000);
        const next = await waitFor(
          async () => {
            const taker = new ScriptedSlave(context, queues.slave);
            try {
              const ack = await taker.call({ name: "HELLO", data: helloData() }, 30_000);
              if (ack.name !== "ACK") return null;
              const reply = await taker.call({ name: "IDLE", data: statsNow() }, 30_000);
              return reply.name === "BUILD" ? reply.data : null;
            } finally {
              taker.close();
            }
          },
          60_000,
          "another slave given pkgc 1.0",
        );
        assert.deepEqual(next, ["pkgc", "1.0"]);
      } finally {
        builder.close();
        await context.close();
      }
    });
  },
});

Deno.test({
  name: "piw master refuses a bound of zero with one line",
  async fn() {
    for (const [option, value] of [["--max-slaves", "0"], ["--max-file-size", "none"]]) {
      const master = new PiwProcess("master", ["master", "-o", "/tmp", option, value]);
      assert.equal(await master.exit(), 2);
      assert.equal(master.lines[0], `piw master: ${option} must be more than 0, not 0`);
      assert.ok(!master.lines.some((line) => /^\s+at /.test(line)), master.tail());
    }
  },
});
