/**
 * Transport benchmark: REQ↔ROUTER round trips per second and 64 KiB chunk throughput, over
 * inproc (across threads: the peer runs in a Web Worker sharing the context) and tcp loopback.
 *
 * Run: `deno run -A tests/bench/transport_bench.ts [--quick]`. This file is also the Worker
 * script: loaded in a Worker it serves whatever the main thread asks for.
 * @module
 */

import { Context, type WaitMode } from "../../src/transport/mod.ts";

const ROUND_TRIP_TARGET = 20_000;
const THROUGHPUT_TARGET = 1e9;
const CHUNK = 64 * 1024;

/** What the main thread asks a Worker to do. */
interface Job {
  handle: bigint;
  role: "echo-router" | "req-client" | "push-chunks";
  endpoint: string;
  wait: WaitMode;
  count: number;
}

if ("WorkerGlobalScope" in globalThis) {
  const scope = self as unknown as {
    onmessage: (event: MessageEvent<Job>) => void;
    postMessage(data: unknown): void;
  };
  scope.onmessage = async ({ data: job }) => {
    const ctx = Context.fromHandle(job.handle);
    if (job.role === "echo-router") {
      const router = ctx.socket("ROUTER", { wait: job.wait });
      const endpoint = router.bind(job.endpoint);
      scope.postMessage(endpoint);
      for (;;) {
        const frames = (await router.recv())!;
        if (frames.length !== 3) break;
        await router.send(frames);
      }
    } else if (job.role === "req-client") {
      const req = ctx.socket("REQ", { wait: job.wait });
      req.connect(job.endpoint);
      scope.postMessage(await roundTrips(req, job.count));
    } else {
      const push = ctx.socket("PUSH", { wait: job.wait, sndHwm: 100 });
      push.connect(job.endpoint);
      scope.postMessage("ready");
      const chunk = new Uint8Array(CHUNK).fill(7);
      for (let i = 0; i < job.count; i++) await push.send([chunk]);
      await push.send(["end"]);
    }
    await ctx.close();
    scope.postMessage("done");
  };
} else {
  await main();
}

type ReqSocket = ReturnType<Context["socket"]>;

/** Runs `count` timed round trips (after a warm-up) and returns the rate per second. */
async function roundTrips(req: ReqSocket, count: number): Promise<number> {
  const payload = new Uint8Array(32).fill(1);
  for (let i = 0; i < Math.min(1000, count); i++) {
    await req.send([payload]);
    await req.recv();
  }
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await req.send([payload]);
    await req.recv();
  }
  return count / ((performance.now() - start) / 1000);
}

function spawn(job: Job): { worker: Worker; next: () => Promise<unknown> } {
  const worker = new Worker(import.meta.url, { type: "module" });
  const inbox: unknown[] = [];
  let waiting: ((value: unknown) => void) | null = null;
  worker.onmessage = ({ data }) => {
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      resolve(data);
    } else inbox.push(data);
  };
  worker.postMessage(job);
  const next = () =>
    inbox.length > 0
      ? Promise.resolve(inbox.shift())
      : new Promise((resolve) => (waiting = resolve));
  return { worker, next };
}

async function stopEcho(ctx: Context, endpoint: string, echo: ReturnType<typeof spawn>) {
  const stopper = ctx.socket("DEALER");
  stopper.connect(endpoint);
  await stopper.send(["stop"]);
  await echo.next();
  stopper.close(0);
  echo.worker.terminate();
}

/** REQ in the main thread (mode `reqWait`) against an echoing ROUTER in a Worker. */
async function mainToWorker(
  transport: string,
  reqWait: WaitMode,
  routerWait: WaitMode,
  count: number,
): Promise<number> {
  const ctx = new Context();
  const echo = spawn({
    handle: ctx.handle,
    role: "echo-router",
    endpoint: transport,
    wait: routerWait,
    count,
  });
  const endpoint = await echo.next() as string;
  const req = ctx.socket("REQ", { wait: reqWait });
  req.connect(endpoint);
  const rate = await roundTrips(req, count);
  req.close(0);
  await stopEcho(ctx, endpoint, echo);
  await ctx.close(0);
  return rate;
}

/** REQ in one Worker against an echoing ROUTER in another, both in mode `wait`. */
async function workerToWorker(transport: string, wait: WaitMode, count: number): Promise<number> {
  const ctx = new Context();
  const echo = spawn({ handle: ctx.handle, role: "echo-router", endpoint: transport, wait, count });
  const endpoint = await echo.next() as string;
  const client = spawn({ handle: ctx.handle, role: "req-client", endpoint, wait, count });
  const rate = await client.next() as number;
  await client.next();
  client.worker.terminate();
  await stopEcho(ctx, endpoint, echo);
  await ctx.close(0);
  return rate;
}

/** REQ and an echoing ROUTER both in the main thread: no thread hop at all. */
async function sameThread(transport: string, count: number): Promise<number> {
  const ctx = new Context();
  const router = ctx.socket("ROUTER");
  const req = ctx.socket("REQ");
  req.connect(router.bind(transport));
  const echo = (async () => {
    for (;;) {
      const frames = await router.recv().catch(() => null);
      if (frames === null) return;
      await router.send(frames);
    }
  })();
  const rate = await roundTrips(req, count);
  await ctx.close(0);
  await echo;
  return rate;
}

/** 64 KiB chunks pushed by a Worker and pulled by the main thread: bytes per second. */
async function throughput(transport: string, wait: WaitMode, count: number): Promise<number> {
  const ctx = new Context();
  const pull = ctx.socket("PULL", { rcvHwm: 100 });
  const endpoint = pull.bind(transport);
  const pusher = spawn({ handle: ctx.handle, role: "push-chunks", endpoint, wait, count });
  await pusher.next();
  let bytes = 0;
  let start = 0;
  for (let received = 0;; received++) {
    const frames = (await pull.recv())!;
    if (received === 0) start = performance.now();
    else if (frames[0].length !== CHUNK) break;
    else bytes += frames[0].length;
  }
  const rate = bytes / ((performance.now() - start) / 1000);
  await pusher.next();
  pusher.worker.terminate();
  pull.close(0);
  await ctx.close(0);
  return rate;
}

function uniqueIpc(): string {
  return `ipc://${Deno.makeTempDirSync({ prefix: "piw-bench-" })}/socket`;
}

/** Runs `measure` `repeat` times and prints the best figure against `target`. */
async function report(
  label: string,
  unit: "rt/s" | "GB/s",
  repeat: number,
  measure: () => Promise<number>,
) {
  const values: number[] = [];
  for (let i = 0; i < repeat; i++) values.push(await measure());
  const best = Math.max(...values);
  const target = unit === "rt/s" ? ROUND_TRIP_TARGET : THROUGHPUT_TARGET;
  const show = (value: number) =>
    unit === "GB/s" ? (value / 1e9).toFixed(2) : Math.round(value).toLocaleString("en");
  const ratio = (best / target).toFixed(2);
  const mark = best >= target ? "meets target" : "below target";
  const all = repeat > 1 ? `  [runs: ${values.map(show).join(", ")}]` : "";
  console.log(`${label.padEnd(56)} ${show(best).padStart(7)} ${unit}  ${ratio}x (${mark})${all}`);
}

async function main() {
  const quick = Deno.args.includes("--quick");
  const repeatArg = Deno.args.find((arg) => arg.startsWith("--repeat="));
  const repeat = repeatArg ? Number(repeatArg.slice("--repeat=".length)) : 1;
  const n = quick ? 5_000 : 20_000;
  const chunks = quick ? 3_000 : 15_000;
  const tcp = "tcp://127.0.0.1:*";
  const inproc = () => `inproc://bench-${crypto.randomUUID()}`;
  const short = "blocking-short-poll";
  const pool = "thread-pool";
  console.log(
    `transport: ${n} REQ↔ROUTER round trips, ${chunks} chunks of 64 KiB (best of ${repeat}); ` +
      `targets ${ROUND_TRIP_TARGET.toLocaleString("en")} rt/s, ${THROUGHPUT_TARGET / 1e9} GB/s\n` +
      `default wait modes: Workers ${short}, main thread ${pool}; load ${loadAverage()}`,
  );
  const rt = (label: string, measure: () => Promise<number>) =>
    report(label, "rt/s", repeat, measure);
  await rt(
    "inproc REQ worker ↔ ROUTER worker (defaults)",
    () => workerToWorker(inproc(), short, n),
  );
  await rt(
    "inproc REQ main ↔ ROUTER worker (defaults)",
    () => mainToWorker(inproc(), pool, short, n),
  );
  await rt("inproc REQ ↔ ROUTER, both in the main thread", () => sameThread(inproc(), n));
  await rt(
    "inproc REQ worker ↔ ROUTER worker, both thread-pool",
    () => workerToWorker(inproc(), pool, n),
  );
  await rt(
    "inproc REQ main ↔ ROUTER worker, both thread-pool",
    () => mainToWorker(inproc(), pool, pool, n),
  );
  await rt(
    "ipc REQ worker ↔ ROUTER worker (defaults)",
    () => workerToWorker(uniqueIpc(), short, n),
  );
  await rt("tcp REQ worker ↔ ROUTER worker (defaults)", () => workerToWorker(tcp, short, n));
  await rt("tcp REQ main ↔ ROUTER worker (defaults)", () => mainToWorker(tcp, pool, short, n));
  const tp = (label: string, measure: () => Promise<number>) =>
    report(label, "GB/s", repeat, measure);
  await tp(
    "inproc 64 KiB PUSH worker → PULL main (defaults)",
    () => throughput(inproc(), short, chunks),
  );
  await tp("tcp 64 KiB PUSH worker → PULL main (defaults)", () => throughput(tcp, short, chunks));
  console.log(`load ${loadAverage()}`);
}

/** The 1-minute load average (other processes skew every figure here). */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "unknown";
  }
}
