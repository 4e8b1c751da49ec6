import { assertEquals } from "./assert.ts";
import {
  addAbis,
  type Backend,
  build,
  type Case,
  SKIP_PG,
  suite,
  wheel,
  withPostgres,
} from "./harness.ts";
import type { BuildQueue } from "../../src/db/mod.ts";

const ABIS = ["cp313", "cp39", "cp311"];
const day = (n: number) => new Date(Date.UTC(2024, 0, n));

/** Packages `foo`, `bar`, ... each with the versions given, released on the given days. */
async function releases(b: Backend, spec: Record<string, [string, number][]>): Promise<void> {
  for (const [pkg, versions] of Object.entries(spec)) {
    await b.db.addNewPackage(pkg);
    for (const [version, released] of versions) {
      await b.db.addNewPackageVersion(pkg, version, day(released));
    }
  }
}

/**
 * The maintained queue must equal a from-scratch recomputation (and the pending counters a
 * recount): runs refresh_build_queue() and compares.
 */
async function assertQueueConsistent(b: Backend): Promise<void> {
  const snapshot = async () => {
    const rows = await b.admin.query<{ package: string; version: string; queued_abi: string }>(
      "SELECT package, version, queued_abi FROM versions ORDER BY package, version",
    );
    const { buildsPending } = await b.db.getStatistics();
    return { rows, buildsPending };
  };
  const maintained = await snapshot();
  const [{ changed }] = await b.admin.query<{ changed: number }>(
    "SELECT refresh_build_queue() AS changed",
  );
  assertEquals(changed, 0, "triggers and refresh_build_queue() disagree");
  assertEquals(maintained, await snapshot(), "pending counters disagree with a recount");
}

/** A queue case: set up, then expect this queue (every active ABI listed). */
function queueCase(
  setup: (b: Backend) => Promise<void>,
  expected: BuildQueue,
  limit?: number,
): Case {
  return async (b) => {
    await addAbis(b.admin, ...ABIS);
    await setup(b);
    assertEquals(await b.db.getBuildQueue(limit), expected);
    await assertQueueConsistent(b);
  };
}

suite("db build queue", {
  "queues a new version for the lowest CPython ABI only": queueCase(
    (b) => releases(b, { foo: [["1.0", 1]] }),
    { cp39: [["foo", "1.0"]], cp311: [], cp313: [] },
  ),

  "puts the oldest release first, ties by name": queueCase(
    (b) => releases(b, { foo: [["2.0", 3], ["1.0", 1]], bar: [["1.0", 3]], baz: [["0.1", 2]] }),
    {
      cp39: [["foo", "1.0"], ["baz", "0.1"], ["bar", "1.0"], ["foo", "2.0"]],
      cp311: [],
      cp313: [],
    },
  ),

  "keeps odd but legal names and versions intact": queueCase(
    async (b) => {
      await b.db.addNewPackage("zope-interface");
      await b.db.addNewPackageVersion("zope-interface", "1.0 beta+ü", day(1));
      await b.db.addNewPackageVersion("zope-interface", "2.0.dev0\\x", day(2));
    },
    {
      cp39: [["zope-interface", "1.0 beta+ü"], ["zope-interface", "2.0.dev0\\x"]],
      cp311: [],
      cp313: [],
    },
  ),

  "stops each ABI's list at the limit": queueCase(
    (b) => releases(b, { foo: [["1.0", 1], ["2.0", 2], ["3.0", 3]] }),
    { cp39: [["foo", "1.0"], ["foo", "2.0"]], cp311: [], cp313: [] },
    2,
  ),

  "moves a version on to the next ABI after a failed build": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]] });
    await b.db.logBuild(build("foo", "1.0", "cp39"));
  }, { cp39: [], cp311: [["foo", "1.0"]], cp313: [] }),

  "moves a version on after an ABI-specific wheel": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]] });
    await b.db.logBuild(build("foo", "1.0", "cp39", [wheel("foo", "1.0", "cp39")]));
    await b.db.logBuild(build("foo", "1.0", "cp311", [wheel("foo", "1.0", "cp311")]));
  }, { cp39: [], cp311: [], cp313: [["foo", "1.0"]] }),

  "drops a version built for every ABI": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]] });
    for (const abi of ["cp39", "cp311"]) await b.db.logBuild(build("foo", "1.0", abi));
    await b.db.logBuild(build("foo", "1.0", "cp313", [wheel("foo", "1.0", "cp313")]));
  }, { cp39: [], cp311: [], cp313: [] }),

  "lets a none wheel cover every ABI": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]] });
    await b.db.logBuild(build("foo", "1.0", "cp39", [wheel("foo", "1.0", "none")]));
  }, { cp39: [], cp311: [], cp313: [] }),

  "lets an abi3 wheel cover its CPython and every later one": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]] });
    await b.db.logBuild(
      build("foo", "1.0", "cp39", [wheel("foo", "1.0", "abi3", { pyVersionTag: "cp37" })]),
    );
  }, { cp39: [], cp311: [], cp313: [] }),

  "does not let an abi3 wheel cover an older CPython": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]], bar: [["1.0", 1]] });
    // Imported wheels need not come from the lowest ABI first.
    const abi3 = (pkg: string) => wheel(pkg, "1.0", "abi3", { pyVersionTag: "cp312" });
    await b.db.logBuild(build("foo", "1.0", "cp313", [abi3("foo")], { builtBy: 0 }));
    await b.db.logBuild(build("bar", "1.0", "cp313", [abi3("bar")], { builtBy: 0 }));
    await b.db.logBuild(build("bar", "1.0", "cp39"));
  }, { cp39: [["foo", "1.0"]], cp311: [["bar", "1.0"]], cp313: [] }),

  "leaves yanked versions out until unyanked": async (b) => {
    await addAbis(b.admin, ...ABIS);
    await releases(b, { foo: [["1.0", 1], ["2.0", 2]] });
    await b.db.yankVersion("foo", "1.0");
    assertEquals((await b.db.getBuildQueue()).cp39, [["foo", "2.0"]]);
    await assertQueueConsistent(b);
    await b.db.unyankVersion("foo", "1.0");
    assertEquals((await b.db.getBuildQueue()).cp39, [["foo", "1.0"], ["foo", "2.0"]]);
    await assertQueueConsistent(b);
  },

  "leaves skipped packages out until unskipped": async (b) => {
    await addAbis(b.admin, ...ABIS);
    await releases(b, { foo: [["1.0", 1], ["2.0", 2]], bar: [["1.0", 3]] });
    await b.db.logBuild(build("foo", "1.0", "cp39"));
    await b.db.skipPackage("foo", "too big");
    assertEquals(await b.db.getBuildQueue(), { cp39: [["bar", "1.0"]], cp311: [], cp313: [] });
    await assertQueueConsistent(b);
    await b.db.skipPackage("foo", "");
    assertEquals(await b.db.getBuildQueue(), {
      cp39: [["foo", "2.0"], ["bar", "1.0"]],
      cp311: [["foo", "1.0"]],
      cp313: [],
    });
    await assertQueueConsistent(b);
  },

  "leaves skipped versions out until unskipped": async (b) => {
    await addAbis(b.admin, ...ABIS);
    await b.db.addNewPackage("foo");
    await b.db.addNewPackageVersion("foo", "1.0", day(1), "binary only");
    await b.db.addNewPackageVersion("foo", "2.0", day(2));
    assertEquals((await b.db.getBuildQueue()).cp39, [["foo", "2.0"]]);
    await b.db.skipPackageVersion("foo", "1.0", "");
    assertEquals((await b.db.getBuildQueue()).cp39, [["foo", "1.0"], ["foo", "2.0"]]);
    await b.db.skipPackageVersion("foo", "2.0", "deleted");
    assertEquals((await b.db.getBuildQueue()).cp39, [["foo", "1.0"]]);
    await assertQueueConsistent(b);
  },

  "forgets deleted versions and packages": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1], ["2.0", 2]], bar: [["1.0", 1]] });
    await b.db.logBuild(build("bar", "1.0", "cp39"));
    await b.db.deleteVersion("foo", "1.0");
    await b.db.deletePackage("bar");
  }, { cp39: [["foo", "2.0"]], cp311: [], cp313: [] }),

  "queues a version again when its builds are deleted": queueCase(async (b) => {
    await releases(b, { foo: [["1.0", 1]] });
    await b.db.logBuild(build("foo", "1.0", "cp39", [wheel("foo", "1.0", "none")]));
    await b.db.deleteBuild("foo", "1.0");
  }, { cp39: [["foo", "1.0"]], cp311: [], cp313: [] }),

  "passes over a skipped build ABI and follows changes to the ABIs": async (b) => {
    await addAbis(b.admin, ...ABIS);
    await releases(b, { foo: [["1.0", 1]], bar: [["1.0", 2]] });
    await b.db.logBuild(build("bar", "1.0", "cp39", [wheel("bar", "1.0", "cp39")]));
    await b.admin.query("UPDATE build_abis SET skip = 'no builders' WHERE abi_tag = 'cp39'");
    assertEquals(await b.db.getBuildQueue(), {
      cp311: [["foo", "1.0"], ["bar", "1.0"]],
      cp313: [],
    });
    await assertQueueConsistent(b);
    await b.admin.query("UPDATE build_abis SET skip = '' WHERE abi_tag = 'cp39'");
    await b.db.logBuild(build("foo", "1.0", "cp39"));
    await b.db.logBuild(build("foo", "1.0", "cp311"));
    await b.db.logBuild(build("foo", "1.0", "cp313"));
    await addAbis(b.admin, "cp314");
    assertEquals(await b.db.getBuildQueue(), {
      cp39: [],
      cp311: [["bar", "1.0"]],
      cp313: [],
      cp314: [["foo", "1.0"]],
    });
    await assertQueueConsistent(b);
  },

  "counts pending builds per ABI": async (b) => {
    await addAbis(b.admin, ...ABIS);
    await releases(b, { foo: [["1.0", 1], ["2.0", 2]], bar: [["1.0", 3]] });
    await b.db.logBuild(build("foo", "1.0", "cp39"));
    assertEquals((await b.db.getStatistics()).buildsPending, { cp39: 2, cp311: 1, cp313: 0 });
    await b.db.deletePackage("foo");
    assertEquals((await b.db.getStatistics()).buildsPending, { cp39: 1, cp311: 0, cp313: 0 });
  },
});

Deno.test({
  name: "two builds of one version logged at once both count (postgres)",
  ignore: SKIP_PG,
  async fn() {
    await withPostgres("queue_race", async ({ db, admin }) => {
      await addAbis(admin, ...ABIS);
      await db.addNewPackage("foo");
      await db.addNewPackageVersion("foo", "1.0");
      let second: Promise<number> | undefined;
      await admin.transaction(async (tx) => {
        await tx.query("SELECT log_build('foo', '1.0', 1, 1000, false, 'cp39', '[]')");
        // Waits for the version's row lock, then must see the first build once committed.
        second = db.logBuild(build("foo", "1.0", "cp311"));
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      await second;
      assertEquals(await db.getBuildQueue(), { cp39: [], cp311: [], cp313: [["foo", "1.0"]] });
    });
  },
});
