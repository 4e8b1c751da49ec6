/**
 * Benchmark: time to wheel. A PyPI stand-in with a live journal (one unrelated event every 2 s,
 * every event stamped with the current time), a real `piw master` (PostgreSQL, or PGlite with
 * `--pglite`) with its default timings, and one real idle `piw slave` (default timings) building
 * with real pip from a local index. Then new sdists are released one at a time: the figure is the
 * time from the `add source file` event appearing in the journal to the wheel's line in
 * `simple/<pkg>/index.html`, less the build itself (its duration in the database). Its parts come
 * from the master's log lines (arrival times): held in CloudGazer (until "added package"),
 * queued (until SlaveDriver hands out the build), building (until BUILT), recording (until the
 * transfer is verified) and page written (until the line is in the page).
 *
 * Needs PostgreSQL (`eval "$(bash scripts/test-services)"`) unless `--pglite`, and python3 with
 * pip. Run: `deno run -A tests/bench/time_to_wheel_bench.ts [--quick] [--releases N] [--pglite]`
 * (`--quick`: one release). Target ≤ 10 s (issue 15).
 * @module
 */
import { createFixtureIndex, hermeticPipEnv } from "../fixtures/package_index.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { testDatabase } from "../master/helpers.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import { openClient } from "../../src/db/mod.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const pglite = args.includes("--pglite");
const at = args.indexOf("--releases");
const releases = at >= 0 ? Number(args[at + 1]) : quick ? 1 : 3;
if (!Number.isInteger(releases) || releases < 1) {
  console.error("--releases needs a positive whole number");
  Deno.exit(2);
}

/** The arrival time of the first line of `proc` after index `from` matching `test`. */
function lineAt(proc: PiwProcess, from: number, test: (line: string) => boolean): number | null {
  for (let i = from; i < proc.lines.length; i++) {
    if (test(proc.lines[i])) return proc.times[i];
  }
  return null;
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

const { abi } = await interpreterFacts("python3");
const db = await testDatabase(pglite ? "pglite" : "postgres", async (admin) => {
  await admin.query("INSERT INTO build_abis (abi_tag) VALUES ($1)", [abi]);
});
const names = Array.from({ length: releases }, (_, i) => `piw-ttw-${i}`);
const index = await createFixtureIndex(names.map((name) => ({ name, version: "1.0" })));
const pypi = await startPyPIStandIn({ simpleIndex: index });
const www = await Deno.makeTempDir({ prefix: "piw-ttw-www-" });
const ipc = await Deno.makeTempDir({ prefix: "piw-ttw-ipc-" });
const slaveDir = await Deno.makeTempDir({ prefix: "piw-ttw-slave-" });
const children: PiwProcess[] = [];
const now = () => Math.floor(Date.now() / 1000);
let serial = 5_000_000;
const tick = () => pypi.addEvent("piw-ttw-clock", null, now(), "docupdate", ++serial);
tick();
const clock = setInterval(tick, 2000);
const rows: Record<string, number>[] = [];
try {
  const [slavePort, filePort] = [freePort(), freePort()];
  const master = new PiwProcess("master", [
    ...masterCommand(db.dsn, www, masterQueues(`${ipc}/`, slavePort, filePort)),
    ...pypi.masterArgs,
  ]);
  children.push(master);
  await master.waitForLine("PyPI serial =", 120_000);
  const pipEnv = Object.fromEntries(Object.entries(hermeticPipEnv()).map(([k, v]) => [k, v ?? ""]));
  const slave = new PiwProcess("slave", [
    "slave",
    "-v",
    "--master",
    `127.0.0.1:${slavePort}:${filePort}`,
    "--label",
    "ttw",
    "--dir",
    slaveDir,
  ], pipEnv);
  children.push(slave);
  await slave.waitForLine("no available jobs", 120_000);

  for (const [i, sdist] of index.sdists.entries()) {
    // Let the slave settle into its idle loop, as a farm waiting for work does.
    await new Promise((r) => setTimeout(r, 3000 + i * 1000));
    const from = master.lines.length;
    pypi.addEvent(sdist.project, null, now(), "create", ++serial);
    pypi.addEvent(
      sdist.project,
      sdist.version,
      now(),
      `add source file ${sdist.filename}`,
      ++serial,
    );
    const t0 = performance.now();
    const page = `${www}/simple/${sdist.project}/index.html`;
    const deadline = t0 + 15 * 60_000;
    while (!(await readText(page)).includes(".whl")) {
      if (performance.now() > deadline) {
        throw new Error(`no wheel of ${sdist.project} after 15 min\n${master.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const t5 = performance.now();
    const has = (text: string) => (line: string) => line.includes(text);
    const t1 = lineAt(master, from, has(`added package ${sdist.project} version`)) ?? t0;
    const t2 = lineAt(master, from, has(`build ${sdist.project} ${sdist.version}`)) ?? t1;
    const t3 = lineAt(master, from, has("build succeeded")) ?? t2;
    const t4 = lineAt(master, from, has("verified transfer")) ?? t3;
    const total = (t5 - t0) / 1000;
    rows.push({
      total,
      gazer: (t1 - t0) / 1000,
      queued: (t2 - t1) / 1000,
      building: (t3 - t2) / 1000,
      recording: (t4 - t3) / 1000,
      page: (t5 - t4) / 1000,
    });
    console.log(`${sdist.project}: wheel listed ${total.toFixed(1)} s after its event`);
  }
  // The builds' own durations, from the database (PGlite's is the master's while it runs).
  for (const c of children.reverse()) await c.stop();
  children.length = 0;
  const admin = await openClient(db.dsn);
  try {
    for (const [i, name] of names.entries()) {
      const [row] = await admin.query<{ s: number }>(
        "SELECT EXTRACT(EPOCH FROM duration)::float8 AS s FROM builds WHERE package = $1",
        [name],
      );
      rows[i].build = Number(row.s);
      rows[i].figure = rows[i].total - rows[i].build;
    }
  } finally {
    await admin.close();
  }
  const f = (x: number) => x.toFixed(1).padStart(6);
  for (const [i, row] of rows.entries()) {
    console.log(
      `${names[i]}: time to wheel ${f(row.figure)} s (total ${f(row.total)} s less the build ` +
        `${row.build.toFixed(1)} s) = held in CloudGazer ${f(row.gazer)}, queued ` +
        `${f(row.queued)}, building ${f(row.building)}, recording ${f(row.recording)}, page ` +
        `written ${f(row.page)}`,
    );
  }
  const figures = rows.map((r) => r.figure).sort((a, b) => a - b);
  const median = figures[Math.floor((figures.length - 1) / 2)];
  console.log(
    `time to wheel (${db.kind}, ${releases} release${releases > 1 ? "s" : ""}): median ` +
      `${median.toFixed(1)} s, max ${figures[figures.length - 1].toFixed(1)} s (target ≤ 10 s)`,
  );
  console.log(
    "stubbed: PyPI (the local stand-in: journal, JSON API, simple index) and the network; " +
      "real: piw master with its default timings and " + db.kind +
      ", one piw slave with its default timings, pip, setuptools",
  );
  console.log(`machine load: ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
} finally {
  clearInterval(clock);
  for (const c of children.reverse()) await c.stop().catch(() => {});
  await pypi.close();
  await index.close();
  await db.remove();
  for (const dir of [www, ipc, slaveDir]) await Deno.remove(dir, { recursive: true });
}
