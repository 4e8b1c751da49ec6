/**
 * `SecretaryClient`: how a task asks for web output, REQ to TheSecretary's web queue
 * (`config.webQueue`).
 * @module
 */
import type { Context } from "../transport/mod.ts";
import { type DataArgs, type DataOf, theScribeProtocol } from "../protocols/mod.ts";
import type { MasterConfig } from "../master/config.ts";
import { ReqClient } from "./req.ts";

const toScribe = theScribeProtocol.reversed();

/** Options of {@link SecretaryClient}. */
export interface SecretaryClientOptions {
  /** How long to wait for DONE, ms (default 5 s). */
  timeoutMs?: number;
}

/**
 * How a task asks for web output: a {@link ReqClient} to TheSecretary (`config.webQueue`), one
 * request at a time, waiting for DONE. A request not answered in time throws; the next one
 * tries again at once (no `downMs` pause), as every page update counts.
 * @example
 * const web = new SecretaryClient(context, config);
 * await web.send("LOG", [buildId, output]);
 * await web.send("BOTH", "numpy");
 */
export class SecretaryClient {
  readonly #timeoutMs: number;
  readonly #req: ReqClient<typeof toScribe.send, typeof toScribe.recv>;

  /** Connect to the web queue of `config`. */
  constructor(context: Context, config: MasterConfig, options: SecretaryClientOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#req = new ReqClient(context, config.webQueue, toScribe, {
      timeoutMs: this.#timeoutMs,
      downMs: 0,
    });
  }

  /** Send one request and wait for DONE. */
  async send<N extends keyof typeof theScribeProtocol.recv & string>(
    name: N,
    data: DataOf<(typeof theScribeProtocol.recv)[N]>,
  ): Promise<void> {
    const args = [data] as DataArgs<(typeof theScribeProtocol.recv)[N]>;
    if (await this.#req.request(name, ...args) === null) {
      throw new Error(`the_secretary did not answer ${name} within ${this.#timeoutMs / 1000} s`);
    }
  }

  /** How many page rewrites TheSecretary holds or has not yet seen written. */
  async pending(): Promise<number> {
    const reply = await this.#req.request("PENDING");
    if (reply === null) {
      throw new Error(`the_secretary did not answer PENDING within ${this.#timeoutMs / 1000} s`);
    }
    return reply.name === "COUNT" ? reply.data : 0;
  }

  /** Close the socket. */
  close(): void {
    this.#req.close();
  }
}
