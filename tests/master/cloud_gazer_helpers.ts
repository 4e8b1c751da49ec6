/**
 * What the CloudGazer tests run against: the PyPI stand-in (real HTTP on loopback), an
 * in-memory PGlite database answered through the oracle queue by the real request handlers, and
 * REP listeners at the web and skip queue addresses, all on one libzmq context.
 * @module
 */
import { Context, type Socket } from "../../src/transport/mod.ts";
import { Database, openClient, type SqlClient } from "../../src/db/mod.ts";
import { initializeDatabase } from "../../src/initdb/initdb.ts";
import {
  cloudGazerProtocol,
  decodeMessage,
  encodeData,
  encodeMessage,
  type MessageTable,
  type OracleRequest,
  type Protocol,
  theArchitectControlProtocol,
  theOracleProtocol,
  theOracleResults,
  theScribeProtocol,
} from "../../src/protocols/mod.ts";
import { oracleHandlers } from "../../src/master/oracle_requests.ts";
import type { MasterConfig } from "../../src/master/config.ts";
import { CloudGazer, type CloudGazerOptions } from "../../src/master/tasks/cloud_gazer.ts";
import { XmlRpcChangelogSource } from "../../src/pypi/mod.ts";
import { type PyPIStandIn, startPyPIStandIn } from "../fixtures/pypi/mod.ts";
import { startTask, testConfig } from "./helpers.ts";
import { controlAddress } from "../../src/master/task.ts";

/** The first serial the tests use: past PYPI_EPOCH, so the buffer releases at once. */
export const FIRST_SERIAL = 1_000_000;
/** Journal time the tests start at (Unix seconds). */
export const T0 = Date.UTC(2024, 5, 1) / 1000;

/** A message a listener received. */
export type Received = [name: string, data: unknown];

/** A REP socket answering every request and remembering it. */
export interface Listener {
  readonly received: Received[];
  close(): Promise<void>;
}

/**
 * Bind a REP at `address` answering each `protocol` request with `reply`, after `before` (if
 * given) has looked at it.
 */
export function listen<R extends MessageTable, S extends MessageTable>(
  context: Context,
  address: string,
  protocol: Protocol<R, S>,
  reply: keyof S & string,
  before?: (name: string, data: unknown) => Promise<void>,
): Listener {
  const socket = context.socket("REP", { linger: 0 });
  socket.bind(address);
  const received: Received[] = [];
  const answer = encodeMessage(protocol as unknown as Protocol, reply);
  return serve(socket, received, async (frame) => {
    const msg = decodeMessage(protocol, frame);
    received.push([msg.name, msg.data]);
    await before?.(msg.name, msg.data);
    return answer;
  });
}

/** Bind a PULL at `address` remembering each `protocol` message (a task's control queue). */
export function collect<R extends MessageTable, S extends MessageTable>(
  context: Context,
  address: string,
  protocol: Protocol<R, S>,
): Listener {
  const socket = context.socket("PULL", { linger: 0 });
  socket.bind(address);
  const received: Received[] = [];
  return serve(socket, received, (frame) => {
    const msg = decodeMessage(protocol, frame);
    received.push([msg.name, msg.data]);
    return Promise.resolve(null);
  });
}

/** The oracle queue served in-process: every request goes to the real handler on `db`. */
export interface OracleStub extends Listener {
  /** Make the next request named `name` fail with ERROR. */
  failNext(name: OracleRequest): void;
  /** Carry out the next request named `name`, then answer ERROR (as if the reply was lost). */
  loseNextReply(name: OracleRequest): void;
}

/** Serve `config.dbQueue` (REP, which DbClient's REQ talks to directly) from `db`. */
export function serveOracle(context: Context, address: string, db: Database): OracleStub {
  const socket = context.socket("REP", { linger: 0 });
  socket.bind(address);
  const received: Received[] = [];
  const failing = new Set<string>();
  const losing = new Set<string>();
  const listener = serve(socket, received, async (frame) => {
    const msg = decodeMessage(theOracleProtocol, frame);
    received.push([msg.name, msg.data]);
    if (failing.delete(msg.name)) {
      return encodeMessage(theOracleProtocol, "ERROR", `injected failure of ${msg.name}`);
    }
    try {
      const handler = oracleHandlers[msg.name] as (db: Database, data: unknown) => Promise<unknown>;
      const result = await handler(db, msg.data);
      if (losing.delete(msg.name)) {
        return encodeMessage(theOracleProtocol, "ERROR", `injected lost reply to ${msg.name}`);
      }
      const data = encodeData(theOracleResults[msg.name], result, "the_oracle", msg.name);
      return encodeMessage(theOracleProtocol, "OK", data);
    } catch (error) {
      return encodeMessage(theOracleProtocol, "ERROR", (error as Error).message);
    }
  });
  return {
    ...listener,
    failNext: (name) => failing.add(name),
    loseNextReply: (name) => losing.add(name),
  };
}

/** The events of each PYPIBATCH the oracle received: `[action, package, version]` each. */
export function batchesSent(oracle: Listener): [string, string, string | null][][] {
  return oracle.received.filter(([name]) => name === "PYPIBATCH").map(([, data]) =>
    (data as [[string, string, string | null][]])[0].map(([a, p, v]) => [a, p, v])
  );
}

function serve(
  socket: Socket,
  received: Received[],
  answer: (frame: Uint8Array) => Promise<Uint8Array | null>,
): Listener {
  let running = true;
  const loop = (async () => {
    while (running) {
      const frames = await socket.recv(20);
      if (frames === null) continue;
      const reply = await answer(frames[frames.length - 1]);
      if (reply) await socket.send([reply]);
    }
  })();
  return {
    received,
    async close() {
      running = false;
      await loop;
      socket.close();
    },
  };
}

let shared: Promise<{ db: Database; sql: SqlClient }> | null = null;

/** One in-memory PGlite database per test file (initialised once, emptied per test). */
async function database(): Promise<{ db: Database; sql: SqlClient }> {
  shared ??= (async () => {
    const sql = await openClient("pglite:");
    await initializeDatabase(sql, { user: "piw", yes: true });
    return { db: new Database(sql), sql };
  })();
  const { db, sql } = await shared;
  await sql.query(`TRUNCATE packages, build_abis, rewrites_pending CASCADE`);
  await sql.query("UPDATE configuration SET pypi_serial = 0");
  return { db, sql };
}

/** Everything one CloudGazer test needs; `close()` stops all of it. */
export interface GazerEnv {
  context: Context;
  config: MasterConfig;
  pypi: PyPIStandIn;
  db: Database;
  sql: SqlClient;
  oracle: OracleStub;
  web: Listener;
  skip: Listener;
  /** TheArchitect's control queue (REFRESH after buildable versions). */
  architect: Listener;
  /** The running task (after `start()`). */
  gazer: CloudGazer & { stop(): Promise<void> };
  /** Start (or, after `stop`, start another) CloudGazer. */
  start(options?: CloudGazerOptions): Promise<CloudGazer & { stop(): Promise<void> }>;
  /** Append a journal event `seconds` after the previous one (default 1 s). */
  event(name: string, version: string | null, action: string, seconds?: number): number;
  /** Append an ignored event 10 min later, so the 5-minute window releases all before it. */
  release(): number;
  /** Wait until the database holds serial `serial` or more and CloudGazer has finished it. */
  stored(serial: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link gazerEnv}. */
export interface GazerEnvOptions {
  /** Config overrides (pypiInterval is 100 ms unless given). */
  config?: Partial<MasterConfig> & { pypiInterval?: number };
  /** Leave the web queue without a listener. */
  noWeb?: boolean;
  /** Most events per XML-RPC answer from the stand-in (default PyPI's 50,000). */
  batchSize?: number;
  /** Called with each request to the web or skip queue before it is answered. */
  onQueue?: (env: GazerEnv, queue: "web" | "skip", name: string, data: unknown) => Promise<void>;
}

/** Start the stand-in, the database and the listeners (not CloudGazer: see `start`). */
export async function gazerEnv(options: GazerEnvOptions = {}): Promise<GazerEnv> {
  const pypi = await startPyPIStandIn({ batchSize: options.batchSize });
  const { db, sql } = await database();
  const context = new Context();
  const config = testConfig({
    pypiXmlrpc: pypi.xmlrpcUrl,
    pypiJson: pypi.jsonUrl,
    dbTimeout: 10_000,
    pypiInterval: 100,
    ...options.config,
  } as Partial<MasterConfig>);
  const oracle = serveOracle(context, config.dbQueue, db);
  const onQueue = options.onQueue;
  const hook = (queue: "web" | "skip") =>
    onQueue && ((name: string, data: unknown) => onQueue(env, queue, name, data));
  const web = options.noWeb
    ? { received: [], close: () => Promise.resolve() }
    : listen(context, config.webQueue, theScribeProtocol, "DONE", hook("web"));
  const skip = listen(context, config.skipQueue, cloudGazerProtocol, "OK", hook("skip"));
  const architect = collect(context, controlAddress("the_architect"), theArchitectControlProtocol);
  let time = T0;
  let gazer: (CloudGazer & { stop(): Promise<void> }) | null = null;
  const env: GazerEnv = {
    context,
    config,
    pypi,
    db,
    sql,
    oracle,
    web,
    skip,
    architect,
    get gazer() {
      if (!gazer) throw new Error("CloudGazer not started");
      return gazer;
    },
    async start(options = {}) {
      // Short backoff, so tests with injected faults do not wait PyPI-sized delays.
      const source = options.source ?? new XmlRpcChangelogSource({
        url: pypi.xmlrpcUrl,
        backoff: { initialMs: 50, maxMs: 200 },
      });
      // libzmq releases a closed socket's inproc name in the background: a restart may have
      // to wait a moment for the control queue's address.
      for (let attempt = 0;; attempt++) {
        try {
          gazer = await startTask(new CloudGazer(context, config, { ...options, source }));
          return gazer;
        } catch (error) {
          if (attempt > 50 || !String(error).includes("Address already in use")) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
    event(name, version, action, seconds = 1) {
      time += seconds;
      const serial = Math.max(FIRST_SERIAL, pypi.lastSerial + 1);
      return pypi.addEvent(name, version, time, action, serial);
    },
    release() {
      return env.event("zz-release", null, "docupdate", 600);
    },
    async stored(serial, timeoutMs = 5000) {
      const deadline = performance.now() + timeoutMs;
      // The batch's page rewrites are sent after the serial is stored: wait for those too.
      while (await db.getPypiSerial() < serial || (gazer && gazer.storedSerial < serial)) {
        if (performance.now() > deadline) {
          throw new Error(`serial ${serial} not stored (at ${await db.getPypiSerial()})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      await gazer?.stop();
      await oracle.close();
      await web.close();
      await skip.close();
      await architect.close();
      await context.close();
      await pypi.close();
    },
  };
  return env;
}

/** Names of the messages a listener received. */
export function names(listener: Listener): string[] {
  return listener.received.map(([name]) => name);
}
