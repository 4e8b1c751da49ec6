/**
 * A file descriptor that interrupts a `zmq_poll` running on the thread pool.
 *
 * The reactor's pool-side poll watches raw descriptors only; when the set of sockets being
 * waited on changes, it must return early so the poll can be rebuilt. A Linux eventfd (opened
 * through libc, which libzmq itself links) does that without a zmq socket of its own, which
 * would otherwise keep some context from terminating.
 * @module
 */

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

const LIBC_SYMBOLS = {
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** An eventfd: `fd` becomes readable after `wake()` until `drain()`. */
export class Waker {
  readonly fd: number;
  readonly #libc: Libc;
  readonly #one = new BigUint64Array([1n]);
  readonly #scratch = new BigUint64Array(1);
  #pending = false;

  private constructor(libc: Libc, fd: number) {
    this.#libc = libc;
    this.fd = fd;
  }

  /** Opens an eventfd, or returns null where libc or eventfd is unavailable (non-Linux). */
  static open(): Waker | null {
    for (const name of ["libc.so.6", "libc.so"]) {
      try {
        const libc = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
        const fd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        return fd < 0 ? null : new Waker(libc, fd);
      } catch {
        // try the next name
      }
    }
    return null;
  }

  /** Makes `fd` readable (idempotent until the next `drain`). */
  wake(): void {
    if (this.#pending) return;
    this.#pending = true;
    this.#libc.write(this.fd, this.#one, 8n);
  }

  /** Resets `fd` to not readable. */
  drain(): void {
    if (!this.#pending) return;
    this.#pending = false;
    this.#libc.read(this.fd, this.#scratch, 8n);
  }
}
