/**
 * `FsClient`: how SlaveDriver (and MrChase) talk to FileJuggler's `file_juggler_fs` queue —
 * EXPECT a file from a slave, then VERIFY it arrived intact and stage it for publishing.
 * @module
 */

import type { Context, Socket } from "../transport/mod.ts";
import { PiwError } from "../errors.ts";
import { decodeMessage, encodeMessage, fileJugglerFsProtocol } from "../protocols/mod.ts";
import type { FileState } from "../master/states.ts";

/** FileJuggler answered ERROR to EXPECT, or did not answer. */
export class FsError extends PiwError {
  override name = "FsError";
}

/**
 * What VERIFY found: the file is staged (`<output>/.piw-incoming/staged/`, published once the
 * build is recorded), it did not arrive intact (send it again), or it arrived but will never be
 * published (refused, with why).
 */
export type VerifyOutcome =
  | { status: "staged" }
  | { status: "failed"; reason: string }
  | { status: "refused"; reason: string };

/** VERIFY's `OK` data for a refused file: `"refused: <reason>"`. */
export const REFUSED_PREFIX = "refused: ";

/** The file_juggler_fs calls SlaveDriver needs (a fake stands in for it in tests). */
export interface FileJugglerClient {
  /** Tell FileJuggler that slave `slaveId` is about to send `file`. */
  expect(slaveId: number, file: FileState): Promise<void>;
  /** Check the file slave `slaveId` sent and stage it for `pkg`. */
  verify(slaveId: number, pkg: string): Promise<VerifyOutcome>;
}

const clientSide = fileJugglerFsProtocol.reversed();

/**
 * REQ to FileJuggler (`config.fsQueue`), one request at a time; a request not answered within
 * `timeoutMs` fails and the socket is replaced (a REQ that missed a reply cannot send again).
 */
export class FsClient implements FileJugglerClient {
  #socket: Socket;
  #queue: Promise<unknown> = Promise.resolve();

  /** Connect to `address` (the master's fs queue). */
  constructor(
    private readonly context: Context,
    private readonly address: string,
    private readonly timeoutMs = 60_000,
  ) {
    this.#socket = this.#connect();
  }

  #connect(): Socket {
    const socket = this.context.socket("REQ", { hwm: 10 });
    socket.connect(this.address);
    return socket;
  }

  /** See {@link FileJugglerClient.expect}; throws {@link FsError} on ERROR. */
  async expect(slaveId: number, file: FileState): Promise<void> {
    const reply = await this.#call(
      encodeMessage(clientSide, "EXPECT", [slaveId, file.asMessage()]),
    );
    if (reply.name === "ERROR") throw new FsError(`EXPECT ${file.filename}: ${reply.data}`);
  }

  /** See {@link FileJugglerClient.verify}; never throws for a file that failed to verify. */
  async verify(slaveId: number, pkg: string): Promise<VerifyOutcome> {
    let reply;
    try {
      reply = await this.#call(encodeMessage(clientSide, "VERIFY", [slaveId, pkg]));
    } catch (e) {
      if (e instanceof FsError) return { status: "failed", reason: e.message };
      throw e;
    }
    if (reply.name === "ERROR") return { status: "failed", reason: reply.data };
    const data = reply.data;
    if (data === "staged") return { status: data };
    if (typeof data === "string" && data.startsWith(REFUSED_PREFIX)) {
      return { status: "refused", reason: data.slice(REFUSED_PREFIX.length) };
    }
    return { status: "failed", reason: `unexpected VERIFY result ${JSON.stringify(data)}` };
  }

  #call(payload: Uint8Array) {
    const result = this.#queue.then(async () => {
      await this.#socket.send([payload]);
      const frames = await this.#socket.recv(this.timeoutMs);
      if (frames === null) {
        this.#socket.close(0);
        this.#socket = this.#connect();
        throw new FsError(`file_juggler_fs: no reply within ${this.timeoutMs / 1000} s`);
      }
      return decodeMessage(clientSide, frames[frames.length - 1]);
    });
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Close the socket. */
  close(): void {
    this.#socket.close(0);
  }
}
