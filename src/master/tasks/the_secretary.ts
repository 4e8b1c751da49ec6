/**
 * TheSecretary: sits in front of TheScribe (piwheels' `the_secretary`). Project pages are
 * expensive to write and requests for them come in bursts (one per file of a new release), so
 * PROJECT and BOTH are buffered for a minute (3 s in dev mode) and merged per package: a
 * PROJECT already buffered becomes BOTH when a BOTH arrives, keeping its place and timestamp.
 * A PUBLISHED (a build just published files: the page users wait for) is a BOTH that leaves at
 * once, taking the package's buffered rewrite with it, unless the package had a PUBLISHED within
 * the hold: then it waits in the buffer like any BOTH, so a burst of builds of one package (one
 * per ABI) still costs at most one write at once and one per hold.
 * HOME, SEARCH, LOG, LOGS, DELPKG and DELVER pass straight through (DELPKG and DELVER also drop
 * the package's buffered entry, since the scribe rewrites what is left itself; logs waiting
 * together for the scribe leave as one LOGS). The buffer is saved to the database
 * (rewrites_pending) at shutdown and reloaded at start.
 *
 * Queues: REP on `config.webQueue` (every request is answered DONE at once), DEALER to the
 * scribe's REP on `config.scribeQueue`, used like a REQ (one request in flight, the rest wait
 * in order here); a DEALER because the task loop reads a ready socket until it is empty, which
 * a REQ refuses (EFSM) after its one reply.
 * `SecretaryClient` (src/clients/secretary.ts) is what other tasks use to talk to it.
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import {
  encodeMessage,
  type MessageOf,
  type RewritePending,
  theScribeProtocol,
} from "../../protocols/mod.ts";
import { type MasterConfig, Task, type TaskOptions } from "../task.ts";
import type { QueueOf } from "../../transport/mod.ts";
import { DbClient, OracleError } from "../../clients/db.ts";

/** How long PROJECT/BOTH are held (piwheels: one minute). */
export const HOLD_MS = 60_000;
/** How long they are held in dev mode. */
export const DEV_HOLD_MS = 3_000;

/** A rewrite waiting in the buffer. */
export interface BufferedRewrite {
  pkg: string;
  /** When it was first requested (kept when PROJECT is upgraded to BOTH). */
  addedAt: Date;
  command: "PROJECT" | "BOTH";
}

type ScribeMessage = MessageOf<typeof theScribeProtocol.recv>;

/** Options of {@link TheSecretary} (tests shorten the hold and the check interval). */
export interface SecretaryOptions extends TaskOptions {
  /** How long PROJECT/BOTH are held, ms (default: 60 s, 3 s in dev mode). */
  holdMs?: number;
  /** How often the buffer is checked, ms (default 1 s). */
  checkMs?: number;
}

const toScribe = theScribeProtocol.reversed();
const DONE = encodeMessage(theScribeProtocol, "DONE");

/** The buffer in front of TheScribe (Pausing: while paused nothing leaves the buffer). */
export class TheSecretary extends Task {
  readonly name = "the_secretary";
  override readonly kind = "pausing" as const;
  /** How long PROJECT/BOTH are held, ms. */
  readonly holdMs: number;
  /** Buffered rewrites by package, oldest first (a Map keeps insertion order). */
  readonly buffer = new Map<string, BufferedRewrite>();
  /** When each package's last PUBLISHED left at once (Date.now() ms; pruned after the hold). */
  readonly #published = new Map<string, number>();
  /** Messages due for the scribe, in order; the first `#inFlight` are being handled. */
  readonly #outbox: ScribeMessage[] = [];
  #inFlight = 0;
  readonly #scribe: QueueOf<typeof toScribe>;
  readonly #db: DbClient;

  /** Bind the web queue, connect to the scribe and the oracles. */
  constructor(context: Context, config: MasterConfig, options: SecretaryOptions = {}) {
    super(context, config, options);
    this.holdMs = options.holdMs ?? (config.devMode ? DEV_HOLD_MS : HOLD_MS);
    const web = this.queue("REP", theScribeProtocol, { hwm: 100 });
    web.socket.bind(config.webQueue);
    this.register(web, (msg) => this.#onRequest(web, msg), {
      refused: (error) => {
        this.logRefusal(web.name, error);
        return web.sendFrame(DONE);
      },
    });
    this.#scribe = this.queue("DEALER", toScribe, { hwm: 100 });
    this.#scribe.socket.connect(config.scribeQueue);
    // A reply the scribe garbled still ends the request in flight.
    this.register(this.#scribe, () => this.#onDone(), {
      refused: (error) => {
        this.logRefusal(toScribe.name, error);
        this.#onDone();
      },
    });
    this.#db = this.track(new DbClient(context, config));
    this.every(options.checkMs ?? 1000, () => this.#release());
  }

  /** The messages waiting for the scribe (the first may be in flight). */
  get outbox(): readonly ScribeMessage[] {
    return this.#outbox;
  }

  /** Reload the buffer saved at the last shutdown. */
  protected override async setup(): Promise<void> {
    let rows: RewritePending[];
    try {
      rows = await this.#db.call("LOADRWP");
    } catch (error) {
      if (!(error instanceof OracleError)) throw error;
      this.log.error(`could not load pending rewrites: ${error.message}`);
      return;
    }
    for (const [pkg, addedAt, command] of rows) {
      if (command !== "PROJECT" && command !== "BOTH") {
        this.log.warning(`dropped saved rewrite of ${pkg}: unknown command ${command}`);
        continue;
      }
      this.#buffer(pkg, command, addedAt);
    }
    if (rows.length) this.log.info(`loaded ${rows.length} pending rewrites`);
  }

  /** Save what is still buffered (and rewrites not yet sent) for the next start. */
  protected override async teardown(): Promise<void> {
    const pending = new Map(this.buffer);
    // Rewrites released but not yet taken by the scribe would be lost otherwise.
    for (const [i, msg] of this.#outbox.entries()) {
      if (i < this.#inFlight) continue;
      if (msg.name === "PROJECT" || msg.name === "BOTH") {
        const known = pending.get(msg.data);
        if (!known) {
          pending.set(msg.data, { pkg: msg.data, addedAt: new Date(), command: msg.name });
        } else if (msg.name === "BOTH") known.command = "BOTH";
      }
    }
    const rows: RewritePending[] = [...pending.values()].map((r) => [r.pkg, r.addedAt, r.command]);
    try {
      await this.#db.call("SAVERWP", rows);
      this.log.info(`saved ${rows.length} pending rewrites`);
    } catch (error) {
      this.log.error(`could not save ${rows.length} pending rewrites: ${(error as Error).message}`);
    }
  }

  /** A request on the web queue: act on it, then answer DONE (always, or the client hangs). */
  async #onRequest(web: QueueOf<typeof theScribeProtocol>, msg: ScribeMessage): Promise<void> {
    let reply = DONE;
    try {
      if (msg.name === "PENDING") reply = encodeMessage(theScribeProtocol, "COUNT", this.pending);
      else this.handle(msg);
    } finally {
      await web.sendFrame(reply);
    }
  }

  /** Rewrites held, waiting for the scribe or being written. */
  get pending(): number {
    return this.#outbox.reduce(
      (n, msg) => n + (msg.name === "PROJECTS" ? msg.data.length : 1),
      this.buffer.size,
    );
  }

  /** Buffer or pass on one request (public so tests can drive it without sockets). */
  handle(msg: ScribeMessage): void {
    switch (msg.name) {
      case "PROJECT":
      case "BOTH":
        this.#buffer(msg.data, msg.name, new Date());
        break;
      case "PUBLISHED":
        this.#publish(msg.data, Date.now());
        break;
      case "PROJECTS":
        for (const [command, pkg] of msg.data) {
          if (command === "PROJECT" || command === "BOTH") this.#buffer(pkg, command, new Date());
          else this.log.error(`dropped ${JSON.stringify(command)} for ${pkg} in PROJECTS`);
        }
        break;
      case "DELPKG":
        this.buffer.delete(msg.data);
        this.#send(msg);
        break;
      case "DELVER":
        this.buffer.delete(msg.data[0]);
        this.#send(msg);
        break;
      default:
        this.#send(msg);
    }
  }

  /** Buffer a rewrite, merging with one already buffered for the package. */
  #buffer(pkg: string, command: "PROJECT" | "BOTH", addedAt: Date): void {
    const known = this.buffer.get(pkg);
    if (known) {
      // Upgrade PROJECT to BOTH, keeping the original place and timestamp.
      if (command === "BOTH") known.command = "BOTH";
    } else {
      this.buffer.set(pkg, { pkg, addedAt, command });
    }
  }

  /** A BOTH that leaves at once unless the package had one within the hold (see above). */
  #publish(pkg: string, now: number): void {
    this.#buffer(pkg, "BOTH", new Date(now));
    const last = this.#published.get(pkg);
    if (this.paused || (last !== undefined && now - last < this.holdMs)) return;
    // Re-inserted, so the map stays in time order and pruning stops at the first recent one.
    this.#published.delete(pkg);
    this.#published.set(pkg, now);
    this.buffer.delete(pkg);
    this.#send({ name: "BOTH", data: pkg });
  }

  /** Move rewrites held long enough to the outbox, oldest first (not while paused). */
  #release(now = Date.now()): void {
    // Also retries a send the scribe queue refused earlier.
    this.#pump();
    if (this.paused) return;
    for (const [pkg, at] of this.#published) {
      if (now - at < this.holdMs) break;
      this.#published.delete(pkg);
    }
    for (const [pkg, rewrite] of this.buffer) {
      if (now - rewrite.addedAt.getTime() < this.holdMs) break;
      this.buffer.delete(pkg);
      this.#outbox.push({ name: rewrite.command, data: pkg });
    }
    // Once all are out of the buffer, so that they can leave together.
    this.#pump();
  }

  /** Queue a message for the scribe and send it if nothing is in flight. */
  #send(msg: ScribeMessage): void {
    this.#outbox.push(msg);
    this.#pump();
  }

  #pump(): void {
    if (this.#inFlight || this.#outbox.length === 0) return;
    // A run of rewrites (a rebuild of everything, say) goes as one PROJECTS, so the scribe can
    // read their data ahead of writing.
    let count = 1;
    let msg = this.#outbox[0];
    if (isRewrite(msg)) {
      const end = Math.min(PROJECTS_MAX, this.#outbox.length);
      while (count < end && isRewrite(this.#outbox[count])) count++;
      if (count > 1) {
        msg = {
          name: "PROJECTS",
          data: this.#outbox.slice(0, count).map((m) => [m.name, m.data as string]),
        };
      }
    } else if (isLog(msg)) {
      // Logs that waited while the scribe was busy go together too (one hop, not one each).
      const end = Math.min(LOGS_MAX, this.#outbox.length);
      while (count < end && isLog(this.#outbox[count])) count++;
      if (count > 1) {
        const logs = this.#outbox.slice(0, count).flatMap((m) =>
          m.name === "LOG" ? [m.data] : m.name === "LOGS" ? m.data : []
        );
        msg = { name: "LOGS", data: logs };
      }
    }
    // The queue adds the empty delimiter frame a REQ would add for the REP to strip.
    if (!this.#scribe.trySendFrame(this.#scribe.encodeMessage(msg))) {
      this.log.warning(`scribe queue full; ${msg.name} waits`);
      return;
    }
    this.#inFlight = count;
  }

  /** The scribe answered DONE: send the next message. */
  #onDone(): void {
    this.#outbox.splice(0, this.#inFlight);
    this.#inFlight = 0;
    this.#pump();
  }
}

/** Most rewrites sent to the scribe in one PROJECTS message. */
const PROJECTS_MAX = 1000;
/** Most LOG/LOGS messages merged into one LOGS. */
const LOGS_MAX = 10;

function isRewrite(msg: ScribeMessage): boolean {
  return msg.name === "PROJECT" || msg.name === "BOTH";
}

function isLog(msg: ScribeMessage): boolean {
  return msg.name === "LOG" || msg.name === "LOGS";
}
