/**
 * Shared helpers of the transport tests: unique endpoints per transport, byte/text shorthands.
 * @module
 */

import { Context, type Socket } from "../../src/transport/mod.ts";

/** The transports every pattern is tested over. */
export const TRANSPORTS = ["inproc", "ipc", "tcp"] as const;

/** One of `TRANSPORTS`. */
export type TransportKind = typeof TRANSPORTS[number];

const tempDirs: string[] = [];

/** A bind address unique to this test run (tcp binds an ephemeral port: use `bind`'s result). */
export function uniqueEndpoint(kind: TransportKind): string {
  switch (kind) {
    case "inproc":
      return `inproc://test-${crypto.randomUUID()}`;
    case "ipc": {
      const dir = Deno.makeTempDirSync({ prefix: "piw-zmq-" });
      tempDirs.push(dir);
      return `ipc://${dir}/socket`;
    }
    case "tcp":
      return "tcp://127.0.0.1:*";
  }
}

/** `n` PULL sockets on fresh inproc endpoints, each with a PUSH connected to it. */
export function pushPullPairs(ctx: Context, n: number): { pulls: Socket[]; pushes: Socket[] } {
  const pulls = Array.from({ length: n }, () => ctx.socket("PULL"));
  const pushes = pulls.map((pull) => {
    const push = ctx.socket("PUSH");
    push.connect(pull.bind(uniqueEndpoint("inproc")));
    return push;
  });
  return { pulls, pushes };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export const bytes = (text: string): Uint8Array => encoder.encode(text);

/** The frames of a message as text (null stays null). */
export const texts = (frames: Uint8Array[] | null): string[] | null =>
  frames === null ? null : frames.map((frame) => decoder.decode(frame));

/** Runs `body` with a fresh context, which is closed (linger 0) afterwards. */
export async function withContext<T>(body: (ctx: Context) => T | Promise<T>): Promise<T> {
  const ctx = new Context();
  try {
    return await body(ctx);
  } finally {
    await ctx.close(0);
    for (const dir of tempDirs.splice(0)) Deno.removeSync(dir, { recursive: true });
  }
}

/** Milliseconds `body` takes. */
export async function elapsed(body: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await body();
  return performance.now() - start;
}
