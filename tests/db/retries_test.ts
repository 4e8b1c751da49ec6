/**
 * Failure classes and automatic retries in the database: a failure is stored with its class,
 * a transient one stops covering its ABI once its retry time has come and requeue_due_retries
 * has run, each try is a row of its own, the schedule runs out, and operators (retry_builds) and
 * CloudGazer (retry_no_sdist) retry at once. The maintained queue always equals a recount.
 */
import { assertEquals } from "./assert.ts";
import { addAbis, type Backend, build, suite } from "./harness.ts";
import type { BuildFailure } from "../../src/db/types.ts";

const NO_SDIST: BuildFailure = {
  failureClass: "no-sdist",
  detail: "",
  lines: "ERROR: No matching distribution found for foo==1.0",
};
const MISSING: BuildFailure = {
  failureClass: "missing-library",
  detail: "ffi.h",
  lines: "fatal error: ffi.h: No such file or directory",
};

async function setup(b: Backend): Promise<void> {
  await addAbis(b.admin, "cp311");
  await b.db.addNewPackage("foo");
  await b.db.addNewPackageVersion("foo", "1.0", new Date(Date.UTC(2024, 0, 1)));
}

function failed(failure: BuildFailure, retryDelays: number[] = []) {
  return build("foo", "1.0", "cp311", [], { failure, retryDelays });
}

async function queued(b: Backend): Promise<[string, string][]> {
  return (await b.db.getBuildQueue())["cp311"];
}

async function assertQueueConsistent(b: Backend): Promise<void> {
  const [{ changed }] = await b.admin.query<{ changed: number }>(
    "SELECT refresh_build_queue() AS changed",
  );
  assertEquals(changed, 0, "triggers and refresh_build_queue() disagree");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

suite("db failure classes and retries", {
  "a failure is stored with its class, detail and lines": async (b) => {
    await setup(b);
    await b.db.logBuild(failed(MISSING));
    const rows = await b.admin.query(
      "SELECT failure_class, failure_detail, failure_lines, retry_at FROM builds",
    );
    assertEquals(rows, [{
      failure_class: "missing-library",
      failure_detail: "ffi.h",
      failure_lines: MISSING.lines,
      retry_at: null,
    }]);
    const data = await b.db.getProjectData("foo");
    const stored = data!.releases[0].builds[0];
    assertEquals(
      [stored.failureClass, stored.failureDetail, stored.failureLines],
      ["missing-library", "ffi.h", MISSING.lines],
    );
    assertEquals(await queued(b), []);
  },

  "a transient failure is retried once due, each try kept, until the schedule runs out": async (
    b,
  ) => {
    await setup(b);
    const delays = [1200, 1200];
    await b.db.logBuild(failed(NO_SDIST, delays));
    assertEquals(await queued(b), [], "queued before its retry time");
    assertEquals(await b.db.requeueDueRetries(), 0);
    await sleep(1300);
    assertEquals(await b.db.requeueDueRetries(), 1);
    assertEquals(await queued(b), [["foo", "1.0"]]);
    await assertQueueConsistent(b);
    // The retry fails again: the second delay.
    await b.db.logBuild(failed(NO_SDIST, delays));
    assertEquals(await queued(b), []);
    await sleep(1300);
    assertEquals(await b.db.requeueDueRetries(), 1);
    assertEquals(await queued(b), [["foo", "1.0"]]);
    // A third failure: the schedule has run out, so it stays.
    await b.db.logBuild(failed(NO_SDIST, delays));
    const rows = await b.admin.query<{ n: number; pending: number }>(
      "SELECT (SELECT count(*)::INTEGER FROM builds) AS n, " +
        "(SELECT count(*)::INTEGER FROM retries_pending) AS pending",
    );
    assertEquals(rows, [{ n: 3, pending: 0 }]);
    await sleep(1300);
    assertEquals(await b.db.requeueDueRetries(), 0);
    assertEquals(await queued(b), []);
    await assertQueueConsistent(b);
    assertEquals((await b.db.getFailureCounts())["no-sdist"], 3);
  },

  "a success after a retry ends it; a permanent failure is never retried by itself": async (
    b,
  ) => {
    await setup(b);
    await b.db.logBuild(failed(MISSING, []));
    await sleep(50);
    assertEquals(await b.db.requeueDueRetries(), 0);
    assertEquals(await queued(b), []);
    assertEquals((await b.db.getFailureCounts())["retries pending"], 0);
  },

  "project data gives a failure's retry time as a time": async (b) => {
    await setup(b);
    const before = Date.now();
    await b.db.logBuild(failed(NO_SDIST, [3.6e6]));
    await b.db.logBuild(failed(MISSING, []));
    const [first, second] = (await b.db.getProjectData("foo"))!.releases[0].builds;
    assertEquals(first.retryAt instanceof Date, true);
    assertEquals(first.retryAt!.getTime() >= before + 3.6e6 - 1000, true);
    assertEquals(second.retryAt, null);
    const [listed] = await b.db.getProjectsData(["foo"]);
    assertEquals(listed!.releases[0].builds[0].retryAt, first.retryAt);
  },

  "retry_builds retries one version, a package or a class now": async (b) => {
    await setup(b);
    await b.db.addNewPackage("bar");
    await b.db.addNewPackageVersion("bar", "2.0", new Date(Date.UTC(2024, 0, 2)));
    await b.db.logBuild(failed(MISSING));
    await b.db.logBuild(
      build("bar", "2.0", "cp311", [], { failure: NO_SDIST, retryDelays: [3.6e6] }),
    );
    assertEquals(await queued(b), []);
    assertEquals(await b.db.retryBuilds(null, null, "no-sdist"), 1);
    assertEquals(await queued(b), [["bar", "2.0"]]);
    assertEquals((await b.db.getFailureCounts())["retries pending"], 0);
    assertEquals(await b.db.retryBuilds("foo", "1.0", null), 1);
    assertEquals(await queued(b), [["foo", "1.0"], ["bar", "2.0"]]);
    // Nothing left to retry.
    assertEquals(await b.db.retryBuilds("foo", null, null), 0);
    await assertQueueConsistent(b);
  },

  "retry_no_sdist retries only the no-sdist failures of the versions named": async (b) => {
    await setup(b);
    await b.db.logBuild(failed(NO_SDIST, [3.6e6]));
    assertEquals(await b.db.retryNoSdist([["foo", "2.0"], ["nope", "1.0"]]), 0);
    assertEquals(await queued(b), []);
    assertEquals(await b.db.retryNoSdist([["foo", "1.0"]]), 1);
    assertEquals(await queued(b), [["foo", "1.0"]]);
    await assertQueueConsistent(b);
  },
});
