import { assert, assertEquals, assertRejects } from "./assert.ts";
import { addAbis, build, suite, wheel } from "./harness.ts";
import { DatabaseError } from "../../src/db/mod.ts";

suite("db builds and projects", {
  "logs a successful build with its files and dependencies": async ({ db, admin }) => {
    await addAbis(admin, "cp311");
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    const file = wheel("foo", "1.0", "cp311", {
      requiresPython: ">=3.8",
      dependencies: { apt: ["libfoo1", "libc6"], pip: ["bar"], "": ["libmissing.so"] },
    });
    const id = await db.logBuild(build("foo", "1.0", "cp311", [file], { duration: 1234.5 }));
    assert(Number.isInteger(id) && id > 0);
    assertEquals(await db.getPackageFiles("foo"), { [file.filename]: file.filehash });
    assertEquals(await db.getVersionFiles("foo", "1.0"), [file.filename]);
    assertEquals(await db.getFileAptDependencies(file.filename), ["libc6", "libfoo1"]);
    const [deps] = await admin.query<{ n: number }>(
      "SELECT count(*) AS n FROM dependencies WHERE filename = $1",
      [file.filename],
    );
    assertEquals(deps.n, 4);
    const release = (await db.getProjectData("foo"))!.releases[0];
    assertEquals(release.builds.length, 1);
    assertEquals(release.builds[0].buildId, id);
    assertEquals(release.builds[0].durationMs, 1234.5);
    assertEquals(release.builds[0].status, true);
    assert(release.builds[0].builtAt instanceof Date);
    assertEquals(release.files[0].requiresPython, ">=3.8");
    assertEquals(release.files[0].location, "/simple");
    assertEquals(release.files[0].pipDependencies, ["bar"]);
  },

  "logs a failed build without files": async ({ db, admin }) => {
    await addAbis(admin, "cp311");
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    const id = await db.logBuild(
      build("foo", "1.0", "cp311", [wheel("foo", "1.0", "cp311")], { status: false }),
    );
    assertEquals(await db.getPackageFiles("foo"), {});
    const release = (await db.getProjectData("foo"))!.releases[0];
    assertEquals(release.builds.map((b) => [b.buildId, b.status]), [[id, false]]);
    assertEquals(release.abis.cp311, { status: "fail", buildId: id });
  },

  "moves a rebuilt file to the newer build": async ({ db, admin }) => {
    await addAbis(admin, "cp311");
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    const file = wheel("foo", "1.0", "cp311", { dependencies: { apt: ["old"] } });
    await db.logBuild(build("foo", "1.0", "cp311", [file]));
    const second = await db.logBuild(
      build("foo", "1.0", "cp311", [{ ...file, filehash: "1".repeat(64), dependencies: {} }]),
    );
    const files = (await db.getProjectData("foo"))!.releases[0].files;
    assertEquals(files.map((f) => [f.buildId, f.filehash]), [[second, "1".repeat(64)]]);
    assertEquals(await db.getFileAptDependencies(file.filename), []);
  },

  "rejects a build of an unknown version, logging nothing": async ({ db, admin }) => {
    await db.addNewPackage("foo");
    await assertRejects(
      () => db.logBuild(build("foo", "9.9", "cp311", [wheel("foo", "9.9", "cp311")])),
      DatabaseError,
    );
    const [row] = await admin.query<{ n: number }>("SELECT count(*) AS n FROM files");
    assertEquals(row.n, 0);
  },

  "logs many builds in one transaction: their ids in order, or none of them": async (
    { db, admin },
  ) => {
    await addAbis(admin, "cp311");
    await db.addNewPackage("foo");
    for (const v of ["1.0", "2.0", "3.0"]) await db.addNewPackageVersion("foo", v);
    const file = wheel("foo", "2.0", "cp311");
    const ids = await db.logBuilds([
      build("foo", "1.0", "cp311"),
      build("foo", "2.0", "cp311", [file]),
      build("foo", "3.0", "cp311"),
    ]);
    assertEquals(ids.length, 3);
    assert(ids[0] < ids[1] && ids[1] < ids[2]);
    const releases = (await db.getProjectData("foo"))!.releases;
    const idOf = (v: string) => releases.find((r) => r.version === v)!.builds[0].buildId;
    assertEquals([idOf("1.0"), idOf("2.0"), idOf("3.0")], ids);
    assertEquals(await db.getPackageFiles("foo"), { [file.filename]: file.filehash });
    // One build the database refuses (an unknown version) and none of the batch is recorded.
    await db.addNewPackageVersion("foo", "4.0");
    await assertRejects(
      () => db.logBuilds([build("foo", "4.0", "cp311"), build("foo", "9.9", "cp311")]),
      DatabaseError,
    );
    const [row] = await admin.query<{ n: number }>("SELECT count(*) AS n FROM builds");
    assertEquals(Number(row.n), 3);
  },

  "rolls back a build whose dependencies are invalid": async ({ db, admin }) => {
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    const file = wheel("foo", "1.0", "cp311", { dependencies: { brew: ["x"] } });
    await assertRejects(() => db.logBuild(build("foo", "1.0", "cp311", [file])), DatabaseError);
    const [row] = await admin.query<{ builds: number; files: number }>(
      "SELECT (SELECT count(*) FROM builds) AS builds, (SELECT count(*) FROM files) AS files",
    );
    assertEquals(row, { builds: 0, files: 0 });
  },

  "keeps a build's output until its log is written; a deleted build takes it along": async (
    { db, admin },
  ) => {
    await addAbis(admin, "cp311", "cp39");
    await db.addNewPackage("foo");
    for (const v of ["1.0", "2.0"]) await db.addNewPackageVersion("foo", v);
    const pending = async () =>
      (await admin.query<{ build_id: number; output: string }>(
        "SELECT build_id, output FROM logs_pending ORDER BY build_id",
      )).map((r): [number, string] => [Number(r.build_id), r.output]);
    // Both calls, and a NUL (which text cannot hold) and a lone surrogate in the output.
    const one = await db.logBuild(build("foo", "1.0", "cp311", [], { output: "one\0\ud800" }));
    const [two, three] = await db.logBuilds([
      build("foo", "1.0", "cp39", [wheel("foo", "1.0", "cp39")], { output: "two" }),
      build("foo", "2.0", "cp311", [], { output: "x".repeat(3000) }),
    ]);
    await db.logBuild(build("foo", "2.0", "cp39")); // no output: nothing kept
    assertEquals(await pending(), [[one, "one\ufffd\ufffd"], [two, "two"], [
      three,
      "x".repeat(3000),
    ]]);
    // Pages: after an id, at most so many rows, no more once the bytes are reached (one at
    // least); the first output is 9 bytes of UTF-8.
    assertEquals(await db.getPendingLogs(0, 0, 100, 1 << 20), await pending());
    assertEquals((await db.getPendingLogs(one, 0, 1, 1 << 20)).map(([id]) => id), [two]);
    assertEquals((await db.getPendingLogs(0, 0, 100, 10)).map(([id]) => id), [one, two]);
    assertEquals((await db.getPendingLogs(two, 0, 100, 10)).map(([id]) => id), [three]);
    assertEquals(await db.getPendingLogs(three, 0, 100, 1 << 20), []);
    // Only builds at least min_age_ms old.
    assertEquals(await db.getPendingLogs(0, 3_600_000, 100, 1 << 20), []);
    await admin.query(
      "UPDATE builds SET built_at = now() - interval '2 hours' WHERE build_id = $1",
      [
        two,
      ],
    );
    assertEquals((await db.getPendingLogs(0, 3_600_000, 100, 1 << 20)).map(([id]) => id), [two]);
    // Written: forgotten (an id with no row counts nothing).
    assertEquals(await db.logsWritten([one, 999_999]), 1);
    assertEquals((await pending()).map(([id]) => id), [two, three]);
    assertEquals(await db.logsWritten([]), 0);
    // A deleted build's output goes with it.
    await db.deleteBuild("foo", "2.0");
    assertEquals((await pending()).map(([id]) => id), [two]);
    await db.deleteVersion("foo", "1.0");
    assertEquals(await pending(), []);
  },

  "deletes all builds of a version with their files": async ({ db, admin }) => {
    await addAbis(admin, "cp311");
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    await db.addNewPackageVersion("foo", "2.0");
    await db.logBuild(build("foo", "1.0", "cp311", [wheel("foo", "1.0", "cp311")]));
    await db.logBuild(build("foo", "2.0", "cp311", [wheel("foo", "2.0", "cp311")]));
    await db.deleteBuild("foo", "1.0");
    assertEquals(Object.keys(await db.getPackageFiles("foo")), [
      wheel("foo", "2.0", "cp311").filename,
    ]);
    assertEquals((await db.getBuildQueue()).cp311, [["foo", "1.0"]]);
  },

  "hides preinstalled apt packages per builder ABI": async ({ db, admin }) => {
    await addAbis(admin, "cp39", "cp311");
    await admin.query(
      "INSERT INTO preinstalled_apt_packages VALUES ('cp311', 'libc6'), ('cp39', 'libfoo1')",
    );
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    const deps = { apt: ["libc6", "libfoo1"] };
    const a = wheel("foo", "1.0", "cp39", { dependencies: deps });
    const b = wheel("foo", "1.0", "cp311", { dependencies: deps });
    await db.logBuild(build("foo", "1.0", "cp39", [a]));
    await db.logBuild(build("foo", "1.0", "cp311", [b]));
    assertEquals(await db.getFileAptDependencies(a.filename), ["libc6"]);
    assertEquals(await db.getFileAptDependencies(b.filename), ["libfoo1"]);
    const files = (await db.getProjectData("foo"))!.releases[0].files;
    const apt = Object.fromEntries(files.map((f) => [f.abiTag, f.aptDependencies]));
    assertEquals(apt, { cp39: ["libc6"], cp311: ["libfoo1"] });
  },

  "gives a project's page data in one call": async ({ db, admin }) => {
    await addAbis(admin, "cp39", "cp311", "cp313");
    await admin.query("UPDATE build_abis SET skip = 'no builders' WHERE abi_tag = 'cp313'");
    await db.addNewPackage("foo", "", "All about foo");
    await db.addPackageName("foo", "foo");
    await db.addPackageName("foo", "Foo", new Date(Date.UTC(2024, 0, 1)));
    await db.addNewPackageVersion("foo", "1.0", new Date(Date.UTC(2024, 0, 1)));
    await db.addNewPackageVersion("foo", "2.0", new Date(Date.UTC(2024, 2, 1)));
    await db.addNewPackageVersion("foo", "3.0", new Date(Date.UTC(2024, 3, 1)), "binary only");
    const failed = await db.logBuild(build("foo", "1.0", "cp39"));
    const built = await db.logBuild(build("foo", "1.0", "cp311", [wheel("foo", "1.0", "cp311")]));
    await db.yankVersion("foo", "2.0");

    const data = (await db.getProjectData("foo"))!;
    assertEquals(data.package, "foo");
    assertEquals(data.name, "Foo");
    assertEquals(data.description, "All about foo");
    assertEquals(data.skip, "");
    assertEquals(data.aliases, ["Foo"]);
    assertEquals(data.releases.map((r) => r.version), ["3.0", "2.0", "1.0"]);
    const [v3, v2, v1] = data.releases;
    assertEquals(v3.skip, "binary only");
    assertEquals(v2.yanked, true);
    assertEquals(v1.abis, {
      cp39: { status: "fail", buildId: failed },
      cp311: { status: "success", buildId: built },
      cp313: { status: "skip", buildId: null },
    });
    assertEquals(Object.keys(v1.abis), ["cp39", "cp311", "cp313"]);
    assertEquals(v2.abis.cp39, { status: "skip", buildId: null });
    assertEquals(v3.abis.cp311, { status: "skip", buildId: null });
    assertEquals(v1.queuedAbi, null);
    assertEquals(v1.files.map((f) => f.builderAbi), ["cp311"]);
    assertEquals(await db.getProjectData("nope"), null);
    // Several at once, in the order asked, the same data as one by one.
    await db.addNewPackage("bar");
    const many = await db.getProjectsData(["bar", "nope", "foo", "bar"]);
    assertEquals(many, [
      await db.getProjectData("bar"),
      null,
      data,
      await db.getProjectData("bar"),
    ]);
    assertEquals(many[0]!.package, "bar");
    assertEquals(await db.getProjectsData([]), []);

    const versions = await db.getProjectVersions("foo");
    assertEquals(versions[2].builtAbis, ["cp311"]);
    assertEquals(versions[2].failedAbis, ["cp39"]);
    const files = await db.getProjectFiles("foo");
    assertEquals(files.map((f) => [f.version, f.abiTag]), [["1.0", "cp311"]]);
  },

  "shows pending ABIs and wheels that serve several ABIs": async ({ db, admin }) => {
    await addAbis(admin, "cp39", "cp311");
    await db.addNewPackage("foo");
    await db.addNewPackageVersion("foo", "1.0");
    await db.addNewPackageVersion("foo", "2.0");
    const pure = await db.logBuild(build("foo", "1.0", "cp39", [wheel("foo", "1.0", "none")]));
    const data = (await db.getProjectData("foo"))!;
    const byVersion = Object.fromEntries(data.releases.map((r) => [r.version, r]));
    assertEquals(byVersion["1.0"].abis, {
      cp39: { status: "success", buildId: pure },
      cp311: { status: "success", buildId: pure },
    });
    assertEquals(byVersion["2.0"].abis.cp39, { status: "pending", buildId: null });
    assertEquals(byVersion["2.0"].queuedAbi, "cp39");
  },
});
