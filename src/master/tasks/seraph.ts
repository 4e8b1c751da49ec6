/**
 * Seraph: the least-recently-used broker between every task's DbClient (ROUTER front,
 * `inproc://db`) and the oracles (ROUTER back, `inproc://oracle`). Requests wait here while
 * every oracle is busy; each client is REQ, so at most one request per client waits.
 * @module
 */
import type { Context } from "../../transport/mod.ts";
import { ORACLE_READY } from "../../protocols/mod.ts";
import { type MasterConfig, Task } from "../task.ts";

const EMPTY = new Uint8Array(0);

function isReady(frame: Uint8Array): boolean {
  return frame.length === ORACLE_READY.length && frame.every((b, i) => b === ORACLE_READY[i]);
}

/** The database request broker (NonStop). */
export class Seraph extends Task {
  readonly name = "seraph";
  override readonly kind = "nonstop" as const;
  /** Idle oracles' identities, least recently used first. */
  #workers: Uint8Array[] = [];
  /** Requests `[client, request]` waiting for an idle oracle. */
  #pending: [Uint8Array, Uint8Array][] = [];

  /** Bind both ends. */
  constructor(context: Context, config: MasterConfig) {
    super(context, config);
    const front = this.socket("ROUTER", { hwm: 10 });
    front.bind(config.dbQueue);
    const back = this.socket("ROUTER", { hwm: 10 });
    back.bind(config.oracleQueue);
    this.registerRaw(front, (frames) => {
      // [client, empty, request], the REQ envelope
      if (frames.length !== 3) {
        this.log.error(`dropped db request of ${frames.length} frames`);
        return;
      }
      this.#pending.push([frames[0], frames[2]]);
      return this.#dispatch(back);
    });
    this.registerRaw(back, async (frames) => {
      // [oracle, empty, READY] or [oracle, empty, client, empty, reply]
      const [worker, , ...rest] = frames;
      if (rest.length === 3) await front.send([rest[0], EMPTY, rest[2]]);
      else if (rest.length !== 1 || !isReady(rest[0])) {
        this.log.error(`unexpected message of ${frames.length} frames from an oracle`);
      }
      this.#workers.push(worker);
      await this.#dispatch(back);
    });
  }

  async #dispatch(back: { send(frames: Uint8Array[]): unknown }): Promise<void> {
    while (this.#workers.length && this.#pending.length) {
      const worker = this.#workers.shift()!;
      const [client, request] = this.#pending.shift()!;
      await back.send([worker, EMPTY, client, EMPTY, request]);
    }
  }
}
