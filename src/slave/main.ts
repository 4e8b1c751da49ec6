/**
 * `piw slave`: a build slave, wire-compatible with a piwheels 0.23 master (its slave and file
 * protocols). It says HELLO with the target interpreter's tags, asks for work (IDLE), builds
 * what it is told with pip (the `--timeout` enforced on the whole process tree), reports BUILT,
 * sends the wheels over the file queue, and starts over from HELLO on a new socket when the
 * master is silent too long. SIGTERM/SIGINT or DIE end it cleanly (BYE, exit 0).
 *
 * A restarted master never answers this socket: its requests come from a peer it does not
 * know. So the slave starts over at once when the connection to the master drops (a master
 * killed or restarted closes it), since whatever answers afterwards, even the same master
 * after a network hiccup, knows the socket under a new routing id only. For a master gone
 * without closing the connection (a host that lost power), HELLO and IDLE, which a live master
 * answers at once, get the short reply timeout. BUSY, BUILT and SENT get the long master
 * timeout: the master may be busy logging or verifying another slave's build, and a build
 * must not be thrown away for that. A transfer stops when the connection drops too, and gives
 * up after twice the reply timeout of silence (the file queue answers HELLO at once, and the
 * sender says HELLO again every 5 s).
 * A session that ends mid-build abandons the build (stopped, its directory removed): BUILT
 * answers only a BUILD of the same session, so a new session cannot report it, and the
 * version is not lost (unlogged, it is queued again).
 *
 * Beyond the options, four environment variables (mostly for tests):
 * - `PIW_MASTER_TIMEOUT` (duration, default 5m): silence before reconnecting while the master
 *   may be slow; sent as busy_timeout in HELLO, so the master drops the slave after as long;
 * - `PIW_REPLY_TIMEOUT` (duration, default 15s, at most the master timeout): silence after
 *   HELLO or IDLE before reconnecting;
 * - `PIW_SLAVE_INTERVAL` (duration): the pause after SLEEP (default a random 1–3 s, so an idle
 *   slave takes a new release within seconds; an idle slave's IDLE costs the master little) and
 *   the longest wait for a build between BUSY messages (default a random 5–10 s);
 * - `PIW_ALLOW_ROOT=1`: allow running as root (CI containers).
 * Under systemd (`$NOTIFY_SOCKET`) it reports as piwheels' slave does: READY=1 on each connect,
 * RELOADING=1 when it starts over, WATCHDOG=1 from its loop when the unit has WatchdogSec,
 * STOPPING=1 at exit, and a STATUS= line for each change of what it is doing.
 * `--master` may carry ports: see `endpoints.ts`. One slave uses a `--dir` at a time; it cleans
 * up after a killed predecessor there, and its builds die with it (see `dir_lock.ts`).
 * @module
 */
import { PiwError } from "../errors.ts";
import type { SlaveOptions } from "../cli/options.ts";
import { parseDuration } from "../cli/duration.ts";
import { getLogger } from "../log.ts";
import { Context, type Socket, ZMQ } from "../transport/mod.ts";
import {
  type BuiltData,
  decodeMessage,
  encodeMessage,
  encodeMessageOf,
  type MessageOf,
  NO_DATA,
  ProtocolError,
  slaveDriverProtocol,
  slaveExtrasProtocol,
  type SlaveHello,
  type SlaveStats,
  TimeDelta,
} from "../protocols/mod.ts";
import { build, type BuildResult } from "./builder.ts";
import { boardFacts, type InterpreterFacts, interpreterFacts, osFacts } from "../system/facts.ts";
import { librariesFound, searchDirs } from "./libraries.ts";
import { fileStateTuple } from "./inspect.ts";
import { slaveStats, statsTuple } from "../system/stats.ts";
import { type MasterEndpoints, masterEndpoints } from "./endpoints.ts";
import { sendFile } from "./transfer.ts";
import { SlaveDirLock } from "./dir_lock.ts";
import { sdNotify, watchdogEnabled } from "../master/system.ts";

const slaveSide = slaveDriverProtocol.reversed();
const extrasSide = slaveExtrasProtocol.reversed();
type Request = MessageOf<typeof slaveSide.send>;
type Reply = MessageOf<typeof slaveSide.recv>;

/** ZMQ_REQ_RELAXED: lets BYE go out while a reply is still awaited (zmq.h). */
const REQ_RELAXED = 53;
/** The earliest plausible clock (piwheels refuses to start before it). */
const CLOCK_FLOOR = Date.UTC(2020, 5, 1);
const DEFAULT_MASTER_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_REPLY_TIMEOUT_MS = 15_000;
/** The requests a live master answers at once (see the module documentation). */
const PROMPT_REPLIES: ReadonlySet<string> = new Set(["HELLO", "IDLE"]);

/** The master went silent (or talked nonsense): drop the connection and start over. */
export class MasterTimeout extends PiwError {
  override name = "MasterTimeout";
}

/** Refuse root (unless PIW_ALLOW_ROOT=1) and a clock before 2020-06-01, as piwheels does. */
export function checkEnvironment(
  uid: number | null = Deno.uid(),
  now = Date.now(),
  allowRoot = Deno.env.get("PIW_ALLOW_ROOT") === "1",
): void {
  if (uid === 0 && !allowRoot) {
    throw new PiwError("piw slave must not be run as root (set PIW_ALLOW_ROOT=1 to allow it)");
  }
  if (now < CLOCK_FLOOR) throw new PiwError("the system clock is far in the past");
}

/** Timing of a slave (the defaults are piwheels'). */
export interface SlaveTiming {
  /** Silence from the master before reconnecting, ms. */
  masterTimeoutMs: number;
  /** Silence after HELLO or IDLE before reconnecting, ms. */
  replyTimeoutMs: number;
  /** Longest wait between BUSY messages, ms; a fresh value each time. */
  intervalMs: () => number;
  /** Pause after SLEEP, ms; a fresh value each time. */
  sleepMs: () => number;
}

/** The timing from PIW_MASTER_TIMEOUT and PIW_SLAVE_INTERVAL (see the module documentation). */
export function timingFromEnv(env = Deno.env): SlaveTiming {
  const timeout = env.get("PIW_MASTER_TIMEOUT");
  const reply = env.get("PIW_REPLY_TIMEOUT");
  const interval = env.get("PIW_SLAVE_INTERVAL");
  const fixed = interval ? parseDuration(interval) : null;
  const masterTimeoutMs = timeout ? parseDuration(timeout) : DEFAULT_MASTER_TIMEOUT_MS;
  return {
    masterTimeoutMs,
    replyTimeoutMs: Math.min(
      masterTimeoutMs,
      reply ? parseDuration(reply) : DEFAULT_REPLY_TIMEOUT_MS,
    ),
    intervalMs: () => fixed ?? 5_000 + Math.floor(Math.random() * 5_001),
    sleepMs: () => fixed ?? 1_000 + Math.floor(Math.random() * 2_001),
  };
}

/** Run `piw slave` with parsed options; resolves to the exit code. */
export async function run(options: SlaveOptions): Promise<number> {
  checkEnvironment();
  const endpoints = masterEndpoints(options.master);
  const timing = timingFromEnv();
  const lock = await SlaveDirLock.acquire(options.dir);
  try {
    return await runLocked(options, endpoints, timing, lock);
  } finally {
    lock.release();
  }
}

async function runLocked(
  options: SlaveOptions,
  endpoints: MasterEndpoints,
  timing: SlaveTiming,
  lock: SlaveDirLock,
): Promise<number> {
  const [py, os, board] = await Promise.all([
    interpreterFacts(options.python),
    osFacts(),
    boardFacts(),
  ]);
  const hello: SlaveHello = [
    TimeDelta.fromMilliseconds(options.timeout),
    TimeDelta.fromMilliseconds(timing.masterTimeoutMs),
    py.pyVersion,
    py.abi,
    py.platform,
    options.label,
    os.osName,
    os.osVersion,
    board.boardRevision,
    board.boardSerial,
  ];
  const slave = new Slave(options, endpoints, timing, hello, lock, py);
  const stop = () => slave.stop();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  try {
    return await slave.run();
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
  }
}

/**
 * Watches the slave queue's connection: once it has dropped, the master (a new one, or the same
 * one after a hiccup) knows this socket under another routing id and will never answer it.
 */
class LinkWatch {
  readonly #events: Socket;
  #lost = false;

  constructor(context: Context, queue: Socket, n: number) {
    const endpoint = `inproc://piw-slave-link-${n}`;
    queue.monitor(endpoint, ZMQ.EVENT_DISCONNECTED);
    this.#events = context.socket("PAIR", { linger: 0 });
    this.#events.connect(endpoint);
  }

  /** Throw MasterTimeout if the connection has dropped since the socket was made. */
  check(): void {
    for (let frames = this.#events.tryRecv(); frames; frames = this.#events.tryRecv()) {
      const event = frames[0];
      if (event.length >= 2 && (event[0] | event[1] << 8) === ZMQ.EVENT_DISCONNECTED) {
        this.#lost = true;
      }
    }
    if (this.#lost) throw new MasterTimeout("the connection to the master dropped");
  }

  close(): void {
    if (!this.#events.closed) this.#events.close(0);
  }
}

/**
 * systemd notifications (see the module documentation). Watchdog pings come from the protocol
 * loop, at most once a second, so a loop that stops turning stops them; without
 * `$NOTIFY_SOCKET` nothing is sent.
 */
class ServiceNotifier {
  readonly #watchdog = watchdogEnabled();
  #lastPing = -Infinity;
  #status = "";

  /** Tell systemd `state` (e.g. READY=1), with `status` as the STATUS= line if it changed. */
  notify(status: string, state?: string): void {
    const lines = state ? [state] : [];
    if (status !== this.#status) lines.push(`STATUS=${status}`);
    this.#status = status;
    if (lines.length) sdNotify(lines.join("\n"));
  }

  /** STOPPING=1, once (on a signal, or at the end of the loop). */
  stopping(): void {
    if (this.#status !== "stopping") this.notify("stopping", "STOPPING=1");
  }

  /** WATCHDOG=1 when the unit has WatchdogSec and a second has passed since the last one. */
  ping(): void {
    if (!this.#watchdog) return;
    const now = performance.now();
    if (now - this.#lastPing < 1000) return;
    this.#lastPing = now;
    sdNotify("WATCHDOG=1");
  }
}

/** A build started on BUILD: its result (or why it could not run) once finished. */
interface RunningBuild {
  controller: AbortController;
  done: Promise<BuildResult | Error>;
  result: BuildResult | Error | null;
}

/** The slave's protocol loop (piwheels' PiWheelsSlave). */
class Slave {
  #log = getLogger("slave");
  #stopping = new AbortController();
  #build: RunningBuild | null = null;
  #slaveId: number | null = null;
  #pypiUrl = "";
  #context = new Context();
  #systemd = new ServiceNotifier();
  /** PUSH to the master's extras queue (HAVE); made afresh at each ACK. */
  #extras: Socket | null = null;

  constructor(
    private readonly options: SlaveOptions,
    private readonly endpoints: MasterEndpoints,
    private readonly timing: SlaveTiming,
    private readonly hello: SlaveHello,
    private readonly lock: SlaveDirLock,
    private readonly py: InterpreterFacts,
  ) {}

  /** SIGTERM/SIGINT: abort whatever is under way; the loop then says BYE and ends. */
  stop(): void {
    if (this.#stopping.signal.aborted) return;
    this.#log.warning("shutting down on signal");
    this.#systemd.stopping();
    this.#stopping.abort(new PiwError("the slave is shutting down"));
  }

  /** Talk to the master until DIE or a signal; reconnect after master timeouts. */
  async run(): Promise<number> {
    let queue: Socket | null = null;
    let link: LinkWatch | null = null;
    try {
      /** Connections the master has not answered since it last did. */
      let waits = 0;
      this.#log.info(`connecting to the master at ${this.endpoints.slave}`);
      for (let n = 0; !this.#stopping.signal.aborted; n++) {
        const status = `connecting to the master at ${this.endpoints.slave}`;
        this.#systemd.notify(status, n > 0 ? "RELOADING=1" : undefined);
        queue = this.#context.socket("REQ", { hwm: 10, linger: 1000 });
        queue.setIntOption(REQ_RELAXED, 1);
        link = new LinkWatch(this.#context, queue, n);
        queue.connect(this.endpoints.slave);
        try {
          await this.#session(queue, link);
          break;
        } catch (e) {
          if (!(e instanceof MasterTimeout)) throw e;
          // Say once, by default, what the slave waits for and where; a master that is not up
          // yet would otherwise cost a warning every reply timeout.
          const unanswered = this.#slaveId === null;
          waits = unanswered ? waits + 1 : 0;
          const master = `the master at ${this.endpoints.slave}`;
          const every = Math.round(this.timing.replyTimeoutMs / 1000);
          this.#log[unanswered && waits > 1 ? "info" : "warning"](
            unanswered
              ? `${e.message}; retrying ${master} every ${every} s until it answers`
              : `${e.message}; resetting the connection to ${master}`,
          );
          link.close();
          queue.close(0);
          queue = null;
        } finally {
          await this.#cleanUpBuild();
        }
      }
    } finally {
      this.#systemd.stopping();
      link?.close();
      if (queue && !queue.closed) {
        try {
          // Sent without waiting: a master that has gone must not keep the slave alive.
          queue.trySend([encodeMessage(slaveSide, "BYE")]);
        } catch (e) {
          this.#log.debug(`BYE not sent: ${(e as Error).message}`);
        }
      }
      this.#extras?.close(0);
      await this.#context.close(1000);
    }
    return 0;
  }

  /**
   * Say on the extras queue which libraries of the Debian table this slave has, so the master
   * retries the failures they caused. Never waited on: a piwheels master does not listen there,
   * and libzmq then keeps the one message until the next ACK's socket replaces it (a stale slave
   * id must not reach a later master) or the slave exits (linger 0).
   */
  #tellHave(): void {
    try {
      this.#extras?.close(0);
      this.#extras = this.#context.socket("PUSH", { sndHwm: 1, linger: 0 });
      this.#extras.connect(this.endpoints.extras);
      const found = librariesFound(searchDirs(this.py));
      const sent = this.#extras.trySend([
        encodeMessage(extrasSide, "HAVE", [this.#slaveId!, found]),
      ]);
      this.#log.debug(`HAVE ${found.length} libraries ${sent ? "sent" : "not sent"}`);
    } catch (e) {
      this.#log.warning(`cannot tell the master which libraries this slave has: ${e}`);
    }
  }

  /** One connection: HELLO, then request/reply until DIE or stop. */
  async #session(queue: Socket, link: LinkWatch): Promise<void> {
    this.#slaveId = null;
    let request: Request | null = { name: "HELLO", data: this.hello };
    while (request && !this.#stopping.signal.aborted) {
      link.check();
      await queue.send([encodeMessageOf(slaveSide, request)]);
      const reply = await this.#receive(queue, link, request.name);
      if (!reply) return; // stopping
      request = await this.#handle(reply, link);
    }
  }

  /**
   * The master's reply to `request`, or null when stopping; MasterTimeout after the reply
   * timeout (HELLO, IDLE, BUSY) or the master timeout (the rest).
   */
  async #receive(queue: Socket, link: LinkWatch, request: string): Promise<Reply | null> {
    const timeoutMs = PROMPT_REPLIES.has(request)
      ? this.timing.replyTimeoutMs
      : this.timing.masterTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#stopping.signal.aborted) return null;
      this.#systemd.ping();
      link.check();
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        throw new MasterTimeout(
          `no reply to ${request} from the master in ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      const frames = await queue.recv(Math.min(remaining, 200));
      if (!frames) continue;
      try {
        return decodeMessage(slaveSide, frames[frames.length - 1]);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        throw new MasterTimeout(`invalid reply from the master: ${e.message}`);
      }
    }
  }

  /** The next request for a reply (null after DIE). */
  async #handle(reply: Reply, link: LinkWatch): Promise<Request | null> {
    const expect = (ok: boolean, what: string) => {
      if (!ok) throw new MasterTimeout(`protocol error: ${reply.name} ${what}`);
    };
    switch (reply.name) {
      case "ACK": {
        expect(this.#slaveId === null, "after ACK");
        [this.#slaveId, this.#pypiUrl] = reply.data;
        this.#log = getLogger(`slave.${this.#slaveId}`);
        this.#log.info(`connected to master as slave ${this.#slaveId}`);
        this.#systemd.notify(`connected to the master as slave ${this.#slaveId}`, "READY=1");
        this.#tellHave();
        return { name: "IDLE", data: await this.#stats() };
      }
      case "SLEEP":
        expect(this.#slaveId !== null, "before ACK");
        this.#log.info(reply.data ? "sleeping: paused" : "sleeping: no available jobs");
        this.#systemd.notify(reply.data ? "idle: the master is paused" : "idle: no available jobs");
        await this.#pause(this.timing.sleepMs());
        return { name: "IDLE", data: await this.#stats() };
      case "BUILD":
        expect(this.#slaveId !== null && !this.#build, "before ACK or during a build");
        this.#startBuild(...reply.data);
        return { name: "BUSY", data: await this.#stats() };
      case "CONT": {
        expect(this.#build !== null, "without a build");
        const running = this.#build!;
        await Promise.race([running.done, this.#pause(this.timing.intervalMs())]);
        if (!running.result) return { name: "BUSY", data: await this.#stats() };
        return { name: "BUILT", data: this.#built(running.result) };
      }
      case "SEND": {
        const result = this.#build?.result;
        const file = result instanceof Error
          ? undefined
          : result?.files.find((f) => f.filename === reply.data);
        expect(file !== undefined, `${reply.data}: no such file built`);
        this.#log.info(`sending ${file!.filename} to the master`);
        this.#systemd.notify(`sending ${file!.filename} to the master`);
        // A dropped slave queue means a new master, which expects no file from this slave.
        const dropped = new AbortController();
        const watch = setInterval(() => {
          this.#systemd.ping();
          try {
            link.check();
          } catch (e) {
            dropped.abort(e);
          }
        }, 250);
        await sendFile(this.#context, this.endpoints.file, this.#slaveId!, file!.path, {
          helloAfterMs: Math.min(5_000, this.timing.replyTimeoutMs),
          giveUpAfterMs: Math.min(2 * this.timing.replyTimeoutMs, this.timing.masterTimeoutMs),
          signal: AbortSignal.any([this.#stopping.signal, dropped.signal]),
        }).catch((e) => {
          if (this.#stopping.signal.aborted) return;
          if (dropped.signal.aborted) throw dropped.signal.reason;
          throw new MasterTimeout(`transfer of ${file!.filename} failed: ${e.message}`);
        }).finally(() => clearInterval(watch));
        return this.#stopping.signal.aborted ? null : { name: "SENT", data: NO_DATA };
      }
      case "DONE":
        expect(this.#build !== null, "without a build");
        await this.#cleanUpBuild();
        return { name: "IDLE", data: await this.#stats() };
      case "DIE":
        this.#log.warning("the master asked the slave to terminate");
        return null;
    }
  }

  #startBuild(pkg: string, version: string): void {
    this.#log.warning(`building package ${pkg} version ${version}`);
    this.#systemd.notify(`building package ${pkg} version ${version}`);
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.#stopping.signal]);
    const running: RunningBuild = { controller, result: null, done: Promise.resolve(null!) };
    running.done = build(pkg, version, {
      python: this.options.python,
      indexUrl: this.#pypiUrl,
      extraIndexUrls: this.options.extraIndexUrl.includes("none") ? [] : this.options.extraIndexUrl,
      timeoutMs: this.options.timeout,
      memoryLimit: this.options.memoryLimit || undefined,
      dir: this.options.dir,
      signal,
      onProgress: (where) => this.lock.record(where),
    }).catch((e: Error) => e).then((result) => running.result = result);
    this.#build = running;
  }

  #built(result: BuildResult | Error): BuiltData {
    if (result instanceof Error) {
      this.#log.error(`build could not run: ${result.message}`);
      return [false, new TimeDelta(), `${result.message}\n`, []];
    }
    if (result.status) this.#log.info("build succeeded");
    else this.#log.warning("build failed");
    return [
      result.status,
      TimeDelta.fromMilliseconds(result.durationMs),
      result.output,
      result.files.map(fileStateTuple),
    ];
  }

  /** Stop any build, wait for its processes to go, and remove its directory. */
  async #cleanUpBuild(): Promise<void> {
    const running = this.#build;
    if (!running) return;
    this.#build = null;
    if (!running.result) {
      this.#log.info("terminating the current build");
      running.controller.abort(new PiwError("the master ended the build"));
    }
    const result = await running.done;
    if (!(result instanceof Error)) {
      this.#log.info("removing the build directory");
      await result.cleanup().catch((e) => this.#log.error(`cleanup failed: ${e.message}`));
    }
    this.lock.record(null);
  }

  async #stats(): Promise<SlaveStats> {
    return statsTuple(await slaveStats(this.options.dir)) as SlaveStats;
  }

  /** Wait `ms`, or less if the slave is stopping; the watchdog is pinged meanwhile. */
  async #pause(ms: number): Promise<void> {
    const until = performance.now() + ms;
    const signal = this.#stopping.signal;
    for (let left = ms; left > 0 && !signal.aborted; left = until - performance.now()) {
      this.#systemd.ping();
      await this.#sleep(Math.min(left, 1000));
    }
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stopping.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
  }
}
