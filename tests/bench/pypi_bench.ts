/**
 * Benchmark: replay a recorded-like PyPI journal of 1,000,000 events from the stand-in and time
 * the XML-RPC client, re-ordering buffer and event mapping ingesting all of it (no database).
 *
 * The 2 requests/s limiter is lifted (`rateLimit: null`), as it would otherwise dominate: at
 * PyPI's 50,000 events per answer, 1 M events are 20 requests, 10 s at 2 requests/s. Summaries
 * are left out of the main figure (`--describe` adds them), as CloudGazer's budget for them
 * depends on how many projects are new.
 *
 * Run: `deno run -A tests/bench/pypi_bench.ts [--events N] [--describe]`
 * @module
 */

import type { PyPIChangelogSource, PyPIEvent } from "../../src/pypi/changelog.ts";
import { XmlRpcChangelogSource } from "../../src/pypi/changelog.ts";
import { DescriptionFetcher } from "../../src/pypi/description.ts";
import { PyPIEvents } from "../../src/pypi/events.ts";
import { startPyPIStandIn } from "../fixtures/pypi/stand_in.ts";

/** What one run measured. */
export interface PyPIBenchResult {
  /** Journal entries replayed. */
  events: number;
  /** Package events produced after mapping and duplicate suppression. */
  packageEvents: number;
  /** XML-RPC requests made. */
  requests: number;
  /** Wall-clock seconds from the first poll to the last event. */
  seconds: number;
  /** Of which waiting for XML-RPC answers (transfer and parsing; the stand-in's are cached). */
  sourceSeconds: number;
  /** Journal entries ingested per second. */
  eventsPerSecond: number;
}

const FIRST_SERIAL = 20_000_000;
const START = Date.UTC(2024, 0, 1) / 1000;

/**
 * A journal shaped like PyPI's: new projects, releases with an sdist and several wheels,
 * ignored bookkeeping actions, some removals and yanks, timestamps about 4 s apart on average
 * and running backwards by up to 3 minutes now and then.
 */
export function syntheticJournal(count: number, seed = 1): PyPIEvent[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const events: PyPIEvent[] = [];
  let time = START;
  let serial = FIRST_SERIAL;
  let projects = 0;
  const push = (name: string, version: string | null, action: string) => {
    if (events.length >= count) return;
    time += Math.floor(random() * 8);
    const jitter = random() < 0.02 ? Math.floor(random() * 180) : 0;
    serial += random() < 0.05 ? 2 : 1; // PyPI skips serials now and then
    events.push([name, version, time - jitter, action, serial]);
  };
  while (events.length < count) {
    const fresh = projects < 1000 || random() < 0.3;
    const id = fresh ? projects++ : Math.floor(random() * projects);
    const name = `Project_${id}`;
    const version = `${Math.floor(random() * 5)}.${Math.floor(random() * 20)}.${events.length}`;
    if (fresh) push(name, null, "create");
    push(name, version, "new release");
    push(name, version, `add source file ${name}-${version}.tar.gz`);
    const wheels = Math.floor(random() * 6);
    for (let w = 0; w < wheels; w++) {
      push(name, version, `add cp3${8 + w} file ${name}-${version}-cp3${8 + w}-none-any.whl`);
    }
    const roll = random();
    if (roll < 0.02) push(name, version, "yank release");
    else if (roll < 0.03) push(name, version, "remove release");
    else if (roll < 0.05) push(name, null, "add Owner someone");
  }
  return events;
}

/**
 * Replay `count` events through client, buffer and mapping; optionally fetch summaries. A first,
 * untimed pass warms the JIT and has the stand-in encode its answers once (it caches them), so
 * the timed pass measures piw's side: transfer, parsing, buffering and mapping.
 */
export async function benchPyPI(
  count = 1_000_000,
  options: { describe?: boolean; warmUp?: boolean } = {},
): Promise<PyPIBenchResult> {
  await using pypi = await startPyPIStandIn({ batchSize: 50_000, cacheAnswers: true });
  const journal = syntheticJournal(count);
  pypi.addEvents(journal);
  // One late event lets the 5-minute window release everything before it.
  pypi.addEvent("flush", null, journal[journal.length - 1][2] + 3600, "docupdate");
  if (options.describe) {
    const names = new Set(journal.map((e) => e[0]));
    for (const name of names) pypi.setJson(name, { summary: `Summary of ${name}` });
  }
  if (options.warmUp ?? true) await ingest(pypi.xmlrpcUrl, null);
  const requestsBefore = pypi.requestsTo("xmlrpc").length;
  const fetcher = options.describe ? new DescriptionFetcher({ url: pypi.jsonUrl }) : null;
  const run = await ingest(pypi.xmlrpcUrl, fetcher);
  return {
    events: count,
    packageEvents: run.packageEvents,
    requests: pypi.requestsTo("xmlrpc").length - requestsBefore,
    seconds: run.seconds,
    sourceSeconds: run.sourceSeconds,
    eventsPerSecond: count / run.seconds,
  };
}

/** A changelog source that adds up the time spent in its calls (`ms`). */
export class TimedChangelogSource implements PyPIChangelogSource {
  /** Milliseconds spent in `changelogSince` so far. */
  ms = 0;
  readonly #client: PyPIChangelogSource;

  /** Time the calls of `client`. */
  constructor(client: PyPIChangelogSource) {
    this.#client = client;
  }

  /** The client's answer, timed. */
  async changelogSince(serial: number): Promise<PyPIEvent[]> {
    const started = performance.now();
    try {
      return await this.#client.changelogSince(serial);
    } finally {
      this.ms += performance.now() - started;
    }
  }
}

/** Follow the whole journal once, as CloudGazer would while catching up. */
async function ingest(url: string, fetcher: DescriptionFetcher | null) {
  const source = new TimedChangelogSource(new XmlRpcChangelogSource({ url, rateLimit: null }));
  const events = new PyPIEvents({
    source,
    serial: FIRST_SERIAL,
    describe: fetcher ? (pkg) => fetcher.describe(pkg) : null,
    describeConcurrency: 8,
    idleMs: 0,
  });
  let packageEvents = 0;
  const started = performance.now();
  do packageEvents += (await events.poll()).length; while (events.more);
  return {
    packageEvents,
    seconds: (performance.now() - started) / 1000,
    sourceSeconds: source.ms / 1000,
  };
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--events");
  const count = at >= 0 ? Number(Deno.args[at + 1]) : 1_000_000;
  const describe = Deno.args.includes("--describe");
  const result = await benchPyPI(count, { describe });
  console.log(
    `pypi: ingested ${result.events.toLocaleString("en")} journal events ` +
      `(${result.packageEvents.toLocaleString("en")} package events, ` +
      `${result.requests} requests${describe ? ", with summaries" : ""}) in ` +
      `${result.seconds.toFixed(2)} s, ${result.sourceSeconds.toFixed(2)} s of it in XML-RPC ` +
      `calls: ${Math.round(result.eventsPerSecond).toLocaleString("en")} events/s`,
  );
}
