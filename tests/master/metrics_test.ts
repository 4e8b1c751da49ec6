/**
 * `piw master --metrics ADDR` (issue 17 part 4): a real master, scraped over HTTP with fetch, its
 * page parsed strictly as Prometheus' text format, while a scripted slave, `piw add` and
 * `piw import` make the figures move; a second master on the same address is refused.
 */
import assert from "node:assert/strict";
import { delay, waitFor } from "./helpers.ts";
import { builtData, helloData, statsData } from "./slave_harness.ts";
import { freePort, masterCommand, masterQueues, PiwProcess } from "../fixtures/piw_process.ts";
import { adminWheel, withMaster } from "../admin/harness.ts";

/** One sample: its labels and value. */
interface ParsedSample {
  labels: Record<string, string>;
  value: number;
}

/** One family of a parsed page. */
interface ParsedFamily {
  type: string;
  help: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** A float as the format writes it (Go's ParseFloat plus NaN and ±Inf); throws otherwise. */
function parseValue(text: string, line: string): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`bad value ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  }
  return Number(text);
}

/** `{a="x",b="y"}` from position `at` of `line`: the labels and where they end. */
function parseLabels(line: string, at: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = at + 1;
  const fail = (why: string): never => {
    throw new Error(`${why} at ${i} in ${JSON.stringify(line)}`);
  };
  while (line[i] !== "}") {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0] ?? fail("bad label name");
    i += name.length;
    if (line[i++] !== "=" || line[i++] !== '"') fail('expected ="');
    let value = "";
    for (;;) {
      const c = line[i++];
      if (c === undefined) fail("unterminated label value");
      if (c === '"') break;
      if (c === "\\") {
        const e = line[i++];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else fail(`bad escape \\${e}`);
      } else value += c;
    }
    if (name in labels) fail(`label ${name} repeated`);
    labels[name] = value;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") fail("expected , or }");
  }
  return [labels, i + 1];
}

/**
 * Parse a text-format page strictly: HELP and TYPE at most once per family and before its
 * samples, families contiguous, valid names, labels and values, no repeated series, a final
 * newline. Throws on anything else.
 */
function parsePrometheus(page: string): Map<string, ParsedFamily> {
  if (!page.endsWith("\n")) throw new Error("page does not end with a newline");
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  let current: string | null = null;
  const family = (name: string): ParsedFamily => {
    if (!NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}`);
    if (name !== current) {
      if (families.has(name)) throw new Error(`family ${name} is not contiguous`);
      families.set(name, { type: "", help: "", samples: [] });
      current = name;
    }
    return families.get(name)!;
  };
  for (const line of page.slice(0, -1).split("\n")) {
    if (line === "") throw new Error("empty line");
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]);
      if (f.samples.length) throw new Error(`${meta[1]} after samples of ${meta[2]}`);
      if (meta[1] === "HELP") {
        if (f.help) throw new Error(`second HELP for ${meta[2]}`);
        if (/\\[^\\n]/.test(meta[3].replace(/\\\\/g, ""))) throw new Error(`bad escape: ${line}`);
        f.help = meta[3];
      } else {
        if (f.type) throw new Error(`second TYPE for ${meta[2]}`);
        if (!TYPES.has(meta[3])) throw new Error(`bad type: ${line}`);
        f.type = meta[3];
      }
      continue;
    }
    if (line.startsWith("#")) throw new Error(`unexpected comment: ${line}`);
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    let rest = name.length;
    let labels: Record<string, string> = {};
    if (line[rest] === "{") [labels, rest] = parseLabels(line, rest);
    const tail = line.slice(rest);
    const parts = /^ (\S+)( -?\d+)?$/.exec(tail);
    if (!parts) throw new Error(`bad sample value in ${JSON.stringify(line)}`);
    const f = family(name);
    if (!f.type) throw new Error(`sample of ${name} before its TYPE`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`repeated series ${line}`);
    seen.add(key);
    f.samples.push({ labels, value: parseValue(parts[1], line) });
  }
  return families;
}

/** The value of `name` with exactly `labels`, or undefined. */
function valueOf(
  page: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return page.get(name)?.samples.find((s) =>
    JSON.stringify(Object.entries(s.labels).sort()) === want
  )
    ?.value;
}

Deno.test("the test's parser rejects malformed pages", () => {
  const good = '# HELP a_b x\n# TYPE a_b gauge\na_b{x="1\\"\\n"} 2.5e3\na_b 1\n';
  assert.equal(valueOf(parsePrometheus(good), "a_b", { x: '1"\n' }), 2500);
  for (
    const bad of [
      "# TYPE a gauge\na 1",
      "a 1\n",
      "# TYPE a gauge\na{x=1} 1\n",
      '# TYPE a gauge\na{x="1"} one\n',
      "# TYPE 1a gauge\n",
      "# TYPE a gauge\n# TYPE a counter\n",
      "# TYPE a gauge\na 1\na 2\n",
      "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",
      '# TYPE a gauge\na{x="\\q"} 1\n',
      "# TYPE a gauge\n\na 1\n",
      "# TYPE a wobbly\n",
    ]
  ) {
    assert.throws(() => parsePrometheus(bad), Error, JSON.stringify(bad));
  }
});

Deno.test({
  name: "piw master --metrics serves Prometheus text whose figures follow the farm",
  async fn() {
    const wheel = await adminWheel();
    const address = `127.0.0.1:${freePort()}`;
    const url = `http://${address}/metrics`;
    const scrape = async () => {
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(
        response.headers.get("content-type"),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      return parsePrometheus(await response.text());
    };
    /** Scrape until `check` holds (the figures are sampled on timers). */
    const until = async (what: string, check: (page: Map<string, ParsedFamily>) => boolean) => {
      let last = new Map<string, ParsedFamily>();
      await waitFor(
        async () => {
          last = await scrape();
          if (check(last)) return true;
          await delay(250);
          return false;
        },
        90_000,
        what,
      );
      return last;
    };
    await withMaster(
      async (master, db, slave) => {
        const tool = async (args: string[]) => {
          const r = await master.tool(args);
          assert.equal(r.code, 0, `piw ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
        };
        const first = await until(
          "the first database sample and STATS",
          (page) =>
            valueOf(page, "piw_database_up") === 1 &&
            valueOf(page, "piw_build_queue_length", { abi: "cp311" }) !== undefined,
        );
        for (
          const [name, type] of [
            ["piw_build_queue_length", "gauge"],
            ["piw_builds_last_hour", "gauge"],
            ["piw_retries_pending", "gauge"],
            ["piw_slaves", "gauge"],
            ["piw_transfer_bytes_total", "counter"],
            ["piw_disk_size_bytes", "gauge"],
            ["piw_disk_free_bytes", "gauge"],
            ["piw_database_up", "gauge"],
            ["piw_database_latency_seconds", "gauge"],
            ["piw_master_start_time_seconds", "gauge"],
          ]
        ) {
          assert.equal(first.get(name)?.type, type, `${name} is a ${type}`);
          assert.ok(first.get(name)!.help, `${name} has help`);
        }
        assert.equal(valueOf(first, "piw_build_queue_length", { abi: "cp311" }), 0);
        assert.equal(valueOf(first, "piw_slaves", { state: "idle" }), 0);
        assert.equal(valueOf(first, "piw_transfer_bytes_total"), 0);
        assert.equal(first.get("piw_builds_last_hour")!.samples.length, 0);
        assert.equal(first.get("piw_retries_pending")!.samples.length, 0);
        assert.ok(valueOf(first, "piw_disk_free_bytes")! > 0);
        assert.ok(valueOf(first, "piw_database_latency_seconds")! >= 0);
        const started = valueOf(first, "piw_master_start_time_seconds");
        assert.ok(started && Math.abs(started - Date.now() / 1000) < 600, `start time ${started}`);

        // A slave says HELLO: one idle slave. Something to build: it is handed out and fails.
        await tool(["add", "-y", "metrics-pkg", "-d", "a package"]);
        await tool(["add", "-y", "metrics-pkg", "1.0", "-r", "2020-01-01 00:00:00"]);
        assert.equal((await slave.call({ name: "HELLO", data: helloData() })).name, "ACK");
        await until(
          "one idle slave",
          (page) => valueOf(page, "piw_slaves", { state: "idle" }) === 1,
        );
        const build = await slave.nextBuild();
        assert.deepEqual(build, ["metrics-pkg", "1.0"]);
        await until(
          "one building slave",
          (page) =>
            valueOf(page, "piw_slaves", { state: "building" }) === 1 &&
            valueOf(page, "piw_slaves", { state: "idle" }) === 0,
        );
        // It failed on the network: counted under its failure class, with its retry pending.
        const networkFailure: ReturnType<typeof builtData> = [
          false,
          builtData(false)[1],
          "WARNING: Retrying after connection broken by 'NewConnectionError(Connection refused)'\n" +
          "ERROR: Could not find a version that satisfies the requirement metrics-pkg==1.0\n" +
          "ERROR: No matching distribution found for metrics-pkg==1.0\n",
          [],
        ];
        assert.equal(
          (await slave.call({ name: "BUILT", data: networkFailure }, 20_000)).name,
          "DONE",
        );
        await until(
          "a failed build counted with its class, and its retry pending",
          (page) =>
            valueOf(page, "piw_builds_last_hour", {
                abi: "cp311",
                result: "failure",
                class: "network",
              }) === 1 && valueOf(page, "piw_retries_pending", { abi: "cp311" }) === 1,
        );

        // piw import sends a wheel through FileJuggler: the transfer bytes rise by its size.
        await tool(["add", "-y", "piw-admin-pkg", "-d", "a package"]);
        await tool(["add", "-y", "piw-admin-pkg", "1.0"]);
        await tool(["import", "-y", "--abi", "cp311", wheel.path]);
        const size = (await Deno.stat(wheel.path)).size;
        await until(
          "the imported wheel's bytes counted",
          (page) =>
            valueOf(page, "piw_transfer_bytes_total") === size &&
            valueOf(page, "piw_builds_last_hour", { abi: "cp311", result: "success" }) === 1,
        );

        // Many scrapes at once are all served, and the farm still answers its slave.
        const pages = await Promise.all(Array.from({ length: 50 }, () => scrape()));
        assert.ok(pages.every((page) => valueOf(page, "piw_transfer_bytes_total") === size));
        assert.equal((await slave.call({ name: "IDLE", data: statsData() }, 20_000)).name, "SLEEP");
        const other = await fetch(`http://${address}/`);
        assert.equal(other.status, 404);
        await other.body?.cancel();

        // The address has one owner: a second master is refused in one line, naming the first.
        const second = new PiwProcess("second master", [
          ...masterCommand(
            db.dsn,
            Deno.makeTempDirSync({ prefix: "piw-metrics-www-" }),
            masterQueues(`/tmp/piw-test-${crypto.randomUUID().slice(0, 8)}-`),
          ),
          ...master.pypi.masterArgs,
          "--metrics",
          address,
        ]);
        assert.equal(await second.exit(60_000), 1, second.lines.join("\n"));
        assert.deepEqual(second.lines.filter((line) => line.trim() !== ""), [
          `piw master: metrics address ${address} is in use by process ${master.process.pid} ` +
          "(piw master)",
        ]);
        assert.equal(valueOf(await scrape(), "piw_transfer_bytes_total"), size);
      },
      undefined,
      ["--metrics", address],
    );
  },
});

Deno.test({
  name: "piw master refuses a --metrics address that is not HOST:PORT in one line",
  async fn() {
    const output = await Deno.makeTempDir({ prefix: "piw-metrics-www-" });
    try {
      for (const address of ["9100", "localhost:http", "127.0.0.1:70000", "a b:1"]) {
        const master = new PiwProcess("master", [
          "master",
          "--dsn",
          `pglite://${output}/none`,
          "-o",
          output,
          "--metrics",
          address,
        ]);
        assert.equal(await master.exit(60_000), 2, master.lines.join("\n"));
        assert.deepEqual(master.lines.filter((line) => line.trim() !== ""), [
          `piw master: invalid --metrics address '${address}': expected HOST:PORT, e.g. ` +
          "127.0.0.1:9100",
          "Try 'piw master --help' for more information.",
        ]);
      }
    } finally {
      await Deno.remove(output, { recursive: true });
    }
  },
});
