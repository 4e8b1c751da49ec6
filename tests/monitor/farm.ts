/**
 * A small running farm for the monitor and sense tests: `piw master` (PGlite, a PyPI stand-in,
 * nothing to build) and two real `piw slave`s that sleep, each a subprocess whose stderr is kept.
 */
import { testDatabase, waitFor } from "../master/helpers.ts";
import { interpreterFacts } from "../../src/slave/facts.ts";
import { startPyPIStandIn } from "../fixtures/pypi/mod.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A `piw` subprocess whose stderr lines are kept. */
export class PiwProcess {
  readonly lines: string[] = [];
  readonly process: Deno.ChildProcess;
  readonly #done: Promise<void>;

  constructor(readonly name: string, args: string[], env: Record<string, string> = {}) {
    const process = this.process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      env: { PIW_ALLOW_ROOT: "1", PIW_CONFIG_PATHS: "", NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#done = (async () => {
      let rest = "";
      for await (const chunk of process.stderr.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        this.lines.push(...parts);
      }
      if (rest) this.lines.push(rest);
    })();
  }

  /** Wait for a stderr line containing `text`. */
  waitForLine(text: string, timeoutMs = 60_000): Promise<string> {
    return waitFor(
      () => this.lines.find((line) => line.includes(text)),
      timeoutMs,
      `${JSON.stringify(text)} from ${this.name}:\n${this.tail()}`,
    ) as Promise<string>;
  }

  /** The exit code, waiting at most `timeoutMs` (then SIGKILL and throw). */
  async exit(timeoutMs = 30_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.process.status,
      new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (status === null) {
      this.kill("SIGKILL");
      throw new Error(`${this.name} did not exit:\n${this.tail()}`);
    }
    await this.#done;
    return status.code;
  }

  /** Signal it (ignored once it exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.process.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** The last lines of its stderr, for failure messages. */
  tail(n = 30): string {
    return `--- ${this.name}:\n${this.lines.slice(-n).join("\n")}`;
  }
}

/** A master with two sleeping slaves ("slave-a", "slave-b"). */
export interface Farm {
  statusQueue: string;
  controlQueue: string;
  master: PiwProcess;
  slaves: PiwProcess[];
  /** Everybody's recent stderr. */
  tails(): string;
  /** Stop everything and remove the database and directories. */
  stop(): Promise<void>;
}

/** Start a farm; resolves once both slaves have been answered by the master. */
export async function startFarm(): Promise<Farm> {
  const id = crypto.randomUUID().slice(0, 8);
  const db = await testDatabase("pglite", async (admin) => {
    const { abi } = await interpreterFacts("python3");
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ($1)", [abi]);
  });
  const pypi = await startPyPIStandIn();
  const www = Deno.makeTempDirSync({ prefix: "piw-monitor-www-" });
  const dirs = [www];
  const statusQueue = `ipc:///tmp/piw-mon-status-${id}`;
  const controlQueue = `ipc:///tmp/piw-mon-control-${id}`;
  const [slavePort, filePort] = [freePort(), freePort()];
  const master = new PiwProcess("master", [
    "master",
    "-v",
    "--dsn",
    db.dsn,
    "-o",
    www,
    "--status-queue",
    statusQueue,
    "--control-queue",
    controlQueue,
    "--import-queue",
    `ipc:///tmp/piw-mon-import-${id}`,
    "--log-queue",
    `ipc:///tmp/piw-mon-log-${id}`,
    "--slave-queue",
    `tcp://127.0.0.1:${slavePort}`,
    "--file-queue",
    `tcp://127.0.0.1:${filePort}`,
    "--pypi-xmlrpc",
    pypi.xmlrpcUrl,
    "--pypi-json",
    pypi.jsonUrl,
    "--pypi-simple",
    pypi.simpleUrl,
  ]);
  const slaves: PiwProcess[] = [];
  const farm: Farm = {
    statusQueue,
    controlQueue,
    master,
    slaves,
    tails: () => [master, ...slaves].map((p) => p.tail()).join("\n"),
    async stop() {
      for (const p of [...slaves, master]) p.kill("SIGTERM");
      for (const p of [...slaves, master]) await p.exit(30_000).catch(() => {});
      await pypi.close();
      await db.remove();
      for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
    },
  };
  try {
    await master.waitForLine("master: ready", 120_000);
    for (const label of ["slave-a", "slave-b"]) {
      const dir = Deno.makeTempDirSync({ prefix: `piw-monitor-${label}-` });
      dirs.push(dir);
      slaves.push(
        new PiwProcess(label, [
          "slave",
          "-v",
          "--master",
          `127.0.0.1:${slavePort}:${filePort}`,
          "--label",
          label,
          "--dir",
          dir,
        ], { PIW_SLAVE_INTERVAL: "1s", PIW_MASTER_TIMEOUT: "60s" }),
      );
    }
    for (const slave of slaves) await slave.waitForLine("sleeping: no available jobs", 60_000);
    return farm;
  } catch (error) {
    await farm.stop();
    throw error;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
