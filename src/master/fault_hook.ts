/**
 * Test hook: with `PIW_DEBUG_TASK_FAULT=<task name>[:reject]` in its environment, that task's
 * Worker (once ready, with a warning in the log) answers SIGUSR2 by throwing an uncaught error
 * (or leaving a promise rejection unhandled), so tests can show how the master survives a task's
 * uncaught error (tests/master/master_test.ts). Without the variable nothing listens for SIGUSR2,
 * so it is never triggered by accident.
 * @module
 */
import type { Task } from "./task.ts";

/** The environment variable of the fault-injection test hook. */
export const FAULT_VARIABLE = "PIW_DEBUG_TASK_FAULT";
/** The signal that fires an injected fault. */
export const FAULT_SIGNAL: Deno.Signal = "SIGUSR2";

/** Arm the fault `PIW_DEBUG_TASK_FAULT` asks of `task`, if any; returns what disarms it. */
export function armFault(task: Task): () => void {
  let spec: string | undefined;
  try {
    spec = Deno.env.get(FAULT_VARIABLE);
  } catch {
    return () => {}; // no permission to read the environment: no hook
  }
  const [target, mode = "throw"] = (spec ?? "").split(":");
  if (target !== task.name) return () => {};
  task.log.warning(`${FAULT_VARIABLE} is set: ${FAULT_SIGNAL} injects a fault (${mode})`);
  const fire = () => {
    const fault = new Error(`fault injected by ${FAULT_VARIABLE}`);
    // From a timer, so that it is uncaught rather than thrown into the signal machinery.
    setTimeout(() => {
      if (mode === "reject") void Promise.reject(fault);
      else throw fault;
    });
  };
  Deno.addSignalListener(FAULT_SIGNAL, fire);
  return () => Deno.removeSignalListener(FAULT_SIGNAL, fire);
}
