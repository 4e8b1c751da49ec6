/**
 * Where a slave finds its master. piwheels hard-codes the ports (REQ to tcp 5555, DEALER to
 * tcp 5556); piw keeps those defaults and lets `--master` carry other ports, which tests (and
 * masters behind port mapping) need:
 *
 * - `host` or `[v6-literal]` or a bare IPv6 literal (`::1`): ports 5555 and 5556;
 * - `host:P` or `[v6]:P`: slave queue on P, file queue on P + 1;
 * - `host:P:F` or `[v6]:P:F`: slave queue on P, file queue on F.
 *
 * A bare IPv6 literal cannot carry ports (it is ambiguous); bracket it. piw's own extras queue
 * (HAVE, `slaveExtrasProtocol`) is on the slave queue's port + {@link EXTRAS_PORT_OFFSET} (5559).
 * @module
 */

import { UsageError } from "../errors.ts";

/** The slave queue and file queue endpoints of a master. */
export interface MasterEndpoints {
  /** `tcp://host:5555` (REQ, the slave protocol). */
  slave: string;
  /** `tcp://host:5556` (DEALER, file transfer). */
  file: string;
  /** `tcp://host:5559` (PUSH, piw only: what the slave has; nobody may listen). */
  extras: string;
}

/** The extras queue's port is the slave queue's plus this (5555 → 5559, as `piw master`'s). */
export const EXTRAS_PORT_OFFSET = 4;

/** The master's default slave and file ports (fixed in piwheels). */
export const DEFAULT_PORTS = [5555, 5556] as const;

const PORT_RE = /^\d{1,5}$/;
// Hex groups, colons, an embedded IPv4 and a zone: loose, but never a host name.
const IPV6_RE = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[\w.-]+)?$/;

function port(text: string, master: string): number {
  const n = Number(text);
  if (!PORT_RE.test(text) || n < 1 || n > 65535) {
    throw new UsageError(`invalid port ${JSON.stringify(text)} in master address ${master}`);
  }
  return n;
}

/**
 * The endpoints for `--master` (see the module documentation for the forms).
 * @example masterEndpoints("::1") // { slave: "tcp://[::1]:5555", file: "tcp://[::1]:5556" }
 * @example masterEndpoints("10.0.0.1:6000") // ports 6000 and 6001
 */
export function masterEndpoints(master: string): MasterEndpoints {
  const text = master.trim();
  let host: string;
  let ports: string[] = [];
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) throw new UsageError(`unbalanced brackets in master address ${master}`);
    host = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest && !rest.startsWith(":")) throw new UsageError(`invalid master address ${master}`);
    ports = rest ? rest.slice(1).split(":") : [];
  } else {
    const parts = text.split(":");
    const isHostPorts = parts.length <= 3 && parts[0] !== "" &&
      parts.slice(1).every((p) => PORT_RE.test(p));
    if (isHostPorts) [host, ...ports] = parts;
    else if (IPV6_RE.test(text)) host = `[${text}]`;
    else throw new UsageError(`invalid master address ${master}`);
  }
  if (!host || host === "[]" || ports.length > 2) {
    throw new UsageError(`invalid master address ${master}`);
  }
  const slavePort = ports.length ? port(ports[0], master) : DEFAULT_PORTS[0];
  const filePort = ports.length === 2
    ? port(ports[1], master)
    : ports.length
    ? slavePort + 1
    : DEFAULT_PORTS[1];
  return {
    slave: `tcp://${host}:${slavePort}`,
    file: `tcp://${host}:${filePort}`,
    extras: `tcp://${host}:${(slavePort + EXTRAS_PORT_OFFSET - 1) % 65535 + 1}`,
  };
}
