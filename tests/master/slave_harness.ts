/**
 * A SlaveDriver running in-process against real libzmq sockets, with a scripted slave (REQ),
 * fake database and FileJuggler clients, and the queues around it (builds, status, stats,
 * skip, control) — for the conversation tests and the benchmark.
 * @module
 */
import { beforeWait, Context, type Socket } from "../../src/transport/mod.ts";
import {
  bigBrotherProtocol,
  type BuildQueue,
  type BuildStateTuple,
  type BuiltData,
  cloudGazerProtocol,
  decodeMessage,
  encodeMessage,
  type FileStateTuple,
  type MessageOf,
  monitorStatsProtocol,
  NO_DATA,
  type Protocol,
  slaveDriverControlProtocol,
  slaveDriverProtocol,
  type SlaveEvent,
  type SlaveHello,
  type SlaveStats,
  theArchitectProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { controlAddress } from "../../src/master/task.ts";
import type { FileJugglerClient, VerifyOutcome } from "../../src/clients/fs.ts";
import type { FileState } from "../../src/master/states.ts";
import type { MasterConfig } from "../../src/master/config.ts";
import {
  SlaveDriver,
  type SlaveDriverDb,
  type SlaveDriverOptions,
} from "../../src/master/tasks/slave_driver.ts";
import { delay, startTask, testConfig, waitFor } from "./helpers.ts";

const slaveSide = slaveDriverProtocol.reversed();
/** A request a slave sends. */
export type Request = MessageOf<typeof slaveSide.send>;
/** A reply the master sends. */
export type Reply = MessageOf<typeof slaveSide.recv>;

/** HELLO data: 3 h build timeout, `busySeconds` busy timeout, cp311 on linux_armv7l. */
export function helloData(
  overrides: { busyMs?: number; abi?: string; label?: string; buildMs?: number } = {},
): SlaveHello {
  return [
    TimeDelta.fromMilliseconds(overrides.buildMs ?? 3 * 3_600_000),
    TimeDelta.fromMilliseconds(overrides.busyMs ?? 300_000),
    "311",
    overrides.abi ?? "cp311",
    "linux_armv7l",
    overrides.label ?? "piw-test",
    "Raspbian GNU/Linux",
    "12 (bookworm)",
    "c03111",
    "100000001234abcd",
  ];
}

/** Slave stats with whole floats (they must still travel as floats). */
export function statsData(): SlaveStats {
  return [new Date(), 1e9, 5e8, 4e9, 2e9, 1e8, 1e8, 1, 45];
}

/** A file state for a wheel of `pkg` `version` (sha256 of nothing unless given). */
export function fileTuple(
  filename: string,
  overrides: { size?: number; hash?: string; platform?: string } = {},
): FileStateTuple {
  const parts = filename.replace(/\.whl$/, "").split("-");
  const [name = "", version = "", py = "", abi = "", platform = ""] = parts.length >= 5
    ? [parts[0], parts[1], ...parts.slice(-3)]
    : parts;
  return [
    filename,
    overrides.size ?? 123456,
    overrides.hash ?? "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    name,
    version,
    py,
    abi,
    overrides.platform ?? platform,
    ">=3.8",
    { apt: ["libc6"], pip: ["numpy"] },
    "/simple",
  ];
}

/** BUILT data: `status`, 5 s, "build log", files. */
export function builtData(status: boolean, files: FileStateTuple[] = []): BuiltData {
  return [status, TimeDelta.fromSeconds(5), "build log", files];
}

/** A scripted slave: REQ to the driver; `call` sends a request and waits for the reply. */
export class ScriptedSlave {
  readonly socket: Socket;

  constructor(context: Context, endpoint: string) {
    this.socket = context.socket("REQ", { linger: 0 });
    this.socket.connect(endpoint);
  }

  /** Send `request` (no reply awaited). */
  async send(request: Request): Promise<void> {
    await this.socket.send([encodeMessage(slaveSide, request.name, request.data as never)]);
  }

  /** Send raw bytes as the message. */
  async sendRaw(payload: Uint8Array): Promise<void> {
    await this.socket.send([payload]);
  }

  /** The next reply, or null if none arrives within `timeoutMs`. */
  async reply(timeoutMs = 3000): Promise<Reply | null> {
    const frames = await this.socket.recv(timeoutMs);
    return frames ? decodeMessage(slaveSide, frames[frames.length - 1]) : null;
  }

  /** Send `request` and return the reply (throws if none comes). */
  async call(request: Request, timeoutMs = 3000): Promise<Reply> {
    await this.send(request);
    const reply = await this.reply(timeoutMs);
    if (!reply) throw new Error(`no reply to ${request.name}`);
    return reply;
  }

  /** HELLO with `helloData(overrides)`; returns ACK's slave id. */
  async hello(overrides: Parameters<typeof helloData>[0] = {}): Promise<number> {
    const reply = await this.call({ name: "HELLO", data: helloData(overrides) });
    if (reply.name !== "ACK") throw new Error(`HELLO answered ${reply.name}`);
    return reply.data[0];
  }

  /** IDLE until the master hands out a build (it may first say SLEEP); the BUILD's data. */
  nextBuild(timeoutMs = 60_000) {
    return waitFor(
      async () => {
        const reply = await this.call({ name: "IDLE", data: statsData() }, 20_000);
        if (reply.name === "BUILD") return reply.data;
        await delay(500);
        return null;
      },
      timeoutMs,
      "a BUILD",
    );
  }

  close(): void {
    this.socket.close(0);
  }
}

/**
 * A database that records builds and answers GETABIS; `fail` makes it unreachable, `hold` (while
 * set) keeps LOGBUILDS from committing.
 */
export class FakeDb implements SlaveDriverDb {
  builds: BuildStateTuple[] = [];
  abis = new Set(["cp311", "cp39"]);
  fail = false;
  hold: Promise<void> | null = null;
  /** How many builds each LOGBUILDS carried. */
  batches: number[] = [];
  /** RETRYLIBS calls: [abi, names]. */
  libraryRetries: [string, string[]][] = [];

  retryLibraries(abi: string, names: string[]): Promise<number> {
    this.libraryRetries.push([abi, names]);
    return Promise.resolve(names.length);
  }

  findBuild(): Promise<number | null> {
    return this.fail ? Promise.reject(new Error("database down")) : Promise.resolve(null);
  }

  packageFiles(): Promise<Record<string, string>> {
    return Promise.resolve({});
  }

  reachable(): Promise<boolean> {
    return Promise.resolve(!this.fail);
  }

  logBuild(build: BuildStateTuple): Promise<number> {
    if (this.fail) return Promise.reject(new Error("database down"));
    this.builds.push(build);
    return Promise.resolve(this.builds.length);
  }

  async logBuilds(builds: BuildStateTuple[]): Promise<number[]> {
    this.batches.push(builds.length);
    await this.hold;
    if (this.fail) throw new Error("database down");
    return builds.map((build) => this.builds.push(build));
  }

  buildAbis(): Promise<Set<string>> {
    return Promise.resolve(new Set(this.abis));
  }
}

/** A FileJuggler client that records EXPECTs and answers VERIFY from a script. */
export class FakeFs implements FileJugglerClient {
  expected: [number, string][] = [];
  verified: [number, string][] = [];
  /** Outcomes of the next VERIFYs (default: staged). */
  outcomes: VerifyOutcome[] = [];

  expect(slaveId: number, file: FileState): Promise<void> {
    this.expected.push([slaveId, file.filename]);
    return Promise.resolve();
  }

  verify(slaveId: number, pkg: string): Promise<VerifyOutcome> {
    this.verified.push([slaveId, pkg]);
    return Promise.resolve(this.outcomes.shift() ?? { status: "staged" });
  }
}

/** Everything around one SlaveDriver under test. */
export interface DriverHarness {
  context: Context;
  driver: SlaveDriver;
  db: FakeDb;
  fs: FakeFs;
  /** SLAVE events published on the internal status queue. */
  status: Socket;
  /** STATBQ/STATFS pushed to BigBrother. */
  stats: Socket;
  /** A new scripted slave connected to the driver. */
  slave(): ScriptedSlave;
  /** Push QUEUE and wait until it is applied (its STATBQ arrives). */
  queue(queue: BuildQueue): Promise<Record<string, number>>;
  /** Send a control message (HELLO, KILL, SLEEP, SKIP, WAKE, PAUSE, RESUME). */
  control(name: string, data?: number | null): Promise<void>;
  /** Ask the skip queue to drop a package (version null) or version; resolves on OK. */
  skip(pkg: string, version: string | null): Promise<void>;
  /**
   * Status events published so far (SlaveDriver sends them once this thread is about to wait:
   * this waits for that, then drains the queue).
   */
  events(): Promise<SlaveEvent[]>;
  /** The next status event (waits up to `timeoutMs`). */
  event(timeoutMs?: number): Promise<SlaveEvent | null>;
  close(): Promise<void>;
}

/** Start a SlaveDriver with fakes; `options` tune it, `overrides` change its config. */
export async function startDriver(
  options: SlaveDriverOptions = {},
  overrides: Partial<MasterConfig> = {},
): Promise<DriverHarness> {
  const context = new Context();
  // Its own output tree: the build journal lives there.
  const outputPath = await Deno.makeTempDir({ prefix: "piw-driver-" });
  const config = testConfig({
    slaveQueue: "tcp://127.0.0.1:*",
    extrasQueue: "tcp://127.0.0.1:*",
    outputPath,
    ...overrides,
  });
  const status = context.socket("PULL", { linger: 0 });
  status.bind(config.intStatusQueue);
  const stats = context.socket("PULL", { linger: 0 });
  stats.bind(config.statsQueue);
  const db = new FakeDb();
  const fs = new FakeFs();
  const driver = await startTask(new SlaveDriver(context, config, { db, fs, ...options }));
  const builds = context.socket("PUSH", { linger: 0 });
  builds.connect(config.buildsQueue);
  const ctrl = context.socket("PUSH", { linger: 0 });
  ctrl.connect(controlAddress(driver.name));
  const skipQueue = context.socket("REQ", { linger: 0 });
  skipQueue.connect(config.skipQueue);
  const slaves: ScriptedSlave[] = [];
  // A message on the internal status queue holds one or more events, a frame each.
  const waiting: SlaveEvent[] = [];
  const take = (frames: Uint8Array[] | null): boolean => {
    for (const frame of frames ?? []) {
      const msg = decodeMessage(monitorStatsProtocol, frame);
      if (msg.name !== "SLAVE") throw new Error(`unexpected status ${msg.name}`);
      waiting.push(msg.data);
    }
    return frames !== null;
  };
  return {
    context,
    driver,
    db,
    fs,
    status,
    stats,
    slave() {
      const slave = new ScriptedSlave(context, driver.slaveEndpoint);
      slaves.push(slave);
      return slave;
    },
    async queue(queue) {
      while (stats.tryRecv()) { /* drop older statistics */ }
      await builds.send([encodeMessage(theArchitectProtocol.reversed(), "QUEUE", queue)]);
      for (;;) {
        const frames = await stats.recv(3000);
        if (!frames) throw new Error("no STATBQ after QUEUE");
        const msg = decodeMessage(bigBrotherProtocol, frames[0]);
        if (msg.name === "STATBQ") return msg.data;
      }
    },
    async control(name, data) {
      // Names only known at run time: use the protocol untyped.
      const side: Protocol = slaveDriverControlProtocol.reversed();
      await ctrl.send([encodeMessage(side, name, data === undefined ? NO_DATA : data)]);
    },
    async skip(pkg, version) {
      const side = cloudGazerProtocol.reversed();
      await skipQueue.send([
        version === null
          ? encodeMessage(side, "DELPKG", pkg)
          : encodeMessage(side, "DELVER", [pkg, version]),
      ]);
      const frames = await skipQueue.recv(3000);
      if (!frames || decodeMessage(side, frames[0]).name !== "OK") throw new Error("no OK");
    },
    async events() {
      let remove = () => {};
      await new Promise<void>((resolve) => remove = beforeWait(resolve));
      remove();
      while (take(status.tryRecv())) { /* all that is waiting */ }
      return waiting.splice(0);
    },
    async event(timeoutMs = 3000) {
      if (!waiting.length) take(await status.recv(timeoutMs));
      return waiting.shift() ?? null;
    },
    async close() {
      for (const s of slaves) s.close();
      await driver.stop();
      for (const s of [status, stats, builds, ctrl, skipQueue]) s.close(0);
      await context.close(0);
      await Deno.remove(outputPath, { recursive: true }).catch(() => {});
    },
  };
}

export { NO_DATA };
