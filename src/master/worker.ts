/**
 * The Worker entry of one master task. The main thread posts a {@link StartTask}; the Worker
 * loads the task class, constructs it on the shared libzmq context, runs `init()`, reports
 * `ready`, runs it until QUIT and reports `done` — or `error` if anything throws. The task's
 * code is the same as on the main thread; only this file knows about Workers.
 * @module
 */
import { Context } from "../transport/mod.ts";
import { configureLogging } from "../log.ts";
import type { MasterConfig } from "./config.ts";
import { type TaskClass, type TaskModule, TASKS } from "./tasks/mod.ts";

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
 * Construct, init and run one task, reporting each stage through `post`. `done` or `error` is
 * posted only once every socket the task opened is closed.
 */
export async function runTask(start: StartTask, post: (report: TaskReport) => void): Promise<void> {
  let name: string = start.task;
  let context: Context | null = null;
  let report: TaskReport;
  try {
    configureLogging(start.config.logging);
    const Constructor: TaskClass = await TASKS[start.task]();
    context = Context.fromHandle(start.contextHandle);
    const task = new Constructor(context, start.config, { instance: start.instance });
    name = task.name;
    await task.init();
    post({ type: "ready", name });
    await task.run();
    report = { type: "done", name };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    report = { type: "error", name, message: e.message, stack: e.stack };
  }
  // Close whatever the task left open (e.g. after a constructor failed half-way): the master
  // cannot terminate the context while any socket of any thread is open.
  await context?.close(0).catch(() => {});
  post(report);
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
