import assert from "node:assert/strict";
import {
  BadWheelError,
  extractWheelMetadata,
  findDistInfoDir,
  readWheelInfo,
} from "../../src/wheel/mod.ts";
import { createFixtureIndex, hermeticPipEnv } from "../fixtures/package_index.ts";

Deno.test("reads METADATA and WHEEL from a wheel pip built", async () => {
  const index = await createFixtureIndex([
    {
      name: "piw-wheelfile",
      version: "1.0.post2",
      requiresPython: ">=3.7",
      requiresDist: ["requests>=2"],
    },
  ]);
  const out = await Deno.makeTempDir();
  try {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(hermeticPipEnv())) if (v !== null) env[k] = v;
    const pip = await new Deno.Command("python3", {
      args: ["-m", "pip", "wheel", "piw-wheelfile==1.0.post2", "--no-deps", "--no-cache-dir"]
        .concat(["--index-url", index.url, "--wheel-dir", out]),
      env,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(pip.success, new TextDecoder().decode(pip.stderr));
    const path = `${out}/piw_wheelfile-1.0.post2-py3-none-any.whl`;
    const info = await readWheelInfo(path);
    assert.equal(info.distInfo, "piw_wheelfile-1.0.post2.dist-info");
    assert.equal(info.metadata.name, "piw-wheelfile");
    assert.equal(info.metadata.version, "1.0.post2");
    assert.equal(info.metadata.requiresPython, ">=3.7");
    // setuptools spells it "requests>=2" or "requests (>=2)" depending on its version.
    assert.equal(info.metadata.requiresDist.length, 1);
    assert.match(info.metadata.requiresDist[0], /^requests ?\(?>=2\)?$/);
    assert.deepEqual(info.wheel?.tags, ["py3-none-any"]);
    assert.equal(info.wheel?.rootIsPurelib, true);

    // The bytes must be exactly those in the archive, as Python's zipfile reads them.
    const truth = await new Deno.Command("python3", {
      args: [
        "-c",
        "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1])" +
        ".read('piw_wheelfile-1.0.post2.dist-info/METADATA'))",
        path,
      ],
      stdout: "piped",
    }).output();
    assert.deepEqual(await extractWheelMetadata(path), truth.stdout);
  } finally {
    await index.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("finds the .dist-info directory by canonical name and version", () => {
  const names = [
    "foo/__init__.py",
    "Foo.Bar-1.0.dist-info/METADATA",
    "Foo.Bar-1.0.dist-info/WHEEL",
    "other-2.0.dist-info/METADATA",
  ];
  assert.equal(findDistInfoDir(names, "foo-bar"), "Foo.Bar-1.0.dist-info");
  assert.equal(findDistInfoDir(names, "foo_bar", "1.0.0"), "Foo.Bar-1.0.dist-info");
  assert.throws(() => findDistInfoDir(names, "foo-bar", "2.0"), BadWheelError);
  assert.throws(() => findDistInfoDir(names, "missing"), /Unable to locate METADATA/);
  assert.throws(
    () => findDistInfoDir(["a-1.dist-info/METADATA", "a-2.dist-info/METADATA"], "a"),
    /Several/,
  );
});
