/**
 * The zmq context: the owner of every socket, shareable with Web Workers.
 * @module
 */

import { libzmq, SOCKET_TYPES, strerror } from "./ffi.ts";
import { TransportError } from "./errors.ts";
import { relaxMallocTrim } from "./libc.ts";
import { Socket, type SocketOptions, type SocketType } from "./socket.ts";

/**
 * A zmq context. Create one per process, pass `handle` to Workers (`Context.fromHandle`) so
 * inproc endpoints connect across threads; only the creator terminates it.
 * @example
 * const ctx = new Context();
 * const worker = new Worker(url, { type: "module" });
 * worker.postMessage({ ctx: ctx.handle }); // there: Context.fromHandle(data.ctx)
 */
export class Context {
  readonly #ptr: Deno.PointerObject;
  readonly #owner: boolean;
  readonly #sockets = new Set<Socket>();
  #closed = false;

  /** Creates a context (and loads libzmq on first use). */
  constructor(handle?: bigint) {
    const z = libzmq();
    relaxMallocTrim();
    if (handle !== undefined) {
      const ptr = Deno.UnsafePointer.create(handle);
      if (ptr === null) throw new TransportError("invalid context handle 0");
      this.#ptr = ptr;
      this.#owner = false;
      return;
    }
    const ptr = z.zmq_ctx_new();
    if (ptr === null) throw new TransportError(`zmq_ctx_new failed: ${strerror(z.zmq_errno())}`);
    this.#ptr = ptr;
    this.#owner = true;
  }

  /** A view of a context created in another thread, from its `handle`. */
  static fromHandle(handle: bigint): Context {
    return new Context(handle);
  }

  /** The context's address, to post to a Worker. */
  get handle(): bigint {
    return BigInt(Deno.UnsafePointer.value(this.#ptr));
  }

  /** Whether this thread created the context (and so terminates it on `close`). */
  get owner(): boolean {
    return this.#owner;
  }

  /** The sockets opened through this object and not yet closed. */
  get sockets(): ReadonlySet<Socket> {
    return this.#sockets;
  }

  /** Opens a socket of `type` with `options` (every socket gets IPV6=1 and a 1 s linger). */
  socket(type: SocketType, options: SocketOptions = {}): Socket {
    if (this.#closed) throw new TransportError(`cannot open a ${type} socket: context closed`);
    const z = libzmq();
    const ptr = z.zmq_socket(this.#ptr, SOCKET_TYPES[type]);
    if (ptr === null) {
      const errno = z.zmq_errno();
      throw new TransportError(`socket(${type}) failed: ${strerror(errno)}`, {
        errno,
        socketType: type,
      });
    }
    const socket = new Socket(ptr, type, options, (closed) => this.#sockets.delete(closed));
    this.#sockets.add(socket);
    return socket;
  }

  /**
   * Closes this object's sockets with `lingerMs` (default: each socket's own), then, in the
   * creating thread, terminates the context; that waits until every thread closed its sockets.
   */
  async close(lingerMs?: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of [...this.#sockets]) socket.close(lingerMs);
    if (!this.#owner) return;
    // zmq_ctx_term fails only when interrupted by a signal (EINTR: restart it) or on a bad
    // handle; its errno stays on the pool thread, so retry a few times before giving up.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await libzmq().zmq_ctx_term(this.#ptr) === 0) return;
    }
    throw new TransportError("terminating the context failed");
  }

  /** Makes every blocking call on the context's sockets, in any thread, fail with ETERM. */
  shutdown(): void {
    if (this.#owner) libzmq().zmq_ctx_shutdown(this.#ptr);
  }
}
