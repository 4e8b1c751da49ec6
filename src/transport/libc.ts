/**
 * The few libc calls the transport makes (glibc on Linux; each is skipped where missing).
 *
 * - `Waker`: an eventfd that interrupts a `zmq_poll` running on the thread pool. The reactor's
 *   pool-side poll watches raw descriptors only; when the set of sockets being waited on
 *   changes, it must return early so the poll can be rebuilt. An eventfd does that without a zmq
 *   socket of its own, which would otherwise keep some context from terminating.
 * - `relaxMallocTrim`: raise glibc's trim threshold (see there).
 * - `unixSocketListening`: whether a live process serves an ipc socket file (see there).
 * - `nameThread`: the name `top -H` and `/proc/<pid>/task/<tid>/comm` show for this thread.
 * - `lowerThreadPriority`: a higher nice value for this thread only (Linux nices threads).
 * @module
 */

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

const M_TRIM_THRESHOLD = -1;
// Enough for a few hundred 64 KiB messages in flight between threads.
const TRIM_THRESHOLD = 32 << 20;

const LIBC_SYMBOLS = {
  eventfd: { parameters: ["u32", "i32"], result: "i32", optional: true },
  mallopt: { parameters: ["i32", "i32"], result: "i32", optional: true },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32", optional: true },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32", optional: true },
  close: { parameters: ["i32"], result: "i32", optional: true },
  __errno_location: { parameters: [], result: "pointer", optional: true },
  pthread_self: { parameters: [], result: "usize", optional: true },
  pthread_setname_np: { parameters: ["usize", "buffer"], result: "i32", optional: true },
  gettid: { parameters: [], result: "i32", optional: true },
  getpriority: { parameters: ["i32", "u32"], result: "i32", optional: true },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32", optional: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      return libc = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
    } catch {
      // try the next name
    }
  }
  return libc = null;
}

let mallocRelaxed = false;

/**
 * Raises glibc's M_TRIM_THRESHOLD (default 128 KiB) to 32 MiB (a process-wide
 * setting; set once per thread). libzmq copies
 * each large message into fresh heap memory that the receiving thread frees; with the default,
 * nearly every free of a 64 KiB chunk hands memory back to the kernel and the next send faults it
 * in again, which cut 64 KiB throughput between threads to a third (0.3 against 1.0 GB/s, same
 * machine and load).
 */
export function relaxMallocTrim(): void {
  if (mallocRelaxed) return;
  mallocRelaxed = true;
  openLibc()?.mallopt?.(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
}

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
    const c = openLibc();
    const fd = c?.eventfd?.(0, EFD_NONBLOCK | EFD_CLOEXEC) ?? -1;
    return c && fd >= 0 ? new Waker(c, fd) : null;
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

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const EAGAIN = 11;
const EINPROGRESS = 115;
/** sizeof(struct sockaddr_un) on Linux: a 2-byte family and a 108-byte path. */
const SOCKADDR_UN_SIZE = 110;

/**
 * Whether some process accepts connections on the Unix socket file `path` (false for a stale file
 * or none; null where libc cannot tell). libzmq replaces an existing ipc socket file when it
 * binds, live or not, so this is what keeps a second process from taking over a live one.
 */
export function unixSocketListening(path: string): boolean | null {
  const c = openLibc();
  const name = new TextEncoder().encode(path);
  if (!c?.socket || !c.connect || !c.close || name.length >= SOCKADDR_UN_SIZE - 2) return null;
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(name, 2);
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return null;
  try {
    if (c.connect(fd, address, SOCKADDR_UN_SIZE) === 0) return true;
    // A full backlog (EAGAIN) still means someone listens.
    const errno = errnoValue(c);
    return errno === EAGAIN || errno === EINPROGRESS;
  } finally {
    c.close(fd);
  }
}

function errnoValue(c: Libc): number {
  const pointer = c.__errno_location?.();
  return pointer ? new Deno.UnsafePointerView(pointer).getInt32() : 0;
}

/** Linux keeps 15 bytes of a thread's name (16 with the NUL). */
const THREAD_NAME_BYTES = 15;

/**
 * Names the calling thread (cut to 15 bytes), so that `top -H`, `ps -L` and
 * `/proc/<pid>/task/<tid>/comm` tell the master's task Workers apart; false where libc cannot.
 */
export function nameThread(name: string): boolean {
  const c = openLibc();
  if (!c?.pthread_self || !c.pthread_setname_np) return false;
  const bytes = new TextEncoder().encode(name).subarray(0, THREAD_NAME_BYTES);
  const cName = new Uint8Array(bytes.length + 1);
  cName.set(bytes);
  return c.pthread_setname_np(c.pthread_self(), cName) === 0;
}

const PRIO_PROCESS = 0;
const NICE_MAX = 19;

/**
 * Raise this thread's nice value by `steps` (up to 19): on Linux a nice value belongs to the
 * thread, so the process's other threads keep theirs. False where libc lacks the calls.
 */
export function lowerThreadPriority(steps: number): boolean {
  const c = openLibc();
  if (!c?.gettid || !c.getpriority || !c.setpriority) return false;
  const tid = c.gettid();
  const nice = Math.min(NICE_MAX, c.getpriority(PRIO_PROCESS, tid) + steps);
  return c.setpriority(PRIO_PROCESS, tid, nice) === 0;
}
