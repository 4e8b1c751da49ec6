/**
 * `acquireLock`: a second process is refused with a line naming the holder, a killed holder's
 * lock is taken over, the Workers of the holding process share it, and a release removes the file.
 */
import assert from "node:assert/strict";
import { acquireLock } from "../src/lock.ts";

const LOCK_MODULE = new URL("../src/lock.ts", import.meta.url).href;

/** A `deno eval` process holding the lock at `path` until killed. */
async function holder(path: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { acquireLock, setProcessName } from ${JSON.stringify(LOCK_MODULE)};
       setProcessName("piw test");
       await acquireLock(${JSON.stringify(path)}, "the thing");
       console.log("held");
       await new Promise(() => setInterval(() => {}, 1000));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Read stdout itself: a pipeThrough would keep it locked until the pipe saw EOF, and the
  // test's `stdout.cancel()` after the kill raced that (it failed on a busy machine).
  const reader = child.stdout.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value).trim(), "held");
  reader.releaseLock();
  return child;
}

Deno.test("a lock another process holds is refused naming it; a killed holder's is taken", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-lock-" });
  const path = `${dir}/piw.lock`;
  const child = await holder(path);
  try {
    await assert.rejects(
      () => acquireLock(path, "the thing"),
      new RegExp(`^PiwError: the thing is in use by process ${child.pid} \\(piw test\\)$`),
    );
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    const lock = await acquireLock(path, "the thing");
    assert.equal(Deno.readTextFileSync(path), `${Deno.pid} piw\n`);
    lock.release();
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already killed.
    }
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the Workers of the process holding a lock share it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-lock-" });
  const path = `${dir}/piw.lock`;
  const lock = await acquireLock(path, "the thing");
  const worker = new Worker(
    `data:text/javascript,import { acquireLock } from ${JSON.stringify(LOCK_MODULE)};
     acquireLock(${JSON.stringify(path)}, "the thing").then(
       (lock) => { lock.release(); postMessage("shared"); },
       (error) => postMessage(String(error)),
     );`,
    { type: "module" },
  );
  try {
    const answer = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    assert.equal(answer, "shared");
    // The Worker's release is not the holder's.
    assert.equal(Deno.readTextFileSync(path), `${Deno.pid} piw\n`);
  } finally {
    worker.terminate();
    lock.release();
    Deno.removeSync(dir, { recursive: true });
  }
});
