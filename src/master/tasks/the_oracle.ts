/**
 * TheOracle: a database worker behind Seraph. It connects REQ to Seraph's back end, says READY,
 * then answers each request `OK <result>` or `ERROR <text>`. Several run side by side (one for
 * PGlite, which allows a single connection); none dies on a bad request or a database error.
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import { type Database, openDatabase, redactDsn } from "../../db/mod.ts";
import {
  encodeData,
  encodeMessage,
  type MessageOf,
  ORACLE_READY,
  type OracleRequest,
  ProtocolError,
  theOracleProtocol,
  theOracleResults,
} from "../../protocols/mod.ts";
import { type MasterConfig, Task, type TaskOptions } from "../task.ts";
import { type OracleContext, oracleHandlers } from "../oracle_requests.ts";

/** A database RPC worker (NonStop). */
export class TheOracle extends Task {
  readonly name: string;
  override readonly kind = "nonstop" as const;
  #db: Database | null = null;

  /** Oracle number `options.instance` (0 is named `the_oracle`, n `the_oracle_<n>`). */
  constructor(context: Context, config: MasterConfig, options: TaskOptions = {}) {
    super(context, config, options);
    this.name = this.instance ? `the_oracle_${this.instance}` : "the_oracle";
  }

  /** Open the database (checking its schema version), then offer ourselves to Seraph. */
  protected override async setup(): Promise<void> {
    this.log.debug(`opening database ${redactDsn(this.config.dsn)}`);
    const db = this.#db = await openDatabase(this.config.dsn);
    this.track({ close: () => db.close() });
    // Seraph hands over each request in its client's envelope, which the reply goes back in.
    const queue = this.queue("REQ", theOracleProtocol, { envelope: "addressed" });
    queue.socket.connect(this.config.oracleQueue);
    this.register(queue, async (msg, client) => {
      await queue.sendFrame(await this.#answer(msg), client);
    }, {
      refused: (error, client) => {
        this.log.error(`bad request: ${error.message}`);
        return queue.sendTo(client, "ERROR", error.message);
      },
    });
    await queue.socket.send([ORACLE_READY]);
  }

  /** The encoded reply to one request; never throws. */
  async #answer(msg: MessageOf<typeof theOracleProtocol.recv>): Promise<Uint8Array> {
    let name: OracleRequest | undefined;
    try {
      name = msg.name;
      this.log.debug(`<< ${name}`);
      const handler = oracleHandlers[name] as (
        db: Database,
        data: unknown,
        context: OracleContext,
      ) => Promise<unknown>;
      const result = await handler(this.#db!, msg.data, { retryDelays: this.config.retryDelays });
      const data = encodeData(theOracleResults[name], result, theOracleProtocol.name, name);
      return encodeMessage(theOracleProtocol, "OK", data);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (error instanceof ProtocolError) this.log.error(`bad request: ${text}`);
      else this.log.error(`${name ?? "request"} failed: ${text}`);
      return encodeMessage(theOracleProtocol, "ERROR", text);
    }
  }
}
