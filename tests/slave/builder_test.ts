import assert from "node:assert/strict";
import { build } from "../../src/slave/builder.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import { fileStateTuple } from "../../src/slave/inspect.ts";
import { parseWheelFilename } from "../../src/wheel/filename.ts";
import { createFixtureIndex, hermeticPipEnv } from "../fixtures/package_index.ts";

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

// Member names of a zip according to Python's zipfile (independent of our reader).
async function zipNames(path: string): Promise<string[]> {
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
      path,
    ],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

Deno.test("builds a pure-Python wheel and describes it fully", async () => {
  const index = await createFixtureIndex([{
    name: "Piw_Pure.Pkg",
    version: "1.0-1",
    requiresPython: ">=3.8",
    requiresDist: [
      "Requests>=2",
      "typing_extensions; python_version < '3.11'",
      "pytest; extra == 'test'",
    ],
  }]);
  try {
    const result = await build("piw-pure-pkg", "1.0-1", {
      indexUrl: index.url,
      env: hermeticPipEnv(),
    });
    try {
      assert.equal(result.status, true, result.output);
      assert.equal(result.package, "piw-pure-pkg");
      assert.equal(result.version, "1.0-1");
      assert.ok(result.durationMs > 0);
      assert.match(result.output, /Successfully built/);
      assert.equal(result.files.length, 1);
      const [f] = result.files;
      // Older setuptools keep the name's spelling ("Piw_Pure.Pkg-..."); newer ones escape it.
      const parsed = parseWheelFilename(f.filename);
      assert.equal(parsed.canonicalName, "piw-pure-pkg");
      assert.equal(parsed.version, "1.0.post1");
      assert.equal(f.path, `${result.dir}/wheels/${f.filename}`);
      assert.equal(f.filesize, (await Deno.stat(f.path)).size);
      assert.equal(f.filehash, await sha256(f.path));
      assert.match(f.filehash, /^[0-9a-f]{64}$/);
      assert.equal(f.packageTag, f.filename.split("-")[0]);
      assert.equal(f.packageVersionTag, "1.0.post1");
      assert.deepEqual([f.pyVersionTag, f.abiTag, f.platformTag], ["py3", "none", "any"]);
      assert.equal(f.requiresPython, ">=3.8");
      assert.equal(f.requiresDist.length, 3);
      assert.deepEqual(f.dependencies, { pip: ["requests", "typing-extensions"] });
      assert.equal(f.location, "/simple");
      const tuple = fileStateTuple(f);
      assert.equal(tuple.length, 11);
      assert.deepEqual(tuple.slice(0, 3), [f.filename, f.filesize, f.filehash]);
      assert.equal(tuple[10], "/simple");
    } finally {
      await result.cleanup();
    }
    assert.equal(await exists(result.dir), false);
  } finally {
    await index.close();
  }
});

Deno.test("builds a C extension into a platform wheel with its apt dependencies", async () => {
  const index = await createFixtureIndex([
    { name: "piw-cext", version: "2.0", kind: "cext", libraries: ["m"] },
  ]);
  try {
    const [facts, result] = await Promise.all([
      interpreterFacts("python3"),
      build("piw-cext", "2.0", { python: "python3", indexUrl: index.url, env: hermeticPipEnv() }),
    ]);
    try {
      assert.equal(result.status, true, result.output);
      assert.equal(result.files.length, 1);
      const [f] = result.files;
      assert.equal(f.pyVersionTag, `cp${facts.pyVersion}`);
      assert.equal(f.abiTag, facts.abi);
      assert.equal(f.platformTag, facts.platform);
      assert.equal(
        f.filename,
        `piw_cext-2.0-cp${facts.pyVersion}-${facts.abi}-${facts.platform}.whl`,
      );
      assert.equal(f.filehash, await sha256(f.path));
      assert.ok((await zipNames(f.path)).some((n) => /^piw_cext\/_speedups\..*\.so$/.test(n)));
      assert.ok(f.dependencies.apt?.includes("libc6"), JSON.stringify(f.dependencies));
      assert.equal(f.dependencies[""], undefined, "no orphan libraries");
      assert.equal(f.dependencies.pip, undefined);
      assert.equal(f.requiresPython, null);
    } finally {
      await result.cleanup();
    }
  } finally {
    await index.close();
  }
});
