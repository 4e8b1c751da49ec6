/**
 * Following PyPI: its journal (XML-RPC `changelog_since_serial` behind `PyPIChangelogSource`),
 * the re-ordering buffer, the mapping to package events, and project summaries.
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
export { followPyPI, type FollowPyPIOptions } from "./follow.ts";
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
