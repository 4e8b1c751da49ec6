/**
 * The master's task framework (piwheels' `tasks.py`): a task is a small class that creates its
 * queues (sockets bound to their protocols), says which typed handler takes which message
 * (`register`) and what runs periodically (`every`); the framework runs the poll loop,
 * pause/resume/quit, decoding and error logging.
 *
 * API (stable; SlaveDriver, FileJuggler and every other task build on it):
 * - `Task` (abstract): `name`, `kind` ("pauseable" | "pausing" | "nonstop"), `paused`, `log`
 *   (logger `master.<name>`), `constructor(context, config, options?)`; for subclasses
 *   `queue(type, protocol, options?)` (→ a {@link Queue}: typed `send`/`trySend`/`sendTo`/
 *   `trySendTo`), `register(queue, handlers, {refused?})`, `registerRaw(socket, handler)`,
 *   `socket(type, options?)`, `every(ms, handler)` (→ trigger), `tellTask(task, protocol, name,
 *   data)`, `onControl(name, data)`, `controlProtocol`, `logRefusal(queue, error)`, `setup()`,
 *   `teardown()`, `track(closeable)`; public `init()` (bind the control queue
 *   `inproc://ctrl-<name>`, then `setup()`), `run()` (init if needed, poll until QUIT, then
 *   teardown and close sockets) and `quit()`.
 * - `register`'s handlers: one typed function per message name, `(data, peer)` (piwheels'
 *   `do_<MSG>`), or one `(msg, peer)` for the `{name, data}` union. Envelope, name and data are
 *   checked once, here: a message that fails costs one line naming the queue (rate-limited per
 *   queue), or goes to `refused(error, peer)` when the task must still answer it.
 * - `StatusPublisher`: PUSH to `inproc://status`; `slave(id, timestamp, msg, data)`,
 *   `stats(masterStats)`.
 * - `controlAddress(name)`: the control queue of a task.
 *
 * The clients of the master's queues (`DbClient`, `SecretaryClient`, …) are in `src/clients/`.
 * A task's code must not care whether it runs in a Worker (`src/master/worker.ts`) or on the
 * main thread: everything it needs comes from the Context and the `MasterConfig`.
 *
 * @example
 * ```ts
 * class Skipper extends Task {
 *   readonly name = "skipper";
 *   constructor(context: Context, config: MasterConfig) {
 *     super(context, config);
 *     const skip = this.queue("REP", cloudGazerProtocol);
 *     skip.socket.bind("inproc://skipper");
 *     this.register(skip, {
 *       DELPKG: (pkg) => skip.send("OK"),
 *       DELVER: ([pkg, version]) => skip.send("OK"),
 *     }, { refused: () => skip.send("OK") }); // a REP answers every request
 *     this.every(10_000, () => this.log.info("still skipping"));
 *   }
 * }
 * ```
 * @module
 */
import {
  type Context,
  Poller,
  type Socket,
  type SocketOptions,
  type SocketType,
} from "../transport/mod.ts";
import { getLogger, type Logger, RateLimitedLog } from "../log.ts";
import {
  type DataArgs,
  encodeMessage,
  type MasterStats,
  type MessageTable,
  monitorStatsProtocol,
  type Protocol,
  ProtocolError,
  taskControlProtocol,
} from "../protocols/mod.ts";
import type { MasterConfig } from "./config.ts";
import {
  dispatch,
  type Envelope,
  type FastDecoder,
  type Handlers,
  Queue,
} from "../transport/mod.ts";

export type { MasterConfig } from "./config.ts";

/** How a task reacts to PAUSE (piwheels' PauseableTask, PausingTask, NonStopTask). */
export type TaskKind = "pauseable" | "pausing" | "nonstop";

/** Handles one message (all its frames) read from a socket given to `registerRaw`. */
export type RawHandler = (frames: Uint8Array[]) => void | Promise<void>;

/** Options of {@link Task.queue}. */
export interface QueueOptions<R extends MessageTable> extends SocketOptions {
  /** The envelope, if not the socket type's (ROUTER: addressed, DEALER: delimited, else plain). */
  envelope?: Envelope;
  /** A decoder of the queue's own, tried before the general one (see queue_decode.ts). */
  fastDecode?: FastDecoder<R>;
}

/** Options of {@link Task.register}. */
export interface RegisterOptions {
  /**
   * The task's own answer to a message the framework refused (a REP or REQ-facing queue must
   * still reply); it replaces the framework's log line (`logRefusal` writes that line).
   */
  refused?: (error: ProtocolError, peer: Uint8Array) => void | Promise<void>;
}

/** Options of {@link Task}'s constructor. */
export interface TaskOptions {
  /** Instance number of a task that runs several times (TheOracle), part of its name. */
  instance?: number;
}

/** The control queue address of task `name`. */
export function controlAddress(name: string): string {
  return `inproc://ctrl-${name}`;
}

/** Anything a task closes when it ends. */
interface Closeable {
  close(): void | Promise<void>;
}

/** A periodic handler and when it is next due (performance.now() ms). */
interface Interval {
  ms: number;
  handler: () => void | Promise<void>;
  due: number;
}

/** Longest single poll, so a quit flag set from outside is seen promptly. */
const MAX_POLL_MS = 1000;
/** Messages handled per readable socket per poll, so one busy queue cannot starve the rest. */
const BATCH = 50;

/** A master task: sockets, handlers, periodic work and the control queue, run by `run()`. */
export abstract class Task {
  /** Short task name, e.g. "slave_driver"; logger `master.<name>`, queue `ctrl-<name>`. */
  abstract readonly name: string;
  /** What PAUSE does: blocks until RESUME/QUIT, only sets `paused`, or nothing. */
  readonly kind: TaskKind = "pauseable";
  /** Set between PAUSE and RESUME (pauseable and pausing tasks). */
  paused = false;
  /** The protocol of the control queue; SlaveDriver uses slaveDriverControlProtocol. */
  protected controlProtocol: Protocol = taskControlProtocol;
  /** The libzmq context shared by every task of the master. */
  protected readonly context: Context;
  /** The master's settings. */
  protected readonly config: MasterConfig;
  /** Instance number (0 unless several of this task run). */
  protected readonly instance: number;

  #closeables: Closeable[] = [];
  #handlers = new Map<Socket, RawHandler>();
  /** Peers can repeat bad messages at will: they cost a few lines a minute per queue. */
  #refusals: RateLimitedLog | null = null;
  /** The keys of `#handlers`, kept as an array for the poll loop. */
  #sockets: Socket[] = [];
  #logger: Logger | null = null;
  #intervals: Interval[] = [];
  #control: Socket | null = null;
  #quitter: Socket | null = null;
  /** PUSH sockets to other tasks' control queues, by task name (`tellTask`). */
  #peers = new Map<string, Socket>();
  #poller = new Poller();
  #initialised = false;
  #quitting = false;

  /** A task on `context` (sockets may be created and bound here or in `setup`). */
  constructor(context: Context, config: MasterConfig, options: TaskOptions = {}) {
    this.context = context;
    this.config = config;
    this.instance = options.instance ?? 0;
  }

  /** The logger `master.<name>`. */
  get log(): Logger {
    if (this.#logger) return this.#logger;
    const logger = getLogger(`master.${this.name}`);
    // Not cached while a subclass's field initialisers have yet to set `name`.
    if (this.name !== undefined) this.#logger = logger;
    return logger;
  }

  /** Whether `quit()` was called or QUIT received. */
  get quitting(): boolean {
    return this.#quitting;
  }

  /**
   * A socket (options as `Context.socket`: hwm, linger, …) closed when the task ends; the ipc
   * socket files it bound are removed then too (libzmq leaves them behind).
   */
  protected socket(type: SocketType, options: SocketOptions = {}): Socket {
    const socket = this.context.socket(type, options);
    this.#closeables.push({
      close: () => {
        socket.close();
        socket.removeIpcFiles();
      },
    });
    return socket;
  }

  /** Close `thing` (a DbClient, a Database, …) when the task ends; returns it. */
  protected track<T extends Closeable>(thing: T): T {
    this.#closeables.push(thing);
    return thing;
  }

  /**
   * A socket (as `socket`) bound to `protocol`, stated from this side: what it receives is
   * decoded against `protocol.recv`, what it sends encoded against `protocol.send`.
   */
  protected queue<R extends MessageTable, S extends MessageTable>(
    type: SocketType,
    protocol: Protocol<R, S>,
    options: QueueOptions<R> = {},
  ): Queue<R, S> {
    const { envelope, fastDecode, ...socketOptions } = options;
    const wrap = envelope ??
      (type === "ROUTER" ? "addressed" : type === "DEALER" ? "delimited" : "plain");
    return new Queue(this.socket(type, socketOptions), protocol, wrap, fastDecode ?? null);
  }

  /**
   * Call the handler of each message read from `queue` with its decoded, checked data (and its
   * peer on an addressed queue). A message the framework refuses (wrong envelope, unknown name,
   * invalid data) costs one line naming the queue, rate-limited per queue, unless
   * `options.refused` answers it. A handler that throws is logged and the loop goes on.
   */
  protected register<R extends MessageTable, S extends MessageTable>(
    queue: Queue<R, S>,
    handlers: Handlers<R>,
    options: RegisterOptions = {},
  ): void {
    const refused = options.refused ??
      ((error: ProtocolError) => this.logRefusal(queue.name, error));
    this.registerRaw(queue.socket, (frames) => {
      let msg, peer;
      try {
        [msg, peer] = queue.read(frames);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return refused(error, queue.peerOf(frames));
      }
      return dispatch(handlers, msg, peer);
    });
  }

  /**
   * Call `handler` with the raw frames of each message read from `socket`: only for a broker
   * that forwards what it does not read (Seraph), a socket that carries no message (a wake-up)
   * or a measured fast path that decodes many records a frame (Lumberjack).
   */
  protected registerRaw(socket: Socket, handler: RawHandler): void {
    this.#handlers.set(socket, handler);
    this.#sockets = [...this.#handlers.keys()];
  }

  /** One line for a refused message on `queue` (a few a minute per queue at most). */
  protected logRefusal(queue: string, error: ProtocolError): void {
    this.#refusals ??= new RateLimitedLog(this.log);
    this.#refusals.error(queue, `dropped malformed message: ${error.message}`);
  }

  /**
   * Run `handler` at start and then `ms` after each run returns (piwheels semantics). Returns a
   * function that makes it due at once, or by `at` (performance.now() ms) if that is sooner
   * than its next run (e.g. TheArchitect after RESUME or REFRESH).
   */
  protected every(
    ms: number,
    handler: () => void | Promise<void>,
  ): (at?: number) => void {
    const interval: Interval = { ms, handler, due: 0 };
    this.#intervals.push(interval);
    return (at = 0) => interval.due = Math.min(interval.due, at);
  }

  /**
   * Send a message to another task's control queue (e.g. REFRESH to TheArchitect). Returns
   * false when it was not taken (the task is not running or its queue is full).
   */
  protected tellTask<R extends MessageTable, N extends keyof R & string>(
    task: string,
    protocol: Protocol<R, MessageTable>,
    name: N,
    ...data: DataArgs<R[N]>
  ): boolean {
    let peer = this.#peers.get(task);
    if (!peer) {
      peer = this.socket("PUSH", { hwm: 10, linger: 0 });
      peer.connect(controlAddress(task));
      this.#peers.set(task, peer);
    }
    return peer.trySend([encodeMessage(protocol.reversed(), name, ...data)]);
  }

  /** Create and bind sockets that need more than the constructor can do (async work). */
  protected setup(): Promise<void> | void {}

  /** Release what the task holds besides its sockets (called once, after the loop ends). */
  protected teardown(): Promise<void> | void {}

  /**
   * Handle a decoded control message. The default handles PAUSE, RESUME and QUIT by `kind`;
   * subclasses handle their extra messages and call `super.onControl` for the rest.
   */
  protected onControl(name: string, _data: unknown): Promise<void> | void {
    switch (name) {
      case "QUIT":
        this.quit();
        break;
      case "PAUSE":
        if (this.kind !== "nonstop") {
          this.paused = true;
          this.log.info("paused");
        }
        break;
      case "RESUME":
        if (this.kind !== "nonstop" && this.paused) {
          this.paused = false;
          this.log.info("resumed");
        }
        break;
      default:
        this.log.warning(`ignored control message ${name}`);
    }
  }

  /**
   * Bind the control queue and run `setup()`; after this the task is ready. Idempotent. If it
   * fails, everything the task opened is closed again before the error propagates.
   */
  async init(): Promise<void> {
    if (this.#initialised) return;
    this.#initialised = true;
    try {
      const control = this.queue("PULL", this.controlProtocol, { hwm: 10, linger: 0 });
      control.socket.bind(controlAddress(this.name));
      this.#control = control.socket;
      this.register(control, (msg) => this.onControl(msg.name, msg.data));
      await this.setup();
    } catch (error) {
      await this.#close();
      throw error;
    }
  }

  /** Poll until QUIT: due intervals first, then one batch per readable socket. */
  async run(): Promise<void> {
    try {
      await this.init();
      this.log.debug("started");
      while (!this.#quitting) await this.#poll();
    } finally {
      await this.#close();
      this.log.debug("stopped");
    }
  }

  /** Stop the loop (after the current handler); safe to call from any handler or from outside. */
  quit(): void {
    if (this.#quitting) return;
    this.#quitting = true;
    // Wake a poll in progress rather than wait for its timeout.
    if (this.#control && !this.#quitter) {
      try {
        this.#quitter = this.context.socket("PUSH", { linger: 0 });
        this.#quitter.connect(controlAddress(this.name));
        this.#quitter.trySend([encodeMessage(taskControlProtocol.reversed(), "QUIT")]);
      } catch {
        // The poll times out within a second anyway.
      }
    }
  }

  /** Whether the loop should only listen to the control queue (a paused pauseable task). */
  #blocked(): boolean {
    return this.paused && this.kind === "pauseable";
  }

  async #poll(): Promise<void> {
    let timeout = MAX_POLL_MS;
    if (!this.#blocked()) {
      for (const interval of this.#intervals) {
        if (this.#quitting || this.#blocked()) break;
        if (interval.due <= performance.now()) {
          await this.#guard("timer", interval.handler);
          interval.due = performance.now() + interval.ms;
        }
        timeout = Math.min(timeout, Math.max(0, interval.due - performance.now()));
      }
    }
    if (this.#quitting) return;
    const sockets = this.#blocked() ? [this.#control!] : this.#sockets;
    const ready = await this.#poller.poll(sockets, Math.ceil(timeout));
    for (const socket of ready) {
      const handler = this.#handlers.get(socket)!;
      for (let i = 0; i < BATCH; i++) {
        if (this.#quitting) return;
        if (socket !== this.#control && this.#blocked()) break;
        const frames = socket.tryRecv();
        if (frames === null) break;
        await this.#guard("handler", () => handler(frames));
      }
    }
  }

  /** Run a handler; log (never rethrow) what it throws. */
  async #guard(what: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.log.error(`dropped malformed message: ${error.message}`);
      } else {
        const text = error instanceof Error ? error.stack ?? error.message : String(error);
        this.log.error(`${this.name} ${what} failed: ${text}`);
      }
    }
  }

  async #close(): Promise<void> {
    try {
      await this.teardown();
    } catch (error) {
      this.log.error(`${this.name} teardown failed: ${(error as Error).message}`);
    }
    if (this.#quitter) this.#quitter.close(0);
    this.#quitter = null;
    for (const thing of this.#closeables.reverse()) {
      try {
        await thing.close();
      } catch (error) {
        this.log.warning(`close failed: ${(error as Error).message}`);
      }
    }
    this.#closeables = [];
    this.#refusals?.flush();
  }
}

const statusSendSide = monitorStatsProtocol.reversed();

/**
 * Publishes monitor status from a task: PUSH to the main thread's `inproc://status`, which
 * forwards to the external PUB. Give it a socket from `Task.socket("PUSH")`.
 * @example
 * const status = new StatusPublisher(this.socket("PUSH"), this.config);
 * status.slave(1, new Date(), "SLEEP", false);
 */
export class StatusPublisher {
  #socket: Socket;

  /** Connect `socket` (a PUSH) to the internal status queue. */
  constructor(socket: Socket, config: MasterConfig) {
    this.#socket = socket;
    socket.connect(config.intStatusQueue);
  }

  /** Publish `SLAVE [slaveId, timestamp, msg, data]` (data checked per message). */
  slave(slaveId: number, timestamp: Date, msg: string, data: unknown): Promise<void> {
    return this.#send(encodeMessage(statusSendSide, "SLAVE", [slaveId, timestamp, msg, data]));
  }

  /** Publish `STATS` (the 19 master statistics). */
  stats(stats: MasterStats): Promise<void> {
    return this.#send(encodeMessage(statusSendSide, "STATS", stats));
  }

  async #send(frame: Uint8Array): Promise<void> {
    await this.#socket.send([frame]);
  }
}
