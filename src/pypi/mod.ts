/**
 * Following PyPI: its journal (XML-RPC `changelog_since_serial` behind `PyPIChangelogSource`),
 * the re-ordering buffer, the mapping to package events, and project summaries.
 *
 * How CloudGazer uses it: build one `PyPIEvents` (an `XmlRpcChangelogSource`, and summaries from
 * a `DescriptionFetcher`) from the stored serial, and every 10 s call `poll()`. Handle the batch, then store `serial` (it never
 * goes backwards). While `more` is true PyPI has a backlog and `poll()` can be called again at
 * once; the source keeps to PyPI's 2 requests/s. After PyPI had nothing new (or failed
 * temporarily) `poll()` returns `[]` without asking for 10 s, and the source backs off
 * exponentially (10 s doubling to 5 min) after failures. If `poll()` throws, nothing was consumed.
 *
 * `rateLimit: null` lifts the 2 requests/s limit; only benchmarks against the local stand-in
 * (`src/demo/pypi/`) should do that.
 *
 * @example
 * const source = new XmlRpcChangelogSource({ url: xmlrpcUrl });
 * const pypi = new PyPIEvents({ source, serial: await db.getPyPISerial() });
 * do {
 *   for (const event of await pypi.poll()) await handle(event);
 *   await db.setPyPISerial(pypi.serial);
 * } while (pypi.more && !paused);
 * @module
 */

export { type Clock, systemClock } from "./clock.ts";
export {
  type Backoff,
  DEFAULT_BACKOFF,
  type PyPIChangelogSource,
  PyPIError,
  type PyPIEvent,
  type XmlRpcChangelogOptions,
  XmlRpcChangelogSource,
} from "./changelog.ts";
export { PYPI_EPOCH, PYPI_MARGIN, PyPIBuffer, REORDER_WINDOW_S } from "./buffer.ts";
export {
  mapAction,
  MAX_NAME_LENGTH,
  type PackageAction,
  type PackageEvent,
  PyPIEvents,
  type PyPIEventsOptions,
} from "./events.ts";
export {
  DescriptionFetcher,
  type DescriptionOptions,
  MAX_DESCRIPTION,
  truncate,
} from "./description.ts";
export { canonicalize } from "./names.ts";
export { PYPI_RATE_LIMIT, type RateLimit, RateLimiter } from "./rate_limiter.ts";
export {
  encodeFault,
  encodeMethodCall,
  encodeMethodResponse,
  parseMethodCall,
  parseMethodResponse,
  type XmlRpcCall,
  XmlRpcFault,
  XmlRpcParseError,
  type XmlRpcValue,
} from "./xmlrpc.ts";
