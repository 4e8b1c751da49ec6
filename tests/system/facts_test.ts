import assert from "node:assert/strict";
import { boardFacts, interpreterFacts, osFacts } from "../../src/system/facts.ts";
import { PiwError } from "../../src/errors.ts";

// Ground truth from the interpreter itself, partly via pip's own copy of packaging.
const TRUTH = `
import json, platform, sys, sysconfig
from pip._vendor.packaging import tags
tag = next(iter(tags.sys_tags()))
print(json.dumps({
    "pyVersion": tags.interpreter_version(),
    "abi": tag.abi,
    "platform": sysconfig.get_platform().replace("-", "_").replace(".", "_"),
    "pythonVersion": platform.python_version(),
    "executable": sys.executable,
    "soabi": sysconfig.get_config_var("SOABI"),
    "bits": 64 if sys.maxsize > 2**32 else 32,
}))
`;

async function truth(python: string) {
  const out = await new Deno.Command(python, { args: ["-c", TRUTH], stdout: "piped" }).output();
  assert.ok(out.success);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const interpreters = ["python3"];
try {
  Deno.statSync("/usr/bin/python3");
  interpreters.push("/usr/bin/python3");
} catch {
  // Only the python3 on PATH, then.
}

for (const python of interpreters) {
  Deno.test(`reports the tags of ${python} as the interpreter itself computes them`, async () => {
    const [facts, expected] = await Promise.all([interpreterFacts(python), truth(python)]);
    assert.equal(facts.pyVersion, expected.pyVersion);
    assert.equal(facts.abi, expected.abi);
    assert.match(facts.abi, /^cp3\d+d?$/);
    assert.equal(facts.abi, "cp" + expected.soabi.split("-")[1]);
    assert.equal(facts.pythonVersion, expected.pythonVersion);
    assert.equal(facts.executable, expected.executable);
    assert.equal(facts.implementation, "cp");
    if (expected.bits === 64) assert.equal(facts.platform, expected.platform);
    assert.match(facts.platform, /^linux_[a-z0-9_]+$/);
    assert.ok(
      expected.pythonVersion.startsWith(`${facts.pyVersion[0]}.${facts.pyVersion.slice(1)}`),
    );
  });
}

Deno.test("fails clearly for an interpreter that does not exist", async () => {
  await assert.rejects(interpreterFacts("/nonexistent/python9"), PiwError);
});

Deno.test("reads NAME and VERSION from os-release, unquoting as a shell would", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(
      path,
      'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nNAME="Raspbian GNU/Linux"\n' +
        "VERSION_ID=\"11\"\nVERSION='11 (bullseye)'\nID=raspbian\n",
    );
    assert.deepEqual(await osFacts(path), {
      osName: "Raspbian GNU/Linux",
      osVersion: "11 (bullseye)",
    });
    await Deno.writeTextFile(path, "NAME=Alpine\n");
    assert.deepEqual(await osFacts(path), { osName: "Alpine", osVersion: "" });
  } finally {
    await Deno.remove(path);
  }
  assert.deepEqual(await osFacts("/nonexistent"), { osName: "Linux", osVersion: "" });
});

Deno.test("reads this machine's os-release", async () => {
  const facts = await osFacts();
  assert.ok(facts.osName.length > 0);
});

Deno.test("reads the board revision and serial as hex, or unknown", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/linux,revision`, new Uint8Array([0x00, 0xa0, 0x20, 0x82]));
    await Deno.writeFile(
      `${dir}/linux,serial`,
      new Uint8Array([0, 0, 0, 0, 0x1f, 0x2e, 0x3d, 0x4c]),
    );
    assert.deepEqual(await boardFacts(dir), { boardRevision: "a02082", boardSerial: "1f2e3d4c" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(await boardFacts("/nonexistent"), {
    boardRevision: "unknown",
    boardSerial: "unknown",
  });
});
