import { assert, assertEquals, assertRejects } from "./assert.ts";
import { addAbis, suite } from "./harness.ts";
import { DatabaseError } from "../../src/db/mod.ts";

const day = (n: number) => new Date(Date.UTC(2024, 0, n));

suite("db packages", {
  "adds a package once and knows it": async ({ db }) => {
    assertEquals(await db.addNewPackage("foo", "", "Foo things"), true);
    assertEquals(await db.addNewPackage("foo"), false);
    assertEquals(await db.testPackage("foo"), true);
    assertEquals(await db.testPackage("bar"), false);
    assertEquals(await db.getAllPackages(), new Set(["foo"]));
    assertEquals(await db.getPackageDescription("foo"), "Foo things");
    assertEquals(await db.getPackageDescription("bar"), null);
  },

  "adds versions once, with 1970 for an unknown release time": async ({ db }) => {
    await db.addNewPackage("foo");
    assertEquals(await db.addNewPackageVersion("foo", "1.0", day(1)), true);
    assertEquals(await db.addNewPackageVersion("foo", "1.0", day(2)), false);
    assertEquals(await db.addNewPackageVersion("foo", "2.0"), true);
    assertEquals(await db.testPackageVersion("foo", "1.0"), true);
    assertEquals(await db.testPackageVersion("foo", "3.0"), false);
    const all = await db.getAllPackageVersions();
    assertEquals(all.sort(), [["foo", "1.0"], ["foo", "2.0"]]);
    const data = await db.getProjectData("foo");
    const released = Object.fromEntries(data!.releases.map((r) => [r.version, r.released]));
    assertEquals(released["1.0"], day(1));
    assertEquals(released["2.0"], new Date(0));
  },

  "refuses a version of an unknown package": async ({ db }) => {
    const error = await assertRejects(() => db.addNewPackageVersion("nope", "1.0"), DatabaseError);
    assertEquals(error.code, "23503");
  },

  "refuses control characters in names and versions": async ({ db }) => {
    for (const bad of ["foo\tbar", "foo\nbar"]) {
      const error = await assertRejects(() => db.addNewPackage(bad), DatabaseError);
      assertEquals(error.code, "23514");
    }
    await db.addNewPackage("foo");
    const error = await assertRejects(
      () => db.addNewPackageVersion("foo", "1.0\t2"),
      DatabaseError,
    );
    assertEquals(error.code, "23514");
  },

  "sets and cuts descriptions": async ({ db }) => {
    await db.addNewPackage("foo", "", "x".repeat(300));
    assertEquals((await db.getPackageDescription("foo"))!.length, 200);
    await db.setPackageDescription("foo", "New");
    assertEquals(await db.getPackageDescription("foo"), "New");
  },

  "keeps aliases and shows the most recently seen name": async ({ db }) => {
    await db.addNewPackage("foo-bar");
    assertEquals(await db.getProjectDisplayName("foo-bar"), "foo-bar");
    await db.addPackageName("foo-bar", "foo-bar");
    await db.addPackageName("foo-bar", "Foo_Bar", day(2));
    await db.addPackageName("foo-bar", "Foo.Bar", day(3));
    assertEquals(await db.getPackageAliases("foo-bar"), ["Foo.Bar", "Foo_Bar"]);
    assertEquals(await db.getProjectDisplayName("foo-bar"), "Foo.Bar");
    // An older sighting does not move a name's last-seen time back.
    await db.addPackageName("foo-bar", "Foo.Bar", day(1));
    await db.addPackageName("foo-bar", "Foo_Bar", day(4));
    assertEquals(await db.getProjectDisplayName("foo-bar"), "Foo_Bar");
    assertEquals(await db.getProjectDisplayName("unknown"), null);
  },

  "skips and unskips packages and versions": async ({ db }) => {
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    await db.addNewPackageVersion("foo", "2.0", null, "binary only");
    assertEquals(await db.getVersionSkip("foo", "1.0"), "");
    assertEquals(await db.getVersionSkip("foo", "2.0"), "binary only");
    await db.skipPackage("foo", "too big");
    assertEquals(await db.getVersionSkip("foo", "1.0"), "too big");
    assertEquals(await db.getVersionSkip("foo", "2.0"), "binary only");
    await db.skipPackage("foo", "");
    await db.skipPackageVersion("foo", "2.0", "");
    assertEquals(await db.getVersionSkip("foo", "2.0"), "");
    assertEquals(await db.getVersionSkip("foo", "9.9"), null);
  },

  "tracks packages and versions marked deleted": async ({ db }) => {
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    await db.addNewPackageVersion("foo", "2.0");
    assertEquals(await db.packageMarkedDeleted("foo"), false);
    await db.skipPackageVersion("foo", "1.0", "deleted");
    assertEquals(await db.getVersionsDeleted("foo"), ["1.0"]);
    await db.skipPackage("foo", "deleted");
    assertEquals(await db.packageMarkedDeleted("foo"), true);
    assertEquals(await db.packageMarkedDeleted("bar"), false);
  },

  "deletes versions and packages with everything under them": async ({ db }) => {
    await db.addNewPackage("foo");
    await db.addPackageName("foo", "Foo");
    await db.addNewPackageVersion("foo", "1.0");
    await db.addNewPackageVersion("foo", "2.0");
    await db.deleteVersion("foo", "1.0");
    assertEquals(await db.getAllPackageVersions(), [["foo", "2.0"]]);
    await db.deletePackage("foo");
    assertEquals(await db.getAllPackages(), new Set());
    assertEquals(await db.getAllPackageVersions(), []);
    assertEquals(await db.getPackageAliases("foo"), []);
  },

  "yanks and unyanks versions": async ({ db }) => {
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    await db.yankVersion("foo", "1.0");
    assertEquals((await db.getProjectData("foo"))!.releases[0].yanked, true);
    await db.unyankVersion("foo", "1.0");
    assertEquals((await db.getProjectData("foo"))!.releases[0].yanked, false);
  },

  "stores the PyPI serial and never lets it go backwards": async ({ db }) => {
    assertEquals(await db.getPypiSerial(), 0);
    await db.setPypiSerial(1000);
    await db.setPypiSerial(1000);
    assertEquals(await db.getPypiSerial(), 1000);
    await db.setPypiSerial(5_000_000_000);
    assertEquals(await db.getPypiSerial(), 5_000_000_000);
    const error = await assertRejects(() => db.setPypiSerial(999), DatabaseError);
    assert(error.message.includes("backwards"), error.message);
    assertEquals(await db.getPypiSerial(), 5_000_000_000);
  },

  "lists build ABIs lowest CPython first, skipped ones on request": async ({ db, admin }) => {
    await addAbis(admin, "cp313", "cp39", "cp311");
    await admin.query("UPDATE build_abis SET skip = 'retired' WHERE abi_tag = 'cp39'");
    assertEquals(await db.getBuildAbis(), ["cp311", "cp313"]);
    assertEquals(await db.getBuildAbis({ excludeSkipped: false }), ["cp39", "cp311", "cp313"]);
  },
});
