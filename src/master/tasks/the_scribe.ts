/**
 * TheScribe: writes the web output (piwheels' `the_scribe`) — homepage, search index,
 * simple index (HTML and PEP 691 JSON) with PEP 658 metadata files, project pages and JSON,
 * alias links, build logs, sitemaps — by way of {@link WebSite}, which does the rendering and
 * atomic writing. Requests arrive from TheSecretary on `config.scribeQueue` (REP); each is
 * answered DONE once done (also when it failed, which is logged), so the secretary sends the
 * next one only then. A backlog arrives as PROJECTS: its project data is read from the oracles
 * a chunk ahead of the pages being written. A build's output waits in the database (logs_pending,
 * committed with the build) until its log is written: the scribe forgets it then (LOGSWRITTEN),
 * and at start and every minute writes the logs a crash or a failed web update left
 * (PENDINGLOGS).
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import {
  encodeMessage,
  type MessageOf,
  SchemaError,
  theScribeProtocol,
} from "../../protocols/mod.ts";
import { isCanonicalName } from "../../wheel/mod.ts";
import { fetchAhead, type ProjectWrite, WebSite } from "../../web/mod.ts";
import { type MasterConfig, Task, type TaskOptions } from "../task.ts";
import type { QueueOf } from "../../transport/mod.ts";
import { DbClient } from "../../clients/db.ts";

type ScribeMessage = MessageOf<typeof theScribeProtocol.recv>;

const DONE = encodeMessage(theScribeProtocol, "DONE");
// What each request writes.
const WRITES: Record<"PROJECT" | "BOTH", ProjectWrite> = {
  PROJECT: { simple: false, project: true },
  BOTH: { simple: true, project: true },
};
/** Packages per PROJDATAS request when writing a backlog. */
const FETCH_CHUNK = 100;
/**
 * Least age of a pending log the periodic pass writes: younger ones are normally on their way
 * in a LOGS (writing one twice is harmless anyway: a log is created once, and found it counts
 * as written).
 */
const PENDING_AGE_MS = 30_000;
/** How often the database is told which logs are written (LOGSWRITTEN), ms. */
const FORGET_INTERVAL_MS = 1_000;

/** Options of {@link TheScribe}. */
export interface ScribeOptions extends TaskOptions {
  /** How often a changed root index is rewritten, ms (default 1 s). */
  rootIntervalMs?: number;
  /** How often the logs a crash left are looked for, ms (default 1 minute). */
  pendingIntervalMs?: number;
  /** Least age of a pending log the periodic pass writes, ms (default 30 s). */
  pendingAgeMs?: number;
}

/** The web output writer (Pauseable). */
export class TheScribe extends Task {
  readonly name = "the_scribe";
  /** The output tree. */
  readonly site: WebSite;
  readonly #db: DbClient;
  /** Builds whose log was written (or found written) since the last LOGSWRITTEN. */
  #written: number[] = [];
  /** The age a pending log must reach before the periodic pass writes it; none at start. */
  #pendingAgeMs = 0;

  /** Bind the scribe queue and connect to the oracles; nothing is written until `setup`. */
  constructor(context: Context, config: MasterConfig, options: ScribeOptions = {}) {
    super(context, config, options);
    this.site = new WebSite({
      outputPath: config.outputPath,
      siteUrl: config.siteUrl,
      log: this.log,
    });
    const queue = this.queue("REP", theScribeProtocol, { hwm: 100 });
    queue.socket.bind(config.scribeQueue);
    this.register(queue, (msg) => this.#onRequest(queue, msg), {
      refused: (error) => {
        this.logRefusal(queue.name, error);
        return queue.sendFrame(DONE);
      },
    });
    this.#db = this.track(new DbClient(context, config));
    // New packages make the root index stale; rewriting it once a second rather than once per
    // new package keeps a burst of new packages from rewriting a 600,000-line page each time.
    this.every(options.rootIntervalMs ?? 1000, () => {
      if (this.site.flushSimpleRoot()) this.log.info("wrote the root index");
    });
    // The database forgets the logs written once a second, not once a LOGS: a DELETE (an oracle
    // round trip and a commit) per batch of builds cost as much as recording them (issue 15).
    this.every(FORGET_INTERVAL_MS, () => this.#forgetWritten());
    // At start every pending log is a dead master's (SlaveDriver starts after the scribe).
    const pendingAgeMs = options.pendingAgeMs ?? PENDING_AGE_MS;
    this.every(options.pendingIntervalMs ?? 60_000, async () => {
      await this.#writePending();
      this.#pendingAgeMs = pendingAgeMs;
    });
  }

  /** Lay out the output path, copy static files, load the package list, write the root. */
  protected override async setup(): Promise<void> {
    this.log.info(`setting up output path ${this.config.outputPath}`);
    this.site.setup();
    this.site.setPackages(await this.#db.call("ALLPKGS"));
    this.site.writeSimpleRoot();
  }

  /** Handle one request, then answer DONE whatever happened (the secretary waits for it). */
  async #onRequest(queue: QueueOf<typeof theScribeProtocol>, msg: ScribeMessage): Promise<void> {
    try {
      await this.handle(msg);
    } finally {
      await queue.sendFrame(DONE);
    }
  }

  /** The logs written since the last LOGSWRITTEN are forgotten before the scribe stops. */
  protected override async teardown(): Promise<void> {
    await this.#forgetWritten();
  }

  /** Failed builds by class for the homepage; none (with a warning) if the database fails. */
  async #failureCounts(): Promise<Record<string, number>> {
    try {
      return await this.#db.call("FAILCOUNTS");
    } catch (e) {
      this.log.warning(`homepage without failure counts: ${(e as Error).message}`);
      return {};
    }
  }

  /** Write what one request asks for (public so tests can drive it without sockets). */
  async handle(msg: ScribeMessage): Promise<void> {
    switch (msg.name) {
      case "HOME":
        this.log.debug("writing homepage");
        this.site.writeHome(
          msg.data[0],
          { lastMonth: msg.data[1], all: msg.data[2] },
          await this.#failureCounts(),
        );
        break;
      case "SEARCH":
        this.log.debug("writing search index");
        this.site.writeSearchIndex(msg.data);
        break;
      case "PROJECT":
      case "BOTH":
        await this.#writeProject(msg.data, msg.name);
        break;
      case "PUBLISHED":
        // TheSecretary turns these into BOTH; a direct one is written as such.
        await this.#writeProject(msg.data, "BOTH");
        break;
      case "PROJECTS":
        await this.#writeProjects(msg.data);
        break;
      case "LOG":
        this.#writeLogs([msg.data]);
        break;
      case "LOGS":
        this.#writeLogs(msg.data);
        break;
      case "DELVER":
        await this.#deleteVersion(msg.data[0], msg.data[1]);
        break;
      case "DELPKG":
        await this.#deletePackage(msg.data);
        break;
    }
  }

  /**
   * Write a batch of build logs; one that fails is logged and the rest are still written. Those
   * written, or found written (when `recovering`, that is expected), are noted for
   * LOGSWRITTEN; returns how many failed.
   */
  #writeLogs(logs: [number, string][], recovering = false): number {
    let failed = 0;
    for (const [buildId, output] of logs) {
      try {
        this.site.writeLog(buildId, output, recovering);
        this.#written.push(buildId);
      } catch (error) {
        failed++;
        // A pass over what a crash left says it once a page (it comes back every minute).
        if (recovering && failed > 1) continue;
        this.log.error(`writing the log of build ${buildId} failed: ${(error as Error).message}`);
      }
    }
    return failed;
  }

  /** Tell the database which logs are written, so it forgets their output (one DELETE). */
  async #forgetWritten(): Promise<void> {
    if (!this.#written.length) return;
    const ids = this.#written;
    this.#written = [];
    try {
      await this.#db.call("LOGSWRITTEN", ids);
    } catch (e) {
      // Their rows stay: the next pass over pending logs finds the files and forgets them.
      this.log.warning(`forgetting ${ids.length} written logs failed: ${(e as Error).message}`);
    }
  }

  /**
   * Write the logs still pending in the database (those a crash or a failed web update left),
   * a page at a time, and forget them. One that fails keeps its row for the next pass.
   */
  async #writePending(): Promise<void> {
    let after = 0;
    let written = 0;
    let failed = 0;
    while (!this.quitting) {
      let page: [number, string][];
      try {
        page = await this.#db.call("PENDINGLOGS", [after, this.#pendingAgeMs]);
      } catch (e) {
        this.log.warning(`looking for pending logs failed: ${(e as Error).message}`);
        break;
      }
      if (!page.length) break;
      after = page[page.length - 1][0];
      const pageFailed = this.#writeLogs(page, true);
      failed += pageFailed;
      written += page.length - pageFailed;
      await this.#forgetWritten();
    }
    if (written) this.log.warning(`wrote ${written} build logs left pending (by a crash?)`);
    if (failed) this.log.error(`${failed} pending build logs could not be written; kept`);
  }

  /** Whether `pkg` may name a directory; logs the refusal otherwise. */
  #acceptable(pkg: string, what: string): boolean {
    if (isCanonicalName(pkg)) return true;
    this.log.error(`refusing ${what} for ${JSON.stringify(pkg)}: not a canonical package name`);
    return false;
  }

  /** Write one project's pages (a PROJECT or BOTH request). */
  async #writeProject(pkg: string, command: "PROJECT" | "BOTH"): Promise<void> {
    await this.#writeProjects([[command, pkg]]);
  }

  /**
   * Write the pages of PROJECT/BOTH requests, reading the data of a backlog a chunk ahead of
   * the writing. A project that fails is logged and the rest are still written.
   */
  async #writeProjects(entries: [string, string][]): Promise<void> {
    const wanted = entries.filter(([command, pkg]) => {
      if (!Object.hasOwn(WRITES, command)) {
        this.log.error(`refusing ${JSON.stringify(command)} for ${JSON.stringify(pkg)}`);
        return false;
      }
      return this.#acceptable(pkg, command);
    });
    let written = 0;
    const fetch = (chunk: [string, string][]) =>
      this.#db.call("PROJDATAS", chunk.map(([, pkg]) => pkg));
    for await (const [[command, pkg], data] of fetchAhead(wanted, FETCH_CHUNK, fetch)) {
      try {
        // Data that does not match the schema arrives as its error (logged below).
        if (data instanceof SchemaError) throw data;
        if (data === null) {
          this.log.warning(`not writing ${pkg}: unknown package`);
          continue;
        }
        const what = WRITES[command as keyof typeof WRITES];
        const pages = what.simple ? "index and project page" : "project page";
        // One line per project for single requests; a backlog gets a count at the end.
        this.log[entries.length === 1 ? "info" : "debug"](`writing ${pages} for ${pkg}`);
        await this.site.writeProject(data, what);
        written++;
      } catch (error) {
        this.log.error(`writing ${pkg} failed: ${(error as Error).message}`);
      }
    }
    if (entries.length > 1) this.log.info(`wrote ${written} of ${entries.length} projects`);
  }

  async #deleteVersion(pkg: string, version: string): Promise<void> {
    if (!this.#acceptable(pkg, "DELVER")) return;
    // The database may have forgotten the files already; the site also looks on disk.
    const files = await this.#db.call("VERFILES", [pkg, version]);
    const removed = this.site.deleteVersion(pkg, version, files);
    this.log.info(`deleted ${pkg} ${version} (${removed.length} files)`);
    await this.#writeProject(pkg, "BOTH");
  }

  async #deletePackage(pkg: string): Promise<void> {
    if (!this.#acceptable(pkg, "DELPKG")) return;
    const aliases = await this.#db.call("GETPKGNAMES", pkg);
    this.site.deletePackage(pkg, aliases);
    this.site.flushSimpleRoot();
    this.log.info(`deleted ${pkg}`);
  }
}
