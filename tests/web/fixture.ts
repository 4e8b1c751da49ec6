/**
 * The project most web tests render: `foo-bar` (display name `Foo.Bar`), put in a real
 * database through `Database`, with real wheels on disk where the file juggler would have put
 * them. Its releases cover every rule of the index:
 * - 2.1rc1: a pre-release wheel;
 * - 2.0: cp311 armv7l wheel (Requires-Python >=3.7, apt and pip dependencies) plus the
 *   armv6l twin symlink, and a failed cp39 build;
 * - 1.3_RC1: a PEP 440 version that is not normalised (published as 1.3rc1);
 * - 1.1: a wheel in the database that is not on disk (no metadata may be advertised);
 * - 1.0: a cp39 wheel; 0.9: a yanked py3 wheel;
 * - 2013d: a legacy (not PEP 440) version, which must be left out;
 * - 0.1: a release with no builds (pending) and its own skip reason.
 * @module
 */
import type { Database } from "../../src/db/mod.ts";
import { fileRecord, writeWheel } from "./helpers.ts";

/** What a test needs to know about the fixture's wheels. */
export interface FooBar {
  /** Wheel filename → its size, sha256 and METADATA text. */
  wheels: Map<string, { size: number; hash: string; metadata: string }>;
  /** Build ids by `<version>/<abi>`. */
  builds: Map<string, number>;
}

/** Put `foo-bar` in `t.db` and its wheels under `<output>/simple/foo-bar/`. */
export async function addFooBar(t: { db: Database }, output: string): Promise<FooBar> {
  const { db } = t;
  const dir = `${output}/simple/foo-bar`;
  const wheels = new Map<string, { size: number; hash: string; metadata: string }>();
  const builds = new Map<string, number>();
  await db.addNewPackage("foo-bar", "", "Frobs the <bar> & more");
  await db.addPackageName("foo-bar", "Foo.Bar", new Date("2024-01-01T00:00:00Z"));
  await db.addPackageName("foo-bar", "foo_bar", new Date("2023-01-01T00:00:00Z"));
  const versions: [string, string][] = [
    ["0.1", "2019-01-01"],
    ["0.9", "2020-01-01"],
    ["1.0", "2021-01-01"],
    ["1.1", "2021-06-01"],
    ["1.3_RC1", "2022-01-01"],
    ["2013d", "2013-01-01"],
    ["2.0", "2023-01-01"],
    ["2.1rc1", "2024-01-01"],
  ];
  for (const [version, date] of versions) {
    await db.addNewPackageVersion("foo-bar", version, new Date(`${date}T12:00:00Z`));
  }
  await db.skipPackageVersion("foo-bar", "0.1", "too old to build");
  await db.yankVersion("foo-bar", "0.9");

  async function built(
    version: string,
    abi: string,
    files: {
      name: string;
      onDisk?: boolean;
      linkTo?: string;
      requiresPython?: string;
      deps?: object;
    }[],
  ): Promise<void> {
    const records = [];
    for (const f of files) {
      let size = 1234, hash = "f".repeat(64);
      if (f.linkTo) {
        // An armv6l twin: a symlink the file juggler made, logged as a file of its own.
        Deno.symlinkSync(f.linkTo, `${dir}/${f.name}`);
        const target = wheels.get(f.linkTo)!;
        wheels.set(f.name, target);
        ({ size, hash } = target);
      } else if (f.onDisk !== false) {
        const w = await writeWheel(dir, f.name, { requiresPython: f.requiresPython });
        wheels.set(f.name, w);
        ({ size, hash } = w);
      }
      records.push(fileRecord(f.name, {
        filesize: size,
        filehash: hash,
        requiresPython: f.requiresPython ?? null,
        dependencies: (f.deps ?? {}) as Record<string, string[]>,
      }));
    }
    const id = await db.logBuild({
      package: "foo-bar",
      version,
      builtBy: 1,
      duration: 60_000,
      status: files.length > 0,
      abiTag: abi,
      files: records,
    });
    builds.set(`${version}/${abi}`, id);
  }

  await built("2.1rc1", "cp311", [{ name: "foo_bar-2.1rc1-cp311-cp311-linux_armv7l.whl" }]);
  await built("2.0", "cp39", []);
  await built("2.0", "cp311", [
    {
      name: "foo_bar-2.0-cp311-cp311-linux_armv7l.whl",
      requiresPython: ">=3.7",
      deps: { apt: ["libfoo1", "libbar2"], pip: ["numpy", "Requests"] },
    },
    {
      name: "foo_bar-2.0-cp311-cp311-linux_armv6l.whl",
      linkTo: "foo_bar-2.0-cp311-cp311-linux_armv7l.whl",
      requiresPython: ">=3.7",
      deps: { apt: ["libfoo1", "libbar2"], pip: ["numpy", "Requests"] },
    },
  ]);
  await built("1.3_RC1", "cp311", [{ name: "foo_bar-1.3_RC1-cp311-cp311-linux_armv7l.whl" }]);
  await built("1.1", "cp311", [{
    name: "foo_bar-1.1-cp311-cp311-linux_armv7l.whl",
    onDisk: false,
  }]);
  await built("1.0", "cp39", [{ name: "foo_bar-1.0-cp39-cp39-linux_armv7l.whl" }]);
  await built("0.9", "cp39", [{ name: "foo_bar-0.9-py3-none-any.whl" }]);
  await built("2013d", "cp39", [{ name: "foo_bar-2013d-py3-none-any.whl" }]);
  return { wheels, builds };
}
