/**
 * A small running farm for the monitor and sense tests: `piw master` (PGlite, a PyPI stand-in)
 * and two real `piw slave`s, each a {@link PiwProcess}. Nothing to build, or (with
 * `hang`) one package whose build never ends, so that one slave stays busy until told otherwise.
 */
import { farmDatabase } from "../master/helpers.ts";
import { type PiwProcess, testFarm } from "../fixtures/piw_process.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { createFixtureIndex, type FixtureIndex } from "../fixtures/package_index.ts";

/** The package a `hang` farm offers: its build starts child processes and sleeps forever. */
export const HANG_PACKAGE = "piw-monitor-hang";

/** A master with two slaves ("slave-a", "slave-b"). */
export interface Farm {
  statusQueue: string;
  controlQueue: string;
  /** The running master (replaced by `restartMaster`). */
  master: PiwProcess;
  slaves: PiwProcess[];
  /** With `hang`: the file the hanging build writes its pids to (see `SdistSpec.pidFile`). */
  pidFile: string;
  /** Start a new master on the same database and queues (after the last one exited). */
  restartMaster(): Promise<PiwProcess>;
  /** Everybody's recent stderr. */
  tails(): string;
  /** Stop everything and remove the database and directories. */
  stop(): Promise<void>;
}

/** Farm options. */
export interface FarmOptions {
  /** Offer {@link HANG_PACKAGE} for building (default: nothing to build). */
  hang?: boolean;
  /** The slaves' PIW_MASTER_TIMEOUT (default 60s): how soon they find a restarted master. */
  masterTimeout?: string;
}

/**
 * Start a farm; resolves once both slaves have been answered by the master (and, without
 * `hang`, both sleep for want of work).
 */
export async function startFarm(options: FarmOptions = {}): Promise<Farm> {
  const id = crypto.randomUUID().slice(0, 8);
  const db = await farmDatabase("pglite");
  const www = Deno.makeTempDirSync({ prefix: "piw-monitor-www-" });
  const scratch = Deno.makeTempDirSync({ prefix: "piw-monitor-pids-" });
  const dirs = [www, scratch];
  const pidFile = `${scratch}/pids`;
  let index: FixtureIndex | null = null;
  if (options.hang) {
    index = await createFixtureIndex([
      { name: HANG_PACKAGE, version: "1.0", kind: "hang", pidFile },
    ]);
  }
  const pypi = await startPyPIStandIn(index ? { simpleIndex: index } : {});
  if (index) {
    // CloudGazer reads the journal at start: the project and its sdist are new. Events are
    // only released 5 minutes older than the newest one (PyPIBuffer), hence the later one;
    // serials before PYPI_EPOCH count as PyPI's unordered past.
    const past = Date.now() / 1000 - 3600;
    pypi.setJson(HANG_PACKAGE, { summary: "never finishes building" });
    pypi.addEvent(HANG_PACKAGE, null, past, "create", 9_000_001);
    pypi.addEvent(
      HANG_PACKAGE,
      "1.0",
      past,
      `add source file ${index.sdists[0].filename}`,
      9_000_002,
    );
    pypi.addEvent("piw-monitor-clock", null, Date.now() / 1000, "docupdate", 9_000_003);
  }
  const processes = testFarm(www, `/tmp/piw-mon-${id}-`);
  const queues = processes.queues;
  const slaves: PiwProcess[] = [];
  const farm: Farm = {
    statusQueue: queues.status,
    controlQueue: queues.control,
    master: processes.master(db.dsn, pypi.masterArgs),
    slaves,
    pidFile,
    async restartMaster() {
      farm.master = processes.master(db.dsn, pypi.masterArgs, {}, "master (restarted)");
      await farm.master.waitForLine("master: ready", 120_000);
      return farm.master;
    },
    tails: () => [farm.master, ...slaves].map((p) => p.tail()).join("\n"),
    async stop() {
      for (const p of [...slaves, farm.master]) p.kill("SIGTERM");
      for (const p of [...slaves, farm.master]) await p.exit(30_000).catch(() => {});
      await pypi.close();
      await index?.close();
      await db.remove();
      for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
    },
  };
  try {
    await farm.master.waitForLine("master: ready", 120_000);
    for (const label of ["slave-a", "slave-b"]) {
      const dir = Deno.makeTempDirSync({ prefix: `piw-monitor-${label}-` });
      dirs.push(dir);
      slaves.push(
        processes.slave(label, dir, { PIW_MASTER_TIMEOUT: options.masterTimeout ?? "60s" }),
      );
    }
    const answered = options.hang ? "connected to master" : "sleeping: no available jobs";
    for (const slave of slaves) await slave.waitForLine(answered, 60_000);
    return farm;
  } catch (error) {
    await farm.stop();
    throw error;
  }
}
