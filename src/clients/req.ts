/**
 * `ReqClient`: a REQ socket to another task's REP queue that never waits forever. A request not
 * answered within `timeoutMs` gives `null`; the socket is then replaced (a REQ that missed its
 * reply can never send again) and, for `downMs`, further requests give `null` at once, so a
 * missing listener costs one timeout per `downMs` rather than one per message.
 * @module
 */
import type { Context, Socket } from "../transport/mod.ts";
import {
  type DataArgs,
  decodeMessage,
  encodeMessage,
  encodeMessageOf,
  type MessageOf,
  type MessageTable,
  type Protocol,
} from "../protocols/mod.ts";
import type { Logger } from "../log.ts";

/** Options of {@link ReqClient}. */
export interface ReqClientOptions {
  /** How long to wait for the send and then for the reply, ms (default 10 s). */
  timeoutMs?: number;
  /** After a timeout, how long requests are dropped without trying, ms (default 30 s). */
  downMs?: number;
  /** Where timeouts are reported. */
  log?: Logger;
}

/**
 * A REQ client for `protocol` (stated from this, the requesting, side) at `address`.
 * @example
 * const web = new ReqClient(context, config.webQueue, theScribeProtocol.reversed());
 * if (await web.request("BOTH", "numpy") === null) log.warning("web queue did not answer");
 */
export class ReqClient<S extends MessageTable, R extends MessageTable> {
  /** The address this client connects to. */
  readonly address: string;
  /** Requests that got no reply (timed out, or dropped while the peer was down). */
  dropped = 0;
  readonly #context: Context;
  readonly #protocol: Protocol<R, S>;
  readonly #timeoutMs: number;
  readonly #downMs: number;
  readonly #log: Logger | undefined;
  #socket: Socket;
  #downUntil = 0;
  #queue: Promise<unknown> = Promise.resolve();

  /** Connect a REQ socket to `address`. */
  constructor(
    context: Context,
    address: string,
    protocol: Protocol<R, S>,
    options: ReqClientOptions = {},
  ) {
    this.#context = context;
    this.address = address;
    this.#protocol = protocol;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#downMs = options.downMs ?? 30_000;
    this.#log = options.log;
    this.#socket = this.#connect();
  }

  /** Whether requests are being dropped after a recent timeout. */
  get down(): boolean {
    return performance.now() < this.#downUntil;
  }

  /**
   * Send request `name` and resolve to the decoded reply, or `null` if none came in time.
   * Concurrent requests wait their turn, as a REQ socket allows one at a time.
   */
  request<N extends keyof S & string>(
    name: N,
    ...args: DataArgs<S[N]>
  ): Promise<MessageOf<R> | null> {
    // Encode first: a malformed request is the caller's bug, not a reason to reset the socket.
    const frame = encodeMessage(this.#protocol, name, ...args);
    const result = this.#queue.then(() => this.#request(name, frame));
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Send a `{name, data}` request (one received, or built as such), as `request`. */
  forward(msg: MessageOf<S>): Promise<MessageOf<R> | null> {
    const frame = encodeMessageOf(this.#protocol, msg);
    const result = this.#queue.then(() => this.#request(msg.name, frame));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #request(name: string, frame: Uint8Array): Promise<MessageOf<R> | null> {
    if (this.down) {
      this.dropped++;
      return null;
    }
    const sent = await this.#socket.send([frame], { timeoutMs: this.#timeoutMs });
    const reply = sent ? await this.#socket.recv(this.#timeoutMs) : null;
    if (reply === null) {
      this.dropped++;
      this.#socket.close(0);
      this.#socket = this.#connect();
      this.#downUntil = performance.now() + this.#downMs;
      this.#log?.warning(
        `no reply from ${this.address} to ${name} within ${this.#timeoutMs / 1000} s; ` +
          `requests to it are dropped for ${this.#downMs / 1000} s`,
      );
      return null;
    }
    return decodeMessage(this.#protocol, reply[reply.length - 1]);
  }

  /** Close the socket without waiting for unsent requests. */
  close(): void {
    this.#socket.close(0);
  }

  #connect(): Socket {
    const socket = this.#context.socket("REQ", { linger: 0 });
    socket.connect(this.address);
    return socket;
  }
}
