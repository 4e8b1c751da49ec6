/**
 * The slave's look for the Debian table's headers, libraries and tools (`src/slave/libraries.ts`)
 * on real directories, and the HAVE message it sends.
 */
import assert from "node:assert/strict";
import { librariesFound, searchDirs } from "../../src/slave/libraries.ts";
import { interpreterFacts } from "../../src/system/facts.ts";
import { decodeMessage, encodeMessage, slaveExtrasProtocol } from "../../src/protocols/mod.ts";

Deno.test("a header on CPATH, a library on LIBRARY_PATH and a tool on PATH are found", async () => {
  const facts = await interpreterFacts("python3");
  const dir = await Deno.makeTempDir({ prefix: "piw-libs-" });
  try {
    for (const sub of ["include", "lib", "bin"]) await Deno.mkdir(`${dir}/${sub}`);
    const env = { PATH: "/usr/bin:/bin" };
    const before = librariesFound(searchDirs(facts, env));
    // The target Python's own header is always there; these are not on this machine.
    assert.ok(before.includes("Python.h"), before.join(" "));
    for (const name of ["snappy-c.h", "-lsnappy", "geos-config"]) {
      assert.ok(!before.includes(name), `${name} found before it is there`);
    }
    await Deno.writeTextFile(`${dir}/include/snappy-c.h`, "");
    await Deno.writeTextFile(`${dir}/lib/libsnappy.so`, "");
    await Deno.writeTextFile(`${dir}/bin/geos-config`, "");
    const after = librariesFound(searchDirs(facts, {
      CPATH: `${dir}/include`,
      LIBRARY_PATH: `relative/dirs/are/ignored:${dir}/lib`,
      PATH: `${dir}/bin:/usr/bin`,
    }));
    for (const name of ["snappy-c.h", "-lsnappy", "geos-config", "Python.h"]) {
      assert.ok(after.includes(name), `${name} not found: ${after.join(" ")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HAVE carries the slave id and the names, and nothing else decodes as it", () => {
  const bytes = encodeMessage(slaveExtrasProtocol.reversed(), "HAVE", [3, ["ffi.h", "-lssl"]]);
  assert.deepEqual(decodeMessage(slaveExtrasProtocol, bytes), {
    name: "HAVE",
    data: [3, ["ffi.h", "-lssl"]],
  });
  assert.throws(() => decodeMessage(slaveExtrasProtocol, new TextEncoder().encode("HAVE 3")));
  assert.throws(() =>
    decodeMessage(
      slaveExtrasProtocol,
      encodeMessage(slaveExtrasProtocol.reversed(), "HAVE", ["x", []] as never),
    )
  );
});
