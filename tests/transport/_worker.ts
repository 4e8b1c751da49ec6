/**
 * The Worker side of worker_test.ts: joins the main thread's context by handle and plays the
 * role it is sent.
 * @module
 */

import { Context, type WaitMode } from "../../src/transport/mod.ts";

/** What the test posts to start the Worker. */
export interface PeerJob {
  handle: bigint;
  role: "echo-rep" | "req-client" | "push" | "wait-forever";
  endpoint: string;
  wait: WaitMode;
  count: number;
}

const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<PeerJob>) => void;
  postMessage(data: unknown): void;
};

scope.onmessage = async ({ data: job }) => {
  const ctx = Context.fromHandle(job.handle);
  try {
    if (job.role === "echo-rep") {
      const rep = ctx.socket("REP", { wait: job.wait });
      rep.bind(job.endpoint);
      scope.postMessage({ ready: true });
      for (let i = 0; i < job.count; i++) await rep.send((await rep.recv())!);
    } else if (job.role === "req-client") {
      const req = ctx.socket("REQ", { wait: job.wait });
      req.connect(job.endpoint);
      for (let i = 0; i < job.count; i++) {
        await req.send([`${i}`]);
        const reply = await req.recv(5000);
        if (reply === null || new TextDecoder().decode(reply[0]) !== `${i}`) {
          throw new Error(`bad reply ${i}`);
        }
      }
    } else if (job.role === "wait-forever") {
      const pull = ctx.socket("PULL", { wait: job.wait });
      pull.connect(job.endpoint);
      scope.postMessage({ ready: true });
      try {
        await pull.recv();
        scope.postMessage({ error: "recv returned" });
      } catch (error) {
        pull.close(0);
        scope.postMessage({ interrupted: String(error) });
      }
      return;
    } else {
      const push = ctx.socket("PUSH", { wait: job.wait });
      push.connect(job.endpoint);
      for (let i = 0; i < job.count; i++) await push.send([`${i}`]);
    }
    await ctx.close();
    scope.postMessage({ done: true, owner: ctx.owner });
  } catch (error) {
    scope.postMessage({ error: String(error) });
  }
};
