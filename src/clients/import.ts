/**
 * The client side of the master's import queue (mr_chase), shared by `piw import`,
 * `add`, `remove` and `rebuild`: one REQ socket, every request answered within the client's
 * `--timeout` or given up with "no answer from the master at <addr>" (exit 1). piwheels' tools
 * wait forever for a master that is not there.
 * @module
 */
import { Context, type Socket } from "../transport/mod.ts";
import {
  type DataArgs,
  decodeMessage,
  encodeMessage,
  type MessageOf,
  mrChaseProtocol,
} from "../protocols/mod.ts";
import { PiwError } from "../errors.ts";

const clientSide = mrChaseProtocol.reversed();
type Requests = typeof mrChaseProtocol.recv;

/** A reply from MrChase: SEND filename, DONE what, or ERROR why. */
export type ImportReply = MessageOf<typeof mrChaseProtocol.send>;

/** The master did not answer within the timeout. */
export class NoAnswerError extends PiwError {
  override name = "NoAnswerError";
}

/**
 * A REQ connection to the import queue; `close()` it (or use {@link withImportClient}).
 * @example
 * const client = new ImportClient("ipc:///tmp/piw-import", 30_000);
 * const reply = await client.request("REBUILD", ["HOME"]);
 */
export class ImportClient {
  /** The context the socket lives in (for file transfers alongside). */
  readonly context = new Context();
  readonly #socket: Socket;

  /** Connect to `address`; each request waits at most `timeoutMs` for its reply. */
  constructor(readonly address: string, readonly timeoutMs: number) {
    this.#socket = this.context.socket("REQ", { linger: 0 });
    this.#socket.connect(address);
  }

  /** Send one request and resolve to the reply; throws {@link NoAnswerError} on timeout. */
  async request<N extends keyof Requests & string>(
    name: N,
    ...args: DataArgs<Requests[N]>
  ): Promise<ImportReply> {
    const frame = encodeMessage(clientSide, name, ...args);
    const sent = await this.#socket.send([frame], { timeoutMs: this.timeoutMs });
    const reply = sent ? await this.#socket.recv(this.timeoutMs) : null;
    if (reply === null) throw new NoAnswerError(`no answer from the master at ${this.address}`);
    return decodeMessage(clientSide, reply[reply.length - 1]);
  }

  /** Close the socket and the context. */
  async close(): Promise<void> {
    this.#socket.close(0);
    await this.context.close();
  }
}

/** Run `fn` with a connected client, closing it afterwards. */
export async function withImportClient<T>(
  options: { importQueue: string; timeout: number },
  fn: (client: ImportClient) => Promise<T>,
): Promise<T> {
  const client = new ImportClient(options.importQueue, options.timeout);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** The word of a DONE reply; an ERROR (or anything else) becomes a `PiwError`. */
export function expectDone(reply: ImportReply, describe: (error: string) => string): string {
  if (reply.name === "DONE") return reply.data;
  if (reply.name === "ERROR") throw new PiwError(describe(reply.data));
  throw new PiwError(`unexpected reply from the master: ${reply.name} ${reply.data}`);
}
