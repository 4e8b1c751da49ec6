import { assertEquals, assertRejects } from "./assert.ts";
import { addAbis, type Backend, build, suite, wheel } from "./harness.ts";
import { DatabaseError, type DownloadRecord, type Statistics } from "../../src/db/mod.ts";

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

function download(filename: string, at: Date, extra: Partial<DownloadRecord> = {}): DownloadRecord {
  return { filename, host: "192.0.2.1", timestamp: at, ...extra };
}

/** Counters maintained by triggers must equal a recount from the tables. */
async function assertCountersConsistent(b: Backend, stats: Statistics): Promise<void> {
  await b.admin.query("SELECT refresh_statistics()");
  assertEquals(await b.db.getStatistics(), stats, "triggers and refresh_statistics() disagree");
}

suite("db statistics and logs", {
  "starts with zero statistics for every active ABI": async ({ db, admin }) => {
    await addAbis(admin, "cp39", "cp311");
    assertEquals(await db.getStatistics(), {
      packagesBuilt: 0,
      buildsLastHour: { cp39: 0, cp311: 0 },
      buildsTime: 0,
      buildsSize: 0,
      buildsPending: { cp39: 0, cp311: 0 },
      newLastHour: 0,
      filesCount: 0,
      downloadsLastHour: 0,
      downloadsLastMonth: 0,
      downloadsAll: 0,
      metadataFetchesLastMonth: 0,
      metadataFetchesAll: 0,
    });
  },

  "counts builds, files, sizes, new versions and downloads": async (b) => {
    const { db, admin } = b;
    await addAbis(admin, "cp39", "cp311");
    await db.addNewPackage("foo");
    await db.addNewPackage("bar");
    await db.addNewPackage("baz");
    await db.addNewPackageVersion("foo", "1.0", hoursAgo(48));
    await db.addNewPackageVersion("foo", "2.0", hoursAgo(0.5));
    await db.addNewPackageVersion("bar", "1.0", hoursAgo(0.1));
    await db.addNewPackageVersion("baz", "1.0", hoursAgo(100));
    const armv7 = wheel("foo", "1.0", "cp39", { filesize: 1000 });
    const armv6 = { ...armv7, filename: armv7.filename.replace("armv7l", "armv6l") };
    armv6.platformTag = "linux_armv6l";
    await db.logBuild(build("foo", "1.0", "cp39", [armv7, armv6], { duration: 90_000 }));
    await db.logBuild(build("foo", "1.0", "cp311", [], { duration: 30_000 }));
    await db.logBuild(build("bar", "1.0", "cp39", [], { duration: 8 * 86_400_000 }));
    await db.logBuild(
      build("baz", "1.0", "cp39", [wheel("baz", "1.0", "none", { filesize: 500 })]),
    );
    for (const at of [hoursAgo(0.2), hoursAgo(5), hoursAgo(24 * 40)]) {
      await db.logDownload(download(armv7.filename, at));
    }
    const stats = await db.getStatistics();
    assertEquals(stats, {
      packagesBuilt: 2,
      buildsLastHour: { cp39: 3, cp311: 1 },
      buildsTime: 90_000 + 30_000 + 60_000,
      buildsSize: 1500,
      buildsPending: { cp39: 1, cp311: 1 },
      newLastHour: 2,
      filesCount: 3,
      downloadsLastHour: 1,
      downloadsLastMonth: 2,
      downloadsAll: 3,
      metadataFetchesLastMonth: 0,
      metadataFetchesAll: 0,
    });
    assertEquals(await db.getInitialStatistics(), { downloadsAll: 3 });
    await assertCountersConsistent(b, stats);
  },

  "updates counters when builds, files and packages go": async (b) => {
    const { db, admin } = b;
    await addAbis(admin, "cp39");
    await db.addNewPackage("foo");
    await db.addNewPackage("bar");
    await db.addNewPackageVersion("foo", "1.0");
    await db.addNewPackageVersion("foo", "2.0");
    await db.addNewPackageVersion("bar", "1.0");
    await db.logBuild(build("foo", "1.0", "cp39", [wheel("foo", "1.0", "cp39")]));
    await db.logBuild(build("foo", "2.0", "cp39", [wheel("foo", "2.0", "cp39")]));
    await db.logBuild(build("bar", "1.0", "cp39", [wheel("bar", "1.0", "cp39")]));
    await db.deleteBuild("foo", "1.0");
    let stats = await db.getStatistics();
    assertEquals([stats.packagesBuilt, stats.filesCount, stats.buildsSize], [2, 2, 2000]);
    await db.deleteVersion("foo", "2.0");
    stats = await db.getStatistics();
    assertEquals([stats.packagesBuilt, stats.filesCount, stats.buildsTime], [1, 1, 60_000]);
    await db.deletePackage("bar");
    stats = await db.getStatistics();
    assertEquals([stats.packagesBuilt, stats.filesCount, stats.buildsSize], [0, 0, 0]);
    await assertCountersConsistent(b, stats);
  },

  "counts PEP 658 metadata fetches apart from downloads and searches": async (b) => {
    const { db, admin } = b;
    const name = "foo-1.0-py3-none-any.whl";
    for (const at of [hoursAgo(0.2), hoursAgo(30), hoursAgo(24 * 40)]) {
      await db.logMetadataFetch(download(name, at, { installerName: "pip" }));
    }
    // A batch as Lumberjack writes it (COPY or the set-based function, as the engine allows).
    const row = [name, "192.0.2.9", new Date().toISOString(), ...Array(10).fill(null)];
    const batch = { LOGMETADATA: JSON.stringify([row, row]) };
    assertEquals(await db.logAccess(batch), 2);
    const rows = await admin.query<{ filename: string; installer_name: string | null }>(
      "SELECT filename, installer_name FROM metadata_fetches ORDER BY accessed_at",
    );
    assertEquals(rows.map((r) => r.filename), Array(5).fill(name));
    const stats = await db.getStatistics();
    assertEquals(
      [stats.metadataFetchesLastMonth, stats.metadataFetchesAll, stats.downloadsAll],
      [4, 5, 0],
    );
    const [{ n }] = await admin.query<{ n: number }>("SELECT count(*) AS n FROM searches");
    assertEquals(Number(n), 0);
    await assertCountersConsistent(b, stats);
  },

  "gives downloads per package for the search index": async ({ db, admin }) => {
    await addAbis(admin, "cp39");
    await db.addNewPackage("foo");
    await db.addNewPackage("bar");
    await db.addNewPackageVersion("foo", "1.0");
    const file = wheel("foo", "1.0", "cp39");
    await db.logBuild(build("foo", "1.0", "cp39", [file]));
    await db.logDownload(download(file.filename, hoursAgo(1)));
    await db.logDownload(download(file.filename, hoursAgo(24 * 31)));
    await db.logDownload(download("unknown.whl", hoursAgo(1)));
    assertEquals(await db.getSearchIndex(), { foo: [1, 2], bar: [0, 0] });
  },

  "logs downloads and searches with every detail, cutting long values": async (b) => {
    const { db, admin } = b;
    const at = new Date(Date.UTC(2024, 5, 1, 12, 30, 15, 250));
    const details = {
      arch: "armv7l",
      distroName: "Raspbian GNU/Linux",
      distroVersion: "12",
      osName: "Linux",
      osVersion: "6.1",
      pyName: "CPython",
      pyVersion: "3.11.2",
      installerName: "pip-with-a-very-long-installer-name",
      installerVersion: "23.0",
      setuptoolsVersion: "66.1",
    };
    await db.logDownload(download("foo.whl", at, details));
    await db.logDownload(download("bar.whl", at));
    await db.logSearch({ package: "foo", host: "2001:db8::1", timestamp: at, ...details });
    const [row] = await admin.query<Record<string, unknown>>(
      "SELECT host(accessed_by) AS host, accessed_at, installer_name, arch FROM downloads " +
        "WHERE filename = 'foo.whl'",
    );
    assertEquals(row, {
      host: "192.0.2.1",
      accessed_at: at,
      installer_name: "pip-with-a-very-long",
      arch: "armv7l",
    });
    const [search] = await admin.query<{ host: string; py_version: string }>(
      "SELECT host(accessed_by) AS host, py_version FROM searches",
    );
    assertEquals(search, { host: "2001:db8::1", py_version: "3.11.2" });
    await assertRejects(
      () => db.logDownload(download("x.whl", at, { host: "nope" })),
      DatabaseError,
    );
  },

  "logs project, JSON and page hits": async ({ db, admin }) => {
    const at = new Date(Date.UTC(2024, 5, 1));
    await db.logProject({ package: "foo", host: "192.0.2.1", timestamp: at, userAgent: "UA" });
    await db.logJson({ package: "foo", host: "192.0.2.2", timestamp: at, userAgent: null });
    await db.logPage({ page: "faq.html", host: "192.0.2.3", timestamp: at, userAgent: "x" });
    const rows = await admin.query<{ t: string; what: string; ua: string | null }>(
      `SELECT 'project' AS t, package AS what, user_agent AS ua FROM project_page_hits
       UNION ALL SELECT 'json', package, user_agent FROM project_json_downloads
       UNION ALL SELECT 'page', page, user_agent FROM web_page_hits ORDER BY 1`,
    );
    assertEquals(rows, [
      { t: "json", what: "foo", ua: null },
      { t: "page", what: "faq.html", ua: "x" },
      { t: "project", what: "foo", ua: "UA" },
    ]);
  },

  "saves and loads the secretary's buffer": async ({ db }) => {
    assertEquals(await db.loadRewritesPending(), []);
    const rows = [
      { package: "foo", addedAt: new Date(Date.UTC(2024, 0, 2)), command: "BOTH" as const },
      { package: "bar", addedAt: new Date(Date.UTC(2024, 0, 1)), command: "PROJECT" as const },
    ];
    await db.saveRewritesPending(rows);
    assertEquals(await db.loadRewritesPending(), [rows[1], rows[0]]);
    await db.saveRewritesPending([rows[0]]);
    assertEquals(await db.loadRewritesPending(), [rows[0]]);
    await db.saveRewritesPending([]);
    assertEquals(await db.loadRewritesPending(), []);
  },
});
