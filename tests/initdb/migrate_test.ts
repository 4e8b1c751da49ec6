/**
 * `piw initdb --from-piwheels`: a piwheels 0.23 database made by piwheels' own create script,
 * with the awkward rows a real one has, migrated by the real CLI into a new piw database.
 */
import { assert, assertEquals, assertRejects } from "../db/assert.ts";
import { PiwError } from "../../src/errors.ts";
import { MASTER_ROLE, PG_USER, pgDsn, scratchDatabase, SKIP_PG } from "../db/harness.ts";
import { piwheelsDatabase } from "../fixtures/piwheels_db.ts";
import { freePort, PiwProcess } from "../fixtures/piw_process.ts";
import { pgliteDatabase } from "../master/helpers.ts";
import { openClient, openDatabase, type SqlClient } from "../../src/db/mod.ts";

const options = { ignore: SKIP_PG };

const LONG_REQUIRES = ">=3.7, " + Array.from({ length: 20 }, (_, i) => `!=3.7.${i}`).join(", ");

/** The piwheels rows: every table, with skipped, yanked, legacy and oddly named entries. */
async function fill(db: SqlClient): Promise<void> {
  const sql = [
    "UPDATE configuration SET pypi_serial = 123456789",
    `INSERT INTO packages (package, skip, description) VALUES
       ('foo', '', 'The foo package'),
       ('Foo_Bar', '', 'Not normalised'),
       ('django', '', 'Canonical'),
       ('Django', 'old spelling', 'Same canonical name'),
       ('gone', 'deleted', ''),
       (E'bad\\x01pkg', '', '')`,
    `INSERT INTO package_names (package, name, seen) VALUES
       ('foo', 'foo', '2020-01-01 00:00:00'), ('foo', 'Foo', '2021-06-01 12:00:00'),
       ('Foo_Bar', 'foo.bar', '2019-01-01 00:00:00'), ('django', 'django', '2020-01-01'),
       (E'bad\\x01pkg', E'bad\\x01pkg', '2020-01-01')`,
    `INSERT INTO versions (package, version, released, skip, yanked) VALUES
       ('foo', '1.0', '2020-01-02 03:04:05', '', false),
       ('foo', '0.9', '2019-01-01 00:00:00', '', false),
       ('foo', '2.0', '2021-01-01 00:00:00', '', true),
       ('foo', '3.0', '2022-01-01 00:00:00', 'binary only', false),
       ('foo', '2004d', '2004-04-04 00:00:00', '', false),
       ('foo', E'4.0\\x07', '2023-01-01 00:00:00', '', false),
       ('Foo_Bar', '1.0', '2020-05-05 00:00:00', '', false),
       ('django', '1.0', '2018-01-01 00:00:00', '', false),
       ('Django', '1.0', '2018-01-01 00:00:00', 'dup', false),
       ('Django', '0.1', '2010-01-01 00:00:00', '', false),
       ('gone', '1.0', '2015-01-01 00:00:00', '', false),
       (E'bad\\x01pkg', '1.0', '2020-01-01 00:00:00', '', false)`,
    "INSERT INTO build_abis (abi_tag, skip) VALUES ('cp37m', ''), ('cp39', ''), ('abi3', '')",
    `INSERT INTO builds (build_id, package, version, built_by, built_at, duration, status,
                         abi_tag) VALUES
       (10, 'foo', '1.0', 1, '2020-01-03 00:00:00', '00:01:30', true, 'cp37m'),
       (11, 'foo', '0.9', 2, '2019-01-02 00:00:00', '00:00:10', false, 'cp37m'),
       (12, 'Foo_Bar', '1.0', 1, '2020-05-06 00:00:00', '00:02:00', true, 'cp37m'),
       (13, 'django', '1.0', 3, '2018-01-02 00:00:00', '00:00:05', true, 'cp37m'),
       (14, 'Django', '1.0', 3, '2018-01-02 00:00:00', '00:00:05', true, 'cp37m'),
       (15, E'bad\\x01pkg', '1.0', 1, '2020-01-02 00:00:00', '00:00:01', false, 'cp37m'),
       (16, 'foo', E'4.0\\x07', 1, '2023-01-02 00:00:00', '00:00:01', false, 'cp37m')`,
    "SELECT setval('builds_build_id_seq', 16)",
    `INSERT INTO files (filename, build_id, filesize, filehash, package_tag, package_version_tag,
                        py_version_tag, abi_tag, platform_tag, requires_python, location) VALUES
       ('foo-1.0-py3-none-any.whl', 10, 1234, '${"a".repeat(64)}', 'foo', '1.0', 'py3',
        'none', 'any', '>=3.7', '/simple'),
       ('Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl', 12, 5000, '${"b".repeat(64)}', 'Foo_Bar',
        '1.0', 'cp37', 'cp37m', 'linux_armv7l', '${LONG_REQUIRES}', '/simple'),
       ('Foo_Bar-1.0-cp37-cp37m-linux_armv6l.whl', 12, 5000, '${"b".repeat(64)}', 'Foo_Bar',
        '1.0', 'cp37', 'cp37m', 'linux_armv6l', NULL, '/simple'),
       ('django-1.0-py3-none-any.whl', 13, 10, '${"c".repeat(64)}', 'django', '1.0', 'py3',
        'none', 'any', NULL, '/simple'),
       ('Django-1.0-py3-none-any.whl', 14, 10, '${"d".repeat(64)}', 'Django', '1.0', 'py3',
        'none', 'any', NULL, '/simple')`,
    `INSERT INTO dependencies (filename, tool, dependency) VALUES
       ('Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl', 'apt', 'libfoo1'),
       ('Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl', 'apt', 'libc6'),
       ('Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl', 'pip', 'numpy'),
       ('Django-1.0-py3-none-any.whl', 'pip', 'pytz')`,
    `INSERT INTO preinstalled_apt_packages (abi_tag, apt_package) VALUES
       ('cp37m', 'libc6'), ('abi3', 'libnothing')`,
    `INSERT INTO downloads VALUES
       ('foo-1.0-py3-none-any.whl', '192.0.2.1', '2024-01-01 10:00:00', 'armv7l', 'Raspbian',
        '10', 'Linux', '5.10', 'CPython', '3.7.3', 'pip', '23.0', '68.0'),
       ('foo-1.0-py3-none-any.whl', '2001:db8::1', '2024-01-02 23:30:00', NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       ('Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl', '192.0.2.2', '2024-01-02 00:00:01',
        'armv6l', NULL, NULL, NULL, NULL, NULL, NULL, 'pip', NULL, NULL)`,
    `INSERT INTO searches (package, accessed_by, accessed_at) VALUES
       ('Foo_Bar', '192.0.2.3', '2024-01-01 00:00:00'), ('nope', '192.0.2.3', '2024-01-01')`,
    `INSERT INTO project_page_hits VALUES
       ('foo', '192.0.2.4', '2024-02-01 00:00:00', 'Mozilla/5.0 "quoted"\ttab', false),
       ('foo', '192.0.2.5', '2024-02-01 00:00:01', 'Googlebot', true)`,
    `INSERT INTO project_json_downloads VALUES ('foo', '192.0.2.6', '2024-02-02 00:00:00', NULL)`,
    `INSERT INTO web_page_hits VALUES ('faq', '192.0.2.7', '2024-03-01 00:00:00', 'curl', false)`,
    `INSERT INTO rewrites_pending (package, added_at, command) VALUES
       ('foo', '2024-01-01 00:00:00', 'PROJECT'), ('Foo_Bar', '2024-01-01 00:00:01', 'BOTH')`,
  ];
  for (const statement of sql) await db.query(statement);
}

const TABLES = [
  "packages",
  "package_names",
  "versions",
  "build_abis",
  "builds",
  "files",
  "dependencies",
  "preinstalled_apt_packages",
  "downloads",
  "searches",
  "project_page_hits",
  "project_json_downloads",
  "web_page_hits",
  "rewrites_pending",
  "built_packages",
  "statistics_deltas",
];

async function counts(db: SqlClient): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of TABLES) {
    const [row] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    result[table] = row.n;
  }
  return result;
}

/** `piw initdb <args>`: exit code and stderr lines. */
async function initdb(args: string[]): Promise<{ code: number; lines: string[] }> {
  const child = new PiwProcess("initdb", ["initdb", "-y", "-u", PG_USER, ...args]);
  const code = await child.exit(120_000);
  return { code, lines: child.lines.filter((line) => line.trim() !== "") };
}

Deno.test({
  name: "piw initdb --from-piwheels carries a piwheels 0.23 database, once, into a working piw one",
  ...options,
  async fn() {
    const source = await piwheelsDatabase("pwsrc");
    const target = await scratchDatabase("pwdst");
    let admin: SqlClient | undefined;
    try {
      await fill(source.admin);
      // The master refuses the piwheels database itself, and says how to migrate it.
      await assertRejects(
        () => openDatabase(source.userDsn),
        PiwError,
        `copy it into a new database with "piw initdb --dsn NEW --from-piwheels THIS"`,
      );
      const args = ["--dsn", pgDsn(target.name), "--from-piwheels", source.userDsn];
      const first = await initdb(args);
      const output = first.lines.join("\n");
      if (Deno.env.get("H1_SHOW")) console.log(output);
      assertEquals(first.code, 0, output);
      assert(output.includes("packages: 4 of 6 rows"), output);
      assert(output.includes("downloads: 3 rows copied"), output);
      assert(output.includes("renamed to their canonical names (Django -> django"), output);
      assert(output.includes("Changed: builds: 1 of merged packages moved"), output);
      assert(output.includes("control characters in the name"), output);
      assert(output.includes("'abi3'"), output);
      assert(output.includes("Requires-Python values over piw's 100 characters"), output);

      admin = await openClient(pgDsn(target.name));
      const migrated = await counts(admin);
      assertEquals(migrated.packages, 4); // foo, foo-bar, django (merged), gone; bad dropped
      assertEquals(migrated.package_names, 6); // 4 carried, and Foo_Bar and Django as aliases
      assertEquals(migrated.versions, 9); // - 4.0\x07, Django 1.0 (merged), bad 1.0
      assertEquals(migrated.build_abis, 2);
      assertEquals(migrated.builds, 5); // all but those of bad and 4.0\x07
      assertEquals(migrated.files, 5);
      assertEquals(migrated.dependencies, 4);
      assertEquals(migrated.preinstalled_apt_packages, 1);
      assertEquals(migrated.downloads, 3);
      assertEquals(migrated.searches, 2);
      assertEquals(migrated.project_page_hits, 2);
      assertEquals(migrated.project_json_downloads, 1);
      assertEquals(migrated.web_page_hits, 1);
      assertEquals(migrated.rewrites_pending, 2);
      assertEquals(migrated.built_packages, 3);

      // Sample rows.
      assertEquals(
        await admin.query("SELECT package, skip, description FROM packages ORDER BY package"),
        [
          { package: "django", skip: "", description: "Canonical" },
          { package: "foo", skip: "", description: "The foo package" },
          { package: "foo-bar", skip: "", description: "Not normalised" },
          { package: "gone", skip: "deleted", description: "" },
        ],
      );
      assertEquals(
        await admin.query(
          "SELECT name FROM package_names WHERE package = 'foo-bar' ORDER BY name",
        ),
        [{ name: "Foo_Bar" }, { name: "foo.bar" }],
      );
      assertEquals(
        await admin.query(
          `SELECT version, released, skip, yanked FROM versions WHERE package = 'foo'
           ORDER BY released`,
        ),
        [
          { version: "2004d", released: new Date("2004-04-04T00:00:00Z"), skip: "", yanked: false },
          { version: "0.9", released: new Date("2019-01-01T00:00:00Z"), skip: "", yanked: false },
          { version: "1.0", released: new Date("2020-01-02T03:04:05Z"), skip: "", yanked: false },
          { version: "2.0", released: new Date("2021-01-01T00:00:00Z"), skip: "", yanked: true },
          {
            version: "3.0",
            released: new Date("2022-01-01T00:00:00Z"),
            skip: "binary only",
            yanked: false,
          },
        ],
      );
      assertEquals(
        await admin.query(
          "SELECT build_id, package, version, built_at, status FROM builds ORDER BY build_id",
        ),
        [
          {
            build_id: 10,
            package: "foo",
            version: "1.0",
            built_at: new Date("2020-01-03Z"),
            status: true,
          },
          {
            build_id: 11,
            package: "foo",
            version: "0.9",
            built_at: new Date("2019-01-02Z"),
            status: false,
          },
          {
            build_id: 12,
            package: "foo-bar",
            version: "1.0",
            built_at: new Date("2020-05-06Z"),
            status: true,
          },
          {
            build_id: 13,
            package: "django",
            version: "1.0",
            built_at: new Date("2018-01-02Z"),
            status: true,
          },
          {
            build_id: 14,
            package: "django",
            version: "1.0",
            built_at: new Date("2018-01-02Z"), // and a microsecond, as 13 has its time
            status: true,
          },
        ],
      );
      assertEquals(
        await admin.query(
          "SELECT (built_at - '2018-01-02Z')::TEXT AS nudge FROM builds WHERE build_id = 14",
        ),
        [{ nudge: "00:00:00.000001" }],
      );
      assertEquals(
        await admin.query(
          `SELECT filename, filehash, requires_python FROM files WHERE build_id = 12
           ORDER BY filename`,
        ),
        [
          {
            filename: "Foo_Bar-1.0-cp37-cp37m-linux_armv6l.whl",
            filehash: "b".repeat(64),
            requires_python: null,
          },
          {
            filename: "Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl",
            filehash: "b".repeat(64),
            requires_python: null,
          },
        ],
      );
      assertEquals(
        await admin.query(
          "SELECT tool, dependency FROM dependencies ORDER BY tool, dependency",
        ),
        [
          { tool: "apt", dependency: "libc6" },
          { tool: "apt", dependency: "libfoo1" },
          { tool: "pip", dependency: "numpy" },
          { tool: "pip", dependency: "pytz" },
        ],
      );
      assertEquals(
        await admin.query(
          "SELECT host(accessed_by) AS ip, accessed_at, installer_name FROM downloads ORDER BY accessed_at",
        ),
        [
          { ip: "192.0.2.1", accessed_at: new Date("2024-01-01T10:00:00Z"), installer_name: "pip" },
          { ip: "192.0.2.2", accessed_at: new Date("2024-01-02T00:00:01Z"), installer_name: "pip" },
          {
            ip: "2001:db8::1",
            accessed_at: new Date("2024-01-02T23:30:00Z"),
            installer_name: null,
          },
        ],
      );
      assertEquals(
        await admin.query("SELECT user_agent, bot FROM project_page_hits ORDER BY accessed_at"),
        [{ user_agent: 'Mozilla/5.0 "quoted"\ttab', bot: false }, {
          user_agent: "Googlebot",
          bot: true,
        }],
      );
      assertEquals(
        await admin.query("SELECT package, command FROM rewrites_pending ORDER BY package"),
        [{ package: "foo", command: "PROJECT" }, { package: "foo-bar", command: "BOTH" }],
      );
      // New builds get new ids.
      const [{ next }] = await admin.query<{ next: number }>(
        "SELECT nextval(pg_get_serial_sequence('builds', 'build_id')) AS next",
      );
      assertEquals(next, 17);

      // The master's view: schema current, serial, queue and project data derived right.
      const db = await openDatabase(pgDsn(target.name, MASTER_ROLE));
      try {
        assertEquals(await db.getPypiSerial(), 123456789);
        // foo 0.9 failed on cp37m, so it waits for cp39; foo 2004d was never built; 2.0 is
        // yanked and 3.0 skipped; "gone" is skipped; Django 0.1 (merged) was never built.
        assertEquals(await db.getBuildQueue(), {
          cp37m: [["foo", "2004d"], ["django", "0.1"]],
          cp39: [["foo", "0.9"], ["foo-bar", "1.0"]],
        });
        const stats = await db.getStatistics();
        assertEquals(stats.packagesBuilt, 3);
        assertEquals(stats.filesCount, 5);
        assertEquals(stats.buildsSize, 1234 + 5000 + 10 + 10);
        const project = await db.getProjectData("foo-bar");
        assertEquals(project?.name, "foo.bar"); // the most recently seen name
        assertEquals(project?.releases.map((r) => r.version), ["1.0"]);
      } finally {
        await db.close();
      }

      // A second run says so and changes nothing.
      const before = await counts(admin);
      const second = await initdb(args);
      assertEquals(second.code, 0, second.lines.join("\n"));
      assert(second.lines.some((line) => line.includes("nothing to do")), second.lines.join("\n"));
      assertEquals(await counts(admin), before);
    } finally {
      await admin?.close();
      await target.drop();
      await source.drop();
    }
  },
});

Deno.test({
  name: "piw initdb --from-piwheels migrates into a PGlite database too",
  ...options,
  async fn() {
    const source = await piwheelsDatabase("pwpgl");
    // A freshly initialised database (a copy of the tests' template) is a valid target.
    const target = await pgliteDatabase();
    try {
      await fill(source.admin);
      const dsn = target.dsn;
      const first = await initdb(["--dsn", dsn, "--from-piwheels", source.userDsn]);
      assertEquals(first.code, 0, first.lines.join("\n"));
      const db = await openDatabase(dsn);
      try {
        assertEquals(await db.getPypiSerial(), 123456789);
        assertEquals(await db.getBuildQueue(), {
          cp37m: [["foo", "2004d"], ["django", "0.1"]],
          cp39: [["foo", "0.9"], ["foo-bar", "1.0"]],
        });
        assertEquals((await db.getStatistics()).filesCount, 5);
        const [{ n }] = await db.client.query<{ n: number }>(
          "SELECT count(*) AS n FROM downloads",
        );
        assertEquals(n, 3);
      } finally {
        await db.close();
      }
      const second = await initdb(["--dsn", dsn, "--from-piwheels", source.userDsn]);
      assertEquals(second.code, 0, second.lines.join("\n"));
      assert(second.lines.some((line) => line.includes("nothing to do")), second.lines.join("\n"));
    } finally {
      target.remove();
      await source.drop();
    }
  },
});

Deno.test({
  name: "piw initdb --from-piwheels refuses a bad DSN or a source that is not piwheels 0.23",
  ...options,
  async fn() {
    const target = await scratchDatabase("pwbad");
    try {
      const dsn = pgDsn(target.name);
      const unreachable = await initdb([
        "--dsn",
        dsn,
        "--from-piwheels",
        `postgres://x:y@127.0.0.1:${freePort()}/piwheels`,
      ]);
      assertEquals(unreachable.code, 1, unreachable.lines.join("\n"));
      assertEquals(unreachable.lines.length, 1, unreachable.lines.join("\n"));
      assert(unreachable.lines[0].includes("cannot reach PostgreSQL"), unreachable.lines[0]);

      const notPostgres = await initdb(["--dsn", dsn, "--from-piwheels", "pglite:///tmp/x"]);
      assertEquals(notPostgres.code, 2, notPostgres.lines.join("\n"));
      assert(notPostgres.lines[0].includes("not a PostgreSQL DSN"), notPostgres.lines[0]);

      // An empty database, then a piw one, as the source.
      const empty = await initdb(["--dsn", dsn, "--from-piwheels", dsn]);
      assertEquals(empty.code, 1, empty.lines.join("\n"));
      assertEquals(empty.lines.length, 1, empty.lines.join("\n"));
      assert(empty.lines[0].includes("is not a piwheels database"), empty.lines[0]);
      assertEquals((await initdb(["--dsn", dsn])).code, 0);
      const piw = await initdb(["--dsn", dsn, "--from-piwheels", dsn]);
      assertEquals(piw.code, 1, piw.lines.join("\n"));
      assertEquals(piw.lines, [
        `piw initdb: Database ${target.name} is a piw database, not a piwheels one`,
      ]);
    } finally {
      await target.drop();
    }
  },
});
