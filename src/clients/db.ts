/**
 * `DbClient`: a task's connection to the database, REQ to Seraph (`config.dbQueue`), which
 * hands each request to an idle TheOracle.
 * @module
 */
import type { Context, Socket } from "../transport/mod.ts";
import { PiwError } from "../errors.ts";
import {
  type DataArgs,
  decodeMessage,
  decodeOracleResult,
  encodeMessage,
  type OracleRequest,
  type OracleResult,
  theOracleProtocol,
} from "../protocols/mod.ts";
import type { MasterConfig } from "../master/config.ts";

/** An oracle request answered ERROR, or not answered in time. */
export class OracleError extends PiwError {
  override name = "OracleError";
  /** The request, e.g. "NEWPKG". */
  readonly request: string;

  /** `request` failed with `reason`. */
  constructor(request: string, reason: string) {
    super(`the_oracle: ${request}: ${reason}`);
    this.request = request;
  }
}

const oracleClientSide = theOracleProtocol.reversed();

/**
 * A task's connection to the database: REQ to Seraph (`config.dbQueue`), one request at a
 * time (concurrent calls queue up, since REQ allows one outstanding request).
 * @example
 * const db = new DbClient(context, config);
 * const abis = await db.call("GETABIS", true); // Set<string>
 */
export class DbClient {
  #context: Context;
  #config: MasterConfig;
  #socket: Socket;
  #queue: Promise<unknown> = Promise.resolve();

  /** Connect to the oracles through Seraph. */
  constructor(context: Context, config: MasterConfig) {
    this.#context = context;
    this.#config = config;
    this.#socket = this.#connect();
  }

  #connect(): Socket {
    const socket = this.#context.socket("REQ", { linger: 0 });
    socket.connect(this.#config.dbQueue);
    return socket;
  }

  /** Send request `name` and resolve to its typed result; throws OracleError on ERROR. */
  call<N extends OracleRequest>(
    name: N,
    ...args: DataArgs<(typeof theOracleProtocol.recv)[N]>
  ): Promise<OracleResult<N>> {
    const result = this.#queue.then(() => this.#call(name, args));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #call<N extends OracleRequest>(
    name: N,
    args: DataArgs<(typeof theOracleProtocol.recv)[N]>,
  ): Promise<OracleResult<N>> {
    const payload = encodeMessage(oracleClientSide, name, ...args);
    await this.#socket.send([payload]);
    const frames = await this.#socket.recv(this.#config.dbTimeout);
    if (frames === null) {
      // A REQ socket that missed its reply can never send again: start afresh.
      this.#socket.close(0);
      this.#socket = this.#connect();
      throw new OracleError(name, `no reply within ${this.#config.dbTimeout / 1000} s`);
    }
    const reply = decodeMessage(oracleClientSide, frames[frames.length - 1]);
    if (reply.name === "ERROR") throw new OracleError(name, reply.data);
    return decodeOracleResult(name, reply.data);
  }

  /** Close the socket. */
  close(): void {
    this.#socket.close();
  }
}
