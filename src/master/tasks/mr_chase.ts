/**
 * MrChase: the import queue (piwheels' `mr_chase`), where `piw import`, `add`, `remove`
 * and `rebuild` talk to the master. An import is an abbreviated SlaveDriver conversation: IMPORT
 * (checked against the database), then SEND/SENT once per file through FileJuggler as slave 0
 * (each file staged), then the build is journaled, recorded, published and its pages rewritten
 * (src/master/build_recorder.ts); with the database unreachable the importer gets ERROR. The other requests are one message each,
 * answered `DONE <what was done>` or `ERROR <why>`.
 *
 * Unlike piwheels, `REMPKG` with only a skip reason keeps the package's web files: skipping
 * stops future builds, it does not withdraw what was already published. And a PROJECT or BOTH
 * rebuild answers `DONE "REBUILD <packages queued>"` rather than a bare `REBUILD`: DONE's data
 * is any string in piwheels 0.23's schema and its piw-rebuild ignores it, so its clients still
 * accept the answer, while `piw rebuild` can report the count.
 * @module
 */

import { type Context, ipcPath, type Socket } from "../../transport/mod.ts";
import {
  bigBrotherProtocol,
  cloudGazerProtocol,
  type DataOf,
  encodeMessage,
  MAX_MESSAGE_SIZE,
  MAX_PRIORITY,
  type MessageOf,
  mrChaseProtocol,
  ProtocolError,
  theArchitectControlProtocol,
  type theScribeProtocol,
} from "../../protocols/mod.ts";
import { canonicaliseName, parseWheelFilename } from "../../wheel/mod.ts";
import { Task, type TaskOptions } from "../task.ts";
import type { QueueOf } from "../../transport/mod.ts";
import { DbClient } from "../../clients/db.ts";
import type { MasterConfig } from "../config.ts";
import { FsClient } from "../../clients/fs.ts";
import { ReqClient } from "../../clients/req.ts";
import { BuildState, FileState } from "../states.ts";
import { SecretaryClient } from "../../clients/secretary.ts";
import { BuildJournal } from "../build_journal.ts";
import { BuildRecorder, oracleRecorderDb } from "../build_recorder.ts";

type Request = MessageOf<typeof mrChaseProtocol.recv>;
type Reply = MessageOf<typeof mrChaseProtocol.send>;

const bigBrotherSide = bigBrotherProtocol.reversed();
/** Failed verifications of one file before an import is abandoned. */
const MAX_VERIFY_FAILURES = 3;

function done(what: string): Reply {
  return { name: "DONE", data: what };
}

function error(why: string): Reply {
  return { name: "ERROR", data: why };
}

/** An import in progress: the build and how often its current file failed to verify. */
interface ImportState {
  build: BuildState;
  failures: number;
}

/** The import queue: imports, additions, removals and page rebuilds requested by admins. */
export class MrChase extends Task {
  readonly name = "mr_chase";
  #queue: QueueOf<typeof mrChaseProtocol>;
  #db: DbClient;
  #fs: FsClient;
  #web: SecretaryClient;
  #skip: ReqClient<typeof cloudGazerProtocol.recv, typeof cloudGazerProtocol.send>;
  #home: Socket;
  /** The import queue's socket file, if it is an ipc address. */
  #ipcFile = ipcPath(this.config.importQueue);
  /** Page rebuilds still being queued. */
  #rebuilding: Promise<void> = Promise.resolve();
  /** Imports in progress by client routing address. */
  #imports = new Map<string, ImportState>();
  #recorder: BuildRecorder;

  /** Bind the import queue (ipc files readable by owner and group only); connect the rest. */
  constructor(context: Context, config: MasterConfig, options: TaskOptions = {}) {
    super(context, config, options);
    // Clients (REQ) have one request in flight: a peer cannot queue more than a few big ones.
    this.#queue = this.queue("ROUTER", mrChaseProtocol, {
      maxMsgSize: MAX_MESSAGE_SIZE.importQueue,
      rcvHwm: 10,
    });
    // Anyone who can write to the import queue can delete packages: keep other users out, from
    // the socket file's creation on (libzmq creates it inside zmq_bind, under the umask).
    const umask = this.#ipcFile ? Deno.umask(0o117) : null;
    try {
      this.#queue.socket.bind(config.importQueue);
    } finally {
      if (umask !== null) Deno.umask(umask);
    }
    if (this.#ipcFile) Deno.chmodSync(this.#ipcFile, 0o660);
    this.register(this.#queue, (request, address) => this.#handle(request, address), {
      refused: (e, address) => {
        if (!address.length) return this.log.error(`invalid message from a client: ${e.message}`);
        this.log.error(`request failed: ${e.message}`);
        this.#answer(address, error(e.message));
      },
    });
    this.#home = this.socket("PUSH", { hwm: 10 });
    this.#home.connect(config.statsQueue);
    this.#db = this.track(new DbClient(context, config));
    this.#fs = this.track(new FsClient(context, config.fsQueue));
    this.#web = this.track(new SecretaryClient(context, config, { timeoutMs: 10_000 }));
    this.#recorder = new BuildRecorder(
      new BuildJournal(config.outputPath),
      oracleRecorderDb(this.#db),
      {
        log: this.log,
        dropPending: true,
        published: async (build) => {
          await this.#webSend("LOG", [build.buildId!, build.output]);
          await this.#webSend("BOTH", build.pkg);
        },
      },
    );
    this.#skip = this.track(
      new ReqClient(context, config.skipQueue, cloudGazerProtocol.reversed(), { log: this.log }),
    );
  }

  async #handle(request: Request, address: Uint8Array): Promise<void> {
    const key = String.fromCharCode(...address);
    let reply: Reply;
    try {
      reply = await this.#dispatch(key, request);
      if (reply.name === "DONE" && !["REBUILD", "REBUILDING", "IMPORT"].includes(request.name)) {
        // A version added, unskipped or unyanked, or its builds deleted, may want building:
        // TheArchitect need not wait for its next periodic refresh.
        this.tellTask("the_architect", theArchitectControlProtocol, "REFRESH");
      }
    } catch (e) {
      const message = e instanceof ProtocolError ? e.message : `internal error: ${e}`;
      this.log.error(`request failed: ${message}`);
      reply = error(message);
    }
    this.#answer(address, reply);
  }

  /** Reply to a client; its import ends unless the reply asks for a file. */
  #answer(address: Uint8Array, reply: Reply): void {
    if (reply.name !== "SEND") this.#imports.delete(String.fromCharCode(...address));
    this.#queue.trySendFrame(this.#queue.encodeMessage(reply), address);
  }

  #dispatch(key: string, request: Request): Promise<Reply> {
    switch (request.name) {
      case "IMPORT":
        return this.doImport(key, request.data);
      case "SENT":
        return this.doSent(key);
      case "ADDPKG":
        return this.doAddPkg(...request.data);
      case "ADDVER":
        return this.doAddVer(...request.data);
      case "REMPKG":
        return this.doRemPkg(...request.data);
      case "REMVER":
        return this.doRemVer(...request.data);
      case "REBUILD":
        return this.doRebuild(request.data);
      case "REBUILDING":
        return this.#web.pending().then((n) => done(`PENDING ${n}`));
      case "PRIORITY":
        return this.doPriority(...request.data);
    }
  }

  // -- import -----------------------------------------------------------------------------------

  /** IMPORT: check the build (success, files, ABI, known version, sane files), then SEND. */
  protected async doImport(
    key: string,
    data: Extract<Request, { name: "IMPORT" }>["data"],
  ): Promise<Reply> {
    const [, pkg, version, abi, status, duration, output, files] = data;
    // Imports always come from "slave" 0, whatever the client says.
    const build = new BuildState(
      0,
      pkg,
      version,
      abi,
      status,
      duration,
      output,
      new Map(files.map((f) => [f[0], FileState.fromMessage(f)])),
    );
    if (!status) return error("importing a failed build is not supported");
    if (!build.files.size) return error("no files listed for import");
    for (const file of build.files.values()) {
      const problem = file.problem();
      if (problem) return error(`invalid file: ${problem}`);
      if (parseWheelFilename(file.filename).canonicalName !== pkg) {
        return error(`${file.filename} is not a wheel of ${pkg}`);
      }
    }
    const abis = await this.#db.call("GETABIS", false);
    if (!abis.has(abi)) return error(`invalid ABI: ${abi}`);
    if (!await this.#db.call("VEREXISTS", [pkg, version])) {
      return error(`unknown package version ${pkg}-${version}`);
    }
    build.addArmv6lTwins();
    this.log.info(`importing ${pkg} ${version} (${build.files.size} files)`);
    this.#imports.set(key, { build, failures: 0 });
    return await this.#send(build);
  }

  /** SENT: verify the file; SEND the next (or the same again), or log the build and DONE. */
  protected async doSent(key: string): Promise<Reply> {
    const state = this.#imports.get(key);
    const filename = state?.build.nextFile;
    if (!state || !filename) return error("protocol violation");
    const { build } = state;
    const outcome = await this.#fs.verify(0, build.pkg);
    switch (outcome.status) {
      case "staged":
        this.log.info(`verified transfer of ${filename}`);
        build.files.get(filename)!.verified();
        state.failures = 0;
        return build.transfersDone ? await this.#finish(build) : await this.#send(build);
      case "refused":
        await this.#recorder.journal.discardFiles(build.files.values());
        return error(`${filename} was refused: ${outcome.reason}`);
      case "failed":
        if (++state.failures >= MAX_VERIFY_FAILURES) {
          await this.#recorder.journal.discardFiles(build.files.values());
          return error(`${filename} failed to verify: ${outcome.reason}`);
        }
        this.log.warning(`re-send ${filename}: ${outcome.reason}`);
        return await this.#send(build);
    }
  }

  async #send(build: BuildState): Promise<Reply> {
    const filename = build.nextFile!;
    await this.#fs.expect(0, build.files.get(filename)!);
    this.log.info(`send ${filename}`);
    return { name: "SEND", data: filename };
  }

  /** Every file is staged: journal, record, publish the build and rewrite its pages. */
  async #finish(build: BuildState): Promise<Reply> {
    const outcome = await this.#recorder.finish(build, "import");
    switch (outcome.status) {
      case "recorded":
        this.log.info(`registered build ${outcome.build.buildId} of ${build.pkg} ${build.version}`);
        // SlaveDriver's queue may predate the import: no slave should be handed it again.
        try {
          await this.#skip.request("IMPORTED", [build.abiTag, build.pkg, build.version]);
        } catch (e) {
          this.log.warning(
            `slave driver not told of the import of ${build.pkg} ${build.version}: ` +
              (e as Error).message,
          );
        }
        return done("IMPORT");
      case "pending":
        return error(`the database is unreachable; ${build.pkg} ${build.version} not imported`);
      case "refused":
        return error(outcome.reason);
      case "rejected":
        return error(`the database refused the build: ${outcome.reason}`);
    }
  }

  // -- add --------------------------------------------------------------------------------------

  /** ADDPKG: a new package (NEWPKG) or an update of a known one (UPDPKG). */
  protected async doAddPkg(
    name: string,
    description: string,
    skip: string,
    unskip: boolean,
    aliases: string[],
  ): Promise<Reply> {
    const pkg = canonicaliseName(name);
    for (const alias of aliases) {
      if (canonicaliseName(alias) !== pkg) return error(`alias ${alias} is not a name of ${pkg}`);
    }
    let result: string;
    if (await this.#db.call("NEWPKG", [pkg, skip, description])) {
      this.log.info(`added package ${pkg}`);
      result = "NEWPKG";
    } else {
      // A skip needs piw remove --skip, which also stops running builds.
      if (skip) return error("SKIPPKG");
      if (unskip) await this.#db.call("SKIPPKG", [pkg, ""]);
      if (description) await this.#db.call("SETDESC", [pkg, description]);
      this.log.info(`updated package ${pkg}`);
      result = "UPDPKG";
    }
    await this.#addNames(pkg, name, aliases);
    await this.#webSend("BOTH", pkg);
    return done(result);
  }

  /** ADDVER: a new version (NEWVER) or an update of a known one (UPDVER). */
  protected async doAddVer(
    name: string,
    version: string,
    skip: string,
    unskip: boolean,
    released: Date,
    yank: boolean,
    unyank: boolean,
    aliases: string[],
  ): Promise<Reply> {
    const pkg = canonicaliseName(name);
    if (!await this.#db.call("PKGEXISTS", pkg)) return error("NOPKG");
    for (const alias of aliases) {
      if (canonicaliseName(alias) !== pkg) return error(`alias ${alias} is not a name of ${pkg}`);
    }
    let result: string;
    if (await this.#db.call("NEWVER", [pkg, version, released, skip])) {
      if (yank) await this.#db.call("YANKVER", [pkg, version]);
      this.log.info(`added version ${pkg} ${version}`);
      result = "NEWVER";
    } else {
      if (skip) return error("SKIPVER");
      if (yank) return error("YANKVER");
      if (unskip) await this.#db.call("SKIPVER", [pkg, version, ""]);
      if (unyank) await this.#db.call("UNYANKVER", [pkg, version]);
      this.log.info(`updated version ${pkg} ${version}`);
      result = "UPDVER";
    }
    await this.#addNames(pkg, name, aliases);
    await this.#webSend("BOTH", pkg);
    return done(result);
  }

  /**
   * PRIORITY: set a package's build priority; answers where it now stands in each ABI's queue
   * (`PRIORITY <abi>:<queued>:<position> ...`).
   */
  protected async doPriority(name: string, priority: number): Promise<Reply> {
    const pkg = canonicaliseName(name);
    if (!Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY) {
      return error(`priority ${priority} is not a whole number from -1000 to 1000`);
    }
    if (!await this.#db.call("SETPRIO", [pkg, priority])) return error("NOPKG");
    this.log.info(`set the build priority of ${pkg} to ${priority}`);
    const standing = await this.#db.call("PKGQUEUE", pkg);
    return done(["PRIORITY", ...standing.map(([abi, n, at]) => `${abi}:${n}:${at}`)].join(" "));
  }

  /** Record aliases, the canonical name, then the display name (last, so it shows). */
  async #addNames(pkg: string, display: string, aliases: string[]): Promise<void> {
    for (const name of [...aliases, pkg, display]) {
      await this.#db.call("NEWPKGNAME", [pkg, name, new Date()]);
    }
  }

  // -- remove -----------------------------------------------------------------------------------

  /** REMPKG: delete the package, only its builds (DELPKGBLD), or skip it (SKIPPKG). */
  protected async doRemPkg(name: string, builds: boolean, skip: string): Promise<Reply> {
    const pkg = canonicaliseName(name);
    if (!await this.#db.call("PKGEXISTS", pkg)) return error("NOPKG");
    if (skip) await this.#db.call("SKIPPKG", [pkg, skip]);
    // Stop the slaves building it now; the database keeps it out of future queues.
    await this.#skip.request("DELPKG", pkg);
    if (builds) {
      for (const [p, version] of await this.#db.call("ALLVERS")) {
        if (p === pkg) await this.#db.call("DELBUILD", [pkg, version]);
      }
      await this.#webSend("DELPKG", pkg);
      await this.#webSend("BOTH", pkg);
      this.log.info(`removed the builds of ${pkg}`);
      return done("DELPKGBLD");
    }
    if (skip) {
      // piw keeps published files of a skipped package (piwheels deletes them).
      await this.#webSend("PROJECT", pkg);
      this.log.info(`skipped ${pkg}: ${skip}`);
      return done("SKIPPKG");
    }
    await this.#db.call("DELPKG", pkg);
    await this.#webSend("DELPKG", pkg);
    this.log.info(`removed ${pkg}`);
    return done("DELPKG");
  }

  /** REMVER: delete the version, its builds (DELVERBLD), skip it or yank it. */
  protected async doRemVer(
    name: string,
    version: string,
    builds: boolean,
    skip: string,
    yank: boolean,
  ): Promise<Reply> {
    const pkg = canonicaliseName(name);
    if (!await this.#db.call("PKGEXISTS", pkg)) return error("NOPKG");
    if (!await this.#db.call("VEREXISTS", [pkg, version])) return error("NOVER");
    if (skip) await this.#db.call("SKIPVER", [pkg, version, skip]);
    if (yank) await this.#db.call("YANKVER", [pkg, version]);
    if (builds) {
      await this.#skip.request("DELVER", [pkg, version]);
      // The scribe looks the version's files up, so it goes before the rows do.
      await this.#webSend("DELVER", [pkg, version]);
      await this.#db.call("DELBUILD", [pkg, version]);
      await this.#webSend("BOTH", pkg);
      this.log.info(`removed the builds of ${pkg} ${version}`);
      return done("DELVERBLD");
    }
    if (skip) {
      await this.#skip.request("DELVER", [pkg, version]);
      await this.#webSend("BOTH", pkg);
      this.log.info(`skipped ${pkg} ${version}: ${skip}`);
      return done("SKIPVER");
    }
    if (yank) {
      await this.#webSend("BOTH", pkg);
      this.log.info(`yanked ${pkg} ${version}`);
      return done("YANKVER");
    }
    await this.#skip.request("DELVER", [pkg, version]);
    // The scribe looks the version's files up, so it goes before the rows do.
    await this.#webSend("DELVER", [pkg, version]);
    await this.#db.call("DELVER", [pkg, version]);
    await this.#webSend("BOTH", pkg);
    this.log.info(`removed ${pkg} ${version}`);
    return done("DELVER");
  }

  // -- rebuild ----------------------------------------------------------------------------------

  /**
   * REBUILD: HOME/SEARCH go to BigBrother; PROJECT/BOTH for one package or every package,
   * answered with how many packages' pages were queued.
   */
  protected async doRebuild(
    data: Extract<Request, { name: "REBUILD" }>["data"],
  ): Promise<Reply> {
    const [part, name] = data.length === 2 ? data : [data[0], null];
    if (part === "HOME" || part === "SEARCH") {
      this.#home.trySend([encodeMessage(bigBrotherSide, "HOME")]);
      return done("REBUILD");
    }
    let packages: Iterable<string>;
    if (name !== null) {
      const pkg = canonicaliseName(name);
      if (!await this.#db.call("PKGEXISTS", pkg)) return error(`unknown package ${name}`);
      packages = [pkg];
    } else {
      packages = [...await this.#db.call("ALLPKGS")].sort();
    }
    // Every package can take longer than a client waits: answer now, queue in the background
    // (the secretary client serialises these behind any other web request).
    const pages = [...packages];
    this.#rebuilding = this.#rebuilding.then(async () => {
      for (const pkg of pages) {
        if (this.quitting) return; // the rest is lost, as piwheels' queue would be at shutdown
        await this.#webSend(part, pkg);
      }
      const what = part === "BOTH" ? "index and project" : "project";
      this.log.info(`queued ${pages.length} ${what} rebuilds`);
    });
    return done(`REBUILD ${pages.length}`);
  }

  /** Ask the secretary for web output; a failure is logged, never the client's problem. */
  async #webSend<N extends keyof typeof theScribeProtocol.recv & string>(
    name: N,
    data: DataOf<(typeof theScribeProtocol.recv)[N]>,
  ): Promise<void> {
    try {
      await this.#web.send(name, data);
    } catch (e) {
      this.log.warning(`web update ${name} failed: ${(e as Error).message}`);
    }
  }
}
