/**
 * CloudGazer: follows PyPI's journal and writes new packages, versions, removals and yanks to
 * the database (as piwheels' `cloud_gazer`; the work per batch is {@link PyPIWriter}'s).
 *
 * - Starts from the serial stored in the database (GETPYPI). Each fetch of the journal is one
 *   batch, written with the new serial in one transaction (PYPIBATCH; the serial never goes
 *   backwards), so a restart resumes where the last batch ended and nothing is applied twice.
 * - Each batch is the events the re-ordering window released (in timestamp order) followed by
 *   the creations it still holds that nothing held conflicts with (`PyPIEvents.takeEarly`): a
 *   new release is written within one poll of appearing in the journal instead of 5 minutes
 *   later, and the stored serial still only moves with the ordered stream, so a restart replays
 *   what the window held.
 * - After a batch that made versions buildable, asks TheArchitect to REFRESH the build queue.
 * - Polls every `pypiInterval(config)` (2 s; piwheels: 10 s). While PyPI has a backlog it goes
 *   on at once, fetching the next batch while it writes the last, and waking itself through an
 *   inproc queue so PAUSE and QUIT are heard between batches, and between removals told to the
 *   queues when there are many (slices of at most {@link SLICE_MS}). The XML-RPC source keeps
 *   to 2 requests/s and backs off after faults and rate-limit answers (`src/pypi`).
 * - A failed database write abandons the batch: the task starts again from the stored serial,
 *   as after a restart (the failed batch wrote nothing; marks and queue messages are repeated,
 *   which is harmless).
 * - The web queue (TheSecretary) and the skip queue (SlaveDriver) are REQ with a timeout: a
 *   missing listener is logged and its messages dropped, never waited for forever.
 * @module
 */
import type { Context, Socket } from "../../transport/mod.ts";
import {
  cloudGazerProtocol,
  theArchitectControlProtocol,
  theScribeProtocol,
} from "../../protocols/mod.ts";
import {
  DescriptionFetcher,
  type PackageEvent,
  type PyPIChangelogSource,
  PyPIEvents,
  type RateLimit,
  XmlRpcChangelogSource,
} from "../../pypi/mod.ts";
import { type MasterConfig, Task, type TaskOptions } from "../task.ts";
import { DbClient } from "../../clients/db.ts";
import { ReqClient } from "../../clients/req.ts";
import { type GazerQueues, PyPIWriter, type WriterBatch } from "../pypi_writer.ts";

/** Longest stretch of telling queues of removals before the control queue is read, ms. */
export const SLICE_MS = 250;

/** Options of {@link CloudGazer} beyond the config (tests and benchmarks). */
export interface CloudGazerOptions extends TaskOptions {
  /** Where the journal comes from (default: XML-RPC at `config.pypiXmlrpc`). */
  source?: PyPIChangelogSource;
  /** XML-RPC rate limit; `null` lifts it (local stand-ins only). Default PyPI's 2/s. */
  rateLimit?: RateLimit | null;
  /** How long the web and skip queues may take to answer, ms (default 10 s). */
  queueTimeoutMs?: number;
  /** After a queue did not answer, how long its messages are dropped untried, ms (30 s). */
  queueDownMs?: number;
}

/** CloudGazer's poll interval when caught up, ms (`config.pypiInterval`, 2 s). */
export function pypiInterval(config: MasterConfig): number {
  return config.pypiInterval;
}

const EMPTY = new Uint8Array(0);

/** The PyPI follower (Pauseable). */
export class CloudGazer extends Task {
  readonly name = "cloud_gazer";
  readonly #db: DbClient;
  readonly #writer: PyPIWriter;
  readonly #source: PyPIChangelogSource;
  readonly #describe: ((pkg: string) => Promise<string | null>) | null;
  readonly #wake: Socket;
  #woken = false;
  #pypi: PyPIEvents | null = null;
  /** The serial in the database; -1 until read (and again after a failed batch). */
  #stored = -1;
  /** The serial of the last batch finished: stored, and its page rewrites sent. */
  #finished = -1;
  /** The batch being applied, and the serial to store with it. */
  #batch: WriterBatch | null = null;
  #batchSerial = 0;
  /** `counts.buildable` when TheArchitect was last told to refresh. */
  #buildableTold = 0;
  /** The next batch, fetched from PyPI while this one is written (null: not asked for). */
  #prefetch: Promise<PackageEvent[]> | null = null;

  /** Connect to the oracles and both queues, and schedule the PyPI poll. */
  constructor(context: Context, config: MasterConfig, options: CloudGazerOptions = {}) {
    super(context, config, options);
    this.#db = this.track(new DbClient(context, config));
    const queueOptions = {
      timeoutMs: options.queueTimeoutMs,
      downMs: options.queueDownMs,
      log: this.log,
    };
    const web = this.track(
      new ReqClient(context, config.webQueue, theScribeProtocol.reversed(), queueOptions),
    );
    const skip = this.track(
      new ReqClient(context, config.skipQueue, cloudGazerProtocol.reversed(), queueOptions),
    );
    const queues: GazerQueues = {
      web: async (r) => await web.forward(r) !== null,
      skip: async (r) => await skip.forward(r) !== null,
    };
    this.#writer = new PyPIWriter(this.#db, queues, { devMode: config.devMode, log: this.log });
    this.#source = options.source ?? new XmlRpcChangelogSource({
      url: config.pypiXmlrpc,
      rateLimit: options.rateLimit,
    });
    const fetcher = config.pypiJson ? new DescriptionFetcher({ url: config.pypiJson }) : null;
    this.#describe = fetcher ? (pkg) => fetcher.describe(pkg) : null;

    // A queue to itself: "more to do", read by the poll loop like any other message.
    const address = `inproc://cloud_gazer-wake-${crypto.randomUUID()}`;
    const wakeIn = this.socket("PULL", { linger: 0 });
    wakeIn.bind(address);
    this.#wake = this.socket("PUSH", { linger: 0 });
    this.#wake.connect(address);
    this.registerRaw(wakeIn, () => {
      this.#woken = false;
      return this.#step();
    });
    this.every(pypiInterval(config), () => this.#step());
  }

  /** What has been written since the task started. */
  get counts(): PyPIWriter["counts"] {
    return this.#writer.counts;
  }

  /** The serial of the last batch stored and its page rewrites sent (-1 before the first read). */
  get storedSerial(): number {
    return this.#finished;
  }

  /** Make progress: read the state if needed, fetch a batch if none is open, apply a slice. */
  async #step(): Promise<void> {
    try {
      if (this.#stored < 0) await this.#start();
      if (this.#batch === null) {
        const pypi = this.#pypi!;
        const fetching = this.#prefetch ?? pypi.poll();
        this.#prefetch = null;
        const released = await fetching;
        // Creations the re-ordering window still holds go after the ordered events, so a
        // release is built at once; the ordered stream applies them again in their place
        // (src/pypi/events.ts says why the result is still the timestamp-ordered one).
        this.#batch = this.#writer.plan([...released, ...pypi.takeEarly()]);
        this.#batchSerial = pypi.serial;
        // While PyPI has a backlog, fetch the next batch (and its summaries) while this one is
        // written: the writes and the fetch no longer wait for each other.
        if (pypi.more) this.#prefetch = this.#fetchAhead(pypi);
      }
    } catch (error) {
      // The oracle did not answer, or PyPI failed in a way retrying later may fix (a temporary
      // failure gives an empty batch instead). Nothing was consumed: try again next time.
      this.log.error(error instanceof Error ? error.message : String(error));
      return;
    }
    try {
      await this.#applySlice(this.#pypi!, this.#batch);
    } catch (error) {
      this.#rewind(error);
    }
  }

  /** Read the stored serial; follow PyPI from there. */
  async #start(): Promise<void> {
    const serial = await this.#db.call("GETPYPI");
    this.#pypi = new PyPIEvents({
      source: this.#source,
      serial,
      describe: this.#describe,
      // The poll interval paces idle reads; PyPIEvents need not hold back on its own.
      idleMs: 0,
    });
    this.#stored = this.#finished = serial;
    this.log.info(`PyPI serial = ${serial}`);
  }

  /**
   * Mark the batch's removals and tell the queues of them (for up to SLICE_MS at a time), then
   * write the batch with its serial and send the page rewrites it caused.
   */
  async #applySlice(pypi: PyPIEvents, batch: WriterBatch): Promise<void> {
    const until = performance.now() + SLICE_MS;
    // On QUIT mid-batch the serial stays where it was; the batch is replayed next time.
    if (this.quitting) return;
    await this.#writer.mark(batch);
    while (await this.#writer.tellNext(batch)) {
      if (this.quitting) return;
      if (performance.now() > until) {
        this.#wakeUp();
        return;
      }
    }
    if (this.quitting) return;
    const serial = Math.max(this.#batchSerial, this.#stored);
    if (batch.events.length || serial > this.#stored) {
      await this.#writer.commit(batch, this.#stored, serial);
      this.#stored = serial;
    }
    await this.#writer.flushPages();
    this.#finished = this.#stored;
    if (this.#writer.counts.buildable > this.#buildableTold) {
      // New work: TheArchitect need not wait for its next periodic refresh to hand it out.
      this.#buildableTold = this.#writer.counts.buildable;
      this.tellTask("the_architect", theArchitectControlProtocol, "REFRESH");
    }
    if (batch.events.length) {
      this.log.info(`applied ${batch.events.length} events; PyPI serial = ${this.#stored}`);
    }
    this.#batch = null;
    if (this.#prefetch || pypi.more) this.#wakeUp();
  }

  /** Start fetching the batch after the current one; its failure is reported when it is used. */
  #fetchAhead(pypi: PyPIEvents): Promise<PackageEvent[]> {
    const fetching = pypi.poll();
    // Not awaited until the next step (and never after a rewind, which drops it).
    fetching.catch(() => {});
    return fetching;
  }

  /** Send the page rewrites already gathered (TheSecretary stops after this task). */
  protected override async teardown(): Promise<void> {
    await this.#writer.flushPages();
  }

  /** Abandon the batch and start again from the stored serial on the next step. */
  #rewind(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.log.error(`batch abandoned (${text}); resuming from PyPI serial ${this.#stored}`);
    this.#batch = null;
    // A batch fetched ahead follows the abandoned one: the next run fetches it again.
    this.#prefetch = null;
    this.#stored = -1;
    this.#writer.reset();
  }

  #wakeUp(): void {
    if (!this.#woken) this.#woken = this.#wake.trySend([EMPTY]);
  }
}
