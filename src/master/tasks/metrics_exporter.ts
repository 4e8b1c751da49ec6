/**
 * MetricsExporter (`piw master --metrics ADDR`): serves Prometheus' text format at
 * `http://ADDR/metrics`. Its figures come from where the monitors get theirs and from two small
 * sources of its own:
 * - the status queue, as a monitor (a SUB, and HELLO on the control queue for the replay):
 *   BigBrother's STATS (queue lengths, disk) and every slave's state by the monitors' rules
 *   (`FarmState`);
 * - the database every {@link DB_INTERVAL_MS}: builds of the last hour by ABI, result and failure
 *   class, and the retries pending by ABI; the round trip of the first request through Seraph and
 *   TheOracle is the database latency;
 * - FileJuggler's running total of bytes received (`inproc://metrics`).
 * A scrape never waits on a task or the database: it gets the page rendered from those figures
 * at most once a second, so a slow or flooding scraper costs only its own connections.
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import {
  encodeMessage,
  masterControlProtocol,
  metricsProtocol,
  monitorStatsProtocol,
} from "../../protocols/mod.ts";
import { PiwError } from "../../errors.ts";
import { RateLimitedLog } from "../../log.ts";
import type { BuildCount, RetryCount } from "../../db/mod.ts";
import { FarmState, type RowStatus } from "../../monitor/state.ts";
import { type MasterConfig, parseMetricsAddress } from "../config.ts";
import { Task } from "../task.ts";
import { DbClient } from "../../clients/db.ts";
import { type MetricFamily, PROMETHEUS_CONTENT_TYPE, renderMetrics } from "../prometheus.ts";

/** How often the database figures are fetched (and its latency measured), ms; 5 s in dev mode. */
export const DB_INTERVAL_MS = 15_000;
/** How long a rendered page is served before it is rendered again, ms. */
export const RENDER_INTERVAL_MS = 1_000;
/** How often HELLO goes to the control queue until the master's HELLO answers, ms. */
const HELLO_RETRY_MS = 10_000;

const SLAVE_STATES: RowStatus[] = ["idle", "building", "sending", "cleaning", "alert", "dead"];
const controlSide = masterControlProtocol.reversed();

/** A queue address this process can connect to: a wildcard host means this machine. */
function localAddress(address: string): string {
  return address.replace(/^tcp:\/\/(\*|0\.0\.0\.0):/, "tcp://127.0.0.1:");
}

/** A failure's `class` label when it was recorded before failure classes. */
const UNCLASSIFIED = "unclassified";

/** The labels of a build count: a failure's has its failure class too. */
function buildLabels([abi, status, failureClass]: BuildCount): Record<string, string> {
  return status
    ? { abi, result: "success" }
    : { abi, result: "failure", class: failureClass ?? UNCLASSIFIED };
}

/** The Prometheus exporter (Nonstop: a paused farm is still worth watching). */
export class MetricsExporter extends Task {
  readonly name = "metrics_exporter";
  override readonly kind = "nonstop" as const;
  readonly farm = new FarmState();
  #db: DbClient;
  #builds: BuildCount[] = [];
  #retries: RetryCount[] = [];
  #dbLatency: number | null = null;
  #dbUp = 0;
  #transferred = 0;
  #page = "";
  #renderedAt = -Infinity;
  #server: Deno.HttpServer | null = null;
  #errors = new RateLimitedLog(this.log);

  /** Join the status queue as a monitor and bind the metrics queue. */
  constructor(context: Context, config: MasterConfig) {
    super(context, config);
    const status = this.queue("SUB", monitorStatsProtocol, {
      subscribe: "",
      rcvHwm: 1000,
      linger: 0,
    });
    status.socket.connect(localAddress(config.statusQueue));
    this.register(status, (msg) => {
      this.farm.apply(msg);
    });
    const control = this.socket("PUSH", { sndHwm: 10, linger: 0 });
    control.connect(localAddress(config.controlQueue));
    this.every(HELLO_RETRY_MS, () => {
      if (!this.farm.master.hello) control.trySend([encodeMessage(controlSide, "HELLO")]);
    });
    const counters = this.queue("PULL", metricsProtocol, { rcvHwm: 10, linger: 0 });
    counters.socket.bind(config.metricsQueue);
    this.register(counters, {
      TRANSFERRED: (total) => {
        this.#transferred = total;
      },
    });
    this.#db = this.track(new DbClient(context, config));
    this.every(config.devMode ? 5_000 : DB_INTERVAL_MS, () => this.#sampleDb());
  }

  /** Serve HTTP; a taken address fails the task's start (and so the master's) in one line. */
  protected override setup(): Promise<void> {
    const { hostname, port } = parseMetricsAddress(this.config.metrics);
    try {
      this.#server = Deno.serve({
        hostname,
        port,
        onListen: () => this.log.info(`serving metrics at http://${this.config.metrics}/metrics`),
        onError: (error) => {
          this.#errors.warning("http", `metrics request failed: ${(error as Error).message}`);
          return new Response("internal error\n", { status: 500 });
        },
      }, (request) => this.#serve(request));
    } catch (error) {
      throw new PiwError(
        `cannot serve metrics on ${this.config.metrics}: ${(error as Error).message}`,
      );
    }
    return Promise.resolve();
  }

  /** Stop serving (open connections are closed). */
  protected override async teardown(): Promise<void> {
    await this.#server?.shutdown();
  }

  async #sampleDb(): Promise<void> {
    const started = performance.now();
    try {
      this.#builds = await this.#db.call("BUILDSHOUR");
      this.#dbLatency = (performance.now() - started) / 1000;
      this.#retries = await this.#db.call("RETRIESPEND");
      this.#dbUp = 1;
    } catch (error) {
      this.#dbUp = 0;
      this.#errors.warning(
        "db",
        `cannot fetch build counts or retries: ${(error as Error).message}`,
      );
    }
  }

  #serve(request: Request): Response {
    const { pathname } = new URL(request.url);
    if (pathname !== "/metrics") {
      return new Response("metrics are at /metrics\n", { status: 404 });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const now = performance.now();
    if (now - this.#renderedAt >= RENDER_INTERVAL_MS) {
      this.#page = renderMetrics(this.families());
      this.#renderedAt = now;
    }
    return new Response(request.method === "HEAD" ? null : this.#page, {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  }

  /** Every metric as it stands (names and meanings: README, "Metrics"). */
  families(now = new Date()): MetricFamily[] {
    this.farm.prune(now);
    const stats = this.farm.master.latest;
    const hello = this.farm.master.hello;
    const slaves = new Map(SLAVE_STATES.map((state) => [state, 0]));
    for (const row of this.farm.slaves.values()) {
      const state = row.status(now);
      slaves.set(state, slaves.get(state)! + 1);
    }
    const optional = (value: number | null | undefined) =>
      value === null || value === undefined ? [] : [{ value }];
    return [
      {
        name: "piw_build_queue_length",
        help: "Versions waiting to be built, per build ABI (as the monitors show them)",
        type: "gauge",
        samples: Object.entries(this.farm.master.pending).map(([abi, value]) => ({
          labels: { abi },
          value,
        })),
      },
      {
        name: "piw_builds_last_hour",
        help: "Builds that finished in the last hour, per builder ABI, result and failure class",
        type: "gauge",
        samples: this.#builds.map((count) => ({ labels: buildLabels(count), value: count[3] })),
      },
      {
        name: "piw_retries_pending",
        help: "Automatic retries of failed builds not yet due, per builder ABI",
        type: "gauge",
        samples: this.#retries.map(([abi, value]) => ({ labels: { abi }, value })),
      },
      {
        name: "piw_slaves",
        help: "Build slaves per state (idle, building, sending, cleaning, alert, dead)",
        type: "gauge",
        samples: [...slaves].map(([state, value]) => ({ labels: { state }, value })),
      },
      {
        name: "piw_transfer_bytes_total",
        help: "Bytes of the files received in full from build slaves since the master started",
        type: "counter",
        samples: [{ value: this.#transferred }],
      },
      {
        name: "piw_disk_size_bytes",
        help: "Size of the file system holding the output path",
        type: "gauge",
        samples: optional(stats?.[11]),
      },
      {
        name: "piw_disk_free_bytes",
        help: "Free space on the file system holding the output path",
        type: "gauge",
        samples: optional(stats?.[12]),
      },
      {
        name: "piw_database_up",
        help: "Whether the last database request of the exporter succeeded",
        type: "gauge",
        samples: [{ value: this.#dbUp }],
      },
      {
        name: "piw_database_latency_seconds",
        help: "Round trip of the exporter's last database request (through Seraph and TheOracle)",
        type: "gauge",
        samples: optional(this.#dbLatency),
      },
      {
        name: "piw_master_start_time_seconds",
        help: "When the master started, in seconds since the epoch (a failed task stops the " +
          "master, which its service manager starts again: this shows task restarts too)",
        type: "gauge",
        samples: optional(hello ? hello[0].getTime() / 1000 : null),
      },
    ];
  }
}
