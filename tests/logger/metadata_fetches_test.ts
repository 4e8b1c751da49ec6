/**
 * pip's PEP 658 metadata fetches counted as what they are (issue 16 item 10), end to end:
 * Apache log lines of a pip install go through the real `piw logger` to a real `piw master`,
 * whose Lumberjack stores the metadata fetches apart from downloads and searches, and the home
 * page (rendered in real Chromium) shows their count with a line saying what they are.
 */
import assert from "node:assert/strict";
import { openClient } from "../../src/db/mod.ts";
import { SKIP_PG } from "../db/harness.ts";
import { testDatabase, waitFor } from "../master/helpers.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { serveDirectory } from "../fixtures/static_server.ts";
import { render } from "../web/chromium.ts";
import { PIP_AGENT } from "./corpus.ts";

const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");

/** A time as Apache's `%t` writes it. */
function apacheTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `[${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:` +
    `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000]`;
}

/** One line of Apache's combined log. */
function line(host: string, path: string, status = 200, agent = PIP_AGENT): string {
  return `${host} - - ${apacheTime(new Date())} "GET ${path} HTTP/1.1" ${status} 1234 "-" ` +
    `"${agent.replaceAll('"', '\\"')}"`;
}

Deno.test({
  name: "pip's metadata fetches reach the database and the home page as metadata fetches",
  ignore: SKIP_PG,
  async fn() {
    const root = Deno.makeTempDirSync({ prefix: "piw-metadata-" });
    const output = `${root}/www`;
    Deno.mkdirSync(output);
    const queues = masterQueues(`${root}/`);
    const db = await testDatabase("postgres");
    const pypi = await startPyPIStandIn();
    // Dev mode: the home page is written every 10 s, not every minute.
    const master = new PiwProcess("master", [
      ...masterCommand(db.dsn, output, queues),
      ...pypi.masterArgs,
      "--dev-mode",
    ]);
    try {
      await master.waitForLine("master: ready", 120_000);
      // What Apache logs while pip installs foo from this site: the index (a search), the
      // metadata of two candidate wheels (from two clients), then the chosen wheel.
      const wheel = "foo-1.0-py3-none-any.whl";
      Deno.writeTextFileSync(
        `${root}/access.log`,
        [
          line("192.0.2.1", "/simple/foo/"),
          line("192.0.2.1", `/simple/foo/${wheel}.metadata`),
          line("192.0.2.2", "/simple/foo/foo-0.9-py3-none-any.whl.metadata"),
          line("192.0.2.1", `/simple/foo/${wheel}`),
          // Not found: not counted as anything.
          line("192.0.2.3", "/simple/foo/foo-2.0-py3-none-any.whl.metadata", 404),
        ].join("\n") + "\n",
      );
      const logger = new PiwProcess("logger", [
        "logger",
        "-v",
        "--log-queue",
        queues.log,
        `${root}/access.log`,
      ]);
      assert.equal(await logger.exit(60_000), 0, logger.tail());

      // The master's role reads every table.
      const admin = await openClient(db.dsn);
      try {
        const rows = await waitFor(
          async () => {
            const fetched = await admin.query<{ filename: string; host: string; py: string }>(
              "SELECT filename, host(accessed_by) AS host, py_version AS py " +
                "FROM metadata_fetches ORDER BY filename",
            );
            return fetched.length === 2 ? fetched : null;
          },
          30_000,
          "two metadata_fetches rows",
        );
        assert.deepEqual(rows, [
          { filename: "foo-0.9-py3-none-any.whl", host: "192.0.2.2", py: "3.9.2" },
          { filename: wheel, host: "192.0.2.1", py: "3.9.2" },
        ]);
        const [counts] = await admin.query<{ downloads: number; searches: number }>(
          "SELECT (SELECT count(*) FROM downloads)::INTEGER AS downloads, " +
            "(SELECT count(*) FROM searches)::INTEGER AS searches",
        );
        assert.deepEqual(counts, { downloads: 1, searches: 1 });
      } finally {
        await admin.close();
      }

      // The home page shows the figure once BigBrother's stats have it (every 10 s).
      const figure = /Metadata fetches in the last 30 days<\/dt><dd>2<\/dd>/;
      await waitFor(
        () => {
          try {
            return figure.test(Deno.readTextFileSync(`${output}/index.html`));
          } catch {
            return false;
          }
        },
        90_000,
        `the home page counting 2 metadata fetches:\n${master.tail()}`,
      );
      const server = serveDirectory(output, 0);
      try {
        const page = await render(
          `http://127.0.0.1:${server.addr.port}/`,
          `${root}/home.png`,
        );
        assert.match(page.dom, figure);
        assert.match(page.dom, /Metadata fetches ever<\/dt><dd>2<\/dd>/);
        assert.match(page.dom, /Downloads ever<\/dt><dd>1<\/dd>/);
        assert.match(page.dom, /Metadata fetches count pip's fetches/);
      } finally {
        await server.shutdown();
      }
    } finally {
      await master.stop();
      await pypi.close();
      await db.remove();
      Deno.removeSync(root, { recursive: true });
    }
  },
});
