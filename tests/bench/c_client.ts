/**
 * The C slave client (`slave_client.c`) the SlaveDriver and build-path benchmarks (and a test of
 * quick slaves) drive, compiled with `cc` against Debian's libzmq5, and the messages its slaves
 * send in a failed-build cycle (HELLO; IDLE → BUILD, BUSY → CONT, BUILT → DONE).
 * @module
 */
import { encodeMessage, NO_DATA, slaveDriverProtocol, TimeDelta } from "../../src/protocols/mod.ts";

const slaveSide = slaveDriverProtocol.reversed();

/** HELLO of a slave building for cp311. */
export const HELLO = encodeMessage(slaveSide, "HELLO", [
  TimeDelta.fromSeconds(10_800),
  TimeDelta.fromSeconds(300),
  "311",
  "cp311",
  "linux_armv7l",
  "bench",
  "Raspbian GNU/Linux",
  "12",
  "c03111",
  "0",
]);
const STATS: [Date, number, number, number, number, number, number, number, number] = [
  new Date(),
  1e10,
  5e9,
  4e9,
  2e9,
  1e9,
  1e9,
  0.5,
  48.2,
];
/** IDLE (and its stats). */
export const IDLE = encodeMessage(slaveSide, "IDLE", STATS);
/** BUSY (and its stats). */
export const BUSY = encodeMessage(slaveSide, "BUSY", STATS);
/** BUILT: a failed build with a one-line log. */
export const FAILED = encodeMessage(slaveSide, "BUILT", [
  false,
  TimeDelta.fromSeconds(1),
  "ERROR: No matching distribution found",
  [],
]);

/** What one client run measured (the C client's JSON, and the Deno client's). */
export interface ClientResult {
  n: number;
  requests: number;
  rate: number;
  p50: number;
  p99: number;
  clientCpuUs: number;
  builds: number;
  /** Mean latency (ms) of IDLE, BUSY and BUILT requests (the C client only). */
  meanIdle?: number;
  meanBusy?: number;
  meanBuilt?: number;
  /** Mean time from a reply to the slave's next request, ms (the C client's own delay). */
  meanLag?: number;
  /** Requests unanswered when the run ended, and the oldest one's age, ms (the C client only). */
  unanswered?: number;
  oldestMs?: number;
  /** What each unanswered request was: H(ELLO), I(DLE), (B)U(SY), B(UILT). */
  waitingFor?: string;
  /** SLEEP replies: the queue ran dry (or had not reached SlaveDriver yet). */
  sleeps: number;
  /** Slaves that finished no build in the run (the C client only). */
  idleSlaves?: number;
}

/** `bytes` in hexadecimal, as the C client takes its messages. */
export const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** BYE. */
export const BYE = encodeMessage(slaveSide, "BYE", NO_DATA);

/** The C client's arguments: `n` slaves cycling failed builds at `endpoint` for `seconds`. */
export function cClientArgs(endpoint: string, n: number, seconds: number): string[] {
  return [endpoint, `${n}`, `${seconds}`, "0", ...[HELLO, IDLE, BUSY, FAILED, BYE].map(hex)];
}

/** The C client compiled into `dir`, or null when there is no C compiler (say why, once). */
export function buildCClient(dir: string): string | null {
  const source = new URL("./slave_client.c", import.meta.url).pathname;
  const binary = `${dir}/slave_client`;
  try {
    const out = new Deno.Command("cc", {
      args: ["-O2", "-o", binary, source, "-l:libzmq.so.5"],
      stderr: "piped",
    }).outputSync();
    if (out.success) return binary;
    console.log(`  (no C client: ${new TextDecoder().decode(out.stderr).trim()})`);
  } catch (error) {
    console.log(`  (no C client: ${(error as Error).message})`);
  }
  return null;
}
