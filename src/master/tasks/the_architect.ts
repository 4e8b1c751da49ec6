/**
 * TheArchitect: computes the build queue (`getBuildQueue`) every `config.architectInterval`,
 * re-ranks it every {@link RANK_INTERVAL_MS} (recounts each package's downloads of the last 30
 * days and lets new releases age: `refresh_queue_ranks` in sql/create_piw.sql),
 * after RESUME, and on REFRESH (CloudGazer or MrChase added something buildable; at most once
 * per {@link REFRESH_GAP_MS}, as the query is heavy on a big farm), and PUSHes it as QUEUE to
 * SlaveDriver (`inproc://builds`). With PostgreSQL it uses its own connection, as piwheels does;
 * with PGlite (one connection, held by the oracle) it asks the oracle (GETQUEUE). Retries are
 * time-based: before each refresh the failed builds whose retry time has come are queued again
 * (`requeue_due_retries`, a range scan of the few pending retries).
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import { openDatabase } from "../../db/mod.ts";
import {
  type BuildQueue,
  encodeMessage,
  theArchitectControlProtocol,
  theArchitectProtocol,
} from "../../protocols/mod.ts";
import { type MasterConfig, Task, type TaskOptions } from "../task.ts";
import { DbClient } from "../../clients/db.ts";

/** How many versions per ABI the queue holds (piwheels' limit). */
export const QUEUE_LIMIT = 100_000;

/** How often the downloads behind the queue's popularity order are recounted (1 h). */
export const RANK_INTERVAL_MS = 3_600_000;

/** Least time between the starts of two refreshes asked for by REFRESH, ms. */
export const REFRESH_GAP_MS = 5_000;

const sendSide = theArchitectProtocol.reversed();

/** The build queue calculator (Pauseable). */
export class TheArchitect extends Task {
  readonly name = "the_architect";
  #getQueue: (() => Promise<BuildQueue>) | null = null;
  #rankQueue: (() => Promise<number>) | null = null;
  protected override controlProtocol = theArchitectControlProtocol;
  #refreshNow: (at?: number) => void;
  /** When the last refresh started (performance.now() ms). */
  #lastRefresh = -Infinity;
  #refreshGapMs: number;

  /** Connect to SlaveDriver's builds queue and schedule the refresh (tests shorten the gap). */
  constructor(
    context: Context,
    config: MasterConfig,
    options: TaskOptions & { refreshGapMs?: number } = {},
  ) {
    super(context, config, options);
    this.#refreshGapMs = options.refreshGapMs ?? REFRESH_GAP_MS;
    const builds = this.socket("PUSH", { hwm: 1 });
    builds.connect(config.buildsQueue);
    this.#refreshNow = this.every(config.architectInterval, async () => {
      this.#lastRefresh = performance.now();
      const queue = await this.#getQueue!();
      const sizes = Object.entries(queue).map(([abi, items]) => `${abi}: ${items.length}`);
      this.log.info(`build queue: ${sizes.join(", ") || "empty"}`);
      if (!builds.trySend([encodeMessage(sendSide, "QUEUE", queue)])) {
        // SlaveDriver has not taken the last queue yet; the next refresh sends a fresh one.
        this.log.warning("build queue not delivered: SlaveDriver is not reading");
      }
    });
    this.every(RANK_INTERVAL_MS, async () => {
      const changed = await this.#rankQueue!();
      this.log.info(`build queue re-ranked by downloads and age: ${changed} versions moved`);
      if (changed) this.#refreshNow(this.#lastRefresh + REFRESH_GAP_MS);
    });
  }

  /** Choose where the queue comes from. */
  protected override async setup(): Promise<void> {
    if (this.config.dbEngine === "postgres") {
      const db = this.track(await openDatabase(this.config.dsn));
      this.#getQueue = async () => {
        this.#logRetries(await db.requeueDueRetries());
        return db.getBuildQueue(QUEUE_LIMIT);
      };
      this.#rankQueue = () => db.refreshQueueRanks();
    } else {
      const db = this.track(new DbClient(this.context, this.config));
      this.#getQueue = () => db.call("GETQUEUE", QUEUE_LIMIT);
      this.#rankQueue = () => db.call("RANKQUEUE");
    }
  }

  #logRetries(due: number): void {
    if (due) this.log.info(`${due} failed builds due for a retry: queued again`);
  }

  /** After RESUME the queue may be stale: rebuild it at once; after REFRESH, soon. */
  protected override onControl(name: string, data: unknown): Promise<void> | void {
    if (name === "RESUME" && this.paused) this.#refreshNow();
    if (name === "REFRESH") {
      // While paused, RESUME refreshes anyway.
      if (!this.paused) this.#refreshNow(this.#lastRefresh + this.#refreshGapMs);
      return;
    }
    return super.onControl(name, data);
  }
}
