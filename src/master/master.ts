/**
 * The master's main thread: binds the monitor queues, starts every task in its Worker, forwards
 * task status to monitors, acts on monitor control messages, pauses on low disk space (and
 * resumes when it is back) and stops everything in reverse order on SIGTERM, SIGINT, QUIT or a failed task.
 * @module
 */
import { Context, ipcPath, Poller, Queue, type QueueOf, type Socket } from "../transport/mod.ts";
import { getLogger, RateLimitedLog } from "../log.ts";
import {
  bigBrotherControlProtocol,
  encodeMessage,
  masterControlProtocol,
  type MasterHello,
  MAX_MESSAGE_SIZE,
  monitorStatsProtocol,
  ProtocolError,
  slaveDriverControlProtocol,
} from "../protocols/mod.ts";
import type { MasterConfig } from "./config.ts";
import { diskUsage, masterHello, sdNotify, watchdogEnabled } from "./system.ts";
import { TaskFailedError, TaskWorker } from "./supervisor.ts";
import { lineup } from "./tasks/mod.ts";

const log = getLogger("master");
/** Whoever may write to the control queue can repeat junk: a few lines a minute. */
const controlErrors = new RateLimitedLog(log);

/** How long each task has to become ready (piwheels: 60 s). */
export const READY_TIMEOUT = 60_000;
/** How long a task has to stop after QUIT before its Worker is terminated. */
export const STOP_TIMEOUT = 10_000;
/** How often the main loop checks disk space and pings the systemd watchdog. */
const HOUSEKEEPING_MS = 5_000;
const WAKE_QUEUE = "inproc://master-wake";
const statusSendSide = monitorStatsProtocol.reversed();

/** The master: `run()` resolves to the exit code once everything has stopped. */
export class Master {
  readonly #config: MasterConfig;
  readonly #context = new Context();
  readonly #tasks: TaskWorker[] = [];
  readonly #started = new Date();
  #hello: MasterHello | null = null;
  #extStatus!: Socket;
  #control!: Socket;
  #controlIn!: QueueOf<typeof masterControlProtocol>;
  #intStatus!: Socket;
  #wake!: Socket;
  #waker!: Socket;
  #quitting = false;
  readonly #quitSignal = Promise.withResolvers<void>();
  #pumpDone = false;
  #exitCode = 0;
  /** Free space is at or below `minFreeSpace` (pausing once per shortage). */
  #diskShort = false;
  /** This master paused for low disk and nobody has woken it since (so it resumes itself). */
  #diskPaused = false;
  /** A monitor's SLEEP (all) is in force: resuming after low disk must not undo it. */
  #monitorPaused = false;
  #nextHousekeeping = 0;
  readonly #onSignal = (signal: string) => () => this.quit(`received ${signal}`);
  readonly #signals: [Deno.Signal, () => void][] = [
    ["SIGTERM", this.#onSignal("SIGTERM")],
    ["SIGINT", this.#onSignal("SIGINT")],
  ];

  /** A master with `config` (nothing is bound until `run`). */
  constructor(config: MasterConfig) {
    this.#config = config;
  }

  /** Bind, start the tasks, serve until asked to stop, stop; resolves to the exit code. */
  async run(): Promise<number> {
    for (const [signal, handler] of this.#signals) Deno.addSignalListener(signal, handler);
    try {
      this.#bind();
      this.#hello = await masterHello(this.#started);
      if (await this.#startTasks()) {
        sdNotify("READY=1");
        log.warning("ready");
        await this.#loop();
      }
    } catch (error) {
      log.error(error instanceof Error ? error.message : String(error));
      this.#exitCode = 1;
    } finally {
      await this.#shutdown();
      for (const [signal, handler] of this.#signals) Deno.removeSignalListener(signal, handler);
    }
    return this.#exitCode;
  }

  /** Stop the master (from a signal, QUIT or a failed task); safe to call more than once. */
  quit(reason: string): void {
    if (this.#quitting) return;
    log.warning(`shutting down: ${reason}`);
    this.#quitting = true;
    this.#quitSignal.resolve();
    this.#waker?.trySend(["QUIT"]);
  }

  #bind(): void {
    const ctx = this.#context;
    this.#extStatus = this.#bindExternal("PUB", this.#config.statusQueue);
    this.#control = this.#bindExternal("PULL", this.#config.controlQueue);
    this.#controlIn = new Queue(this.#control, masterControlProtocol, "plain");
    this.#intStatus = ctx.socket("PULL", { linger: 0 });
    this.#intStatus.bind(this.#config.intStatusQueue);
    this.#wake = ctx.socket("PULL", { linger: 0 });
    this.#wake.bind(WAKE_QUEUE);
    this.#waker = ctx.socket("PUSH", { linger: 0 });
    this.#waker.connect(WAKE_QUEUE);
  }

  /** Bind a monitor queue; an ipc socket file gets group write (monitors run as others). */
  #bindExternal(type: "PUB" | "PULL", address: string): Socket {
    const socket = type === "PUB"
      ? this.#context.socket("PUB", { linger: 1000, maxMsgSize: MAX_MESSAGE_SIZE.statusQueue })
      : this.#context.socket("PULL", {
        rcvHwm: 10,
        linger: 0,
        maxMsgSize: MAX_MESSAGE_SIZE.controlQueue,
      });
    socket.bind(address);
    const path = ipcPath(address);
    if (path) {
      Deno.chmodSync(path, ((Deno.statSync(path).mode ?? 0o600) & 0o7777) | 0o020);
    }
    return socket;
  }

  /** Start each task in order, waiting until it is ready; false if stopped or one failed. */
  async #startTasks(): Promise<boolean> {
    for (const spec of lineup(this.#config)) {
      if (this.#quitting) return false;
      const task = new TaskWorker(
        spec,
        this.#context,
        this.#config,
        (failed, reason) => this.#taskFailed(failed, reason),
      );
      this.#tasks.push(task);
      try {
        await Promise.race([task.ready(READY_TIMEOUT), this.#quitSignal.promise]);
      } catch (error) {
        const message = error instanceof TaskFailedError ? error.message : String(error);
        log.error(`cannot start: ${message}`);
        this.#exitCode = 1;
        return false;
      }
      log.info(`started ${task.name}`);
    }
    return !this.#quitting;
  }

  #taskFailed(task: TaskWorker, reason: string): void {
    log.error(`task ${task.name} failed: ${reason}`);
    this.#exitCode = 1;
    this.quit(`task ${task.name} failed`);
  }

  async #loop(): Promise<void> {
    const poller = new Poller();
    const sockets = [this.#control, this.#intStatus, this.#wake];
    while (!this.#quitting) {
      if (performance.now() >= this.#nextHousekeeping) {
        await this.#housekeeping();
        this.#nextHousekeeping = performance.now() + HOUSEKEEPING_MS;
      }
      const timeout = Math.max(0, this.#nextHousekeeping - performance.now());
      for (const socket of await poller.poll(sockets, timeout)) {
        if (socket === this.#intStatus) this.#forwardStatus();
        else if (socket === this.#control) this.#onControl();
        else while (this.#wake.tryRecv()) { /* only wakes the poll */ }
      }
    }
  }

  /**
   * Forward everything waiting on the internal status queue to monitors: each frame is a
   * message of its own (a task may send several in one, see SlaveDriver's `#publish`).
   */
  #forwardStatus(): void {
    for (let frames = this.#intStatus.tryRecv(); frames; frames = this.#intStatus.tryRecv()) {
      for (const frame of frames) this.#extStatus.trySend([frame]);
    }
  }

  #onControl(): void {
    const frames = this.#control.tryRecv();
    if (!frames) return;
    let msg;
    try {
      [msg] = this.#controlIn.read(frames);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      controlErrors.error("malformed", `dropped malformed control message: ${error.message}`);
      return;
    }
    log.debug(`control: ${msg.name}`);
    switch (msg.name) {
      case "QUIT":
        this.quit("QUIT from a monitor");
        break;
      case "HELLO":
        log.warning("sending status to new monitor");
        this.#extStatus.trySend([encodeMessage(statusSendSide, "HELLO", this.#hello!)]);
        this.#toTask("big_brother", "STATS");
        this.#toTask("slave_driver", "HELLO");
        break;
      case "KILL":
      case "SKIP":
        this.#toTask("slave_driver", msg.name, msg.data);
        break;
      case "SLEEP":
        this.#toTask("slave_driver", "SLEEP", msg.data);
        if (msg.data === null) {
          this.#monitorPaused = true;
          this.#pauseAll();
        }
        break;
      case "WAKE":
        this.#toTask("slave_driver", "WAKE", msg.data);
        if (msg.data === null) {
          // The monitor's word wins over both pauses (a low-disk one too, as before).
          this.#monitorPaused = this.#diskPaused = false;
          this.#resumeAll();
        }
        break;
    }
  }

  /** Send a control message to the running task `name` (SlaveDriver's or BigBrother's). */
  #toTask(name: string, message: string, data?: unknown): void {
    const task = this.#tasks.find((t) => t.name === name && t.state === "running");
    if (!task) return;
    const protocol = name === "slave_driver"
      ? slaveDriverControlProtocol
      : bigBrotherControlProtocol;
    if (!task.send(message, data, protocol)) log.warning(`${name} did not take ${message}`);
  }

  #pauseAll(): void {
    log.warning("pausing operations");
    for (const task of this.#tasks) task.send("PAUSE");
  }

  #resumeAll(): void {
    log.warning("resuming operations");
    for (const task of this.#tasks) task.send("RESUME");
  }

  /**
   * Ping the watchdog; pause everything once when the output filesystem runs low, and resume
   * once space is back, unless a monitor paused (or woke) the master meanwhile.
   */
  async #housekeeping(): Promise<void> {
    if (watchdogEnabled()) sdNotify("WATCHDOG=1");
    controlErrors.flush();
    let free: number;
    try {
      free = (await diskUsage(this.#config.outputPath)).free;
    } catch (error) {
      log.warning(`cannot check free space: ${(error as Error).message}`);
      return;
    }
    const mib = Math.round(free / 2 ** 20);
    if (free > this.#config.minFreeSpace) {
      if (!this.#diskShort) return;
      this.#diskShort = false;
      if (!this.#diskPaused) return;
      this.#diskPaused = false;
      if (this.#monitorPaused) {
        log.warning(`${mib} MiB free on ${this.#config.outputPath}; staying paused by a monitor`);
        return;
      }
      log.warning(`${mib} MiB free on ${this.#config.outputPath} again`);
      this.#toTask("slave_driver", "WAKE", null);
      this.#resumeAll();
    } else if (!this.#diskShort) {
      // Once per shortage: a monitor's WAKE resumes, and we do not pause again until space
      // has come back and run out anew.
      this.#diskShort = this.#diskPaused = true;
      log.error(`only ${mib} MiB free on ${this.#config.outputPath}`);
      this.#toTask("slave_driver", "SLEEP", null);
      this.#pauseAll();
    }
  }

  /** Stop tasks in reverse order, close sockets, remove ipc files, end the context. */
  async #shutdown(): Promise<void> {
    sdNotify("STOPPING=1");
    let clean = true;
    const pumping = this.#pumpStatus();
    for (const task of [...this.#tasks].reverse()) {
      if (task.state === "starting" || task.state === "running") {
        sdNotify(`EXTEND_TIMEOUT_USEC=${(STOP_TIMEOUT + 1000) * 1000}`);
        if (!await task.stop(STOP_TIMEOUT)) {
          log.error(`${task.name} did not stop within ${STOP_TIMEOUT / 1000} s; terminated`);
          clean = false;
        }
      } else if (task.state === "failed") {
        clean = false;
        await task.stop(0);
      }
    }
    this.#pumpDone = true;
    this.#waker?.trySend(["DONE"]);
    await pumping;
    await this.#closeContext(clean);
    for (const socket of [this.#extStatus, this.#control]) socket?.removeIpcFiles();
    log.warning("stopped");
  }

  /** Keep forwarding status to monitors while tasks stop (they may report on the way out). */
  async #pumpStatus(): Promise<void> {
    if (!this.#intStatus || !this.#wake) return;
    const poller = new Poller();
    while (!this.#pumpDone) {
      const ready = await poller.poll([this.#intStatus, this.#wake], 200);
      if (ready.includes(this.#intStatus)) this.#forwardStatus();
      while (this.#wake.tryRecv()) { /* only wakes the poll */ }
    }
  }

  /**
   * Close the main thread's sockets and terminate the context. A Worker terminated with open
   * sockets would make termination wait forever, so then it is given a short grace only.
   */
  async #closeContext(clean: boolean): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = this.#context.close(0).then(() => true, () => false);
    const ok = await Promise.race([
      closed,
      new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(false), clean ? 5000 : 500)
      ),
    ]);
    clearTimeout(timer);
    if (!ok) log.warning("libzmq context not terminated (a task left sockets open)");
  }
}
