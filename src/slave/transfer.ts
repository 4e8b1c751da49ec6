/**
 * The sending side of file transfer (piwheels' file protocol): a DEALER says
 * `HELLO <slave id>`, answers each `FETCH <offset> <length>` with `CHUNK <offset> <bytes>` read
 * from the file, says HELLO again after 5 s of silence, and stops at `DONE`.
 * @module
 */

import type { Context } from "../transport/mod.ts";
import { PiwError } from "../errors.ts";
import {
  encodeFileFrames,
  fileJugglerProtocol,
  parseFileFrames,
  ProtocolError,
} from "../protocols/mod.ts";
import { getLogger } from "../log.ts";

const log = getLogger("slave.transfer");
const senderSide = fileJugglerProtocol.reversed();

/** The master stopped answering during a transfer. */
export class TransferTimeout extends PiwError {
  override name = "TransferTimeout";
}

/** Options of {@link sendFile}. */
export interface SendFileOptions {
  /** Silence before HELLO is said again, ms (piwheels: 5 s). */
  helloAfterMs?: number;
  /** Silence before giving up, ms (the slave's master timeout). */
  giveUpAfterMs?: number;
  /** Aborting stops the transfer (shutdown). */
  signal?: AbortSignal;
  /** Called with the size of each chunk sent (for a progress display). */
  onChunk?: (bytes: number) => void;
}

/**
 * Send the file at `path` to the master's file queue `endpoint` as slave `slaveId`. Resolves on
 * DONE; throws {@link TransferTimeout} after `giveUpAfterMs` of silence, or the abort reason.
 */
export async function sendFile(
  context: Context,
  endpoint: string,
  slaveId: number,
  path: string,
  options: SendFileOptions = {},
): Promise<void> {
  const helloAfter = options.helloAfterMs ?? 5_000;
  const giveUpAfter = options.giveUpAfterMs ?? 300_000;
  const queue = context.socket("DEALER", { hwm: 10, linger: 0 });
  const file = await Deno.open(path, { read: true });
  let position = 0;
  // Read exactly the requested range (less only at the end of the file).
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    if (position !== offset) await file.seek(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = await file.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    position = offset + got;
    return got === length ? buf : buf.subarray(0, got);
  };
  try {
    queue.connect(endpoint);
    const hello = encodeFileFrames(senderSide, { name: "HELLO", slaveId });
    await queue.send(hello);
    let heard = performance.now();
    let hailed = heard;
    for (;;) {
      options.signal?.throwIfAborted();
      const frames = await queue.recv(Math.min(helloAfter, 250));
      if (frames === null) {
        const now = performance.now();
        if (now - heard > giveUpAfter) {
          throw new TransferTimeout(
            `no word from the master for ${Math.round((now - heard) / 1000)} s`,
          );
        }
        if (now - Math.max(heard, hailed) > helloAfter) {
          // FETCHes or CHUNKs were lost; HELLO makes the master ask again.
          log.debug("master silent; saying HELLO again");
          hailed = now;
          await queue.send(hello);
        }
        continue;
      }
      heard = performance.now();
      let msg;
      try {
        msg = parseFileFrames(senderSide, frames);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        log.warning(`ignored a bad message from the master: ${e.message}`);
        continue;
      }
      if (msg.name === "DONE") return;
      const data = await read(msg.offset, msg.length);
      await queue.send(encodeFileFrames(senderSide, { name: "CHUNK", offset: msg.offset, data }));
      options.onChunk?.(data.length);
    }
  } finally {
    file.close();
    queue.close(0);
  }
}
