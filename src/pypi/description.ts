/**
 * Project summaries from PyPI's JSON API (`{pypiJson}/{package}/json` → `info.summary`).
 *
 * A summary is decoration, so anything that looks temporary (timeout, connection failure, too
 * many redirects, HTTP 5xx, 404 for a since-deleted project, 408, a body that is not JSON) gives
 * `null` ("unknown, try another time"); other 4xx answers mean a misconfiguration and raise.
 * @module
 */

import { getLogger } from "../log.ts";
import { PIW_VERSION } from "../version.ts";
import { PyPIError } from "./changelog.ts";

/** Longest summary kept, in characters. */
export const MAX_DESCRIPTION = 200;

/** Options for `DescriptionFetcher`. */
export interface DescriptionOptions {
  /** The JSON API root, e.g. `https://pypi.org/pypi`. */
  url: string;
  /** Per-request timeout in milliseconds (default 10,000). */
  timeoutMs?: number;
  /** How many answers to remember, least recently used dropped first (default 100). */
  cacheSize?: number;
  /** The fetch to use (tests may inject one). */
  fetch?: typeof fetch;
}

const log = getLogger("pypi");

/** Fetches and caches project summaries. */
export class DescriptionFetcher {
  /** The JSON API root. */
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #cacheSize: number;
  readonly #fetch: typeof fetch;
  // Map iteration order is insertion order, so re-inserting on a hit makes it an LRU.
  readonly #cache = new Map<string, string | null>();

  /** Create a fetcher for the JSON API at `options.url`. */
  constructor(options: DescriptionOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#cacheSize = options.cacheSize ?? 100;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * The summary of `pkg`: `''` when PyPI has none, cut to 199 characters + `…` when longer than
   * 200, `null` when it could not be fetched now. Results (including `null`) are cached.
   */
  async describe(pkg: string): Promise<string | null> {
    if (this.#cache.has(pkg)) {
      const hit = this.#cache.get(pkg)!;
      this.#cache.delete(pkg);
      this.#cache.set(pkg, hit);
      return hit;
    }
    const description = await this.#lookup(pkg);
    this.#cache.set(pkg, description);
    if (this.#cache.size > this.#cacheSize) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    return description;
  }

  async #lookup(pkg: string): Promise<string | null> {
    const url = `${this.url}/${encodeURIComponent(pkg)}/json`;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        headers: { "User-Agent": `piw/${PIW_VERSION}`, "Accept": "application/json" },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!response.ok) await response.body?.cancel();
      text = response.ok ? await response.text() : "";
    } catch (error) {
      // Timeouts, refused connections, resets and redirect loops all land here.
      log.debug(`no summary for ${pkg} from ${url}: ${error}`);
      return null;
    }
    const status = response.status;
    if (status >= 500 || status === 404 || status === 408) return null;
    if (!response.ok) {
      throw new PyPIError(`PyPI JSON API at ${url} answered HTTP ${status}`);
    }
    let summary: unknown;
    try {
      summary = JSON.parse(text)?.info?.summary;
    } catch {
      log.debug(`no summary for ${pkg}: ${url} did not send JSON`);
      return null;
    }
    if (summary === null) return "";
    if (typeof summary !== "string") {
      log.error(`info.summary missing when getting description for ${pkg} from ${url}`);
      return null;
    }
    return truncate(summary);
  }
}

/** Cut `text` to `MAX_DESCRIPTION` code points, marking the cut with `…`. */
export function truncate(text: string): string {
  if (text.length <= MAX_DESCRIPTION) return text;
  const chars = Array.from(text);
  return chars.length > MAX_DESCRIPTION ? chars.slice(0, MAX_DESCRIPTION - 1).join("") + "…" : text;
}
