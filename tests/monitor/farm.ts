/**
 * A small running farm for the monitor and sense tests: `piw master` (PGlite, a PyPI stand-in)
 * and two real `piw slave`s, each a {@link PiwProcess}. Nothing to build, or (with
 * `hang`) one package whose build never ends, so that one slave stays busy until told otherwise.
 */
import { testDatabase } from "../master/helpers.ts";
import {
  freePort,
  masterCommand,
  masterQueues,
  PiwProcess,
  slaveCommand,
} from "../fixtures/piw_process.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import {
  createFixtureIndex,
  type FixtureIndex,
  hermeticPipChildEnv,
} from "../fixtures/package_index.ts";

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
  const db = await testDatabase("pglite", async (admin) => {
    const { abi } = await interpreterFacts("python3");
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ($1)", [abi]);
  });
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
  const [slavePort, filePort] = [freePort(), freePort()];
  const queues = masterQueues(`/tmp/piw-mon-${id}-`, slavePort, filePort);
  const masterArgs = [...masterCommand(db.dsn, www, queues), ...pypi.masterArgs];
  const slaves: PiwProcess[] = [];
  const farm: Farm = {
    statusQueue: queues.status,
    controlQueue: queues.control,
    master: new PiwProcess("master", masterArgs),
    slaves,
    pidFile,
    async restartMaster() {
      farm.master = new PiwProcess("master (restarted)", masterArgs);
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
  const pipEnv = hermeticPipChildEnv();
  try {
    await farm.master.waitForLine("master: ready", 120_000);
    for (const label of ["slave-a", "slave-b"]) {
      const dir = Deno.makeTempDirSync({ prefix: `piw-monitor-${label}-` });
      dirs.push(dir);
      slaves.push(
        new PiwProcess(label, [
          ...slaveCommand(slavePort, filePort, label, dir),
        ], {
          ...pipEnv,
          PIW_SLAVE_INTERVAL: "1s",
          PIW_MASTER_TIMEOUT: options.masterTimeout ?? "60s",
        }),
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
