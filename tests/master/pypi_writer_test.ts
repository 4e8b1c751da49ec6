/**
 * PyPIWriter (CloudGazer's core) with a fake oracle and fake queues: what it asks the database,
 * what it gathers per batch and what it tells the web and skip queues, in which order.
 */
import assert from "node:assert/strict";
import type { PackageAction, PackageEvent } from "../../src/pypi/mod.ts";
import { getLogger } from "../../src/log.ts";
import {
  type GazerQueues,
  type OracleCaller,
  PyPIWriter,
  type SkipRequest,
  type WebRequest,
} from "../../src/master/pypi_writer.ts";

/** A database in a few maps, answering the oracle requests the writer makes. */
class FakeOracle {
  readonly log: string[] = [];
  readonly packages = new Map<string, { skip: string; description: string }>();
  readonly versions = new Map<string, { skip: string; yanked: boolean }>();
  readonly names = new Map<string, [string, Date]>();

  call(name: string, data?: unknown): Promise<unknown> {
    this.log.push(name);
    const d = data as never as unknown[];
    const key = () => `${d[0]} ${d[1]}`;
    switch (name) {
      case "ALLPKGS":
        return Promise.resolve(new Set(this.packages.keys()));
      case "NEWPKG":
        if (this.packages.has(d[0] as string)) return Promise.resolve(false);
        this.packages.set(d[0] as string, { skip: d[1] as string, description: d[2] as string });
        return Promise.resolve(true);
      case "SETDESC":
        this.packages.get(d[0] as string)!.description = d[1] as string;
        break;
      case "NEWVER":
        if (this.versions.has(key())) return Promise.resolve(false);
        this.versions.set(key(), { skip: d[3] as string, yanked: false });
        return Promise.resolve(true);
      case "GETSKIP":
        return Promise.resolve(this.versions.get(key())?.skip ?? "");
      case "SKIPVER": {
        const v = this.versions.get(key());
        if (v) v.skip = d[2] as string;
        break;
      }
      case "NEWPKGNAME": {
        const old = this.names.get(d[1] as string);
        const seen = d[2] as Date;
        if (!old || old[1] < seen) this.names.set(d[1] as string, [d[0] as string, seen]);
        break;
      }
      case "DELPKG":
        this.packages.delete(data as string);
        break;
    }
    return Promise.resolve(null);
  }
}

/** Queues that record what they are told; `webDown` makes the web queue not answer. */
class FakeQueues implements GazerQueues {
  readonly sent: string[] = [];
  webDown = false;
  constructor(private readonly oracle: FakeOracle) {}
  web(request: WebRequest): Promise<boolean> {
    if (this.webDown) return Promise.resolve(false);
    this.sent.push(`web ${request.name} ${request.data}`);
    this.oracle.log.push(`web ${request.name}`);
    return Promise.resolve(true);
  }
  skip(request: SkipRequest): Promise<boolean> {
    this.sent.push(`skip ${request.name} ${request.data}`);
    this.oracle.log.push(`skip ${request.name}`);
    return Promise.resolve(true);
  }
}

function setup(devMode = false) {
  const oracle = new FakeOracle();
  const queues = new FakeQueues(oracle);
  const writer = new PyPIWriter(oracle as unknown as OracleCaller, queues, {
    devMode,
    log: getLogger("test.cloud_gazer"),
  });
  return { oracle, queues, writer };
}

let serial = 0;
function event(
  alias: string,
  version: string | null,
  action: PackageAction,
  seconds: number,
  description: string | null = null,
): PackageEvent {
  const pkg = alias.toLowerCase().replace(/[-_.]+/g, "-");
  return {
    package: pkg,
    alias,
    version,
    action,
    description,
    timestamp: new Date(seconds * 1000),
    serial: ++serial,
  };
}

Deno.test("name sightings are gathered per batch, keeping each name's latest time", async () => {
  const { oracle, writer } = setup();
  await writer.apply(event("Foo_Bar", null, "create", 100));
  await writer.apply(event("Foo_Bar", "1.0", "source", 200));
  await writer.apply(event("foo.bar", "1.1", "source", 150));
  assert.ok(!oracle.log.includes("NEWPKGNAME"), "nothing written before flush");
  await writer.flush();
  assert.equal(oracle.log.filter((n) => n === "NEWPKGNAME").length, 3);
  assert.deepEqual([...oracle.names].map(([name, [pkg, seen]]) => [name, pkg, seen.getTime()]), [
    ["Foo_Bar", "foo-bar", 200_000],
    ["foo-bar", "foo-bar", 0],
    ["foo.bar", "foo-bar", 150_000],
  ]);
  // The canonical name is recorded once per run, not once per batch.
  await writer.apply(event("Foo_Bar", "1.2", "source", 300));
  await writer.flush();
  assert.equal(oracle.log.filter((n) => n === "NEWPKGNAME").length, 4);
});

Deno.test("page rewrites are merged per batch, BOTH winning over PROJECT", async () => {
  const { oracle, queues, writer } = setup();
  oracle.packages.set("a", { skip: "", description: "" });
  oracle.versions.set("a 1.0", { skip: "binary only", yanked: false });
  await writer.apply(event("a", "1.0", "source", 1)); // enables 1.0: PROJECT
  assert.deepEqual([...writer.pendingPages], [["a", "PROJECT"]]);
  await writer.apply(event("a", "2.0", "source", 2)); // new version: BOTH
  await writer.apply(event("b", null, "create", 3));
  await writer.flush();
  assert.deepEqual(queues.sent, ["web BOTH a", "web BOTH b"]);
  assert.equal(oracle.versions.get("a 1.0")?.skip, "");
});

Deno.test("a package removal drops its gathered names and pages and is told first", async () => {
  const { oracle, queues, writer } = setup();
  await writer.apply(event("Gone", "1.0", "source", 1));
  await writer.apply(event("Gone", null, "remove", 2));
  assert.deepEqual(oracle.log.slice(-4), ["SKIPPKG", "web DELPKG", "skip DELPKG", "DELPKG"]);
  await writer.flush();
  assert.deepEqual(queues.sent, ["web DELPKG gone", "skip DELPKG gone"]);
  assert.equal(oracle.names.size, 0);
  // Created again later: it is new again.
  await writer.apply(event("Gone", null, "create", 3));
  assert.equal(oracle.log.filter((n) => n === "NEWPKG").length, 2);
});

Deno.test("a version removal is marked, told to both queues, then deleted", async () => {
  const { oracle, writer } = setup();
  await writer.apply(event("v", "1.0", "remove", 1));
  assert.deepEqual(oracle.log, ["SKIPVER", "web DELVER", "skip DELVER", "DELVER"]);
});

Deno.test("an unchanged summary is not written again", async () => {
  const { oracle, writer } = setup();
  oracle.packages.set("s", { skip: "", description: "old" });
  await writer.apply(event("s", "1.0", "source", 1, "new"));
  await writer.apply(event("s", "1.1", "source", 2, "new"));
  await writer.apply(event("s", "1.2", "source", 3, ""));
  assert.equal(oracle.log.filter((n) => n === "SETDESC").length, 1);
  assert.equal(oracle.packages.get("s")?.description, "new", "an empty summary never overwrites");
});

Deno.test("known packages are read once and not added again", async () => {
  const { oracle, writer } = setup();
  oracle.packages.set("k", { skip: "", description: "" });
  await writer.load();
  for (let i = 0; i < 3; i++) await writer.apply(event("k", `1.${i}`, "source", i));
  assert.deepEqual(oracle.log, ["ALLPKGS", "NEWVER", "NEWVER", "NEWVER"]);
});

Deno.test("binary-only versions, dev mode and yanks", async () => {
  const { oracle, writer } = setup(true);
  await writer.apply(event("d", "1.0", "create", 1));
  assert.equal(oracle.packages.get("d")?.skip, "development mode");
  assert.equal(oracle.versions.get("d 1.0")?.skip, "binary only");
  await writer.apply(event("d", "1.0", "yank", 2));
  await writer.apply(event("d", "1.0", "unyank", 3));
  assert.deepEqual(oracle.log.filter((n) => n.endsWith("YANKVER")), ["YANKVER", "UNYANKVER"]);
});

Deno.test("rewrites the web queue did not take wait for the next flush", async () => {
  const { queues, writer } = setup();
  await writer.apply(event("w", "1.0", "source", 1));
  queues.webDown = true;
  await writer.flush();
  assert.deepEqual([...writer.pendingPages], [["w", "BOTH"]]);
  queues.webDown = false;
  writer.reset(); // a replay keeps pending rewrites
  await writer.flush();
  assert.deepEqual(queues.sent, ["web BOTH w"]);
});
