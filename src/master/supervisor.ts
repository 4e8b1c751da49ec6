/**
 * The main thread's side of a task Worker: start it, wait until it is ready, talk to its
 * control queue, notice when it fails, and stop it (QUIT, then terminate after a timeout).
 * @module
 */
import type { Context, Socket } from "../transport/mod.ts";
import { encodeMessage, type Protocol, taskControlProtocol } from "../protocols/mod.ts";
import { PiwError } from "../errors.ts";
import type { MasterConfig } from "./config.ts";
import { controlAddress } from "./task.ts";
import type { TaskSpec } from "./tasks/mod.ts";
import type { StartTask, TaskReport } from "./worker.ts";

/** A task that failed to start, or failed while running. */
export class TaskFailedError extends PiwError {
  override name = "TaskFailedError";
}

/** Lifecycle of a task Worker. */
export type TaskState = "starting" | "running" | "stopped" | "failed";

/** One task running in its own Worker. */
export class TaskWorker {
  /** The task's name once it reported ready (until then its module name). */
  name: string;
  /** Where the task is in its life. */
  state: TaskState = "starting";
  readonly #worker: Worker;
  readonly #context: Context;
  #control: Socket | null = null;
  #ready = Promise.withResolvers<void>();
  #ended = Promise.withResolvers<void>();
  readonly #onFailure: (task: TaskWorker, reason: string) => void;

  /**
   * Start task `spec` in a new Worker on `context`. `onFailure` hears of a failure after the
   * task was ready (a failure before that rejects `ready()`).
   */
  constructor(
    spec: TaskSpec,
    context: Context,
    config: MasterConfig,
    onFailure: (task: TaskWorker, reason: string) => void,
  ) {
    this.name = spec.instance ? `${spec.module}_${spec.instance}` : spec.module;
    this.#context = context;
    this.#onFailure = onFailure;
    this.#ready.promise.catch(() => {});
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: `master.${this.name}`,
    });
    this.#worker.onmessage = (event: MessageEvent<TaskReport>) => this.#report(event.data);
    this.#worker.onerror = (event: ErrorEvent) => {
      // An uncaught error in the Worker must not take the main thread down with it.
      event.preventDefault();
      this.#fail(event.message || "uncaught error");
    };
    this.#worker.onmessageerror = () => this.#fail("unreadable message from the task");
    const start: StartTask = {
      task: spec.module,
      instance: spec.instance,
      contextHandle: context.handle,
      config,
    };
    this.#worker.postMessage(start);
  }

  /** Resolves when the task is ready; rejects if it fails first or takes over `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new TaskFailedError(`${this.name} was not ready within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#ready.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send a control message (taskControlProtocol unless `protocol` says otherwise). */
  send(name: string, data?: unknown, protocol: Protocol = taskControlProtocol): boolean {
    if (this.state !== "running" || !this.#control) return false;
    const frame = encodeMessage(protocol.reversed() as Protocol, name, data as never);
    return this.#control.trySend([frame]);
  }

  /** Ask the task to QUIT and wait up to `timeoutMs`; terminate the Worker if it has not ended. */
  async stop(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    // A task still starting can only be asked to QUIT once its control queue is bound.
    if (this.state === "starting") {
      await Promise.race([this.#ready.promise, this.#ended.promise, deadline]).catch(() => {});
    }
    if (this.state === "running") this.send("QUIT");
    const ended = await Promise.race([this.#ended.promise.then(() => true), deadline]);
    clearTimeout(timer);
    if (!ended) this.#worker.terminate();
    this.#closeControl();
    if (this.state !== "failed") this.state = "stopped";
    return ended;
  }

  /** Whether the Worker ended on its own (done or error reported). */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  #report(report: TaskReport): void {
    switch (report.type) {
      case "ready":
        this.name = report.name;
        this.state = "running";
        this.#control = this.#context.socket("PUSH", { linger: 0, sndHwm: 10 });
        this.#control.connect(controlAddress(report.name));
        this.#ready.resolve();
        break;
      case "done":
        this.#closeControl();
        if (this.state === "running" || this.state === "starting") this.state = "stopped";
        this.#ended.resolve();
        break;
      case "error":
        this.#fail(report.stack ?? report.message, true);
        this.#ended.resolve();
        break;
    }
  }

  #fail(reason: string, ended = false): void {
    const wasRunning = this.state === "running";
    this.state = "failed";
    this.#closeControl();
    if (!ended) {
      // An uncaught error leaves the Worker in an unknown state: stop it for good.
      this.#worker.terminate();
      this.#ended.resolve();
    }
    this.#ready.reject(new TaskFailedError(`${this.name} failed to start: ${reason}`));
    if (wasRunning) this.#onFailure(this, reason);
  }

  #closeControl(): void {
    this.#control?.close(0);
    this.#control = null;
  }
}
