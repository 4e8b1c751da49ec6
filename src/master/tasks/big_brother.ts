/**
 * BigBrother: gathers the master's statistics (database, build queue sizes from SlaveDriver,
 * disk space from FileJuggler, downloads from Lumberjack, and the machine's memory, load and
 * temperature), publishes STATS to monitors every `config.statsInterval` and keeps the last
 * 100 for a new monitor (control message STATS replays them).
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import {
  bigBrotherControlProtocol,
  bigBrotherProtocol,
  type MasterStats,
  type MessageOf,
  TimeDelta,
} from "../../protocols/mod.ts";
import { type MasterConfig, StatusPublisher, Task } from "../task.ts";
import { DbClient } from "../../clients/db.ts";
import { diskUsage, machineStats } from "../system.ts";
import { SecretaryClient } from "../../clients/secretary.ts";

/** How often the homepage is rewritten, ms (piwheels: 60 s). */
export const HOME_INTERVAL = 60_000;
/** How often the search index is rewritten, ms (piwheels: 60 min; 5 min in dev mode). */
export const SEARCH_INTERVAL = 60 * 60_000;

/** How many STATS a new monitor gets replayed. */
export const HISTORY_SIZE = 100;

/** What other tasks told BigBrother since the last database refresh. */
interface Reported {
  disk: [size: number, free: number] | null;
  buildsPending: Record<string, number> | null;
}

/** The statistics collector (Pausing). */
export class BigBrother extends Task {
  readonly name = "big_brother";
  override readonly kind = "pausing" as const;
  protected override controlProtocol = bigBrotherControlProtocol;
  /** The last STATS published, oldest first. */
  readonly history: MasterStats[] = [];
  /** pip's metadata fetches (last 30 days, ever) at the last STATS: for the homepage only. */
  #metadataFetches: [lastMonth: number, all: number] = [0, 0];
  #reported: Reported = { disk: null, buildsPending: null };
  #db: DbClient;
  #status: StatusPublisher;
  #web: SecretaryClient;
  #rewriteHome: () => void;
  #rewriteSearch: () => void;

  /** Bind the stats queue, connect to the oracles and the status queue. */
  constructor(context: Context, config: MasterConfig) {
    super(context, config);
    const stats = this.queue("PULL", bigBrotherProtocol, { hwm: 10 });
    stats.socket.bind(config.statsQueue);
    this.register(stats, (msg) => this.#onStats(msg));
    this.#db = this.track(new DbClient(context, config));
    this.#status = new StatusPublisher(this.socket("PUSH"), config);
    this.#web = this.track(new SecretaryClient(context, config));
    this.every(config.statsInterval, () => this.#genStats());
    this.#rewriteHome = this.every(config.devMode ? 10_000 : HOME_INTERVAL, () => this.#home());
    this.#rewriteSearch = this.every(
      config.devMode ? 5 * 60_000 : SEARCH_INTERVAL,
      () => this.#search(),
    );
  }

  /** HOME with the latest stats; not awaited, so a slow or missing secretary never stalls stats. */
  #home(): void {
    const latest = this.history.at(-1);
    if (!latest) return;
    this.#web.send("HOME", [latest, ...this.#metadataFetches]).catch((e) =>
      this.log.warning(`homepage rewrite not sent: ${(e as Error).message}`)
    );
  }

  /** SEARCH with the download counts of every package. */
  async #search(): Promise<void> {
    const index = await this.#db.call("GETSEARCH");
    this.#web.send("SEARCH", index).catch((e) =>
      this.log.warning(`search index rewrite not sent: ${(e as Error).message}`)
    );
  }

  #onStats(msg: MessageOf<typeof bigBrotherProtocol.recv>): void {
    switch (msg.name) {
      case "STATFS":
        this.#reported.disk = msg.data;
        break;
      case "STATBQ":
        this.#reported.buildsPending = msg.data;
        break;
      case "LOGDOWNLOAD":
        // piw's get_statistics counts downloads itself (piwheels' stopped doing so for
        // speed), so Lumberjack's per-minute counts would only count them twice.
        break;
      case "HOME":
        // `piw rebuild home|search`: both pages now.
        this.#rewriteHome();
        this.#rewriteSearch();
        break;
    }
  }

  /** Gather everything, publish STATS and remember it. */
  async #genStats(): Promise<void> {
    const [db, machine] = await Promise.all([this.#db.call("GETSTATS"), machineStats()]);
    const disk = this.#reported.disk ??
      Object.values(await diskUsage(this.config.outputPath)) as [number, number];
    const stats: MasterStats = [
      new Date(),
      db.packagesBuilt,
      db.buildsLastHour,
      TimeDelta.fromMilliseconds(db.buildsTime),
      db.buildsSize,
      this.#reported.buildsPending ?? db.buildsPending,
      db.newLastHour,
      db.filesCount,
      db.downloadsLastHour,
      db.downloadsLastMonth,
      db.downloadsAll,
      disk[0],
      disk[1],
      machine.memSize,
      machine.memFree,
      machine.swapSize,
      machine.swapFree,
      machine.loadAverage,
      machine.cpuTemp,
    ];
    this.#metadataFetches = [db.metadataFetchesLastMonth, db.metadataFetchesAll];
    this.history.push(stats);
    if (this.history.length > HISTORY_SIZE) this.history.shift();
    await this.#status.stats(stats);
  }

  /** STATS: replay the history to a new monitor. */
  protected override async onControl(name: string, data: unknown): Promise<void> {
    if (name !== "STATS") return super.onControl(name, data);
    for (const stats of this.history) await this.#status.stats(stats);
  }
}
