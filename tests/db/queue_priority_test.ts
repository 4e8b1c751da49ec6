/**
 * The build queue's order (issue 17 part 3): an operator's priority, then new releases, then
 * popularity (downloads in the last 30 days), then age; per ABI, so builders stay balanced.
 */
import { assertEquals } from "./assert.ts";
import { addAbis, type Backend, build, suite, wheel } from "./harness.ts";

const DAY_MS = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY_MS);

/** Versions released `n` days ago, by package. */
async function releases(b: Backend, spec: Record<string, [string, number][]>): Promise<void> {
  for (const [pkg, versions] of Object.entries(spec)) {
    await b.db.addNewPackage(pkg);
    for (const [version, ago] of versions) {
      await b.db.addNewPackageVersion(pkg, version, daysAgo(ago));
    }
  }
}

/** `count` downloads, this week, of a wheel of `pkg` built for cp39 (version `0.1`). */
async function downloads(b: Backend, pkg: string, count: number): Promise<void> {
  await b.db.addNewPackageVersion(pkg, "0.1", daysAgo(400));
  const file = wheel(pkg, "0.1", "none");
  await b.db.logBuild(build(pkg, "0.1", "cp39", [file]));
  for (let i = 0; i < count; i++) {
    await b.db.logDownload({ filename: file.filename, host: "192.0.2.1", timestamp: daysAgo(1) });
  }
}

/** The maintained ranks must equal a recomputation. */
async function assertRanksConsistent(b: Backend): Promise<void> {
  const [{ changed }] = await b.admin.query<{ changed: number }>(
    "SELECT rank_queued_versions() AS changed",
  );
  assertEquals(Number(changed), 0, "triggers and rank_queued_versions() disagree");
}

suite("db build queue priorities", {
  "hands a new release out before an old backlog": async (b) => {
    await addAbis(b.admin, "cp39");
    await releases(b, {
      old: [["1.0", 300], ["2.0", 200]],
      fresh: [["1.0", 1]],
      older: [["0.9", 500]],
    });
    assertEquals((await b.db.getBuildQueue()).cp39, [
      ["fresh", "1.0"],
      ["older", "0.9"],
      ["old", "1.0"],
      ["old", "2.0"],
    ]);
    await assertRanksConsistent(b);
    // A release ages out of "new" at the next hourly refresh: pretend "old 2.0" was ranked new
    // when it came (as the trigger would have, 200 days ago).
    await b.admin.query(
      "UPDATE versions SET released = now() - INTERVAL '8 days', queue_rank = 100 " +
        "WHERE package = 'old' AND version = '2.0'",
    );
    assertEquals((await b.db.getBuildQueue()).cp39[0], ["old", "2.0"]);
    assertEquals(await b.db.refreshQueueRanks(), 1);
    assertEquals((await b.db.getBuildQueue()).cp39[0], ["fresh", "1.0"]);
    await assertRanksConsistent(b);
  },

  "hands a popular package out before an unpopular one, once downloads are counted": async (b) => {
    await addAbis(b.admin, "cp39");
    await releases(b, { rare: [["1.0", 100]], popular: [["1.0", 50]], none: [["1.0", 90]] });
    await downloads(b, "popular", 4);
    await downloads(b, "rare", 1);
    // Not counted yet: oldest first.
    assertEquals((await b.db.getBuildQueue()).cp39, [
      ["rare", "1.0"],
      ["none", "1.0"],
      ["popular", "1.0"],
    ]);
    assertEquals(await b.db.refreshQueueRanks(), 2);
    assertEquals((await b.db.getBuildQueue()).cp39, [
      ["popular", "1.0"],
      ["rare", "1.0"],
      ["none", "1.0"],
    ]);
    const [row] = await b.admin.query<{ downloads_30d: number }>(
      "SELECT downloads_30d::INTEGER AS downloads_30d FROM packages WHERE package = 'popular'",
    );
    assertEquals(row.downloads_30d, 4);
    assertEquals(await b.db.refreshQueueRanks(), 0, "a second refresh has nothing to move");
    // A version queued later (its old build deleted) takes its package's popularity at once.
    await b.db.deleteBuild("popular", "0.1");
    assertEquals((await b.db.getBuildQueue()).cp39.slice(0, 2), [
      ["popular", "0.1"],
      ["popular", "1.0"],
    ]);
    await assertRanksConsistent(b);
  },

  "puts an operator's priority before new releases and downloads, and 0 undoes it": async (b) => {
    await addAbis(b.admin, "cp39");
    await releases(b, { fresh: [["1.0", 0]], stale: [["1.0", 1000], ["1.1", 900]] });
    await downloads(b, "fresh", 3);
    await b.db.refreshQueueRanks();
    assertEquals(await b.db.setPackagePriority("stale", 5), true);
    assertEquals(await b.db.setPackagePriority("missing", 5), false);
    assertEquals((await b.db.getBuildQueue()).cp39, [
      ["stale", "1.0"],
      ["stale", "1.1"],
      ["fresh", "1.0"],
    ]);
    assertEquals(await b.db.getPackageQueue("stale"), [["cp39", 2, 1]]);
    assertEquals(await b.db.getPackageQueue("fresh"), [["cp39", 1, 3]]);
    await assertRanksConsistent(b);
    await b.db.setPackagePriority("stale", 0);
    assertEquals((await b.db.getBuildQueue()).cp39[0], ["fresh", "1.0"]);
    await b.db.setPackagePriority("fresh", -1);
    assertEquals((await b.db.getBuildQueue()).cp39.at(-1), ["fresh", "1.0"]);
    await assertRanksConsistent(b);
  },

  "keeps one queue per ABI: a priority in one never starves another": async (b) => {
    await addAbis(b.admin, "cp39", "cp311");
    await releases(b, { big: [["1", 10], ["2", 10], ["3", 10]], small: [["1", 20]] });
    // small 1 failed on cp39, so it waits for cp311.
    await b.db.logBuild(build("small", "1", "cp39"));
    await b.db.setPackagePriority("big", 100);
    assertEquals(await b.db.getBuildQueue(2), {
      cp39: [["big", "1"], ["big", "2"]],
      cp311: [["small", "1"]],
    });
    assertEquals(await b.db.getPackageQueue("small"), [["cp311", 1, 1]]);
    await assertRanksConsistent(b);
  },
});
