/**
 * Every master task by module name, and the order `piw master` starts them in (as
 * piwheels' `PiWheelsMaster`).
 * Each task module exports its class under the class name (e.g. `SlaveDriver`); the loaders
 * import lazily so a Worker only loads the task it runs.
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import type { MasterConfig, Task, TaskOptions } from "../task.ts";

/** A task class as the Worker constructs it. */
export type TaskClass = new (context: Context, config: MasterConfig, options?: TaskOptions) => Task;

/** Loaders of every task class, by module name. */
export const TASKS = {
  seraph: async () => (await import("./seraph.ts")).Seraph,
  the_scribe: async () => (await import("./the_scribe.ts")).TheScribe,
  the_secretary: async () => (await import("./the_secretary.ts")).TheSecretary,
  the_oracle: async () => (await import("./the_oracle.ts")).TheOracle,
  big_brother: async () => (await import("./big_brother.ts")).BigBrother,
  file_juggler: async () => (await import("./file_juggler.ts")).FileJuggler,
  slave_driver: async () => (await import("./slave_driver.ts")).SlaveDriver,
  the_architect: async () => (await import("./the_architect.ts")).TheArchitect,
  cloud_gazer: async () => (await import("./cloud_gazer.ts")).CloudGazer,
  lumberjack: async () => (await import("./lumberjack.ts")).Lumberjack,
  mr_chase: async () => (await import("./mr_chase.ts")).MrChase,
  metrics_exporter: async () => (await import("./metrics_exporter.ts")).MetricsExporter,
} satisfies Record<string, () => Promise<TaskClass>>;

/** The module name of a task. */
export type TaskModule = keyof typeof TASKS;

/** One task to start: which module, which instance. */
export interface TaskSpec {
  module: TaskModule;
  instance: number;
}

/** The tasks `piw master` starts, in start order; they stop in reverse. */
export function lineup(config: MasterConfig): TaskSpec[] {
  const one = (module: TaskModule): TaskSpec => ({ module, instance: 0 });
  return [
    one("seraph"),
    ...Array.from({ length: config.oracleCount }, (_, instance) => ({
      module: "the_oracle" as const,
      instance,
    })),
    one("lumberjack"),
    one("the_scribe"),
    one("the_secretary"),
    one("big_brother"),
    one("file_juggler"),
    one("slave_driver"),
    one("mr_chase"),
    one("the_architect"),
    one("cloud_gazer"),
    // Only with --metrics; last, so it starts once there is something to watch.
    ...(config.metrics ? [one("metrics_exporter")] : []),
  ];
}
