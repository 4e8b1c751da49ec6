import { assert, assertEquals, assertRejects } from "./assert.ts";
import { addAbis, type Backend, suite } from "./harness.ts";
import {
  type ChangelogAction,
  type ChangelogBatch,
  type ChangelogEvent,
  type Database,
  DatabaseError,
  PACKAGE_ADDED,
  VERSION_ADDED,
  VERSION_ENABLED,
} from "../../src/db/mod.ts";

const at = (n: number) => new Date(Date.UTC(2024, 5, 1, 0, 0, n));

function ev(
  action: ChangelogAction,
  pkg: string,
  version: string | null,
  second = 0,
  description: string | null = null,
): ChangelogEvent {
  return { action, package: pkg, version, timestamp: at(second), description };
}

/** Apply `events` as the next batch after the stored serial (which moves on by one). */
async function apply(
  db: Database,
  events: ChangelogEvent[],
  more: Partial<ChangelogBatch> = {},
): Promise<number[]> {
  const fromSerial = await db.getPypiSerial();
  return await db.applyChangelog({
    events,
    names: [],
    newPackageSkip: "",
    fromSerial,
    toSerial: fromSerial + 1,
    ...more,
  });
}

async function versions(admin: Backend["admin"]) {
  return await admin.query<{ package: string; version: string; skip: string; yanked: boolean }>(
    "SELECT package, version, skip, yanked FROM versions ORDER BY package, version",
  );
}

suite("db changelog batches", {
  "adds packages, versions and names in one call and stores the serial": async ({ db, admin }) => {
    const outcomes = await apply(db, [
      ev("create", "foo", null, 1, "Foo things"),
      ev("source", "foo", "1.0", 2, "Foo things"),
      ev("create", "foo", "1.1", 3, "Foo things"),
      ev("source", "bar", "2.0", 4),
      ev("source", "foo", "1.0", 5, "Foo things"),
    ], {
      names: [
        { package: "foo", name: "Foo", seen: at(5) },
        { package: "foo", name: "foo", seen: new Date(0) },
      ],
    });
    assertEquals(outcomes, [PACKAGE_ADDED, VERSION_ADDED, VERSION_ADDED, 3, 0]);
    assertEquals(await versions(admin), [
      { package: "bar", version: "2.0", skip: "", yanked: false },
      { package: "foo", version: "1.0", skip: "", yanked: false },
      { package: "foo", version: "1.1", skip: "binary only", yanked: false },
    ]);
    const data = await db.getProjectData("foo");
    assertEquals(data!.releases.find((r) => r.version === "1.0")!.released, at(2));
    assertEquals(await db.getPackageDescription("foo"), "Foo things");
    assertEquals(await db.getPackageDescription("bar"), "");
    assertEquals(await db.getProjectDisplayName("foo"), "Foo");
    assertEquals(await db.getPackageAliases("foo"), ["Foo"]);
    assertEquals(await db.getPypiSerial(), 1);
  },

  "a wheel then a source file: added 'binary only', then enabled": async ({ db, admin }) => {
    assertEquals(
      await apply(db, [ev("create", "foo", "1.0", 1), ev("source", "foo", "1.0", 2)]),
      [PACKAGE_ADDED + VERSION_ADDED, VERSION_ENABLED],
    );
    assertEquals((await versions(admin))[0].skip, "");
    // A source file for a version skipped for another reason leaves it alone.
    await db.addNewPackageVersion("foo", "2.0", null, "too big");
    assertEquals(await apply(db, [ev("source", "foo", "2.0", 3)]), [0]);
    assertEquals(await db.getVersionSkip("foo", "2.0"), "too big");
  },

  "create then remove in one batch leaves nothing; remove then create starts afresh": async (
    { db, admin },
  ) => {
    await apply(db, [
      ev("source", "gone", "1.0", 1),
      ev("remove", "gone", "1.0", 2),
      ev("source", "gone", "2.0", 3),
      ev("remove", "gone", null, 4),
    ]);
    assertEquals(await db.testPackage("gone"), false);
    assertEquals(await versions(admin), []);

    await db.addNewPackage("back", "", "old summary");
    await db.addNewPackageVersion("back", "1.0");
    await db.addPackageName("back", "Back", at(1));
    const outcomes = await apply(db, [
      ev("remove", "back", null, 2),
      ev("source", "back", "1.0", 3, "New summary"),
    ]);
    assertEquals(outcomes, [0, PACKAGE_ADDED + VERSION_ADDED], "added again, as new");
    assertEquals(await db.getPackageDescription("back"), "New summary");
    assertEquals(await db.getPackageAliases("back"), [], "the old names went with it");
    const data = await db.getProjectData("back");
    assertEquals(data!.releases.map((r) => [r.version, r.released]), [["1.0", at(3)]]);
  },

  "a version removed and uploaded again in one batch is new again": async ({ db, admin }) => {
    await apply(db, [ev("create", "foo", "1.0", 1)]);
    assertEquals(
      await apply(db, [ev("remove", "foo", "1.0", 2), ev("source", "foo", "1.0", 3)]),
      [0, VERSION_ADDED],
    );
    assertEquals(await versions(admin), [
      { package: "foo", version: "1.0", skip: "", yanked: false },
    ]);
  },

  "yank and unyank apply in order": async ({ db, admin }) => {
    await apply(db, [
      ev("source", "a", "1.0", 1),
      ev("yank", "a", "1.0", 2),
      ev("unyank", "a", "1.0", 3),
      ev("source", "b", "1.0", 4),
      ev("unyank", "b", "1.0", 5),
      ev("yank", "b", "1.0", 6),
      ev("yank", "c", "1.0", 7),
    ]);
    assertEquals((await versions(admin)).map((v) => [v.package, v.yanked]), [
      ["a", false],
      ["b", true],
    ]);
    assert(await db.testPackage("c"), "a yank of an unknown version still adds the package");
  },

  "summaries: a differing non-empty one is written, an empty one never": async ({ db }) => {
    await db.addNewPackage("s", "", "old");
    await apply(db, [ev("source", "s", "1.0", 1, "new")]);
    assertEquals(await db.getPackageDescription("s"), "new");
    await apply(db, [ev("source", "s", "1.1", 2, ""), ev("create", "s", "1.2", 3, null)]);
    assertEquals(await db.getPackageDescription("s"), "new");
    await apply(db, [ev("source", "s", "1.3", 4, "x".repeat(300))]);
    assertEquals(await db.getPackageDescription("s"), "x".repeat(200));
  },

  "new packages get the batch's skip reason (dev mode)": async ({ db, admin }) => {
    await db.addNewPackage("old");
    await apply(db, [ev("source", "new", "1.0", 1), ev("source", "old", "1.0", 2)], {
      newPackageSkip: "development mode",
    });
    const rows = await admin.query<{ package: string; skip: string }>(
      "SELECT package, skip FROM packages ORDER BY package",
    );
    assertEquals(rows, [{ package: "new", skip: "development mode" }, {
      package: "old",
      skip: "",
    }]);
  },

  "a later sighting of a name wins; the names come after the events": async ({ db }) => {
    await db.addNewPackage("foo");
    await db.addPackageName("foo", "Foo", at(10));
    await apply(db, [ev("create", "bar", null, 1)], {
      names: [
        { package: "foo", name: "Foo", seen: at(5) },
        { package: "foo", name: "FOO", seen: at(6) },
        { package: "bar", name: "Bar", seen: at(1) },
      ],
    });
    assertEquals(await db.getProjectDisplayName("foo"), "Foo");
    assertEquals(await db.getProjectDisplayName("bar"), "Bar");
  },

  "the serial: stored with the batch, never backwards, never applied twice": async ({ db }) => {
    await db.setPypiSerial(100);
    const batch = { events: [ev("source", "once", "1.0", 1)], names: [], newPackageSkip: "" };
    await db.applyChangelog({ ...batch, fromSerial: 100, toSerial: 120 });
    assertEquals(await db.getPypiSerial(), 120);
    // The same batch again (say its reply was lost): refused, nothing applied.
    await db.deleteVersion("once", "1.0");
    const again = await assertRejects(
      () => db.applyChangelog({ ...batch, fromSerial: 100, toSerial: 120 }),
      DatabaseError,
    );
    assert(again.message.includes("expects 100"), again.message);
    assertEquals(await db.testPackageVersion("once", "1.0"), false);
    const back = await assertRejects(
      () => db.applyChangelog({ ...batch, fromSerial: 120, toSerial: 119 }),
      DatabaseError,
    );
    assert(back.message.includes("backwards"), back.message);
    // A batch that moves nothing on is fine (all its events may have been ignored ones).
    await db.applyChangelog({
      events: [],
      names: [],
      newPackageSkip: "",
      fromSerial: 120,
      toSerial: 120,
    });
    assertEquals(await db.getPypiSerial(), 120);
  },

  "a failing event rolls back the whole batch and its serial": async ({ db, admin }) => {
    const error = await assertRejects(
      () =>
        apply(db, [
          ev("source", "fine", "1.0", 1),
          ev("source", "bad\tname", "1.0", 2),
        ]),
      DatabaseError,
    );
    assertEquals(error.code, "23514");
    assertEquals(await versions(admin), []);
    assertEquals(await db.getPypiSerial(), 0);
    await assertRejects(
      () => apply(db, [{ ...ev("source", "x", "1.0"), action: "rename" as ChangelogAction }]),
      DatabaseError,
      "unknown PyPI event action",
    );
  },

  "mark_deleted marks packages and versions and takes them out of the queue": async (
    { db, admin },
  ) => {
    await addAbis(admin, "cp311");
    await apply(db, [
      ev("source", "p", "1.0", 1),
      ev("source", "v", "1.0", 2),
      ev("source", "v", "2.0", 3),
    ]);
    assertEquals((await db.getBuildQueue())["cp311"]?.length, 3);
    await db.markDeleted([["p", null], ["v", "1.0"], ["unknown", null], ["v", "9.9"]]);
    assertEquals(await db.packageMarkedDeleted("p"), true);
    assertEquals(await db.getVersionsDeleted("v"), ["1.0"]);
    assertEquals((await db.getBuildQueue())["cp311"], [["v", "2.0"]]);
  },
});
