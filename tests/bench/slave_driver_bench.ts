/**
 * SlaveDriver benchmark. One SlaveDriver runs in a Worker (as in the master) with an in-memory
 * database and no file transfers; N simulated slaves (N = 1, 10, 100) run in a separate process
 * (as real slaves do) and talk to it over tcp loopback. Each slave says HELLO, then loops
 * IDLE → BUILD → BUSY → CONT → BUILT (a failed, empty build) → DONE.
 *
 * Two measurements:
 * - closed loop: every slave sends its next request as soon as the reply arrives, giving the
 *   most requests per second the SlaveDriver sustains (latency then is just N / rate);
 * - paced: 100 slaves offering 5,000 requests per second between them (one request per slave
 *   every 20 ms; real slaves send one every 5–10 s), giving the latency at that load. Latency
 *   runs from the actual send time; how late sends left their schedule is shown beside it.
 * Target: ≥ 5,000 req/s and p99 < 10 ms at N = 100.
 *
 * The simulated slaves are a small C program (`slave_client.c`, compiled here with `cc`): the
 * Deno client, which does the same, spends as much CPU per request as the SlaveDriver, and on a
 * 2-core machine that contention is what would be measured. Without a C compiler, or with
 * `--deno-client`, the Deno client runs.
 *
 * Run: `deno run -A tests/bench/slave_driver_bench.ts [--quick] [--log-file] [--deno-client]`
 * (--log-file: the SlaveDriver also logs at info level to a file, as `piw master -l FILE` does).
 * The same file is the Worker script (it runs the SlaveDriver) and the Deno client process
 * (`--client ENDPOINT N SECONDS RATE`).
 * @module
 */
import { Context, Poller, type Socket } from "../../src/transport/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  slaveDriverProtocol,
  theArchitectProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";
import { makeMasterConfig } from "../../src/master/config.ts";
import { configureLogging } from "../../src/log.ts";
import process from "node:process";
import { buildCClient, BYE, HELLO, hex } from "./c_client.ts";

const TARGET_RATE = 5_000;
const TARGET_P99_MS = 10;
const slaveSide = slaveDriverProtocol.reversed();

/** What one client run measured. */
interface Result {
  n: number;
  requests: number;
  rate: number;
  p50: number;
  p99: number;
  /** p99 of the latency counted from the scheduled rather than the actual send time. */
  scheduledP99: number;
  /** p99 of how late requests left after their scheduled time (paced runs). */
  lagP99: number;
  /** CPU time (user + system) per request of the client process, µs. */
  clientCpuUs: number;
  /** CPU time per request of the benchmark process (the SlaveDriver's Worker), µs. */
  serverCpuUs?: number;
}

/** CPU time (user + system) this process has used, in µs. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function stats(): [Date, number, number, number, number, number, number, number, number] {
  return [new Date(), 1e10, 5e9, 4e9, 2e9, 1e9, 1e9, 0.5, 48.2];
}

const BUILT = encodeMessage(slaveSide, "BUILT", [false, TimeDelta.fromSeconds(1), "", []]);

/** What a slave sends after each reply: the IDLE/BUILD/BUSY/BUILT/DONE cycle. */
function nextRequest(reply: string): Uint8Array {
  if (reply === "BUILD") return encodeMessage(slaveSide, "BUSY", stats());
  if (reply === "CONT") return BUILT;
  return encodeMessage(slaveSide, "IDLE", stats()); // after ACK, SLEEP, DONE
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One simulated slave: its socket, what it sends next, and when. */
interface SimulatedSlave {
  socket: Socket;
  request: Uint8Array;
  /** When its next request is due (performance.now() ms). */
  due: number;
  /** When its request in flight was due and actually sent, or null if none is in flight. */
  scheduled: number | null;
  sent: number;
}

/**
 * The client process: `n` REQ slaves for `seconds`; `rate` > 0 paces them to that many
 * requests per second in total, 0 runs them closed-loop. Prints a {@link Result} as JSON.
 *
 * One loop drives every slave (rather than a timer and a receive per slave, whose own
 * scheduling in this single thread would be measured too): it sends every request that is due,
 * then polls the sockets awaiting a reply until one arrives or the next request is due. The
 * poll has 1 ms resolution, so paced requests leave up to ~1 ms after their scheduled time.
 * Latency runs from the actual send time; the lag behind the schedule is reported apart
 * (`lagP99`): beyond ~1 ms it means this process fell behind, or a slave's previous reply came
 * after its next request was due (a REQ socket sends one request at a time).
 */
async function client(endpoint: string, n: number, seconds: number, rate: number) {
  const cpuStart = cpuMicros();
  const ctx = new Context();
  const poller = new Poller({ wait: "blocking-short-poll" });
  const latencies: number[] = [];
  const fromSchedule: number[] = [];
  const lags: number[] = [];
  const interval = rate > 0 ? (1000 * n) / rate : 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  // Paced slaves start spread over one interval, so requests do not arrive in bursts.
  const slaves: SimulatedSlave[] = Array.from({ length: n }, (_, i) => {
    const socket = ctx.socket("REQ", { linger: 0, wait: "blocking-short-poll" });
    socket.connect(endpoint);
    return { socket, request: HELLO, due: start + (interval * i) / n, scheduled: null, sent: 0 };
  });
  const waiting = new Set<SimulatedSlave>();
  const bySocket = new Map(slaves.map((slave) => [slave.socket, slave]));
  for (let now = performance.now(); now < deadline; now = performance.now()) {
    let nextDue = deadline;
    for (const slave of slaves) {
      if (slave.scheduled !== null) continue;
      if (slave.due <= now) {
        slave.scheduled = slave.due;
        slave.sent = performance.now();
        if (!slave.socket.trySend([slave.request])) throw new Error("cannot send a request");
        waiting.add(slave);
      } else if (slave.due < nextDue) nextDue = slave.due;
    }
    const timeout = Math.max(0, Math.ceil(nextDue - performance.now()));
    for (const socket of await poller.poll([...waiting].map((slave) => slave.socket), timeout)) {
      const frames = socket.tryRecv();
      if (!frames) continue;
      const received = performance.now();
      const slave = bySocket.get(socket)!;
      latencies.push(received - slave.sent);
      fromSchedule.push(received - slave.scheduled!);
      lags.push(slave.sent - slave.scheduled!);
      slave.request = nextRequest(decodeMessage(slaveSide, frames[0]).name);
      slave.due = interval ? slave.scheduled! + interval : received;
      slave.scheduled = null;
      waiting.delete(slave);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  // Outstanding replies are not waited for: REQ sockets closed with linger 0 drop them.
  for (const slave of slaves) {
    if (slave.scheduled === null) slave.socket.trySend([BYE]);
    slave.socket.close(100);
  }
  const at = (values: number[], p: number) => {
    values.sort((a, b) => a - b);
    return values[Math.min(values.length - 1, Math.floor(values.length * p))];
  };
  const result: Result = {
    n,
    requests: latencies.length,
    rate: latencies.length / elapsed,
    p50: at(latencies, 0.5),
    p99: at(latencies, 0.99),
    scheduledP99: at(fromSchedule, 0.99),
    lagP99: at(lags, 0.99),
    clientCpuUs: (cpuMicros() - cpuStart) / latencies.length,
  };
  console.log(JSON.stringify(result));
  await ctx.close(0);
}

/**
 * A QUEUE of 300,000 builds. Made and sent by the main thread, as TheArchitect's Worker does in
 * the master: building it in the SlaveDriver's Worker would leave that heap full of garbage
 * (hundreds of MB, until a full collection), which slows every young-generation collection.
 */
function longQueue(): Uint8Array {
  const queue = Array.from({ length: 300_000 }, (_, i): [string, string] => [`pkg${i}`, "1.0"]);
  return encodeMessage(theArchitectProtocol.reversed(), "QUEUE", { cp311: queue });
}

/** The Worker: a SlaveDriver with an in-memory database and a long build queue. */
function serve(): void {
  const scope = self as unknown as {
    onmessage: (event: MessageEvent<{ handle: bigint; logFile: string } | "quit">) => void;
    postMessage(data: unknown): void;
  };
  let quit = () => {};
  scope.onmessage = async ({ data }) => {
    if (data === "quit") return quit();
    const { SlaveDriver } = await import("../../src/master/tasks/slave_driver.ts");
    // Errors only on the console (every HELLO and BYE is a warning); with --log-file, info and
    // up in a file, as `piw master -l FILE` writes.
    configureLogging({ level: "error", file: data.logFile, fileLevel: "info" });
    const context = Context.fromHandle(data.handle);
    // The build journal is written under the output path: one of its own.
    const outputPath = await Deno.makeTempDir({ prefix: "piw-bench-driver-" });
    const config = makeMasterConfig({ slaveQueue: "tcp://127.0.0.1:*", outputPath });
    let logged = 0;
    const driver = new SlaveDriver(context, config, {
      db: {
        logBuild: () => Promise.resolve(++logged),
        buildAbis: () => Promise.resolve(new Set(["cp311"])),
        findBuild: () => Promise.resolve(null),
        packageFiles: () => Promise.resolve({}),
        reachable: () => Promise.resolve(true),
      },
      fs: {
        expect: () => Promise.resolve(),
        verify: () => Promise.resolve({ status: "staged" as const }),
      },
      // TheSecretary answers at once in a master; with no secretary here, every finished build
      // would wait in line for a queue that never answers (and stay in memory meanwhile).
      web: { buildsLogged: () => Promise.resolve() },
    });
    // The master's main thread drains the status queue; so does this Worker.
    const status = context.socket("PULL", { linger: 0 });
    status.bind(config.intStatusQueue);
    let draining = true;
    const drain = (async () => {
      while (draining) await status.recv(100);
    })();
    await driver.init();
    scope.postMessage("send the queue");
    const running = driver.run();
    quit = () => driver.quit();
    // Let the QUEUE (300,000 entries) be decoded before the clients start.
    while (driver.queues.sizes().cp311 === undefined) await sleep(50);
    scope.postMessage(driver.slaveEndpoint);
    await running;
    draining = false;
    await drain;
    status.close(0);
    await context.close(0);
    await Deno.remove(outputPath, { recursive: true });
    scope.postMessage("done");
  };
}

async function runClient(
  endpoint: string,
  n: number,
  seconds: number,
  rate: number,
  cClient: string | null,
) {
  const cpuStart = cpuMicros();
  const run = [endpoint, `${n}`, `${seconds}`, `${rate}`];
  // The C client sends the same messages; IDLE and BUSY carry fixed stats.
  const messages = [HELLO, nextRequest("ACK"), nextRequest("BUILD"), BUILT, BYE].map(hex);
  const out = await new Deno.Command(cClient ?? Deno.execPath(), {
    args: cClient
      ? [...run, ...messages]
      : ["run", "-A", new URL(import.meta.url).pathname, "--client", ...run],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the client process failed");
  const result = JSON.parse(new TextDecoder().decode(out.stdout)) as Result;
  // The main thread only waits meanwhile: this is the Worker's CPU time (and a little idle).
  result.serverCpuUs = (cpuMicros() - cpuStart) / result.requests;
  return result;
}

function line(label: string, r: Result, verdict = ""): string {
  return `  ${label.padEnd(24)} ${Math.round(r.rate).toLocaleString("en").padStart(7)} req/s, ` +
    `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, CPU/request: server ` +
    `${r.serverCpuUs!.toFixed(0)} µs, client ${r.clientCpuUs.toFixed(0)} µs${verdict}`;
}

function pacing(r: Result): string {
  return `  ${"".padEnd(24)} (send lag p99 ${r.lagP99.toFixed(2)} ms; p99 from scheduled time ` +
    `${r.scheduledP99.toFixed(2)} ms)`;
}

async function main(): Promise<void> {
  const seconds = Deno.args.includes("--quick") ? 2 : 5;
  const logDir = Deno.args.includes("--log-file") ? Deno.makeTempDirSync() : null;
  const logFile = logDir ? `${logDir}/master.log` : "";
  const clientDir = Deno.makeTempDirSync({ prefix: "piw-bench-client-" });
  const cClient = Deno.args.includes("--deno-client") ? null : buildCClient(clientDir);
  const ctx = new Context();
  const worker = new Worker(import.meta.url, { type: "module" });
  const builds = ctx.socket("PUSH", { linger: 0 });
  builds.connect(makeMasterConfig({}).buildsQueue);
  const endpoint = await new Promise<string>((resolve) => {
    worker.onmessage = ({ data }) => {
      if (data === "send the queue") builds.send([longQueue()]);
      else resolve(data);
    };
    worker.postMessage({ handle: ctx.handle, logFile });
  });
  builds.close(0);
  console.log(
    `SlaveDriver in a Worker, slaves in another process, tcp loopback, ${seconds} s per run ` +
      `(load ${Deno.loadavg()[0].toFixed(2)} on ${navigator.hardwareConcurrency} CPUs)` +
      (logDir ? ", logging at info to a file" : "") +
      `; client: ${cClient ? "C (slave_client.c)" : "Deno"}`,
  );
  await runClient(endpoint, 10, 1, 0, cClient); // warm-up
  let best = 0;
  for (const n of [1, 10, 100]) {
    const r = await runClient(endpoint, n, seconds, 0, cClient);
    if (n === 100) best = r.rate;
    console.log(line(`closed loop, N=${n}`, r));
  }
  const paced = await runClient(endpoint, 100, seconds, TARGET_RATE, cClient);
  const met = best >= TARGET_RATE && paced.rate >= TARGET_RATE * 0.95 && paced.p99 < TARGET_P99_MS;
  console.log(line("paced 5,000/s, N=100", paced, met ? "  (target met)" : "  (BELOW TARGET)"));
  console.log(pacing(paced));
  console.log(
    `  target at N=100: >= ${TARGET_RATE.toLocaleString("en")} req/s, p99 < ${TARGET_P99_MS} ms ` +
      `(load now ${Deno.loadavg()[0].toFixed(2)})`,
  );
  const done = new Promise((resolve) => worker.onmessage = resolve);
  worker.postMessage("quit");
  await done;
  worker.terminate();
  await ctx.close(0);
  if (logDir) Deno.removeSync(logDir, { recursive: true });
  Deno.removeSync(clientDir, { recursive: true });
}

// Last, so every constant above is initialised before any role starts.
if ("WorkerGlobalScope" in globalThis) serve();
else if (Deno.args[0] === "--client") {
  const [, endpoint, n, seconds, rate] = Deno.args;
  await client(endpoint, Number(n), Number(seconds), Number(rate));
} else await main();
