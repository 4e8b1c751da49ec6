/**
 * Shared harness of the admin tool tests: a `piw master` subprocess (dev mode, PGlite, a PyPI
 * stand-in, its own queues and a free file-queue port), the `piw` client tools as subprocesses,
 * and a pure-Python wheel built once with the slave's builder.
 * @module
 */
import { type TestDatabase, testDatabase } from "../master/helpers.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { type PyPIStandIn, startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { createFixtureIndex, hermeticPipEnv } from "../fixtures/package_index.ts";
import { build } from "../../src/slave/builder.ts";
import { Context } from "../../src/transport/mod.ts";
import { ScriptedSlave } from "../master/slave_harness.ts";

import assert from "node:assert/strict";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** What a client tool printed and how it exited. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running `piw master` and how to reach it. */
export class MasterProcess extends PiwProcess {
  readonly importQueue: string;
  readonly fileQueue: string;
  readonly outputPath: string;

  /** Start `piw master` on `dsn`, following the PyPI stand-in `pypi` (with `extraArgs`). */
  constructor(
    dsn: string,
    readonly pypi: PyPIStandIn,
    queues = masterQueues(`/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`, 0, freePort()),
    outputPath = Deno.makeTempDirSync({ prefix: "piw-admin-www-" }),
    extraArgs: string[] = [],
  ) {
    super("master", [
      ...masterCommand(dsn, outputPath, queues),
      "--dev-mode",
      ...pypi.masterArgs,
      ...extraArgs,
    ]);
    this.importQueue = queues.import;
    this.fileQueue = queues.file;
    this.outputPath = outputPath;
  }

  /** The arguments of `piw <args>` against this master (its queues, its PyPI stand-in). */
  toolArgs(args: string[], extra: string[] = []): string[] {
    const queues = ["--import-queue", this.importQueue, "--timeout", "20s"];
    if (args[0] === "import") queues.push("--file-queue", this.fileQueue);
    if (args[0] === "add") queues.push("--pypi-json", this.pypi.jsonUrl);
    return [...args, ...queues, ...extra];
  }

  /** Run `piw <args>` against this master. */
  tool(args: string[], extra: string[] = []): Promise<ToolResult> {
    return runTool(this.toolArgs(args, extra));
  }

  /** Remove the output directory. */
  cleanUp(): void {
    Deno.removeSync(this.outputPath, { recursive: true });
  }
}

/** Run `cmd <args>` (stdin closed, with `options`) and collect what it printed. */
export async function runCommand(
  cmd: string,
  args: string[],
  options: Pick<Deno.CommandOptions, "env" | "cwd"> = {},
): Promise<ToolResult> {
  const out = await new Deno.Command(cmd, {
    ...options,
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Run `piw <args>` (stdin closed, so any prompt counts as declined). */
export function runTool(args: string[]): Promise<ToolResult> {
  return runCommand(Deno.execPath(), ["run", "-A", MAIN, ...args]);
}

/**
 * Run `piw <args>`, wait for its "Proceed?" prompt, run `beforeYes` (which may change things
 * under the tool's feet), then answer yes.
 */
export async function runToolAnswering(
  args: string[],
  beforeYes: () => Promise<void>,
): Promise<ToolResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!stdout.includes("Proceed? [")) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  await beforeYes();
  const stdin = child.stdin.getWriter();
  await stdin.write(new TextEncoder().encode("y\n"));
  await stdin.close();
  for (let r = await reader.read(); !r.done; r = await reader.read()) stdout += r.value;
  return { code: (await child.status).code, stdout, stderr: await stderr };
}

/**
 * Start a master (with `extraArgs`) on a fresh PGlite database (build ABI cp311) and run `fn` with it and a
 * scripted slave on its slave queue (silent until told to speak); then stop it and run
 * `afterStop` (PGlite allows one user at a time) before the database is removed.
 */
export async function withMaster(
  fn: (master: MasterProcess, db: TestDatabase, slave: ScriptedSlave) => Promise<void>,
  afterStop: (db: TestDatabase) => Promise<void> = async () => {},
  extraArgs: string[] = [],
): Promise<void> {
  const db = await testDatabase("pglite", async (admin) => {
    await admin.query("INSERT INTO build_abis (abi_tag) VALUES ('cp311')");
  });
  const pypi = await startPyPIStandIn();
  const slavePort = freePort();
  const queues = masterQueues(
    `/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`,
    slavePort,
    freePort(),
  );
  const master = new MasterProcess(db.dsn, pypi, queues, undefined, extraArgs);
  const context = new Context();
  const slave = new ScriptedSlave(context, `tcp://127.0.0.1:${slavePort}`);
  try {
    await master.waitForLine("master: ready", 120_000);
    await fn(master, db, slave);
    assert.equal(await master.stop(60_000), 0, "the master stops cleanly");
    assert.ok(!exists(master.importQueue.slice("ipc://".length)), "import queue file removed");
    await afterStop(db);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nmaster stderr:\n${master.lines.join("\n")}`, {
      cause: error,
    });
  } finally {
    slave.close();
    await context.close();
    await master.stop();
    master.cleanUp();
    await db.remove();
    await pypi.close();
  }
}

let wheel: Promise<{ path: string; filename: string }> | null = null;

/** A pure-Python wheel of piw-admin-pkg 1.0, built once per test process into a temp dir. */
export function adminWheel(): Promise<{ path: string; filename: string }> {
  wheel ??= (async () => {
    const index = await createFixtureIndex([{ name: "piw-admin-pkg", version: "1.0" }]);
    try {
      const result = await build("piw-admin-pkg", "1.0", {
        indexUrl: index.url,
        env: hermeticPipEnv(),
      });
      if (!result.status) throw new Error(result.output);
      const dir = await Deno.makeTempDir({ prefix: "piw-admin-wheel-" });
      const [file] = result.files;
      await Deno.copyFile(file.path, `${dir}/${file.filename}`);
      await result.cleanup();
      return { path: `${dir}/${file.filename}`, filename: file.filename };
    } finally {
      await index.close();
    }
  })();
  return wheel;
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
