/**
 * The Worker entry of one master task. The main thread posts a {@link StartTask}; the Worker
 * loads the task class, constructs it on the shared libzmq context, runs `init()`, reports
 * `ready`, runs it until QUIT and reports `done` — or `error` if anything throws. The task's
 * code is the same as on the main thread; only this file knows about Workers.
 *
 * An error nothing catches (a throw in a timer, a rejected promise nobody awaits) would kill the
 * Worker outright, skipping the task's teardown (TheSecretary saves its pending rewrites there).
 * Instead it is logged with the task's name, the task is asked to quit, its teardown runs, and
 * `error` is reported, on which the master shuts down (exit code 1).
 *
 * A test hook for exactly that path lives in `fault_hook.ts`.
 * @module
 */
import { configureReactor, Context, lowerThreadPriority, nameThread } from "../transport/mod.ts";
import { configureLogging, getLogger } from "../log.ts";
import type { MasterConfig } from "./config.ts";
import type { Task } from "./task.ts";
import { type TaskClass, type TaskModule, TASKS } from "./tasks/mod.ts";
import { armFault } from "./fault_hook.ts";

/** What the main thread posts to start a task. */
export interface StartTask {
  /** The task's module name. */
  task: TaskModule;
  /** Instance number (TheOracle runs several). */
  instance: number;
  /** `Context.handle` of the master's libzmq context. */
  contextHandle: bigint;
  config: MasterConfig;
}

/** What the Worker posts back: ready (after init), done (after run) or error. */
export type TaskReport =
  | { type: "ready"; name: string }
  | { type: "done"; name: string }
  | { type: "error"; name: string; message: string; stack?: string };

/**
 * The tasks that wait on nothing but their sockets while they poll (every handler, with its
 * database or file work, is awaited before the next poll). Their Workers' reactors block in
 * zmq_poll until a socket is ready (up to `parkAfterMs`, then they park) rather than waking
 * every 5 ms so that other I/O may run: on the build path that wake-up cost each of these
 * Workers 3 % of a core (issue 15). Tasks with work running beside their poll (SlaveDriver's
 * journal, FileJuggler's transfers, the metrics server) keep the short slices.
 */
const SOCKETS_ONLY = new Set<TaskModule>(["seraph", "the_oracle", "the_secretary", "the_scribe"]);

/**
 * Tasks whose work can wait a moment (the web side, statistics, access logs): their threads run
 * at BACKGROUND_NICE steps of nice more than the master, so that on busy cores the threads a slave
 * waits on (SlaveDriver, Seraph, the oracles) and PostgreSQL get a core first. Idle cores still
 * go to them in full; should the cores stay busy, they fall behind and catch up later (a build's
 * log waits in the database meanwhile). At 10 slaves on 2 cores (issue 15) the requests' p50 was
 * lower in 7 of 8 alternate runs (1.79 against 2.15 ms on average).
 */
const BACKGROUND = new Set<TaskModule>([
  "the_secretary",
  "the_scribe",
  "big_brother",
  "lumberjack",
  "metrics_exporter",
]);
const BACKGROUND_NICE = 10;

/**
 * Construct, init and run one task, reporting each stage through `post`. `done` or `error` is
 * posted only once every socket the task opened is closed.
 */
export async function runTask(start: StartTask, post: (report: TaskReport) => void): Promise<void> {
  let name: string = start.task;
  let context: Context | null = null;
  let report: TaskReport;
  const uncaught = new UncaughtErrors(() => name);
  let removeFault = () => {};
  try {
    configureLogging(start.config.logging);
    if (SOCKETS_ONLY.has(start.task)) configureReactor({ sliceMs: 100, parkAfterMs: 100 });
    const Constructor: TaskClass = await TASKS[start.task]();
    context = Context.fromHandle(start.contextHandle);
    const task = new Constructor(context, start.config, { instance: start.instance });
    name = task.name;
    // `top -H` and the build-path benchmark tell the tasks' threads apart by this name.
    nameThread(name);
    if (BACKGROUND.has(start.task)) lowerThreadPriority(BACKGROUND_NICE);
    uncaught.task = task;
    await task.init();
    post({ type: "ready", name });
    removeFault = armFault(task);
    await task.run();
    uncaught.check();
    report = { type: "done", name };
  } catch (error) {
    const e = uncaught.first ?? (error instanceof Error ? error : new Error(String(error)));
    report = { type: "error", name, message: e.message, stack: e.stack };
  } finally {
    removeFault();
    uncaught.remove();
  }
  // Close whatever the task left open (e.g. after a constructor failed half-way): the master
  // cannot terminate the context while any socket of any thread is open.
  await context?.close(0).catch(() => {});
  post(report);
}

/**
 * Catches what nothing else catches in this Worker while a task runs: logs it with the task's
 * name and asks the task to quit (so its teardown runs); `check()` then throws the first one.
 */
class UncaughtErrors {
  /** The task to stop, once constructed. */
  task: Task | null = null;
  /** The first uncaught error, if any. */
  first: Error | null = null;
  readonly #name: () => string;
  readonly #onError = (event: ErrorEvent) => {
    event.preventDefault();
    this.#caught(event.error ?? new Error(event.message));
  };
  readonly #onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    this.#caught(event.reason);
  };

  constructor(name: () => string) {
    this.#name = name;
    globalThis.addEventListener("error", this.#onError);
    globalThis.addEventListener("unhandledrejection", this.#onRejection);
  }

  #caught(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.first ??= e;
    getLogger(`master.${this.#name()}`).error(
      `${this.#name()} failed (uncaught): ${e.stack ?? e.message}; stopping`,
    );
    this.task?.quit();
  }

  /** Throw the first uncaught error, if there was one. */
  check(): void {
    if (this.first) throw this.first;
  }

  remove(): void {
    globalThis.removeEventListener("error", this.#onError);
    globalThis.removeEventListener("unhandledrejection", this.#onRejection);
  }
}

// Only act as a Worker when loaded as one (tests may import this module on the main thread).
if ("WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<StartTask>) => void) | null;
    postMessage(report: TaskReport): void;
    close(): void;
  };
  scope.onmessage = (event) => {
    scope.onmessage = null;
    runTask(event.data, (report) => scope.postMessage(report)).finally(() => scope.close());
  };
}
