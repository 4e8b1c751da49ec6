/**
 * The failure classifier on real failed builds' output (tests/fixtures/pip_failures/).
 */
import assert from "node:assert/strict";
import { classifyFailure, TRANSIENT_CLASSES } from "../../src/failures/classify.ts";
import { debianPackageFor } from "../../src/failures/debian.ts";
import { FAILURE_CASES, failureOutput } from "../fixtures/pip_failures.ts";

// Each recorded output is a real failed build (tests/fixtures/pip_failures.ts made them).
const EXPECTED: Record<string, [string, string, string]> = {
  "no-sdist-wheel-only": ["no-sdist", "", "No matching distribution found for piw-wheelonly"],
  "no-sdist-version-missing": ["no-sdist", "", "No matching distribution found for piw-later"],
  "dependency-not-found": [
    "dependency-missing",
    "piw-absent-helper>=1.0",
    "No matching distribution found for piw-absent-helper",
  ],
  "network-refused": ["network", "", "Connection refused"],
  "timeout": ["timeout", "", "Build timed out after 4 s"],
  "out-of-memory": ["out-of-memory", "", "MemoryError"],
  "killed": ["out-of-memory", "", "exit code: -9"],
  "missing-header": ["missing-library", "portaudio.h", "fatal error: portaudio.h"],
  "missing-library": ["missing-library", "-lsnappy", "cannot find -lsnappy"],
  "requires-python": ["unsupported-python", "", "Requires-Python >=4"],
  "compiler-error": ["compiler-error", "", "expected expression before"],
  "other": ["other", "", "piw-fixture: deliberate build failure"],
};

for (const [name, [failureClass, detail, shown]] of Object.entries(EXPECTED)) {
  Deno.test(`classifyFailure: real pip output ${name} is ${failureClass}`, async () => {
    const c = FAILURE_CASES[name];
    const failure = classifyFailure(await failureOutput(name), c.package, c.version);
    assert.deepEqual(failure.failureClass, failureClass);
    assert.deepEqual(failure.detail, detail);
    assert.ok(failure.lines.includes(shown), failure.lines);
    assert.deepEqual(failure.lines.split("\n").length <= 4, true);
  });
}

Deno.test("classifyFailure: the Debian package of a missing header or library", async () => {
  const header = classifyFailure(
    await failureOutput("missing-header"),
    "piw-needsheader",
    "1.0",
  );
  assert.deepEqual(header.debianPackage, "portaudio19-dev");
  const library = classifyFailure(await failureOutput("missing-library"), "piw-needslib", "1.0");
  assert.deepEqual(library.debianPackage, "libsnappy-dev");
  const python = classifyFailure(
    "foo.c:1:10: fatal error: Python.h: No such file or directory\n" +
      "error: command '/usr/bin/gcc' failed with exit code 1\n",
    "foo",
    "1.0",
  );
  assert.deepEqual([python.failureClass, python.detail, python.debianPackage], [
    "missing-library",
    "Python.h",
    "python3-dev",
  ]);
  assert.deepEqual(debianPackageFor("-lssl"), "libssl-dev");
  assert.deepEqual(debianPackageFor("ffi.h"), "libffi-dev");
  assert.deepEqual(debianPackageFor("no-such.h"), null);
});

Deno.test("classifyFailure: a requirement named like the package differently spelt is no-sdist", () => {
  const f = classifyFailure(
    "ERROR: No matching distribution found for Piw_Pure==1.0\n",
    "piw-pure",
    "1.0",
  );
  assert.deepEqual(f.failureClass, "no-sdist");
});

Deno.test("classifyFailure: a network blip pip recovered from does not hide a compiler error", async () => {
  const output = "WARNING: Retrying (Retry(total=4)) after connection broken by " +
    "'NewConnectionError(Connection refused)': /simple/piw-badc/\n" +
    await failureOutput("compiler-error");
  assert.deepEqual(classifyFailure(output, "piw-badc", "1.0").failureClass, "compiler-error");
});

Deno.test("classifyFailure: a huge log is read from its end, and lines are bounded", () => {
  const output = "x".repeat(5_000_000) + "\n" + "E".repeat(5000) + "\n";
  const f = classifyFailure(output, "foo", "1.0");
  assert.deepEqual(f.failureClass, "other");
  assert.deepEqual(f.lines.length <= 1000, true);
});

Deno.test("TRANSIENT_CLASSES: what retries by itself", () => {
  assert.deepEqual([...TRANSIENT_CLASSES].sort(), [
    "dependency-missing",
    "network",
    "no-sdist",
    "out-of-memory",
    "timeout",
  ]);
});
