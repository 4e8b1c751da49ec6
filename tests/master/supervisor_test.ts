/** Tasks in Workers: ready, clean stop on QUIT, and failures reported with the task's name. */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import { TaskFailedError, TaskWorker } from "../../src/master/supervisor.ts";
import { testConfig } from "./helpers.ts";

Deno.test({
  name: "a task Worker becomes ready and stops on QUIT, closing its sockets",
  async fn() {
    const context = new Context();
    const failures: string[] = [];
    const task = new TaskWorker(
      { module: "seraph", instance: 0 },
      context,
      testConfig(),
      (t, reason) => failures.push(`${t.name}: ${reason}`),
    );
    await task.ready(60_000);
    assert.equal(task.name, "seraph");
    assert.equal(task.state, "running");
    assert.equal(await task.stop(10_000), true);
    assert.equal(task.state, "stopped");
    assert.deepEqual(failures, []);
    // Every socket of every thread is closed, so the context terminates.
    await context.close();
  },
});

Deno.test({
  name: "a task that cannot start rejects ready() naming the task and the reason",
  async fn() {
    const context = new Context();
    const task = new TaskWorker(
      { module: "seraph", instance: 0 },
      context,
      testConfig({ dbQueue: "bogus://nowhere" }),
      () => {},
    );
    await assert.rejects(
      () => task.ready(60_000),
      (error: Error) => {
        assert.ok(error instanceof TaskFailedError);
        assert.match(error.message, /^seraph failed to start: .*bogus:\/\/nowhere/s);
        return true;
      },
    );
    assert.equal(task.state, "failed");
    await task.ended;
    await context.close();
  },
});
