/**
 * TheScribe as a master task over real libzmq, with Seraph and TheOracle on a real database: a
 * REQ client sends each request of the_scribe protocol and checks what was written; then the
 * whole path through TheSecretary.
 */
import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { Context, type Socket } from "../../src/transport/mod.ts";
import { Database } from "../../src/db/mod.ts";
import {
  type DataOf,
  decodeMessage,
  encodeMessage,
  type MasterStats,
  theScribeProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import type { MasterConfig } from "../../src/master/task.ts";
import { DbClient } from "../../src/clients/db.ts";
import { TheScribe } from "../../src/master/tasks/the_scribe.ts";
import { TheSecretary } from "../../src/master/tasks/the_secretary.ts";
import { SecretaryClient } from "../../src/clients/secretary.ts";
import { Seraph } from "../../src/master/tasks/seraph.ts";
import { TheOracle } from "../../src/master/tasks/the_oracle.ts";
import { captureLogs, ENGINES, startTask, testConfig, testDatabase, waitFor } from "./helpers.ts";
import { addFooBar, type FooBar } from "../web/fixture.ts";
import { logPath } from "../../src/web/logs.ts";
import { links, parseTags } from "../web/helpers.ts";

const toScribe = theScribeProtocol.reversed();

/** Send one request on a REQ socket and wait for DONE. */
async function request<N extends keyof typeof theScribeProtocol.recv & string>(
  socket: Socket,
  name: N,
  data: DataOf<(typeof theScribeProtocol.recv)[N]>,
): Promise<void> {
  await socket.send([encodeMessage(toScribe, name as "HOME", data as never)]);
  const reply = await socket.recv(30_000);
  assert.ok(reply, `no DONE for ${name}`);
  assert.equal(decodeMessage(toScribe, reply[0]).name, "DONE");
}

/** Every HTML, JSON and XML file under `root`, by path relative to it. */
function textFiles(root: string, dir = ""): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of Deno.readDirSync(`${root}/${dir}`)) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      for (const [p, text] of textFiles(root, path)) found.set(p, text);
    } else if (entry.isFile && /\.(html|json|xml)$/.test(entry.name)) {
      found.set(path, Deno.readTextFileSync(`${root}/${path}`));
    }
  }
  return found;
}

function stats(): MasterStats {
  return [
    new Date(),
    2,
    { cp311: 5 },
    TimeDelta.fromSeconds(60),
    1000,
    {},
    1,
    7,
    3,
    30,
    300,
    100,
    50,
    1,
    1,
    1,
    1,
    0.0,
    0.0,
  ];
}

/** Oracles on a database holding foo-bar, with its wheels in a fresh output directory. */
async function withMaster(
  kind: "postgres" | "pglite",
  fn: (ctx: { context: Context; config: MasterConfig; out: string; fx: FooBar }) => Promise<void>,
): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "piw-scribe-" });
  let fx: FooBar | null = null;
  const db = await testDatabase(kind, async (admin) => {
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp39'), ('cp311')");
    fx = await addFooBar({ db: new Database(admin) }, out);
    await new Database(admin).addNewPackage("other", "", "");
  });
  const context = new Context();
  const config = testConfig({ dsn: db.dsn, outputPath: out });
  const seraph = await startTask(new Seraph(context, config));
  const oracle = await startTask(new TheOracle(context, config));
  try {
    await fn({ context, config, out, fx: fx! });
  } finally {
    await oracle.stop();
    await seraph.stop();
    await context.close();
    await db.remove();
    await Deno.remove(out, { recursive: true });
  }
}

for (const kind of ENGINES) {
  Deno.test({
    name: `TheScribe writes the web output for each request over its queue (${kind})`,
    async fn() {
      await withMaster(kind, async ({ context, config, out, fx }) => {
        // The site URL comes from the config, as `piw master --site-url` sets it.
        const scribe = await startTask(
          new TheScribe(context, { ...config, siteUrl: "https://piw.example.org" }, {
            rootIntervalMs: 50,
          }),
        );
        const client = context.socket("REQ");
        client.connect(config.scribeQueue);
        try {
          // Start-up: layout, static files, startup pages, and the root index of every package.
          for (const name of ["piw.css", "search.js", "faq.html", "packages.html", "404.html"]) {
            assert.ok(Deno.statSync(`${out}/${name}`).isFile, name);
          }
          assert.deepEqual(
            links(Deno.readTextFileSync(`${out}/simple/index.html`)).map((a) => a.text),
            ["foo-bar", "other"],
          );

          await request(client, "BOTH", "foo-bar");
          const simple = Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`);
          const anchor = links(simple).find((a) =>
            a.text === "foo_bar-2.0-cp311-cp311-linux_armv7l.whl"
          )!;
          assert.ok(anchor.attrs.get("data-core-metadata")?.startsWith("sha256="));
          assert.equal(
            Deno.readTextFileSync(`${out}/simple/foo-bar/${anchor.text}.metadata`),
            fx.wheels.get(anchor.text)!.metadata,
          );
          assert.equal(
            JSON.parse(Deno.readTextFileSync(`${out}/simple/foo-bar/index.json`)).name,
            "foo-bar",
          );
          assert.ok(Deno.statSync(`${out}/project/foo-bar/index.html`).isFile);
          assert.equal(
            JSON.parse(Deno.readTextFileSync(`${out}/project/foo-bar/json/index.json`))
              .piwheels_url,
            "https://piw.example.org/project/foo-bar/",
          );
          assert.equal(Deno.readLinkSync(`${out}/project/Foo.Bar`), "foo-bar");

          // PROJECT rewrites the project page only.
          Deno.removeSync(`${out}/project/foo-bar/index.html`);
          const simpleStamp = Deno.statSync(`${out}/simple/foo-bar/index.html`).mtime;
          await request(client, "PROJECT", "foo-bar");
          assert.ok(Deno.statSync(`${out}/project/foo-bar/index.html`).isFile);
          assert.deepEqual(Deno.statSync(`${out}/simple/foo-bar/index.html`).mtime, simpleStamp);

          // PROJECTS: a backlog, its data read ahead; unknown and hostile names are left out.
          Deno.removeSync(`${out}/project/foo-bar/index.html`);
          await request(client, "PROJECTS", [
            ["BOTH", "other"],
            ["BOTH", "no-such-package"],
            ["BOTH", "../evil"],
            ["PROJECT", "foo-bar"],
          ]);
          assert.ok(Deno.statSync(`${out}/simple/other/index.html`).isFile);
          assert.ok(Deno.statSync(`${out}/project/other/index.html`).isFile);
          assert.ok(Deno.statSync(`${out}/project/foo-bar/index.html`).isFile);
          assert.deepEqual(Deno.statSync(`${out}/simple/foo-bar/index.html`).mtime, simpleStamp);
          assert.throws(() => Deno.statSync(`${out}/simple/no-such-package`), Deno.errors.NotFound);
          assert.throws(() => Deno.statSync(`${out}/evil`), Deno.errors.NotFound);

          await request(client, "HOME", [stats(), 7, 1234]);
          const home = parseTags(Deno.readTextFileSync(`${out}/index.html`));
          assert.equal(home.filter((t) => t.name === "svg").length, 2);
          assert.match(
            Deno.readTextFileSync(`${out}/index.html`),
            /Metadata fetches in the last 30 days<\/dt><dd>7<\/dd>\s*<dt>Metadata fetches ever<\/dt><dd>1,234<\/dd>/,
          );
          assert.ok(Deno.statSync(`${out}/sitemap.xml`).isFile);

          await request(client, "SEARCH", { "foo-bar": [3, 30], other: [0, 0] });
          assert.deepEqual(JSON.parse(Deno.readTextFileSync(`${out}/packages.json`)), [
            ["foo-bar", 3, 30],
            ["other", 0, 0],
          ]);

          // Every absolute URL written uses the configured site, none the default.
          const texts = textFiles(out);
          assert.ok(texts.size > 10);
          for (const [path, text] of texts) {
            assert.ok(!text.includes("www.piwheels.org"), `${path} names www.piwheels.org`);
          }
          for (const path of ["sitemap.xml", "sitemap1.xml", "faq.html", "index.html"]) {
            assert.ok(texts.get(path)?.includes("https://piw.example.org/"), path);
          }

          await request(client, "LOG", [15712701, "build output"]);
          assert.equal(
            new TextDecoder().decode(
              gunzipSync(Deno.readFileSync(`${out}/logs/0000/1571/2701.txt.gz`)),
            ),
            "build output",
          );

          // DELVER: as CloudGazer does it, the version is marked deleted first.
          const db = new DbClient(context, config);
          await db.call("SKIPVER", ["foo-bar", "1.0", "deleted"]);
          db.close();
          await request(client, "DELVER", ["foo-bar", "1.0"]);
          assert.ok(
            !links(Deno.readTextFileSync(`${out}/simple/foo-bar/index.html`)).some((a) =>
              a.text.includes("-1.0-")
            ),
          );
          assert.throws(() =>
            Deno.statSync(`${out}/simple/foo-bar/foo_bar-1.0-cp39-cp39-linux_armv7l.whl`)
          );
          assert.throws(() =>
            Deno.statSync(`${out}/simple/foo-bar/foo_bar-1.0-cp39-cp39-linux_armv7l.whl.metadata`)
          );

          await request(client, "DELPKG", "foo-bar");
          for (
            const path of [
              "simple/foo-bar",
              "project/foo-bar",
              "project/Foo.Bar",
              "project/foo_bar",
            ]
          ) {
            assert.throws(() => Deno.lstatSync(`${out}/${path}`), Deno.errors.NotFound, path);
          }
          assert.deepEqual(
            links(Deno.readTextFileSync(`${out}/simple/index.html`)).map((a) => a.text),
            ["other"],
          );
        } finally {
          client.close(0);
          await scribe.stop();
        }
      });
    },
  });
}

/** A scribe on PGlite with foo-bar, a REQ client to it, and its error lines captured. */
async function withScribe(
  fn: (ctx: { client: Socket; out: string; lines: string[] }) => Promise<void>,
): Promise<void> {
  await withMaster("pglite", async ({ context, config, out }) => {
    const logs = captureLogs("error");
    const scribe = await startTask(new TheScribe(context, config));
    const client = context.socket("REQ");
    client.connect(config.scribeQueue);
    try {
      await fn({ client, out, lines: logs.lines });
    } finally {
      client.close(0);
      await scribe.stop();
      logs.stop();
    }
  });
}

Deno.test({
  name: "TheScribe refuses hostile package names and still answers DONE",
  async fn() {
    await withScribe(async ({ client, out, lines }) => {
      const before = [...Deno.readDirSync(out)].map((e) => e.name).sort();
      for (const name of ["<script>", "../etc", ""]) {
        await request(client, "BOTH", name);
        await request(client, "DELPKG", name);
        await request(client, "DELVER", [name, "1.0"]);
      }
      // An unknown package is logged, not written.
      await request(client, "BOTH", "no-such-package");
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), before);
      assert.deepEqual([...Deno.readDirSync(`${out}/project`)], []);
      assert.ok(lines.some((l) => l.includes("refusing BOTH") && l.includes("<script>")));
      // A malformed request is answered too.
      await client.send([new Uint8Array([0xff, 0x00])]);
      assert.ok(await client.recv(5000));
    });
  },
});

Deno.test({
  name: "LOGS writes each build's log; one already written is refused and the rest still written",
  async fn() {
    await withScribe(async ({ client, out, lines }) => {
      const read = (path: string) => new TextDecoder().decode(gunzipSync(Deno.readFileSync(path)));
      await request(client, "LOG", [20_001, "first"]);
      // 20,001 exists already; 30,000 is in a directory of its own (logs/0000/0003/).
      await request(client, "LOGS", [[20_000, "a"], [20_001, "again"], [30_000, "b"]]);
      assert.equal(read(`${out}/logs/0000/0002/0000.txt.gz`), "a");
      assert.equal(read(`${out}/logs/0000/0002/0001.txt.gz`), "first");
      assert.equal(read(`${out}/logs/0000/0003/0000.txt.gz`), "b");
      assert.ok(lines.some((l) => l.includes("log of build 20001 exists already")));
      // A log directory removed meanwhile is made again.
      Deno.removeSync(`${out}/logs/0000/0003`, { recursive: true });
      await request(client, "LOGS", [[30_001, "c"]]);
      assert.equal(read(`${out}/logs/0000/0003/0001.txt.gz`), "c");
    });
  },
});

Deno.test({
  name: "a build's pages reach the disk through TheSecretary and TheScribe",
  async fn() {
    await withMaster("pglite", async ({ context, config, out }) => {
      const scribe = await startTask(new TheScribe(context, config, { rootIntervalMs: 50 }));
      const secretary = await startTask(
        new TheSecretary(context, config, { holdMs: 200, checkMs: 20 }),
      );
      const web = new SecretaryClient(context, config);
      try {
        await web.send("LOG", [7, "log of build 7"]);
        await web.send("PROJECT", "foo-bar");
        await web.send("BOTH", "foo-bar");
        await waitFor(
          () => {
            try {
              return Deno.statSync(`${out}/logs/0000/0000/0007.txt.gz`).isFile;
            } catch {
              return false;
            }
          },
          10_000,
          "the log",
        );
        await waitFor(
          () => {
            try {
              return Deno.statSync(`${out}/simple/foo-bar/index.json`).isFile &&
                Deno.statSync(`${out}/project/foo-bar/index.html`).isFile;
            } catch {
              return false;
            }
          },
          10_000,
          "the pages",
        );
        assert.equal(secretary.buffer.size, 0);
      } finally {
        web.close();
        await secretary.stop();
        await scribe.stop();
      }
    });
  },
});

/** Record a failed build of foo-bar 1.1 with `output` through the oracle (as SlaveDriver does). */
function logFailedBuild(db: DbClient, output: string): Promise<number> {
  return db.call("LOGBUILD", [
    1,
    "foo-bar",
    "1.1",
    "cp311",
    false,
    TimeDelta.fromSeconds(5),
    output,
    [],
  ]);
}

/** The build ids whose output the database still keeps (logs not known to be written). */
async function pendingIds(db: DbClient): Promise<number[]> {
  return (await db.call("PENDINGLOGS", [0, 0])).map(([id]) => id);
}

/** A log's text, or null if it is not there. */
function readLog(out: string, buildId: number): string | null {
  try {
    return new TextDecoder().decode(gunzipSync(Deno.readFileSync(`${out}/${logPath(buildId)}`)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

Deno.test({
  name: "LOGS makes the database forget the logs written; one that cannot be written keeps its row",
  async fn() {
    await withMaster("pglite", async ({ context, config, out }) => {
      const db = new DbClient(context, config);
      const logs = captureLogs("error");
      const scribe = await startTask(new TheScribe(context, config));
      const client = context.socket("REQ");
      client.connect(config.scribeQueue);
      try {
        // The pass over pending logs at start is over once a request is answered.
        await request(client, "LOGS", []);
        const [a, b, c] = [
          await logFailedBuild(db, "output a"),
          await logFailedBuild(db, "output b"),
          await logFailedBuild(db, "output c"),
        ];
        assert.deepEqual(await pendingIds(db), [a, b, c]);
        // Something that is not a log is where c's log goes: c cannot be written.
        Deno.mkdirSync(`${out}/${logPath(c)}`, { recursive: true });
        await request(client, "LOGS", [[a, "output a"], [b, "output b"], [c, "output c"]]);
        await waitFor(async () => (await pendingIds(db)).length === 1, 10_000, "rows forgotten");
        assert.deepEqual(await pendingIds(db), [c]);
        assert.equal(readLog(out, a), "output a");
        assert.equal(readLog(out, b), "output b");
        assert.ok(logs.lines.some((l) => l.includes(`writing the log of build ${c} failed`)));
        // A single LOG (piw import's) too.
        const d = await logFailedBuild(db, "output d");
        await request(client, "LOG", [d, "output d"]);
        await waitFor(async () => !(await pendingIds(db)).includes(d), 10_000, "d forgotten");
        assert.equal(readLog(out, d), "output d");
        assert.deepEqual(await pendingIds(db), [c]);
      } finally {
        client.close(0);
        await scribe.stop();
        logs.stop();
        db.close();
      }
    });
  },
});

for (const kind of ENGINES) {
  Deno.test({
    name: `TheScribe writes the logs a crash left at start, then every pass (${kind})`,
    async fn() {
      await withMaster(kind, async ({ context, config, out }) => {
        const db = new DbClient(context, config);
        const logs = captureLogs("warning");
        let scribe: Awaited<ReturnType<typeof startTask<TheScribe>>> | null = null;
        try {
          // Committed before the crash, logs never written; one was written, its row not deleted.
          const lost = await logFailedBuild(db, "lost\noutput");
          const written = await logFailedBuild(db, "the output");
          Deno.mkdirSync(`${out}/${logPath(written).replace(/\/[^/]+$/, "")}`, { recursive: true });
          Deno.writeFileSync(`${out}/${logPath(written)}`, gzipSync("written before the crash"));
          scribe = await startTask(
            new TheScribe(context, config, { pendingIntervalMs: 100, pendingAgeMs: 0 }),
          );
          await waitFor(
            () => logs.lines.some((l) => l.includes("wrote 2 build logs left pending")),
            20_000,
            "the pass at start",
          );
          assert.deepEqual(await pendingIds(db), []);
          assert.equal(readLog(out, lost), "lost\noutput");
          assert.equal(readLog(out, written), "written before the crash", "never overwritten");
          assert.ok(!logs.lines.some((l) => l.includes("exists already")), logs.lines.join("\n"));
          // A build whose web update never came (a failed LOGS) is written by a later pass.
          const later = await logFailedBuild(db, "later output");
          await waitFor(() => readLog(out, later) !== null, 20_000, "the later log");
          assert.equal(readLog(out, later), "later output");
          await waitFor(async () => (await pendingIds(db)).length === 0, 20_000, "forgotten");
        } finally {
          await scribe?.stop();
          logs.stop();
          db.close();
        }
      });
    },
  });
}
