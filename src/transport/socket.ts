/**
 * A zmq socket: endpoints, options, multipart send and receive.
 * @module
 */

import {
  cString,
  type Libzmq,
  libzmq,
  SocketOption,
  type SocketType,
  strerror,
  ZMQ,
} from "./ffi.ts";
import { TransportError } from "./errors.ts";
import { unixSocketListening } from "./libc.ts";
import { defaultWaitMode, type Pollable, threadReactor, type WaitMode } from "./reactor.ts";

/** The socket types piw uses (named in ffi.ts beside libzmq's numbers for them). */
export type { SocketType } from "./ffi.ts";

/** A frame to send: bytes, or text sent as UTF-8. */
/** The socket file of an `ipc://` address, or null for any other transport. */
export function ipcPath(address: string): string | null {
  return address.startsWith("ipc://") ? address.slice("ipc://".length) : null;
}

export type Frame = Uint8Array | string;

/** Options applied when a socket is created (see `Context.socket`). */
export interface SocketOptions {
  /** ZMQ_SNDHWM: messages queued per peer before send waits (or drops, for ROUTER/PUB). */
  sndHwm?: number;
  /** ZMQ_RCVHWM. */
  rcvHwm?: number;
  /** Both high-water marks at once. */
  hwm?: number;
  /** ZMQ_ROUTING_ID (the identity a ROUTER peer sees). */
  identity?: Frame;
  /** ZMQ_LINGER in ms (default 1000, as piwheels: closing never waits forever). */
  linger?: number;
  /** ZMQ_ROUTER_MANDATORY: sending to an unknown peer fails instead of dropping silently. */
  routerMandatory?: boolean;
  /**
   * ZMQ_MAXMSGSIZE in bytes: libzmq drops the connection of a peer that sends a larger frame
   * before reading it into memory (tcp and ipc; inproc peers are not limited). Default: none.
   */
  maxMsgSize?: number;
  /** ZMQ_IPV6 (default true, so "tcp://*:port" is dual-stack). */
  ipv6?: boolean;
  /** SUB only: prefixes to subscribe to ("" for everything). */
  subscribe?: Frame | Frame[];
  /** How this socket waits for messages (default: `defaultWaitMode()` of this thread). */
  wait?: WaitMode;
}

/** Options of `Socket.send`. */
export interface SendOptions {
  /** Return false at once rather than wait when the message cannot be queued now. */
  dontWait?: boolean;
  /** Give up (return false) after this many ms of waiting. */
  timeoutMs?: number;
}

const ENCODER = new TextEncoder();
const DEFAULT_LINGER_MS = 1000;
// Frames larger than this are released right after copying rather than kept until the next
// receive on the thread.
const RELEASE_ABOVE = 1 << 20;

// Scratch space shared by every socket of the thread: JS runs one call at a time per thread.
let scratch: {
  msg: Uint8Array<ArrayBuffer>;
  int: Int32Array<ArrayBuffer>;
  int64: BigInt64Array<ArrayBuffer>;
  size: BigUint64Array<ArrayBuffer>;
} | null = null;

function threadScratch() {
  if (scratch === null) {
    scratch = {
      msg: new Uint8Array(ZMQ.MSG_SIZE),
      int: new Int32Array(1),
      int64: new BigInt64Array(1),
      size: new BigUint64Array(1),
    };
    libzmq().zmq_msg_init(scratch.msg);
  }
  return scratch;
}

const OPTION_NAMES = new Map<number, string>(
  Object.entries(SocketOption).map(([name, value]) => [value, name]),
);

function optionName(option: number): string {
  return OPTION_NAMES.get(option) ?? String(option);
}

function toBytes(frame: Frame): Uint8Array {
  return typeof frame === "string" ? ENCODER.encode(frame) : frame;
}

/** A zmq socket owned by the thread that created it. */
export class Socket implements Pollable {
  /** The socket type, e.g. "ROUTER". */
  readonly type: SocketType;
  /** How `recv`, `send` and pollers wait on this socket. */
  waitMode: WaitMode;
  readonly #z: Libzmq;
  #ptr: Deno.PointerObject | null;
  #fd = -1;
  #activity = 0;
  #endpoint: string | undefined;
  /** inproc names this socket bound, released before closing. */
  #inprocBound: string[] = [];
  /** Every endpoint bound and not unbound (wildcards resolved). */
  #bound: string[] = [];
  /** The ipc socket files this socket made, with their inodes (to know them from others'). */
  #ipcFiles = new Map<string, number | null>();
  readonly #onClose: (socket: Socket) => void;

  /** Use `Context.socket`. */
  constructor(
    pointer: Deno.PointerObject,
    type: SocketType,
    options: SocketOptions,
    onClose: (socket: Socket) => void,
  ) {
    this.#z = libzmq();
    this.#ptr = pointer;
    this.type = type;
    this.#onClose = onClose;
    this.waitMode = options.wait ?? defaultWaitMode();
    this.setIntOption(SocketOption.IPV6, options.ipv6 === false ? 0 : 1);
    this.setIntOption(SocketOption.LINGER, options.linger ?? DEFAULT_LINGER_MS);
    const sndHwm = options.sndHwm ?? options.hwm;
    const rcvHwm = options.rcvHwm ?? options.hwm;
    if (sndHwm !== undefined) this.setIntOption(SocketOption.SNDHWM, sndHwm);
    if (rcvHwm !== undefined) this.setIntOption(SocketOption.RCVHWM, rcvHwm);
    if (options.identity !== undefined) {
      this.setBytesOption(SocketOption.ROUTING_ID, options.identity);
    }
    if (options.routerMandatory) this.setIntOption(SocketOption.ROUTER_MANDATORY, 1);
    if (options.maxMsgSize !== undefined) {
      this.setInt64Option(SocketOption.MAXMSGSIZE, options.maxMsgSize);
    }
    if (options.subscribe !== undefined) {
      const prefixes = Array.isArray(options.subscribe) ? options.subscribe : [options.subscribe];
      for (const prefix of prefixes) this.subscribe(prefix);
    }
  }

  /** Whether `close` has been called. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  /** The socket's ZMQ_FD, for pollers waiting on the thread pool. */
  get fd(): number {
    if (this.#fd < 0) this.#fd = this.getIntOption(SocketOption.FD);
    return this.#fd;
  }

  /** Bumped by every send, receive and events check (the reactor's "checked since" stamp). */
  get activity(): number {
    return this.#activity;
  }

  /** ZMQ_LAST_ENDPOINT: the endpoint last bound or connected, with wildcards resolved. */
  get lastEndpoint(): string {
    const text = new TextDecoder().decode(this.getBytesOption(SocketOption.LAST_ENDPOINT, 1024));
    // With IPV6=1 an IPv4 bind reports a mapped address, which IPv4-only peers cannot use.
    return text.replace(/\0.*$/s, "").replace(/^tcp:\/\/\[::ffff:([0-9.]+)\]:/, "tcp://$1:");
  }

  /** Binds to `endpoint` and returns the endpoint actually bound (e.g. the port for `:*`). */
  bind(endpoint: string): string {
    this.#endpoint = endpoint;
    // libzmq would silently take the file over from a live process (that would go deaf).
    const path = ipcPath(endpoint);
    if (path !== null && unixSocketListening(path)) {
      throw this.#error("bind", undefined, "address in use by a live process", endpoint);
    }
    this.#check(this.#z.zmq_bind(this.#live(), cString(endpoint)), "bind", endpoint);
    if (endpoint.startsWith("inproc://")) this.#inprocBound.push(endpoint);
    const bound = endpoint.includes("*") ? this.lastEndpoint : endpoint;
    this.#bound.push(bound);
    if (path !== null) this.#ipcFiles.set(path, inode(path));
    return bound;
  }

  /** The endpoints this socket is bound to (as `bind` returned them). */
  get boundEndpoints(): readonly string[] {
    return this.#bound;
  }

  /**
   * Removes the ipc socket files this socket bound (libzmq leaves them behind), unless one is no
   * longer the file it made (another process's socket now): call once it is closed.
   */
  removeIpcFiles(): void {
    for (const [path, made] of this.#ipcFiles) {
      if (made !== null && inode(path) === made) {
        try {
          Deno.removeSync(path);
        } catch {
          // Already gone.
        }
      }
    }
    this.#ipcFiles.clear();
  }

  /** Connects to `endpoint` (the peer need not be there yet). */
  connect(endpoint: string): void {
    this.#endpoint = endpoint;
    this.#check(this.#z.zmq_connect(this.#live(), cString(endpoint)), "connect", endpoint);
  }

  /** Stops listening on a bound endpoint (as returned by `bind`). */
  unbind(endpoint: string): void {
    this.#check(this.#z.zmq_unbind(this.#live(), cString(endpoint)), "unbind", endpoint);
    this.#bound = this.#bound.filter((bound) => bound !== endpoint);
  }

  /** Drops the connection to `endpoint`. */
  disconnect(endpoint: string): void {
    this.#check(this.#z.zmq_disconnect(this.#live(), cString(endpoint)), "disconnect", endpoint);
  }

  /**
   * Report this socket's `events` (`ZMQ.EVENT_*` bits) as two-frame messages (a 16-bit event
   * number and a 32-bit value, host byte order; then the endpoint) to a PAIR socket connected to
   * the inproc `endpoint` (zmq_socket_monitor). Close that PAIR socket with this one.
   */
  monitor(endpoint: string, events: number): void {
    const rc = this.#z.zmq_socket_monitor(this.#live(), cString(endpoint), events);
    this.#check(rc, "monitor", endpoint);
  }

  /** SUB: receive messages starting with `prefix` ("" for all). */
  subscribe(prefix: Frame = ""): void {
    this.setBytesOption(SocketOption.SUBSCRIBE, prefix);
  }

  /** SUB: stop receiving messages starting with `prefix`. */
  unsubscribe(prefix: Frame = ""): void {
    this.setBytesOption(SocketOption.UNSUBSCRIBE, prefix);
  }

  /** Sets an integer option (`SocketOption.*`). */
  setIntOption(option: number, value: number): void {
    const { int } = threadScratch();
    int[0] = value;
    this.#check(
      this.#z.zmq_setsockopt(this.#live(), option, int, 4n),
      `setsockopt(${optionName(option)})`,
    );
  }

  /** Reads an integer option (`SocketOption.*`). */
  getIntOption(option: number): number {
    return this.#getInt(option, `getsockopt(${optionName(option)})`);
  }

  /** Sets a 64-bit integer option (`SocketOption.MAXMSGSIZE`). */
  setInt64Option(option: number, value: number): void {
    const { int64 } = threadScratch();
    int64[0] = BigInt(value);
    this.#check(
      this.#z.zmq_setsockopt(this.#live(), option, int64, 8n),
      `setsockopt(${optionName(option)})`,
    );
  }

  /** Reads a 64-bit integer option (`SocketOption.MAXMSGSIZE`). */
  getInt64Option(option: number): number {
    const { int64, size } = threadScratch();
    size[0] = 8n;
    this.#check(
      this.#z.zmq_getsockopt(this.#live(), option, int64, size),
      `getsockopt(${optionName(option)})`,
    );
    return Number(int64[0]);
  }

  /** Sets a binary or text option (`SocketOption.*`). */
  setBytesOption(option: number, value: Frame): void {
    const bytes = toBytes(value);
    const rc = this.#z.zmq_setsockopt(this.#live(), option, bytes, BigInt(bytes.length));
    this.#check(rc, `setsockopt(${optionName(option)})`);
  }

  /** Reads a binary option of at most `maxLength` bytes (`SocketOption.*`). */
  getBytesOption(option: number, maxLength = 256): Uint8Array {
    const { size } = threadScratch();
    const value = new Uint8Array(maxLength);
    size[0] = BigInt(maxLength);
    this.#check(
      this.#z.zmq_getsockopt(this.#live(), option, value, size),
      `getsockopt(${optionName(option)})`,
    );
    return value.subarray(0, Number(size[0]));
  }

  /** ZMQ_EVENTS: `ZMQ.POLLIN` / `ZMQ.POLLOUT` bits of what would not block now. */
  pollEvents(): number {
    this.#activity++;
    return this.#getInt(SocketOption.EVENTS, "poll");
  }

  /** Queues a multipart message if that is possible without waiting; false if not. */
  trySend(frames: readonly Frame[]): boolean {
    const ptr = this.#live();
    this.#activity++;
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) {
      const bytes = toBytes(frames[i]);
      const flags = i < last ? ZMQ.SNDMORE | ZMQ.DONTWAIT : ZMQ.DONTWAIT;
      while (this.#z.zmq_send(ptr, bytes, BigInt(bytes.length), flags) < 0) {
        const errno = this.#z.zmq_errno();
        if (errno === ZMQ.EINTR) continue;
        // zmq accepts the rest of a message once its first frame is in, so EAGAIN is only
        // possible on frame 0 and nothing has been queued.
        if (errno === ZMQ.EAGAIN && i === 0) return false;
        throw this.#error("send", errno);
      }
    }
    threadReactor().poke();
    return true;
  }

  /** Sends a multipart message, waiting (without blocking the thread) while it cannot be queued. */
  async send(frames: readonly Frame[], options: SendOptions = {}): Promise<boolean> {
    if (this.trySend(frames)) return true;
    if (options.dontWait) return false;
    const deadline = options.timeoutMs === undefined
      ? Infinity
      : performance.now() + options.timeoutMs;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      const timeout = remaining === Infinity ? undefined : remaining;
      await threadReactor().wait([this], ZMQ.POLLOUT, timeout, this.waitMode);
      if (this.trySend(frames)) return true;
    }
  }

  /** Receives a multipart message if one is waiting; null if none. */
  tryRecv(): Uint8Array[] | null {
    const ptr = this.#live();
    this.#activity++;
    const { msg } = threadScratch();
    const z = this.#z;
    let size = z.zmq_msg_recv(msg, ptr, ZMQ.DONTWAIT);
    while (size < 0) {
      const errno = z.zmq_errno();
      if (errno === ZMQ.EAGAIN) return null;
      if (errno !== ZMQ.EINTR) throw this.#error("recv", errno);
      size = z.zmq_msg_recv(msg, ptr, ZMQ.DONTWAIT);
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      const frame = new Uint8Array(size);
      if (size > 0) Deno.UnsafePointerView.copyInto(z.zmq_msg_data(msg)!, frame);
      frames.push(frame);
      const more = z.zmq_msg_more(msg);
      if (size > RELEASE_ABOVE) {
        z.zmq_msg_close(msg);
        z.zmq_msg_init(msg);
      }
      if (!more) return frames;
      // The rest of a multipart message is always there once its first frame was received.
      do size = z.zmq_msg_recv(msg, ptr, ZMQ.DONTWAIT); while (
        size < 0 && z.zmq_errno() === ZMQ.EINTR
      );
      if (size < 0) throw this.#error("recv", z.zmq_errno());
    }
  }

  /**
   * Receives a multipart message; null if none arrives within `timeoutMs` (default: wait
   * forever). Never blocks the thread beyond its wait mode's short polls.
   */
  async recv(timeoutMs?: number): Promise<Uint8Array[] | null> {
    const frames = this.tryRecv();
    if (frames !== null || timeoutMs === 0) return frames;
    const deadline = timeoutMs === undefined || timeoutMs < 0
      ? Infinity
      : performance.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return this.tryRecv();
      const timeout = remaining === Infinity ? undefined : remaining;
      const ready = await threadReactor().wait([this], ZMQ.POLLIN, timeout, this.waitMode);
      if (ready.length === 0) return this.tryRecv();
      const next = this.tryRecv();
      if (next !== null) return next;
    }
  }

  /** Closes the socket; unsent messages are kept for at most `lingerMs` (default: as set). */
  close(lingerMs?: number): void {
    if (this.#ptr === null) return;
    if (lingerMs !== undefined) {
      try {
        this.setIntOption(SocketOption.LINGER, lingerMs);
      } catch (error) {
        // Once the context is terminating, closing is all that is left to do.
        if (!(error instanceof TransportError && error.errno === ZMQ.ETERM)) throw error;
      }
    }
    threadReactor().cancel(this, this.#error("wait", undefined, "socket closed"));
    // zmq_close releases inproc names later, on libzmq's reaper thread; unbinding first frees
    // them now, so a task restarted at once can bind the same name again.
    for (const endpoint of this.#inprocBound) this.#z.zmq_unbind(this.#ptr, cString(endpoint));
    this.#inprocBound = [];
    this.#z.zmq_close(this.#ptr);
    this.#ptr = null;
    this.#onClose(this);
  }

  #getInt(option: number, operation: string): number {
    const { int, size } = threadScratch();
    const ptr = this.#live();
    for (;;) {
      size[0] = 4n;
      if (this.#z.zmq_getsockopt(ptr, option, int, size) === 0) return int[0];
      const errno = this.#z.zmq_errno();
      // Checking ZMQ_EVENTS processes commands, which a signal can interrupt: just retry.
      if (errno !== ZMQ.EINTR) throw this.#error(operation, errno);
    }
  }

  #live(): Deno.PointerObject {
    if (this.#ptr === null) throw this.#error("use", undefined, "socket closed");
    return this.#ptr;
  }

  #check(rc: number, operation: string, endpoint?: string): void {
    if (rc < 0) throw this.#error(operation, this.#z.zmq_errno(), undefined, endpoint);
  }

  #error(operation: string, errno?: number, text?: string, endpoint = this.#endpoint) {
    const reason = text ?? strerror(errno ?? 0);
    const where = endpoint ? ` (${endpoint})` : "";
    return new TransportError(`${operation} on ${this.type} socket${where} failed: ${reason}`, {
      errno,
      socketType: this.type,
      endpoint,
    });
  }
}

/** The inode of `path` (not following links), or null if there is none. */
function inode(path: string): number | null {
  try {
    return Deno.lstatSync(path).ino;
  } catch {
    return null;
  }
}
