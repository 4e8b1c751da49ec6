/**
 * `piw logger` as an operator meets it with no master running (issue 16): it says what it waits
 * for and where, counts the records it dropped and the lines it could not read, and names a
 * directory given as a log file.
 */
import assert from "node:assert/strict";
import { runProcess } from "../cli/helpers.ts";
import { combined, PIP_AGENT } from "./corpus.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DOWNLOAD = combined("/simple/numpy/numpy-1.26.4-cp39-cp39-linux_armv7l.whl", PIP_AGENT);

/** An ipc address nobody serves. */
function nowhere(): string {
  return `ipc:///tmp/piw-logger-nomaster-${crypto.randomUUID().slice(0, 8)}`;
}

Deno.test("piw logger with --drop and no master names the queue and counts what it lost", async () => {
  const queue = nowhere();
  const result = await runProcess(["logger", "--drop", "--log-queue", queue], {
    stdin: `${DOWNLOAD}\nnot a log line at all\n`,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`dropping log records: the master at ${queue} `));
  assert.match(result.stderr, /malformed line \(not in --format combined\): not a log line/);
  assert.match(result.stderr, /2 lines: 0 sent, 1 dropped, 0 ignored, 1 malformed/);
});

Deno.test("piw logger without --drop says it waits for the master, where and how long", async () => {
  const queue = nowhere();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "logger", "--log-queue", queue],
    env: { PIW_CONFIG_PATHS: "", NO_COLOR: "1" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  // More records than the queue holds, so the logger has to wait for a master.
  const lines = `${DOWNLOAD}\n`.repeat(100 * 1_100);
  const writing = writer.write(new TextEncoder().encode(lines)).then(() => writer.close())
    .catch(() => {});
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const deadline = Date.now() + 60_000;
    while (!stderr.includes("s so far") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    assert.match(
      stderr,
      new RegExp(
        `waiting for the master to take (the last )?log records at ${queue} \\(\\d+ s so far`,
      ),
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel().catch(() => {});
    await writing;
  }
});

Deno.test("piw logger given a directory says so in one line", async () => {
  const result = await runProcess(["logger", "--drop", "--log-queue", nowhere(), "/tmp"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "piw logger: cannot read /tmp: it is a directory\n");
});
