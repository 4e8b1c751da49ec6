/**
 * A PyPI stand-in on 127.0.0.1 for tests and benchmarks: XML-RPC `changelog_since_serial` over a
 * scriptable journal, the JSON API (`/pypi/<pkg>/json`), and a PEP 503 simple index, with
 * injectable faults and a log of every request received.
 *
 * @example
 * await using pypi = await startPyPIStandIn();
 * pypi.addEvent("foo", "1.0", 1700000000, "add source file foo-1.0.tar.gz");
 * pypi.injectFault({ kind: "http", status: 500, count: 2 });
 * @module
 */

import type { PyPIEvent } from "../../pypi/changelog.ts";
import { canonicalize } from "../../pypi/names.ts";
import {
  encodeFault,
  encodeMethodResponse,
  parseMethodCall,
  type XmlRpcValue,
} from "../../pypi/xmlrpc.ts";
import { type IndexFile, type PublishedFile, SimpleIndex } from "./simple_index.ts";

export type { IndexFile, PublishedFile } from "./simple_index.ts";

/** Which part of the stand-in a fault or a request concerns. */
export type Endpoint = "xmlrpc" | "json" | "simple";

/** A fault to inject into the next matching requests. */
export type FaultSpec =
  & {
    /** How many requests it affects (default 1). */
    count?: number;
    /** Which endpoint it affects (default `xmlrpc`). */
    target?: Endpoint;
  }
  & (
    /** An HTTP error status (default 500), optionally with `Retry-After` seconds. */
    | { kind: "http"; status?: number; retryAfter?: number }
    /** PyPI's rate-limit answer: XML-RPC fault -32500 HTTPTooManyRequests. */
    | { kind: "rate-limit" }
    /** Any XML-RPC fault. */
    | { kind: "fault"; faultCode: number; faultString: string }
    /** The connection drops part-way through the response body. */
    | { kind: "reset" }
    /** Wait `delayMs` (default 30 s) before answering normally. */
    | { kind: "slow"; delayMs?: number }
    /** HTTP 200 with a body that is not XML (or not JSON). */
    | { kind: "garbage" }
  );

/** One request the stand-in received. */
export interface RecordedRequest {
  /** `performance.now()` when the request arrived. */
  time: number;
  /** The endpoint it went to, or `other`. */
  endpoint: Endpoint | "other";
  /** HTTP method. */
  method: string;
  /** Request path. */
  path: string;
  /** The `User-Agent` header. */
  userAgent: string | null;
  /** XML-RPC method name, if any. */
  rpcMethod?: string;
  /** For `changelog_since_serial`: the serial asked for. */
  serial?: number;
  /** For `changelog_since_serial`: how many events were answered. */
  returned?: number;
  /** The fault injected into this request, if any. */
  fault?: FaultSpec["kind"];
}

/**
 * The part of `../package_index.ts`'s `PackageIndex` the stand-in uses, stated here
 * so this fixture does not depend on that module (or on what it imports).
 */
export interface ExternalIndex {
  /** The simple index URL. */
  url: string;
  /** Publish a file (named like its path's last component) under `project`. */
  add(file: { path: string; project: string; sha256?: string }): Promise<void>;
}

/** Options for `startPyPIStandIn`. */
export interface StandInOptions {
  /** Most events per `changelog_since_serial` answer (PyPI: 50,000). */
  batchSize?: number;
  /**
   * Remember each encoded `changelog_since_serial` answer until the journal changes, so a
   * benchmark's second pass measures the client rather than the stand-in's encoder.
   */
  cacheAnswers?: boolean;
  /**
   * Publish files in this index (`../package_index.ts`, which also serves the build
   * tools pip needs offline) instead of the stand-in's own; `simpleUrl` is then its URL.
   */
  simpleIndex?: ExternalIndex;
}

/** A project's JSON API answer: a summary, or an exact status and body. */
export type JsonAnswer = { summary: string | null } | { status: number; body: string };

/** Options for `PyPIStandIn.addPackage`. */
export interface AddPackageOptions {
  /** The release version; omit for a project without releases. */
  version?: string;
  /** Summary served by the JSON API (default: none, so the JSON API answers 404). */
  summary?: string | null;
  /** Files to publish in the simple index (sdists, wheels). */
  files?: IndexFile[];
  /** Append matching journal events: `create`, then one `add … file` per file (default true). */
  events?: boolean;
  /** Unix seconds for those events (default: now). */
  timestamp?: number;
}

/** An sdist `PyPIStandIn.announceSdists` journals (a fixture index's `SdistFile` is one). */
export interface AnnouncedSdist {
  /** The project name. */
  project: string;
  /** The version. */
  version: string;
  /** The sdist's file name. */
  filename: string;
}

/** Options for `PyPIStandIn.announceSdists`. */
export interface AnnounceOptions {
  /** The JSON summary of the `i`th sdist's project. */
  summary: (i: number) => string;
  /** The project whose `docupdate` event, stamped now, ends the journal. */
  clock: string;
  /** The first event's serial (PyPI's today are far past piwheels' reordering "epoch"). */
  firstSerial: number;
}

/** A running stand-in. */
export interface PyPIStandIn {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** XML-RPC endpoint (`--pypi-xmlrpc`). */
  readonly xmlrpcUrl: string;
  /** JSON API root (`--pypi-json`). */
  readonly jsonUrl: string;
  /** Simple index root (`--pypi-simple`), ending in `/`. */
  readonly simpleUrl: string;
  /** `piw master`'s options to follow this stand-in (the three above). */
  readonly masterArgs: string[];
  /** The journal, in serial order. */
  readonly events: readonly PyPIEvent[];
  /** The highest serial in the journal (0 when empty). */
  readonly lastSerial: number;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** Append one event; the serial defaults to one more than the last. Returns the serial. */
  addEvent(
    name: string,
    version: string | null,
    timestamp: number | Date,
    action: string,
    serial?: number,
  ): number;
  /** Append many events (full 5-tuples, serials ascending) without per-event checks. */
  addEvents(events: Iterable<PyPIEvent>): void;
  /** Set the JSON API answer for a project. */
  setJson(pkg: string, answer: JsonAnswer): void;
  /** Register a project: JSON summary, simple-index files and (by default) journal events. */
  addPackage(name: string, options?: AddPackageOptions): Promise<PublishedFile[]>;
  /**
   * Announce sdists served elsewhere: each project's JSON summary, journal events an hour old
   * (`create` the first time a project appears, `add source file`) from serial `firstSerial`,
   * then a `docupdate` of `clock` now, so piw's reordering buffer releases them at once.
   */
  announceSdists(sdists: readonly AnnouncedSdist[], options: AnnounceOptions): void;
  /** Make the next matching requests fail as described. */
  injectFault(fault: FaultSpec): void;
  /** Requests to one endpoint (default `xmlrpc`). */
  requestsTo(endpoint?: Endpoint): RecordedRequest[];
  /** Stop serving. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start a stand-in on an ephemeral port of 127.0.0.1. */
export function startPyPIStandIn(options: StandInOptions = {}): Promise<PyPIStandIn> {
  const stand = new StandIn(options.batchSize ?? 50_000, options.simpleIndex);
  if (options.cacheAnswers) stand.answers = new Map();
  return Promise.resolve(stand.start());
}

class StandIn implements PyPIStandIn {
  url = "";
  xmlrpcUrl = "";
  jsonUrl = "";
  simpleUrl = "";
  readonly events: PyPIEvent[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly #json = new Map<string, JsonAnswer>();
  readonly #faults: { spec: FaultSpec; remaining: number }[] = [];
  readonly #index = new SimpleIndex();
  readonly #pending = new Set<AbortController>();
  #server?: Deno.HttpServer<Deno.NetAddr>;
  #tempDir?: string;

  answers?: Map<number, { xml: Uint8Array<ArrayBuffer>; returned: number }>;

  constructor(readonly batchSize: number, readonly external?: ExternalIndex) {}

  start(): this {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
    this.xmlrpcUrl = `${this.url}/pypi`;
    this.jsonUrl = `${this.url}/pypi`;
    this.simpleUrl = this.external?.url ?? `${this.url}/simple/`;
    return this;
  }

  get masterArgs(): string[] {
    return [
      "--pypi-xmlrpc",
      this.xmlrpcUrl,
      "--pypi-json",
      this.jsonUrl,
      "--pypi-simple",
      this.simpleUrl,
    ];
  }

  get lastSerial(): number {
    return this.events.length ? this.events[this.events.length - 1][4] : 0;
  }

  addEvent(
    name: string,
    version: string | null,
    timestamp: number | Date,
    action: string,
    serial = this.lastSerial + 1,
  ): number {
    if (serial <= this.lastSerial) {
      throw new RangeError(`serial ${serial} is not after the last serial ${this.lastSerial}`);
    }
    const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
    this.events.push([name, version, seconds, action, serial]);
    this.answers?.clear();
    return serial;
  }

  addEvents(events: Iterable<PyPIEvent>): void {
    for (const event of events) this.events.push(event);
    this.answers?.clear();
  }

  setJson(pkg: string, answer: JsonAnswer): void {
    this.#json.set(canonicalize(pkg), answer);
  }

  announceSdists(sdists: readonly AnnouncedSdist[], options: AnnounceOptions): void {
    // The buffer releases events once they are 5 minutes older than the newest one it has seen.
    const past = Date.now() / 1000 - 3600;
    let serial = options.firstSerial;
    const created = new Set<string>();
    for (const [i, sdist] of sdists.entries()) {
      this.setJson(sdist.project, { summary: options.summary(i) });
      if (!created.has(canonicalize(sdist.project))) {
        created.add(canonicalize(sdist.project));
        this.addEvent(sdist.project, null, past + i, "create", serial++);
      }
      const action = `add source file ${sdist.filename}`;
      this.addEvent(sdist.project, sdist.version, past + i, action, serial++);
    }
    this.addEvent(options.clock, null, Date.now() / 1000, "docupdate", serial);
  }

  async addPackage(name: string, options: AddPackageOptions = {}): Promise<PublishedFile[]> {
    const files = options.files ?? [];
    const published = await this.#index.add(name, files);
    if (this.external) {
      // The shared index serves from paths named like the file, so write the bytes out.
      this.#tempDir ??= await Deno.makeTempDir({ prefix: "piw-pypi-stand-in-" });
      for (const file of published) {
        const path = `${this.#tempDir}/${file.filename}`;
        await Deno.writeFile(path, file.content);
        await this.external.add({ path, project: name, sha256: file.sha256 });
      }
    }
    if (options.summary !== undefined) this.setJson(name, { summary: options.summary });
    if (options.events ?? true) {
      const when = options.timestamp ?? Math.floor(Date.now() / 1000);
      const known = this.events.some((e) => canonicalize(e[0]) === canonicalize(name));
      if (!known) this.addEvent(name, null, when, "create");
      if (options.version !== undefined) {
        if (files.length === 0) this.addEvent(name, options.version, when, "new release");
        for (const file of files) {
          const wheel = /^[^-]+-[^-]+(?:-[^-]+)?-([^-]+)-[^-]+-[^-]+\.whl$/.exec(file.filename);
          const kind = wheel ? wheel[1] : "source";
          this.addEvent(name, options.version, when, `add ${kind} file ${file.filename}`);
        }
      }
    }
    return published;
  }

  injectFault(fault: FaultSpec): void {
    this.#faults.push({ spec: fault, remaining: fault.count ?? 1 });
  }

  requestsTo(endpoint: Endpoint = "xmlrpc"): RecordedRequest[] {
    return this.requests.filter((r) => r.endpoint === endpoint);
  }

  async close(): Promise<void> {
    for (const controller of this.#pending) controller.abort();
    await this.#server?.shutdown();
    if (this.#tempDir) await Deno.remove(this.#tempDir, { recursive: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #takeFault(endpoint: Endpoint): FaultSpec | undefined {
    const at = this.#faults.findIndex((f) => (f.spec.target ?? "xmlrpc") === endpoint);
    if (at < 0) return undefined;
    const fault = this.#faults[at];
    if (--fault.remaining <= 0) this.#faults.splice(at, 1);
    return fault.spec;
  }

  async #handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const record: RecordedRequest = {
      time: performance.now(),
      endpoint: "other",
      method: request.method,
      path,
      userAgent: request.headers.get("User-Agent"),
    };
    this.requests.push(record);
    let endpoint: Endpoint | null = null;
    if (request.method === "POST" && /^\/pypi\/?$/.test(path)) endpoint = "xmlrpc";
    else if (request.method === "GET" && /^\/pypi\/[^/]+\/json\/?$/.test(path)) endpoint = "json";
    else if (request.method === "GET" && /^\/(simple|files)(\/|$)/.test(path)) endpoint = "simple";
    if (endpoint === null) return new Response("Not Found\n", { status: 404 });
    record.endpoint = endpoint;

    const fault = this.#takeFault(endpoint);
    if (fault) {
      record.fault = fault.kind;
      const early = await this.#fault(fault, endpoint);
      if (early) return early;
    }
    if (endpoint === "xmlrpc") return this.#xmlrpc(await request.text(), record);
    if (endpoint === "json") return this.#jsonApi(decodeURIComponent(path.split("/")[2]));
    return this.#index.respond(path) ?? new Response("Not Found\n", { status: 404 });
  }

  /** The response for an injected fault, or null to carry on normally (after a delay). */
  async #fault(fault: FaultSpec, endpoint: Endpoint): Promise<Response | null> {
    switch (fault.kind) {
      case "http": {
        const headers = new Headers();
        if (fault.retryAfter !== undefined) headers.set("Retry-After", String(fault.retryAfter));
        return new Response("injected failure\n", { status: fault.status ?? 500, headers });
      }
      case "rate-limit":
        return xml(encodeFault(
          -32500,
          "HTTPTooManyRequests: The action could not be performed because there were too " +
            "many requests by the client. Limit may reset in 1 seconds.",
        ));
      case "fault":
        return xml(encodeFault(fault.faultCode, fault.faultString));
      case "reset": {
        // Promise more bytes than are sent: the client sees the connection drop mid-body.
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('<?xml version="1.0"?>\n<method'));
            controller.close();
          },
        });
        return new Response(body, { headers: { "Content-Length": "100000" } });
      }
      case "slow": {
        const controller = new AbortController();
        this.#pending.add(controller);
        try {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, fault.delayMs ?? 30_000);
            const stop = () => {
              clearTimeout(timer);
              resolve();
            };
            controller.signal.addEventListener("abort", stop, { once: true });
          });
        } finally {
          this.#pending.delete(controller);
        }
        return null;
      }
      case "garbage":
        return endpoint === "xmlrpc"
          ? xml("<html><body>Service Unavailable</body></html>")
          : new Response("{not json", { headers: { "Content-Type": "application/json" } });
    }
  }

  #xmlrpc(body: string, record: RecordedRequest): Response {
    let call;
    try {
      call = parseMethodCall(body);
    } catch (error) {
      return xml(encodeFault(-32700, `parse error: ${error}`));
    }
    record.rpcMethod = call.method;
    if (call.method === "changelog_last_serial") return xml(encodeMethodResponse(this.lastSerial));
    if (call.method !== "changelog_since_serial") {
      return xml(encodeFault(-32601, `method "${call.method}" not found`));
    }
    const since = call.params[0];
    if (typeof since !== "number") {
      return xml(encodeFault(-32602, "changelog_since_serial takes one integer"));
    }
    record.serial = since;
    let answer = this.answers?.get(since);
    if (!answer) {
      const first = firstAfter(this.events, since);
      const batch = this.events.slice(first, first + this.batchSize);
      answer = {
        xml: new TextEncoder().encode(encodeMethodResponse(batch as unknown as XmlRpcValue[])),
        returned: batch.length,
      };
      this.answers?.set(since, answer);
    }
    record.returned = answer.returned;
    return xml(answer.xml);
  }

  #jsonApi(name: string): Response {
    const answer = this.#json.get(canonicalize(name));
    if (!answer) return Response.json({ message: "Not Found" }, { status: 404 });
    if ("status" in answer) return new Response(answer.body, { status: answer.status });
    return Response.json({ info: { name, summary: answer.summary }, releases: {} });
  }
}

function xml(text: string | Uint8Array<ArrayBuffer>): Response {
  return new Response(text, { headers: { "Content-Type": "text/xml; charset=utf-8" } });
}

/** Index of the first event with a serial greater than `serial`. */
function firstAfter(events: readonly PyPIEvent[], serial: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid][4] <= serial) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
