/**
 * The queues other programs talk on, wire-compatible with piwheels 0.23: slave_driver,
 * mr_chase (import queue), lumberjack (logger queue), master_control and monitor_stats.
 * @module
 */

import {
  any,
  bool,
  datetime,
  int,
  list,
  literal,
  noData,
  nullable,
  oneOf,
  type Schema,
  SchemaError,
  str,
  tuple,
} from "./schema.ts";
import {
  buildState,
  builtData,
  downloadLog,
  jsonLog,
  masterHello,
  masterStats,
  metadataLog,
  packageVersion,
  pageHitLog,
  projectLog,
  searchLog,
  slaveHello,
  slaveStats,
} from "./shapes.ts";
import { Protocol } from "./protocol.ts";
import { PreciseDate } from "./values.ts";

/**
 * slave_driver (tcp 5555, master ROUTER ← slave REQ), from the master's side. The slave sends
 * HELLO, IDLE, BUSY, BUILT, SENT, BYE; the master answers ACK, SLEEP, BUILD, CONT, SEND, DONE,
 * DIE. The slave uses `slaveDriverProtocol.reversed()`.
 */
export const slaveDriverProtocol = new Protocol("slave_driver", {
  HELLO: slaveHello,
  IDLE: slaveStats,
  BUSY: slaveStats,
  BUILT: builtData,
  SENT: null,
  BYE: null,
}, {
  ACK: tuple(["slave_id", int], ["pypi_simple_url", str]),
  SLEEP: bool,
  BUILD: packageVersion,
  CONT: null,
  SEND: str,
  DONE: null,
  DIE: null,
});

/**
 * slave_extras (piw only; SlaveDriver PULL on `--extras-queue`, tcp 5559 ← a piw slave's PUSH to
 * its slave queue's port + 4): after each ACK a piw slave says which headers, libraries and tools
 * of the Debian table (`src/failures/debian.ts`) its toolchain finds. A piwheels master never
 * listens there (the message is dropped) and a piwheels slave never sends it, so the slave_driver
 * protocol above stays piwheels' own.
 */
export const slaveExtrasProtocol = new Protocol("slave_extras", {
  HAVE: tuple(["slave_id", int], ["found", list(str)]),
}, {});

/** REBUILD data: what part of the web output to regenerate (null package = all packages). */
export type RebuildRequest =
  | ["HOME"]
  | ["SEARCH"]
  | ["PROJECT", pkg: string | null]
  | ["BOTH", pkg: string | null];

/** REBUILD data, as piwheels' `Any(ExactSequence(['HOME']), …)`. */
export const rebuildRequest: Schema<RebuildRequest> = oneOf(
  tuple(literal("HOME")),
  tuple(literal("SEARCH")),
  tuple(literal("PROJECT"), ["package", nullable(str)]),
  tuple(literal("BOTH"), ["package", nullable(str)]),
);

/**
 * mr_chase, the import queue (master ROUTER ← piw-import/add/remove/rebuild REQ), from the
 * master's side. The client sends IMPORT (then SENT after each file), ADDPKG, ADDVER, REMPKG,
 * REMVER or REBUILD; the master answers SEND filename, ERROR text or DONE with what it did
 * (IMPORT, REBUILD, NEWPKG, UPDPKG, NEWVER, UPDVER, DELPKG, DELVER, DELPKGBLD, DELVERBLD,
 * SKIPPKG, SKIPVER, YANKVER; piw's master answers a PROJECT or BOTH rebuild `REBUILD <count>`,
 * still a plain string to piwheels' schema). piw's REBUILDING (no data; piw rebuild sends it
 * after a rebuild of every package, to report progress) is answered `DONE "PENDING <pages>"`:
 * the project rewrites the master still has to write; a piwheels master answers it ERROR.
 * piw's PRIORITY (package, priority: piw add --priority) is answered
 * `DONE "PRIORITY <abi>:<queued>:<position> ..."`: where the package now stands in each ABI's
 * build queue (its queued versions and the first one's position), or ERROR NOPKG.
 */
export const mrChaseProtocol = new Protocol("mr_chase", {
  IMPORT: buildState,
  SENT: null,
  ADDPKG: tuple(
    ["package", str],
    ["description", str],
    ["skip", str],
    ["unskip", bool],
    ["aliases", list(str)],
  ),
  ADDVER: tuple(
    ["package", str],
    ["version", str],
    ["skip", str],
    ["unskip", bool],
    ["released", datetime],
    ["yank", bool],
    ["unyank", bool],
    ["aliases", list(str)],
  ),
  REMPKG: tuple(["package", str], ["builds", bool], ["skip", str]),
  REMVER: tuple(
    ["package", str],
    ["version", str],
    ["builds", bool],
    ["skip", str],
    ["yank", bool],
  ),
  REBUILD: rebuildRequest,
  REBUILDING: null,
  PRIORITY: tuple(["package", str], ["priority", int]),
}, {
  SEND: str,
  ERROR: str,
  DONE: str,
});

/**
 * lumberjack, the logger queue (master PULL ← piw-logger PUSH): one message per web-server log
 * line worth recording. Receive-only. LOGMETADATA is piw's: pip's fetch of a wheel's PEP 658
 * metadata (`<wheel>.metadata`, which piwheels does not serve, so its logger never sends it).
 */
export const lumberjackProtocol = new Protocol("lumberjack", {
  LOGDOWNLOAD: downloadLog,
  LOGSEARCH: searchLog,
  LOGPROJECT: projectLog,
  LOGJSON: jsonLog,
  LOGPAGE: pageHitLog,
  LOGMETADATA: metadataLog,
}, {});

const slaveId = nullable(int);

/**
 * master_control (master PULL ← monitors and tasks PUSH). KILL/SLEEP/SKIP/WAKE take a slave id,
 * or null for every slave (SLEEP/WAKE null pause/resume the whole master). Receive-only.
 */
export const masterControlProtocol = new Protocol("master_control", {
  HELLO: null,
  KILL: slaveId,
  SLEEP: slaveId,
  SKIP: slaveId,
  WAKE: slaveId,
  QUIT: null,
}, {});

/** Monitor SLAVE data: what one slave did, with the data of that message. */
export type SlaveEvent = [slaveId: number, timestamp: Date, message: string, data: unknown];

/**
 * The data schema of each message a SLAVE event can carry. piwheels types the data as `Extra`;
 * knowing it here keeps float fields floats (STATS) both ways. Other names pass as `any`.
 */
export const slaveEventData: Readonly<Record<string, Schema<unknown>>> = Object.freeze({
  HELLO: slaveHello,
  STATS: slaveStats,
  ACK: slaveDriverProtocol.send.ACK,
  SLEEP: bool,
  BUILD: packageVersion,
  SEND: str,
  CONT: nullable(noData),
  DONE: nullable(noData),
  // A slave that timed out gets a DIE with null rather than NoData.
  DIE: nullable(noData),
});

const slaveEventHead = tuple(
  ["slave_id", int],
  ["timestamp", datetime],
  ["message", str],
  ["data", any],
);

function dataSchema(message: string): Schema<unknown> {
  return Object.hasOwn(slaveEventData, message) ? slaveEventData[message] : any;
}

function convertEvent(value: unknown, dir: "fromWire" | "toWire"): SlaveEvent {
  const [id, ts, message, data] = slaveEventHead[dir](value) as SlaveEvent;
  try {
    return [id, ts, message, dataSchema(message)[dir](data)];
  } catch (e) {
    if (e instanceof SchemaError) e.within(".data");
    throw e;
  }
}

/** Monitor SLAVE data: `[slave_id, timestamp, message, data]`, data checked per message. */
export const slaveEvent: Schema<SlaveEvent> = {
  description: "[int, datetime, str, any]",
  fromWire: (raw) => convertEvent(raw, "fromWire"),
  toWire: (value) => convertEvent(value, "toWire"),
  example: () => [
    1,
    new PreciseDate(Date.UTC(2024, 0, 2, 3, 4, 5)),
    "HELLO",
    slaveHello.example(),
  ],
};

/**
 * monitor_stats, from the receiving side (piw-monitor/piw-sense SUB ← master PUB, and the
 * master's `inproc://status` PULL ← SlaveDriver, BigBrother, MrChase PUSH; on that internal
 * hop one message may carry several, a frame each, which the master publishes one by one).
 * Senders use `monitorStatsProtocol.reversed()`.
 */
export const monitorStatsProtocol = new Protocol("monitor_stats", {
  HELLO: masterHello,
  STATS: masterStats,
  SLAVE: slaveEvent,
}, {});
