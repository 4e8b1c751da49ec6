/** `piw logger` as a subprocess: files (plain and gzipped) in, lumberjack messages out. */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";
import {
  cborItemEnd,
  decodeMessage,
  lumberjackProtocol,
  MAX_LOG_LINE,
  MAX_MESSAGE_SIZE,
} from "../../src/protocols/mod.ts";
import { openLog, readLines } from "../../src/logger/lines.ts";
import { combined, CORPUS, MALFORMED, PIP_AGENT } from "./corpus.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function runLogger(args: string[], stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "logger", "-v", ...args],
    env: { PIW_CONFIG_PATHS: "" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stderr } = await child.output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const LOG = [...CORPUS.map(([line]) => line), ...MALFORMED].join("\n") + "\n";
// Dates arrive with microseconds (a PreciseDate); compare them as text.
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));
const EXPECTED = plain(CORPUS.filter(([, msg]) => msg !== null).map(([, msg]) => msg));

Deno.test("sends every hit of plain and gzipped files, counting the rest", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-logger-" });
  const address = `ipc://${dir}/log`;
  const context = new Context();
  const pull = context.socket("PULL");
  pull.bind(address);
  try {
    Deno.writeTextFileSync(`${dir}/access.log`, LOG);
    Deno.writeFileSync(`${dir}/access.log.1.gz`, await gzip(LOG));
    const result = await runLogger([
      "--log-queue",
      address,
      `${dir}/access.log`,
      `${dir}/access.log.1.gz`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    // What was read at once (here each file) comes as lumberjack messages back to back in
    // one frame.
    const got = [];
    let messages = 0;
    while (got.length < EXPECTED.length * 2) {
      const frames = await pull.recv(5000);
      assert.ok(frames, `record ${got.length} missing`);
      assert.equal(frames.length, 1);
      messages++;
      for (let at = 0, end = 0; at < frames[0].length; at = end) {
        end = cborItemEnd(frames[0], at);
        const msg = decodeMessage(lumberjackProtocol, frames[0].subarray(at, end));
        got.push(plain([msg.name, msg.data]));
      }
    }
    assert.deepEqual(got, [...EXPECTED, ...EXPECTED]);
    assert.ok(messages < got.length, `${got.length} records came in ${messages} messages`);
    const lines = (CORPUS.length + MALFORMED.length) * 2;
    const ignored = (CORPUS.length - EXPECTED.length) * 2;
    assert.match(
      result.stderr,
      new RegExp(
        `${lines} lines: ${EXPECTED.length * 2} sent, 0 dropped, ${ignored} ignored, ` +
          `${MALFORMED.length * 2} malformed`,
      ),
    );
  } finally {
    pull.close(0);
    await context.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--drop drops records nobody takes instead of waiting", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-logger-" });
  try {
    const started = performance.now();
    const result = await runLogger(
      ["--drop", "--log-queue", `ipc://${dir}/nobody`],
      LOG,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`0 sent, ${EXPECTED.length} dropped`));
    assert.ok(performance.now() - started < 30_000);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("rejects a log format it cannot compile", async () => {
  const result = await runLogger(["--format", "%h %J", "--log-queue", "ipc:///tmp/piw-x"], "");
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /%J/);
});

Deno.test("reads lines with CRLF ends and no final newline", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".log" });
  try {
    Deno.writeTextFileSync(path, "a\r\nb\n\nc");
    const lines = [];
    for await (const line of readLines(await openLog(path))) lines.push(line);
    assert.deepEqual(lines, ["a", "b", "", "c"]);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("frames stay within the master's limit however long the lines; overlong lines skipped", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-logger-" });
  const address = `ipc://${dir}/log`;
  const context = new Context();
  // What Lumberjack binds: a bigger frame would cut the logger off.
  const pull = context.socket("PULL", { maxMsgSize: MAX_MESSAGE_SIZE.logQueue });
  pull.bind(address);
  try {
    // Searches for 200,000-character names: 30 of them make 6 MB, more than a frame may hold.
    const lines = Array.from(
      { length: 30 },
      (_, i) => combined(`/simple/${String(i).padStart(2, "0")}${"a".repeat(200_000)}/`, PIP_AGENT),
    );
    lines.splice(10, 0, combined(`/simple/${"b".repeat(MAX_LOG_LINE)}/`, PIP_AGENT));
    Deno.writeTextFileSync(`${dir}/access.log`, lines.join("\n") + "\n");
    const result = await runLogger(["--log-queue", address, `${dir}/access.log`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /31 lines: 30 sent, 0 dropped, 0 ignored, 1 malformed/);
    const got: string[] = [];
    while (got.length < 30) {
      const frames = await pull.recv(5000);
      assert.ok(frames, `record ${got.length} missing`);
      let at = 0;
      while (at < frames[0].length) {
        const end: number = cborItemEnd(frames[0], at);
        const msg = decodeMessage(lumberjackProtocol, frames[0].subarray(at, end));
        if (msg.name !== "LOGSEARCH") throw new Error(`${msg.name}, not LOGSEARCH`);
        got.push(msg.data[0].slice(0, 2));
        at = end;
      }
    }
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => String(i).padStart(2, "0")));
  } finally {
    pull.close(0);
    await context.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
