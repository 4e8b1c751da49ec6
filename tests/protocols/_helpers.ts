/**
 * Shared helpers for the protocol tests: hex conversion and the piwheels wire vectors
 * (a copy of `shared/reference/wire-vectors.json`, produced by piwheels' own encoder).
 * @module
 */

import {
  lumberjackProtocol,
  masterControlProtocol,
  monitorStatsProtocol,
  mrChaseProtocol,
  NO_DATA,
  PreciseDate,
  type Protocol,
  slaveDriverProtocol,
  TimeDelta,
} from "../../src/protocols/mod.ts";

/** Bytes → lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex (spaces allowed) → bytes. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** One recorded message as piwheels encoded it. */
export interface WireVector {
  queue: string;
  sender: string;
  message: string;
  data: unknown;
  hex: string;
  note: string;
}

/** All wire vectors. */
export const vectors: WireVector[] = JSON.parse(
  Deno.readTextFileSync(new URL("./wire_vectors.json", import.meta.url)),
).vectors;

/**
 * The protocol as seen by the receiver and by the sender of a vector. Each piw protocol is
 * stated from its receiving (serving) side.
 */
export function protocolsFor(v: WireVector): { receiver: Protocol; sender: Protocol } {
  const table: Record<string, [Protocol, string[]]> = {
    "slave_driver": [slaveDriverProtocol, ["slave"]],
    "mr_chase": [mrChaseProtocol, ["client"]],
    "lumberjack": [lumberjackProtocol, ["logger"]],
    "control": [masterControlProtocol, ["monitor"]],
    "status": [monitorStatsProtocol, ["master"]],
  };
  const key = v.queue.split(" ")[0];
  const [protocol, towardServer] = table[key];
  // Messages sent toward the side the protocol is stated from use it as the receiver.
  return towardServer.includes(v.sender)
    ? { receiver: protocol, sender: protocol.reversed() }
    : { receiver: protocol.reversed(), sender: protocol };
}

/**
 * The expected decoded value of vector data: `$dt` → PreciseDate, `$td` → TimeDelta,
 * `$nodata` → NO_DATA, `$float` → the number (the schema knows it is a float).
 */
export function expectedValue(data: unknown): unknown {
  if (Array.isArray(data)) return data.map(expectedValue);
  if (data !== null && typeof data === "object") {
    const obj = data as Record<string, unknown>;
    if ("$dt" in obj) return PreciseDate.fromIso(obj.$dt as string);
    if ("$td" in obj) return new TimeDelta(...(obj.$td as [number, number, number]));
    if ("$nodata" in obj) return NO_DATA;
    if ("$float" in obj) return obj.$float;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, expectedValue(v)]));
  }
  return data;
}
