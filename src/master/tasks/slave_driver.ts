/**
 * SlaveDriver: the build slaves' side of the master (piwheels' `slave_driver`), wire-compatible
 * with piwheels 0.23 slaves. Slaves ask for work (IDLE) and get BUILD from the queue of their
 * ABI; their files are fetched (and staged) through FileJuggler, their results journaled,
 * recorded in the database and published by the {@link BuildRecorder}: a slave hears DONE only
 * once its build is recorded or, while the database is unreachable, durably journaled.
 *
 * Queues: slave_driver ROUTER (`config.slaveQueue`), TheArchitect's builds PULL, the skip REP
 * (DELPKG/DELVER from CloudGazer and MrChase), the control queue (monitor HELLO, KILL, SLEEP,
 * SKIP, WAKE); it pushes SLAVE status to monitors and STATBQ to BigBrother. Every 10 s slaves
 * silent for longer than their own busy timeout are dropped and their build is queued again.
 * @module
 */

import { beforeWait, type Context, type Socket } from "../../transport/mod.ts";
import {
  bigBrotherProtocol,
  type BuildQueue,
  cloudGazerProtocol,
  decodeQueueFrame,
  encodeMessage,
  MAX_HELLO_TEXT,
  MAX_MESSAGE_SIZE,
  type MessageOf,
  monitorStatsProtocol,
  NO_DATA,
  type ProtocolError,
  slaveDriverControlProtocol,
  slaveDriverProtocol,
  type SlaveEvent,
  slaveExtrasProtocol,
  type SlaveHello,
  theArchitectControlProtocol,
  theArchitectProtocol,
  TimeDelta,
} from "../../protocols/mod.ts";
import { KNOWN_NAMES } from "../../failures/debian.ts";
import { parseWheelFilename } from "../../wheel/mod.ts";
import { RateLimitedLog } from "../../log.ts";
import { Task, type TaskOptions } from "../task.ts";
import type { QueueOf } from "../../transport/mod.ts";
import { DbClient } from "../../clients/db.ts";
import type { MasterConfig } from "../config.ts";
import { BuildQueues } from "../build_queues.ts";
import { type FileJugglerClient, FsClient } from "../../clients/fs.ts";
import { type BuildState, type SlaveReply, type SlaveRequest, SlaveState } from "../states.ts";
import { SecretaryClient } from "../../clients/secretary.ts";
import { BuildJournal } from "../build_journal.ts";
import { BuildRecorder, oracleRecorderDb, type RecorderDb } from "../build_recorder.ts";

/** The database calls SlaveDriver makes (DbClient in the master, a fake in tests). */
export interface SlaveDriverDb extends RecorderDb {
  /** GETABIS (skipped ABIs excluded): the ABIs slaves build for. */
  buildAbis(): Promise<Set<string>>;
  /**
   * RETRYLIBS: retry now `abi`'s missing-library failures for any of `names`; how many builds
   * (absent: HAVE is ignored).
   */
  retryLibraries?(abi: string, names: string[]): Promise<number>;
}

/** Where SlaveDriver reports finished builds for the web output (TheSecretary, later). */
export interface SlaveDriverWeb {
  /**
   * Builds were logged (those finished since the last call, in order): write their logs and
   * rewrite their projects.
   */
  buildsLogged(builds: BuildState[]): Promise<void>;
}

/**
 * The default web side: one LOGS [[build_id, output], ...] for the batch, then one PROJECTS
 * with a PROJECT per failure and a PUBLISHED per success (the new files' simple page is written
 * at once, see TheSecretary): two requests per batch rather than two per build, each a wake-up
 * of the secretary's and the scribe's threads (issue 15).
 */
function secretaryWeb(client: SecretaryClient): SlaveDriverWeb {
  return {
    async buildsLogged(builds) {
      const logs = builds.filter((b) => b.buildId !== null).map((b): [number, string] => [
        b.buildId!,
        b.output,
      ]);
      if (logs.length) await client.send("LOGS", logs);
      const failed = builds.filter((b) => !b.status).map((b): [string, string] => [
        "PROJECT",
        b.pkg,
      ]);
      if (failed.length) await client.send("PROJECTS", failed);
      for (const build of builds) if (build.status) await client.send("PUBLISHED", build.pkg);
    },
  };
}

/** Most builds in one web update, and most bytes of their logs (a log can be megabytes). */
const WEB_BATCH = 100;
const WEB_BATCH_BYTES = 4 << 20;
/** Least time between two STATBQ pushes for handed-out builds (BigBrother's figure only). */
const QUEUE_SIZES_MS = 1000;

/** Collaborators and tuning of {@link SlaveDriver} (tests replace the database and fs). */
export interface SlaveDriverOptions extends TaskOptions {
  db?: SlaveDriverDb;
  fs?: FileJugglerClient;
  web?: SlaveDriverWeb;
  /** How often silent slaves are looked for, ms (piwheels: 10 s). */
  expiryIntervalMs?: number;
  /** Failed verifications of one file before the build is abandoned (default 5). */
  maxVerifyFailures?: number;
  /** First and longest wait between LOGBUILD retries while the database is down, ms. */
  retryMs?: [number, number];
}

type Reply = SlaveReply | null;
type SkipMessage = MessageOf<typeof cloudGazerProtocol.recv>;
const DIE: SlaveReply = { name: "DIE", data: NO_DATA };
const DONE: SlaveReply = { name: "DONE", data: NO_DATA };
const STATUS_BACKLOG = 1000;
const statusSide = monitorStatsProtocol.reversed();
const statsSide = bigBrotherProtocol.reversed();

function addressKey(address: Uint8Array): string {
  return String.fromCharCode(...address);
}

/** The slave protocol, the per-ABI build queues and the slaves' monitor status. */
export class SlaveDriver extends Task {
  readonly name = "slave_driver";
  override readonly kind = "pausing";
  protected override controlProtocol = slaveDriverControlProtocol;
  /** Connected slaves by routing address. */
  readonly slaves = new Map<string, SlaveState>();
  /** The build queues. */
  readonly queues = new BuildQueues();
  /** The slave queue's bound endpoint (with a wildcard port resolved). */
  readonly slaveEndpoint: string;
  /** The extras queue's bound endpoint (with a wildcard port resolved). */
  readonly extrasEndpoint: string;
  #counter = 0;
  #slaveQueue: QueueOf<typeof slaveDriverProtocol>;
  #statusQueue: Socket;
  #statsQueue: Socket;
  #statusBacklog: Uint8Array[] = [];
  #db: SlaveDriverDb;
  #fs: FileJugglerClient;
  #web: SlaveDriverWeb;
  /** Builds logged whose web update has not been sent yet, oldest first. */
  #webQueue: BuildState[] = [];
  /** The web updates being sent (settles once the queue is empty). */
  #webSending: Promise<void> | null = null;
  /** When STATBQ was last pushed (performance.now()), and whether the sizes changed since. */
  #queueSizesAt = -Infinity;
  #queueSizesStale = false;
  #maxVerifyFailures: number;
  #recorder: BuildRecorder;
  #recovered = false;
  /** Replies still being worked out (BUILT, SENT), and their slaves (never expired meanwhile). */
  readonly #answering = new Map<SlaveState, Promise<void>>();
  /** Peers can repeat bad messages and HELLOs at will: these cost a few lines a minute. */
  readonly #peerErrors = new RateLimitedLog(this.log);

  /** Bind the slave, builds and skip queues; connect status, stats, database and fs. */
  constructor(context: Context, config: MasterConfig, options: SlaveDriverOptions = {}) {
    super(context, config, options);
    // A slave (REQ) has one request in flight: a peer cannot queue more than a few big ones.
    this.#slaveQueue = this.queue("ROUTER", slaveDriverProtocol, {
      maxMsgSize: MAX_MESSAGE_SIZE.slaveQueue,
      rcvHwm: 10,
    });
    this.#slaveQueue.socket.bind(config.slaveQueue);
    this.slaveEndpoint = this.#slaveQueue.socket.lastEndpoint;
    this.register(this.#slaveQueue, (request, address) => this.#handleSlave(request, address), {
      refused: (error, address) => this.#refusedSlave(error, address),
    });
    // Its own decoder: see queue_decode.ts (anything unusual goes to the general one).
    const builds = this.queue("PULL", theArchitectProtocol, {
      hwm: 10,
      fastDecode: (frame) => {
        const queue = decodeQueueFrame(frame);
        return queue && { name: "QUEUE", data: queue };
      },
    });
    builds.socket.bind(config.buildsQueue);
    this.register(builds, { QUEUE: (queue) => this.#handleBuilds(queue) });
    // piw slaves' HAVE (piw only): small, and dropped when a few wait, as each is repeated at
    // the slave's next HELLO.
    const extras = this.queue("PULL", slaveExtrasProtocol, {
      maxMsgSize: MAX_MESSAGE_SIZE.extrasQueue,
      rcvHwm: 10,
    });
    extras.socket.bind(config.extrasQueue);
    this.extrasEndpoint = extras.socket.lastEndpoint;
    this.register(extras, { HAVE: ([slaveId, names]) => this.#handleExtras(slaveId, names) }, {
      refused: (e) => {
        this.#peerErrors.error("bad have", `invalid HAVE on the extras queue: ${e.message}`);
      },
    });
    const skip = this.queue("REP", cloudGazerProtocol, { hwm: 10 });
    skip.socket.bind(config.skipQueue);
    this.register(skip, (msg) => this.#handleSkip(skip, msg), {
      refused: (e) => {
        this.log.error(`skip queue: ${e.message}`);
        // A REP socket must answer before it can receive again.
        skip.trySend("OK");
      },
    });
    this.#statusQueue = this.socket("PUSH", { hwm: STATUS_BACKLOG });
    this.#statusQueue.connect(config.intStatusQueue);
    // Registered after the socket, so removed (closed in reverse) before it is closed.
    this.track({ close: beforeWait(() => this.#flushStatus()) });
    this.#statsQueue = this.socket("PUSH", { hwm: 10 });
    this.#statsQueue.connect(config.statsQueue);
    if (options.db) this.#db = options.db;
    else {
      const client = this.track(new DbClient(context, config));
      this.#db = {
        ...oracleRecorderDb(client),
        buildAbis: () => client.call("GETABIS", true),
        retryLibraries: (abi, names) => client.call("RETRYLIBS", [abi, names]),
      };
    }
    this.#fs = options.fs ?? this.track(new FsClient(context, config.fsQueue));
    this.#web = options.web ?? secretaryWeb(this.track(new SecretaryClient(context, config)));
    this.#maxVerifyFailures = options.maxVerifyFailures ?? 5;
    this.#recorder = new BuildRecorder(new BuildJournal(config.outputPath), this.#db, {
      log: this.log,
      retryMs: options.retryMs,
      published: (build) => this.#webUpdate(build),
    });
    this.every(options.expiryIntervalMs ?? 10_000, () => this.removeExpired());
    // Timers run before the first poll: what a crash left is finished before slaves are served.
    this.every(1_000, () => {
      if (this.#queueSizesStale) this.#pushQueueSizes();
      return this.#recordPending();
    });
  }

  /** Replies being worked out are sent (or dropped), and web updates sent, before closing. */
  protected override async teardown(): Promise<void> {
    await Promise.all(this.#answering.values());
    await this.#webSending;
    this.#flushStatus();
  }

  /** Builds journaled but not yet recorded (the database was unreachable). */
  get pendingBuilds(): number {
    return this.#recorder.pending.length;
  }

  async #recordPending(): Promise<void> {
    if (this.#recovered) return await this.#recorder.retry();
    this.#recovered = true;
    await this.#recorder.recover();
  }

  /**
   * The slave's DONE must not wait on page writing: web updates queue up, and those of the
   * builds finished while one update is being sent go together in the next.
   */
  #webUpdate(build: BuildState): void {
    this.#webQueue.push(build);
    this.#webSending ??= this.#sendWebUpdates().finally(() => this.#webSending = null);
  }

  async #sendWebUpdates(): Promise<void> {
    while (this.#webQueue.length) {
      let count = 0;
      for (let bytes = 0; count < this.#webQueue.length && count < WEB_BATCH; count++) {
        bytes += this.#webQueue[count].output.length;
        if (count && bytes > WEB_BATCH_BYTES) break;
      }
      const builds = this.#webQueue.splice(0, count);
      try {
        await this.#web.buildsLogged(builds);
      } catch (e) {
        const pkgs = builds.map((b) => b.pkg).join(", ");
        this.log.warning(`web update for ${pkgs} failed: ${(e as Error).message}`);
      }
    }
  }

  // -- monitor status ---------------------------------------------------------------------

  /**
   * Publish a SLAVE event: kept (the last 1000) until this thread is about to wait, and then
   * sent with the others of the same burst in one message (`inproc://status` takes several, a
   * frame each; the main thread forwards each frame to monitors as a message of its own). Four
   * events a build, each a wake-up of the main thread, became one message a burst (issue 15).
   */
  #publish(event: SlaveEvent): void {
    this.#statusBacklog.push(encodeMessage(statusSide, "SLAVE", event));
    if (this.#statusBacklog.length > STATUS_BACKLOG) this.#statusBacklog.shift();
  }

  /** Send the events kept back (all in one message), unless the status queue is full. */
  #flushStatus(): void {
    if (this.#statusBacklog.length && this.#statusQueue.trySend(this.#statusBacklog)) {
      this.#statusBacklog = [];
    }
  }

  /** Tell BigBrother the queue sizes; dropped if it is not keeping up (only a statistic). */
  #pushQueueSizes(): void {
    this.#queueSizesAt = performance.now();
    this.#queueSizesStale = false;
    this.#statsQueue.trySend([encodeMessage(statsSide, "STATBQ", this.queues.sizes())]);
  }

  /**
   * A build was handed out: tell BigBrother, at most once a second (the rest at the next tick),
   * as one push per build would wake its thread once per build.
   */
  #queueSizesChanged(): void {
    if (performance.now() - this.#queueSizesAt >= QUEUE_SIZES_MS) this.#pushQueueSizes();
    else this.#queueSizesStale = true;
  }

  // -- control --------------------------------------------------------------------------------

  /**
   * HAVE [slave id, names] from a piw slave: retry its ABI's missing-library failures for the
   * names of the Debian table it has, and have TheArchitect queue them at once. A bad message,
   * an unknown slave or a failed request costs one (rate-limited) line.
   */
  async #handleExtras(slaveId: number, names: string[]): Promise<void> {
    const slave = [...this.slaves.values()].find((s) => s.slaveId === slaveId);
    if (!slave) {
      this.#peerErrors.warning("unknown have", `HAVE from unknown slave ${slaveId}; ignored`);
      return;
    }
    const known = new Set(KNOWN_NAMES);
    const have = [...new Set(names)].filter((name) => known.has(name));
    if (!have.length || !this.#db.retryLibraries) return;
    try {
      const retried = await this.#db.retryLibraries(slave.abi, have);
      this.log.info(
        `slave ${slaveId} (${slave.label}) has ${have.length} known libraries: ` +
          `${retried} missing-library failures of ${slave.abi} retried`,
      );
      if (retried) this.tellTask("the_architect", theArchitectControlProtocol, "REFRESH");
    } catch (e) {
      this.#peerErrors.warning(
        "have retry",
        `cannot retry the missing-library failures slave ${slaveId} has libraries for: ` +
          (e as Error).message,
      );
    }
  }

  /** HELLO replays every slave; KILL, SLEEP, SKIP, WAKE act on one slave (id) or all (null). */
  protected override onControl(name: string, data: unknown): Promise<void> | void {
    if (name === "HELLO") {
      for (const slave of this.slaves.values()) slave.replay();
    } else if (name === "KILL" || name === "SLEEP" || name === "SKIP" || name === "WAKE") {
      for (const slave of this.slaves.values()) {
        if (data !== null && slave.slaveId !== data) continue;
        this.log.info(`slave ${slave.slaveId} (${slave.label}): ${name.toLowerCase()}`);
        if (name === "KILL") slave.kill();
        else if (name === "SLEEP") slave.sleep();
        else if (name === "SKIP") slave.skip();
        else slave.wake();
      }
    } else return super.onControl(name, data);
  }

  // -- periodic -------------------------------------------------------------------------------

  /** Drop slaves silent for longer than their busy timeout; their builds go back in the queue. */
  removeExpired(now = new Date()): void {
    this.#peerErrors.flush();
    for (const [key, slave] of this.slaves) {
      if (!slave.expired(now) || this.#answering.has(slave)) continue;
      const what = slave.job ? `building ${slave.job[0]} ${slave.job[1]}` : slave.reply?.name;
      this.log.warning(`slave ${slave.slaveId} (${slave.label}): timed out while ${what}`);
      this.#forget(key, slave, true);
    }
    this.#flushStatus(); // status kept back while the queue was full
  }

  /** Remove a slave, putting its unfinished (and not skipped) build back in its queue. */
  #forget(key: string, slave: SlaveState, timedOut: boolean): void {
    // Files it sent for a build that will never be journaled.
    if (slave.build) void this.#recorder.journal.discardFiles(slave.build.files.values());
    if (slave.job && !slave.skipped) {
      this.log.info(`re-queueing ${slave.job[0]} ${slave.job[1]} for ${slave.abi}`);
      this.queues.requeue(slave.abi, slave.job);
      this.#pushQueueSizes();
    }
    slave.gone(timedOut);
    this.slaves.delete(key);
  }

  // -- queues from other tasks ----------------------------------------------------------------

  async #handleBuilds(queue: BuildQueue): Promise<void> {
    let abis: Iterable<string> = [];
    try {
      abis = await this.#db.buildAbis();
    } catch (e) {
      this.log.warning(`could not read the build ABIs: ${(e as Error).message}`);
    }
    this.queues.replace(queue, abis);
    this.log.info(`build queue: ${JSON.stringify(this.queues.sizes())}`);
    this.#pushQueueSizes();
  }

  /**
   * DELPKG/DELVER: hold the package (version) out of the queues and skip its running builds;
   * IMPORTED: hold the imported build out of its ABI's queue.
   */
  #handleSkip(skip: QueueOf<typeof cloudGazerProtocol>, msg: SkipMessage): void {
    try {
      if (msg.name === "IMPORTED") {
        const [abi, pkg, version] = msg.data;
        this.queues.imported(abi, [pkg, version]);
        this.#pushQueueSizes();
        return;
      }
      const [pkg, version] = msg.name === "DELVER" ? msg.data : [msg.data, null];
      this.queues.delete(pkg, version);
      this.#pushQueueSizes();
      for (const slave of this.slaves.values()) {
        if (slave.job?.[0] === pkg && (version === null || slave.job[1] === version)) {
          this.log.info(`slave ${slave.slaveId} (${slave.label}): skipping deleted ${pkg}`);
          slave.skip();
        }
      }
    } finally {
      // A REP socket must answer before it can receive again.
      skip.trySend("OK");
    }
  }

  // -- the slave protocol ---------------------------------------------------------------------

  /** A slave's bad message: DIE for a known slave, one (rate-limited) line for anyone else. */
  #refusedSlave(e: ProtocolError, address: Uint8Array): void {
    const slave = address.length ? this.slaves.get(addressKey(address)) : undefined;
    if (slave) this.#reply(slave, this.#die(slave, e.message));
    else if (!address.length) {
      this.#peerErrors.error("bad structure", `invalid message from a slave: ${e.message}`);
    } else {
      this.#peerErrors.error("unknown peer", `invalid message from an unknown peer: ${e.message}`);
    }
  }

  #handleSlave(request: SlaveRequest, address: Uint8Array): void | Promise<void> {
    const key = addressKey(address);
    let slave = this.slaves.get(key);
    if (slave && this.#answering.has(slave)) {
      // Only a peer that is not a REQ socket can ask again before its reply.
      this.#peerErrors.error(
        "early request",
        `slave ${slave.slaveId} (${slave.label}): ${request.name} before its last reply; dropped`,
      );
      return;
    }
    const now = new Date();
    if (request.name === "HELLO") {
      const refusal = this.#helloRefusal(request.data, slave !== undefined);
      if (refusal) {
        this.#peerErrors.error(...refusal);
        if (slave) this.#forget(key, slave, false);
        this.#slaveQueue.trySendTo(address, "DIE");
        return;
      }
      if (slave) {
        this.log.warning(`slave ${slave.slaveId} (${slave.label}): HELLO again; starting afresh`);
        this.#forget(key, slave, false);
      }
      slave = new SlaveState(address, ++this.#counter, request.data, (e) => this.#publish(e), now);
      slave.maxTimeoutMs = this.config.maxSlaveTimeout;
      this.slaves.set(key, slave);
    } else if (!slave) {
      // Most likely a slave of a master that was restarted. No reply is safe for a piwheels
      // 0.23 slave (it asserts on anything unexpected and ends on DIE), so it is left to start
      // over with HELLO after its own timeout: piw slaves soon, piwheels slaves after 5 min.
      this.#peerErrors.error(
        "unknown peer",
        `invalid first message from an unknown peer: ${request.name} ` +
          "(a slave of an earlier master? it says HELLO after its own timeout)",
      );
      return;
    }
    slave.receive(request, now);
    const reply = this.#dispatch(slave, request);
    if (!(reply instanceof Promise)) {
      if (reply) this.#reply(slave, reply);
      return;
    }
    const answering = slave;
    if (request.name !== "BUILT" || request.data[0]) {
      // A transfer to set up or check: measured slower detached (issue 15), so awaited.
      return reply.then((r) => {
        if (r) this.#reply(answering, r);
      });
    }
    // Recording a failed build waits for the database (a group commit): meanwhile the other
    // slaves are served. This slave (a REQ) sends nothing more until it has its reply, and may
    // send its next request as soon as it has it: the slave stops being "answered" before the
    // reply leaves, or a quick IDLE read in between would be dropped as early, and the slave
    // would wait for a reply that never comes.
    const done: Promise<void> = reply.then(
      (r) => {
        this.#answering.delete(answering);
        if (r) this.#reply(answering, r);
      },
      (e) => {
        this.#answering.delete(answering);
        const text = e instanceof Error ? e.stack ?? e.message : String(e);
        this.log.error(`slave ${answering.slaveId} (${answering.label}): ${text}`);
      },
    );
    this.#answering.set(answering, done);
  }

  /**
   * Why a HELLO is refused (a kind of message for the rate limit, and the line), or null: a
   * text longer than {@link MAX_HELLO_TEXT} (kept for as long as the slave lives), or one slave
   * more than `config.maxSlaves`.
   */
  #helloRefusal(hello: SlaveHello, known: boolean): [string, string] | null {
    const who = `HELLO from ${JSON.stringify(hello[5].slice(0, 100))} refused`;
    const long = hello.findIndex((v) => typeof v === "string" && v.length > MAX_HELLO_TEXT);
    if (long >= 0) {
      return ["long hello", `${who}: field ${long + 1} is over ${MAX_HELLO_TEXT} characters`];
    }
    if (!known && this.slaves.size >= this.config.maxSlaves) {
      return ["too many slaves", `${who}: already ${this.slaves.size} slaves (--max-slaves)`];
    }
    return null;
  }

  #dispatch(slave: SlaveState, request: SlaveRequest): Reply | Promise<Reply> {
    switch (request.name) {
      case "HELLO":
        return this.doHello(slave);
      case "IDLE":
        return this.doIdle(slave);
      case "BUSY":
        return this.doBusy(slave);
      case "BUILT":
        return this.doBuilt(slave);
      case "SENT":
        return this.doSent(slave);
      case "BYE":
        return this.doBye(slave);
    }
  }

  #reply(slave: SlaveState, reply: SlaveReply): void {
    slave.send(reply);
    // A ROUTER never waits: a reply to a slave that has gone is dropped.
    this.#slaveQueue.trySendFrame(this.#slaveQueue.encodeMessage(reply), slave.address);
  }

  #protocolError(slave: SlaveState, what: string): SlaveReply {
    return this.#die(slave, `protocol error (${what} after ${slave.reply?.name})`);
  }

  /** DIE for a slave talking nonsense; its build (if any) goes back in the queue. */
  #die(slave: SlaveState, reason: string): SlaveReply {
    this.log.error(`slave ${slave.slaveId} (${slave.label}): ${reason}`);
    if (slave.job && !slave.skipped) {
      this.queues.requeue(slave.abi, slave.job);
      slave.job = null;
    }
    return DIE;
  }

  /** HELLO → ACK [new id, the index slaves download from]. */
  protected doHello(slave: SlaveState): Reply {
    const [buildTimeout, busyTimeout, , abi, platform, label, osName, osVersion] = slave.hello;
    this.log.warning(
      `slave ${slave.slaveId} (${label}): hello (build_timeout=${buildTimeout}, ` +
        `busy_timeout=${busyTimeout}, abi=${abi}, platform=${platform}, os=${osName} ${osVersion})`,
    );
    const cap = slave.maxTimeoutMs;
    if (buildTimeout.toMilliseconds() > cap || busyTimeout.toMilliseconds() > cap) {
      this.log.warning(
        `slave ${slave.slaveId} (${label}): timeouts cut to ${TimeDelta.fromMilliseconds(cap)} ` +
          `(--max-slave-timeout)`,
      );
    }
    return { name: "ACK", data: [slave.slaveId, this.config.pypiSimple] };
  }

  /** BYE: the slave is gone (no reply); an unfinished build goes back in the queue. */
  protected doBye(slave: SlaveState): Reply {
    this.log.warning(`slave ${slave.slaveId} (${slave.label}): shutdown`);
    this.#forget(addressKey(slave.address), slave, false);
    return null;
  }

  /** IDLE → DIE (killed), SLEEP true (paused), BUILD (work for its ABI) or SLEEP false. */
  protected doIdle(slave: SlaveState): Reply {
    const last = slave.reply?.name;
    if (last !== "ACK" && last !== "SLEEP" && last !== "DONE") {
      return this.#protocolError(slave, "IDLE");
    }
    if (slave.killed) return DIE;
    if (this.paused || slave.paused) {
      this.log.info(`slave ${slave.slaveId} (${slave.label}): sleeping because paused`);
      return { name: "SLEEP", data: true };
    }
    let job = this.queues.next(slave.abi, slave.buildTimeoutMs);
    // A build journaled while the database was down is still in the database's queue.
    while (job && this.#recorder.isPending(slave.abi, job[0], job[1])) {
      job = this.queues.next(slave.abi, slave.buildTimeoutMs);
    }
    if (!job) {
      this.log.debug(`slave ${slave.slaveId} (${slave.label}): sleeping because no builds`);
      return { name: "SLEEP", data: false };
    }
    this.log.info(`slave ${slave.slaveId} (${slave.label}): build ${job[0]} ${job[1]}`);
    this.#queueSizesChanged();
    return { name: "BUILD", data: job };
  }

  /** BUSY → CONT, or DONE when the build is skipped. */
  protected doBusy(slave: SlaveState): Reply {
    if (slave.reply?.name !== "BUILD") return this.#protocolError(slave, "BUSY");
    if (slave.skipped) {
      this.log.info(`slave ${slave.slaveId} (${slave.label}): build skipped`);
      return DONE;
    }
    return { name: "CONT", data: NO_DATA };
  }

  /** BUILT → DONE (skipped, failed or nothing to send; logged unless skipped) or SEND. */
  protected async doBuilt(slave: SlaveState): Promise<Reply> {
    if (slave.reply?.name !== "BUILD" || !slave.build) return this.#protocolError(slave, "BUILT");
    if (slave.skipped) {
      this.log.info(`slave ${slave.slaveId} (${slave.label}): build skipped`);
      return DONE;
    }
    const build = slave.build;
    const problem = this.#badFile(build);
    if (problem) {
      this.log.error(`slave ${slave.slaveId} (${slave.label}): rejected file: ${problem}`);
      build.fail(`rejected file: ${problem}`);
    }
    build.addArmv6lTwins();
    if (build.status && !build.transfersDone) {
      this.log.info(`slave ${slave.slaveId} (${slave.label}): build succeeded`);
      return await this.#send(slave, build);
    }
    this.log.info(`slave ${slave.slaveId} (${slave.label}): build failed`);
    return await this.#finish(slave, build);
  }

  /** SENT → SEND the next file, the same one again (not verified), or DONE when all are in. */
  protected async doSent(slave: SlaveState): Promise<Reply> {
    const build = slave.build;
    const filename = build?.nextFile;
    if (slave.reply?.name !== "SEND" || !build || !filename) {
      return this.#protocolError(slave, "SENT");
    }
    const outcome = await this.#fs.verify(slave.slaveId, build.pkg);
    const who = `slave ${slave.slaveId} (${slave.label})`;
    switch (outcome.status) {
      case "staged":
        this.log.info(`${who}: verified transfer of ${filename} (${outcome.status})`);
        build.files.get(filename)!.verified();
        slave.failedVerifies = 0;
        return build.transfersDone
          ? await this.#finish(slave, build)
          : await this.#send(slave, build);
      case "refused":
        this.log.error(`${who}: ${filename} refused: ${outcome.reason}`);
        await this.#recorder.journal.discardFiles(build.files.values());
        build.fail(`${filename} was not published: ${outcome.reason}`);
        return await this.#finish(slave, build);
      case "failed":
        if (++slave.failedVerifies >= this.#maxVerifyFailures) {
          this.log.error(`${who}: ${filename} failed to verify ${slave.failedVerifies} times`);
          await this.#recorder.journal.discardFiles(build.files.values());
          return DONE; // not logged: a later queue will bring the version back
        }
        this.log.warning(`${who}: re-send ${filename}: ${outcome.reason}`);
        return await this.#send(slave, build);
    }
  }

  /** Why the build's files must not be accepted, or null (names become paths on the master). */
  #badFile(build: BuildState): string | null {
    for (const file of build.files.values()) {
      const problem = file.problem();
      if (problem) return problem;
      if (file.filesize > this.config.maxFileSize) {
        return `${file.filename}: ${file.filesize} bytes is more than the maximum ` +
          `${this.config.maxFileSize} (--max-file-size)`;
      }
      const name = parseWheelFilename(file.filename).canonicalName;
      if (name !== build.pkg) return `${file.filename} is not a wheel of ${build.pkg}`;
    }
    return null;
  }

  /** EXPECT the next file and ask for it; a master-side failure abandons the build for now. */
  async #send(slave: SlaveState, build: BuildState): Promise<Reply> {
    const filename = build.nextFile!;
    try {
      await this.#fs.expect(slave.slaveId, build.files.get(filename)!);
    } catch (e) {
      this.log.error(`cannot receive ${filename}: ${(e as Error).message}; build discarded`);
      this.queues.requeue(slave.abi, slave.job!);
      return DONE;
    }
    this.log.info(`slave ${slave.slaveId} (${slave.label}): send ${filename}`);
    return { name: "SEND", data: filename };
  }

  /**
   * Journal the build, record it (with its files and dependencies), publish its files, tell the
   * web side, and say DONE; with the database unreachable the journal keeps it for a retry.
   */
  async #finish(slave: SlaveState, build: BuildState): Promise<Reply> {
    const who = `slave ${slave.slaveId} (${slave.label})`;
    let outcome;
    try {
      outcome = await this.#recorder.finish(build, "slave");
    } catch (e) {
      this.log.error(
        `journaling build of ${build.pkg} ${build.version} failed: ${(e as Error).message}`,
      );
      await this.#recorder.journal.discardFiles(build.files.values());
      return DONE; // not logged: the version comes back in a later queue
    }
    if (outcome.status === "recorded") {
      this.queues.recorded(slave.abi, [build.pkg, build.version]);
      const logged = outcome.build;
      this.log.info(
        `${who}: logged build ${logged.buildId} of ${build.pkg} ${build.version} ` +
          `(${logged.status ? "success" : "failure"})`,
      );
    } else if (outcome.status === "pending") {
      this.log.warning(
        `${who}: build of ${build.pkg} ${build.version} journaled; not recorded yet`,
      );
    }
    return DONE;
  }
}
