/**
 * PyPI followed as CloudGazer follows it (XML-RPC journal, JSON summaries, buffer and mapping),
 * assembled in one call for the tests of `src/pypi/` (CloudGazer assembles its own).
 * @module
 */

import type { Backoff } from "../../src/pypi/changelog.ts";
import { XmlRpcChangelogSource } from "../../src/pypi/changelog.ts";
import type { Clock } from "../../src/pypi/clock.ts";
import { DescriptionFetcher } from "../../src/pypi/description.ts";
import { PyPIEvents } from "../../src/pypi/events.ts";
import type { RateLimit } from "../../src/pypi/rate_limiter.ts";

/** Options for `followPyPI`. */
export interface FollowPyPIOptions {
  /** XML-RPC endpoint (`--pypi-xmlrpc`, default `https://pypi.org/pypi`). */
  xmlrpcUrl: string;
  /** JSON API root for summaries (`--pypi-json`); omit to skip summaries. */
  jsonUrl?: string;
  /** Serial to resume from (the stored `pypi_serial`). */
  serial?: number;
  /** XML-RPC rate limit; `null` lifts it (benchmarks against a local stand-in only). */
  rateLimit?: RateLimit | null;
  /** Timeout per request in milliseconds (default 10,000). */
  timeoutMs?: number;
  /** Backoff after temporary XML-RPC failures. */
  backoff?: Backoff;
  /** Idle delay after PyPI had nothing new (default 10 s). */
  idleMs?: number;
  /** Time source (tests). */
  clock?: Clock;
}

/**
 * A `PyPIEvents` reading PyPI's journal over XML-RPC, with summaries from the JSON API.
 * @example
 * const pypi = followPyPI({ xmlrpcUrl: "https://pypi.org/pypi", jsonUrl: "https://pypi.org/pypi", serial });
 * for (const event of await pypi.poll()) console.log(event.package, event.action);
 * await db.setPyPISerial(pypi.serial);
 */
export function followPyPI(options: FollowPyPIOptions): PyPIEvents {
  const source = new XmlRpcChangelogSource({
    url: options.xmlrpcUrl,
    timeoutMs: options.timeoutMs,
    rateLimit: options.rateLimit,
    backoff: options.backoff,
    clock: options.clock,
  });
  const fetcher = options.jsonUrl
    ? new DescriptionFetcher({ url: options.jsonUrl, timeoutMs: options.timeoutMs })
    : null;
  return new PyPIEvents({
    source,
    serial: options.serial,
    describe: fetcher ? (pkg) => fetcher.describe(pkg) : null,
    idleMs: options.idleMs,
    clock: options.clock,
  });
}
