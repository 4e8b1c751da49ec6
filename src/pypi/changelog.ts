/**
 * Where PyPI's journal comes from. `PyPIChangelogSource` is the seam: today it is XML-RPC
 * `changelog_since_serial`, the only serial-ordered feed with removals and yanks; a future
 * mirroring API can replace it without touching the buffer or the event mapping.
 * @module
 */

import { PiwError } from "../errors.ts";
import { getLogger } from "../log.ts";
import { PIW_VERSION } from "../version.ts";
import { type Clock, systemClock } from "./clock.ts";
import { PYPI_RATE_LIMIT, type RateLimit, RateLimiter } from "./rate_limiter.ts";
import {
  encodeMethodCall,
  parseMethodResponse,
  XmlRpcFault,
  XmlRpcParseError,
  type XmlRpcValue,
} from "./xmlrpc.ts";

/** One raw journal entry: `[name, version, timestamp (Unix seconds), action, serial]`. */
export type PyPIEvent = readonly [
  name: string,
  version: string | null,
  timestamp: number,
  action: string,
  serial: number,
];

/** A feed of PyPI journal entries, resumable by serial. */
export interface PyPIChangelogSource {
  /**
   * Entries with a serial greater than `serial`, in serial order. An empty array means "nothing
   * now": either no new entries or a temporary failure; the caller simply asks again later.
   */
  changelogSince(serial: number): Promise<PyPIEvent[]>;
}

/** A failure talking to PyPI that retrying will not fix; the message names the URL. */
export class PyPIError extends PiwError {
  override name = "PyPIError";
}

/** Exponential backoff bounds for temporary failures. */
export interface Backoff {
  /** Wait after the first failure, in milliseconds. */
  initialMs: number;
  /** Longest wait, in milliseconds (the wait doubles per failure up to this). */
  maxMs: number;
}

/** Options for `XmlRpcChangelogSource`. */
export interface XmlRpcChangelogOptions {
  /** The XML-RPC endpoint, e.g. `https://pypi.org/pypi`. */
  url: string;
  /** Per-request timeout in milliseconds (default 10,000). */
  timeoutMs?: number;
  /**
   * Request rate limit (default 2 per second, PyPI's limit). `null` lifts it; only for
   * benchmarks and tests against a local stand-in, never against pypi.org.
   */
  rateLimit?: RateLimit | null;
  /** Backoff after temporary failures (default 10 s doubling up to 5 min). */
  backoff?: Backoff;
  /** Time source for the backoff and the rate limiter. */
  clock?: Clock;
  /** The fetch to use (tests may inject one). */
  fetch?: typeof fetch;
}

const log = getLogger("pypi");

/** The default backoff: the first retry matches CloudGazer's 10 s poll, then doubles. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 10_000, maxMs: 5 * 60_000 };

/** `PyPIChangelogSource` over XML-RPC `changelog_since_serial`, rate limited, with backoff. */
export class XmlRpcChangelogSource implements PyPIChangelogSource {
  /** The endpoint this source POSTs to. */
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #limiter: RateLimiter | null;
  readonly #backoff: Backoff;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  #failures = 0;
  #retryAt = 0;

  /** Create a source for the endpoint in `options.url`. */
  constructor(options: XmlRpcChangelogOptions) {
    this.url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#clock = options.clock ?? systemClock;
    const limit = options.rateLimit === undefined ? PYPI_RATE_LIMIT : options.rateLimit;
    this.#limiter = limit ? new RateLimiter(limit, this.#clock) : null;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Consecutive temporary failures so far (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  /** Clock time before which calls return `[]` without asking PyPI (0 when not backing off). */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** Ask PyPI for entries after `serial`; `[]` while backing off or after a temporary failure. */
  async changelogSince(serial: number): Promise<PyPIEvent[]> {
    if (this.#clock.now() < this.#retryAt) return [];
    await this.#limiter?.acquire();
    const body = encodeMethodCall("changelog_since_serial", [serial]);
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.url, {
        method: "POST",
        headers: { "User-Agent": `piw/${PIW_VERSION}`, "Content-Type": "text/xml" },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return this.#temporaryFailure(errorText(error));
    }
    // 408 is a timeout seen from the server's side; treat it like our own timeout.
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      return this.#temporaryFailure(`HTTP ${response.status}`, retryAfterMs(response));
    }
    if (!response.ok) {
      throw new PyPIError(`PyPI XML-RPC at ${this.url} answered HTTP ${response.status}`);
    }
    let result: XmlRpcValue;
    try {
      result = parseMethodResponse(text);
    } catch (error) {
      if (error instanceof XmlRpcFault) {
        if (isRateLimitFault(error)) return this.#temporaryFailure(error.message);
        throw new PyPIError(
          `PyPI XML-RPC at ${this.url}: changelog_since_serial(${serial}) failed: ${error.message}`,
        );
      }
      if (error instanceof XmlRpcParseError) {
        throw new PyPIError(`PyPI XML-RPC at ${this.url} sent a bad response: ${error.message}`);
      }
      throw error;
    }
    const events = toEvents(result, this.url);
    this.#failures = 0;
    this.#retryAt = 0;
    return events;
  }

  #temporaryFailure(reason: string, atLeastMs = 0): PyPIEvent[] {
    this.#failures++;
    const { initialMs, maxMs } = this.#backoff;
    const delay = Math.max(atLeastMs, Math.min(maxMs, initialMs * 2 ** (this.#failures - 1)));
    this.#retryAt = this.#clock.now() + delay;
    log.warning(
      `PyPI XML-RPC at ${this.url} failed (${reason}); retrying in ${Math.ceil(delay / 1000)} s`,
    );
    return [];
  }
}

/** PyPI reports "too many requests" as fault -32500 (HTTPTooManyRequests). */
function isRateLimitFault(fault: XmlRpcFault): boolean {
  return fault.faultCode === -32500 || /too ?many ?requests|rate ?limit/i.test(fault.faultString);
}

function retryAfterMs(response: Response): number {
  const value = response.headers.get("Retry-After");
  const seconds = value ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

function errorText(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  return error instanceof Error ? error.message : String(error);
}

/** Check the answer is a list of 5-tuples and put it in serial order. */
function toEvents(result: XmlRpcValue, url: string): PyPIEvent[] {
  const bad = (why: string) =>
    new PyPIError(`PyPI XML-RPC at ${url} sent an unexpected changelog: ${why}`);
  if (!Array.isArray(result)) throw bad("not an array");
  let sorted = true;
  let previous = -Infinity;
  const events = result.map((row, i): PyPIEvent => {
    if (
      !Array.isArray(row) || row.length < 5 || typeof row[0] !== "string" ||
      (row[1] !== null && typeof row[1] !== "string") || typeof row[2] !== "number" ||
      typeof row[3] !== "string" || typeof row[4] !== "number"
    ) {
      throw bad(`entry ${i} is not [name, version|nil, timestamp, action, serial]`);
    }
    if (row[4] < previous) sorted = false;
    previous = row[4];
    return [row[0], row[1], row[2], row[3], row[4]];
  });
  // The buffer relies on serial order; PyPI gives it, but a stand-in might not.
  if (!sorted) events.sort((a, b) => a[4] - b[4]);
  return events;
}
