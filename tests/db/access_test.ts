import { assertEquals, assertRejects } from "./assert.ts";
import { addAbis, type Backend, build, suite, wheel } from "./harness.ts";
import type { AccessLogJson } from "../../src/db/mod.ts";
import { type OracleContext, oracleHandlers } from "../../src/master/oracle_requests.ts";
import { DatabaseError } from "../../src/db/mod.ts";

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
const DETAILS = ["armv7l", "Raspbian", "11", "Linux", "6.1", "CPython", "3.9.2", "pip", "23", "66"];
const NO_DETAILS = Array(10).fill(null);
/** The access logs need no retry schedule. */
const NO_CONTEXT: OracleContext = { retryDelays: [] };

/** Every logged row of every access-log table, in a stable order, times as ISO text. */
async function loggedRows(b: Backend): Promise<unknown[][]> {
  const rows = await b.admin.query<Record<string, unknown>>(
    `SELECT 'download' AS t, filename AS what, host(accessed_by) AS host, accessed_at AS at,
            arch, distro_name, distro_version, os_name, os_version, py_name, py_version,
            installer_name, installer_version, setuptools_version, NULL AS agent
     FROM downloads
     UNION ALL
     SELECT 'search', package, host(accessed_by), accessed_at, arch, distro_name,
            distro_version, os_name, os_version, py_name, py_version, installer_name,
            installer_version, setuptools_version, NULL
     FROM searches
     UNION ALL
     SELECT 'project', package, host(accessed_by), accessed_at, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, user_agent
     FROM project_page_hits
     UNION ALL
     SELECT 'json', package, host(accessed_by), accessed_at, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, user_agent
     FROM project_json_downloads
     UNION ALL
     SELECT 'page', page, host(accessed_by), accessed_at, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, user_agent
     FROM web_page_hits
     ORDER BY 1, 2, 3, 4`,
  );
  return rows.map((row) => Object.values(row).map((v) => v instanceof Date ? v.toISOString() : v));
}

/** The downloads counter per UTC day, as the trigger keeps it. */
async function downloadDeltas(b: Backend): Promise<Record<string, number>> {
  const rows = await b.admin.query<{ label: string; value: number }>(
    "SELECT label, sum(value)::BIGINT AS value FROM statistics_deltas " +
      "WHERE counter = 'downloads' GROUP BY label ORDER BY label",
  );
  return Object.fromEntries(rows.map((row) => [row.label, Number(row.value)]));
}

/** A row as it arrives on the wire: the same tuple with its time as a Date. */
// deno-lint-ignore no-explicit-any
const wire = (row: unknown[]): any => [row[0], row[1], new Date(row[2] as string), ...row.slice(3)];

suite("db access logs", {
  "logs a batch of every kind as single rows would, with the same statistics": async (b) => {
    const { db, admin } = b;
    await addAbis(admin, "cp39");
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    const file = wheel("foo", "1.0", "cp39");
    await db.logBuild(build("foo", "1.0", "cp39", [file]));
    const [recent, old, ancient] = [hoursAgo(0.5), hoursAgo(30), hoursAgo(24 * 40)];
    const downloads = [
      [file.filename, "192.0.2.1", recent.toISOString(), ...DETAILS],
      [file.filename, "2001:db8::1", old.toISOString(), ...NO_DETAILS],
      [file.filename, "192.0.2.2", ancient.toISOString(), ...DETAILS],
      // A file piw does not know is logged (and counted) all the same.
      ["unknown-1.0-py3-none-any.whl", "192.0.2.3", recent.toISOString(), ...NO_DETAILS],
      // Over-long values are cut to their columns.
      ["x".repeat(300), "192.0.2.4", recent.toISOString(), ...DETAILS.slice(0, 7), "y".repeat(30)]
        .concat(["1", "2"]),
    ];
    const searches = [
      ["foo", "192.0.2.5", recent.toISOString(), ...DETAILS],
      ["nothing-here", "192.0.2.6", old.toISOString(), ...NO_DETAILS],
    ];
    const hits = (name: string) => [
      [name, "192.0.2.7", recent.toISOString(), "mozilla"],
      [name, "::1", old.toISOString(), "a".repeat(2100)],
    ];
    const batch: AccessLogJson = {
      LOGDOWNLOAD: JSON.stringify(downloads),
      LOGSEARCH: JSON.stringify(searches),
      LOGPROJECT: JSON.stringify(hits("foo")),
      LOGJSON: JSON.stringify(hits("foo")),
      LOGPAGE: JSON.stringify(hits("faq")),
    };
    assertEquals(await db.logAccess(batch), 13);
    const once = await loggedRows(b);
    assertEquals(once.length, 13);
    const long = once.find((row) => (row[1] as string).startsWith("xxx"))!;
    assertEquals([(long[1] as string).length, long[11]], [255, "y".repeat(20)]);
    assertEquals(once.filter((row) => row[0] === "json").map((row) => row[14]).sort(), [
      "a".repeat(2000),
      "mozilla",
    ]);
    // One delta per UTC day and statement, not one per row (before get_statistics folds them).
    const deltas = await downloadDeltas(b);
    const [{ n }] = await admin.query<{ n: number }>(
      "SELECT count(*) AS n FROM statistics_deltas WHERE counter = 'downloads'",
    );
    assertEquals(Number(n), Object.keys(deltas).length);
    const stats = await db.getStatistics();
    assertEquals(
      [stats.downloadsLastHour, stats.downloadsLastMonth, stats.downloadsAll],
      [3, 4, 5],
    );
    assertEquals(await db.getSearchIndex(), { foo: [2, 3] });

    // The same rows one call each, as TheOracle handles piwheels' per-line messages: every row
    // is there twice and every counter doubles.
    for (const row of downloads) await oracleHandlers.LOGDOWNLOAD(db, wire(row), NO_CONTEXT);
    for (const row of searches) await oracleHandlers.LOGSEARCH(db, wire(row), NO_CONTEXT);
    for (const row of hits("foo")) {
      await oracleHandlers.LOGPROJECT(db, wire(row), NO_CONTEXT);
      await oracleHandlers.LOGJSON(db, wire(row), NO_CONTEXT);
    }
    for (const row of hits("faq")) await oracleHandlers.LOGPAGE(db, wire(row), NO_CONTEXT);
    assertEquals(await loggedRows(b), once.flatMap((row) => [row, row]));
    assertEquals(
      await downloadDeltas(b),
      Object.fromEntries(Object.entries(deltas).map(([day, count]) => [day, count * 2])),
    );
    assertEquals(await db.getSearchIndex(), { foo: [4, 6] });
    const doubled = await db.getStatistics();
    assertEquals(
      [doubled.downloadsLastHour, doubled.downloadsLastMonth, doubled.downloadsAll],
      [6, 8, 10],
    );
    // The counters agree with a recount from the tables.
    await admin.query("SELECT refresh_statistics()");
    assertEquals(await db.getStatistics(), doubled);
  },

  "writes a batch whole or not at all": async (b) => {
    const { db } = b;
    const at = hoursAgo(1).toISOString();
    await db.logAccess({ LOGDOWNLOAD: JSON.stringify([["a.whl", "192.0.2.1", at, ...DETAILS]]) });
    const before = [await loggedRows(b), await downloadDeltas(b)];
    // One row whose host is not an IP address fails the statement, downloads and pages alike.
    await assertRejects(
      () =>
        db.logAccess({
          LOGDOWNLOAD: JSON.stringify([["b.whl", "192.0.2.2", at, ...NO_DETAILS]]),
          LOGPAGE: JSON.stringify([["home", "::1", at, "x"], ["home", "example.org", at, "x"]]),
        }),
      DatabaseError,
    );
    await assertRejects(
      () => db.logAccess({ LOGSEARCH: JSON.stringify([["foo", "::1", "yesterday-ish"]]) }),
      DatabaseError,
    );
    assertEquals([await loggedRows(b), await downloadDeltas(b)], before);
    await assertRejects(() => db.logAccess({ LOGNOTHING: "[]" } as AccessLogJson), Error);
    assertEquals(await db.logAccess({}), 0);
    assertEquals(await db.logAccess({ LOGDOWNLOAD: "[]", LOGPAGE: "[]" }), 0);
    assertEquals([await loggedRows(b), await downloadDeltas(b)], before);
  },

  "counts downloads per UTC day across midnight and time zones": async (b) => {
    const { db } = b;
    const rows = [
      ["a.whl", "192.0.2.1", "2026-11-23T23:59:59Z"],
      ["a.whl", "192.0.2.1", "2026-11-24T00:00:00Z"],
      // 23:30 in New York is 04:30 the next day in UTC.
      ["a.whl", "192.0.2.1", "2026-11-23T23:30:00-05:00"],
      ["a.whl", "192.0.2.1", "2026-11-24T12:00:00.123456+00:00"],
    ].map((row) => [...row, ...NO_DETAILS]);
    assertEquals(await db.logAccess({ LOGDOWNLOAD: JSON.stringify(rows) }), 4);
    assertEquals(await downloadDeltas(b), { "2026-11-23": 1, "2026-11-24": 3 });
    await b.admin.query("DELETE FROM downloads WHERE accessed_at < '2026-11-24T01:00:00Z'");
    assertEquals(await downloadDeltas(b), { "2026-11-23": 0, "2026-11-24": 2 });
  },
});
