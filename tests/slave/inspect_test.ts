import assert from "node:assert/strict";
import { inspectWheel } from "../../src/slave/inspect.ts";
import { libraryDependencies, linkedLibraries, packageOwners } from "../../src/slave/deps.ts";
import { BadWheelError } from "../../src/wheel/errors.ts";

// Write a zip with Python's zipfile; members are given as base64 so binaries fit.
async function writeZip(path: string, members: Record<string, Uint8Array | string>) {
  const spec: Record<string, string> = {};
  for (const [name, data] of Object.entries(members)) {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    spec[name] = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  }
  const script = "import base64, json, sys, zipfile\n" +
    "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n" +
    "    for name, data in json.load(sys.stdin).items():\n" +
    "        z.writestr(zipfile.ZipInfo(name), base64.b64decode(data))\n";
  const child = new Deno.Command("python3", { args: ["-c", script, path], stdin: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(spec)));
  await w.close();
  assert.ok((await child.status).success);
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const METADATA = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n" +
  "Requires-Dist: six\n\n";

Deno.test("fails a wheel without METADATA with BadWheelError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/demo-1.0-py3-none-any.whl`;
    await writeZip(path, { "demo/__init__.py": "" });
    await assert.rejects(inspectWheel(path, `${dir}/work`), BadWheelError);
  });
});

Deno.test("rewrites the retired noabi tag to none", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/demo-1.0-py3-noabi-any.whl`;
    await writeZip(path, { "demo-1.0.dist-info/METADATA": METADATA });
    const f = await inspectWheel(path, `${dir}/work`);
    assert.equal(f.abiTag, "none");
    assert.deepEqual(f.dependencies, { pip: ["six"] });
  });
});

Deno.test("finds libraries of ELF objects only, never extracting outside the work dir", async () => {
  await withTempDir(async (dir) => {
    const elf = await Deno.readFile(await Deno.realPath("/bin/true"));
    const path = `${dir}/demo-1.0-cp311-cp311-linux_x86_64.whl`;
    await writeZip(path, {
      "demo-1.0.dist-info/METADATA": METADATA,
      "demo/real.so": elf,
      "demo/libs/real.so.1": elf,
      "demo/fake.so": "not an ELF object",
      "../escape.so": elf,
      "demo/../../escape2.so": elf,
    });
    const work = `${dir}/work`;
    await Deno.mkdir(work);
    const deps = await libraryDependencies(path, work);
    assert.ok(deps.apt.includes("libc6"), JSON.stringify(deps));
    assert.deepEqual(deps.orphans, []);
    const extracted: string[] = [];
    for await (const e of Deno.readDir(`${work}/demo`)) extracted.push(e.name);
    assert.deepEqual(extracted.sort(), ["libs", "real.so"]);
    for (const stray of [`${dir}/escape.so`, `${dir}/escape2.so`, `${dir}/../escape2.so`]) {
      await assert.rejects(Deno.stat(stray), Deno.errors.NotFound);
    }
  });
});

Deno.test("attributes libraries to Debian packages across usrmerge paths", async () => {
  const libs = await linkedLibraries("/bin/sh");
  const libc = libs.find((p) => /\/libc\.so\.6$/.test(p));
  assert.ok(libc, `libc among ${libs}`);
  const aliased = libc.startsWith("/usr/") ? libc.slice(4) : `/usr${libc}`;
  const owners = await packageOwners([libc, aliased, "/nonexistent/libnothing.so"]);
  assert.equal(owners.get(libc), "libc6");
  assert.equal(owners.get(aliased), "libc6");
  assert.equal(owners.has("/nonexistent/libnothing.so"), false);
});

Deno.test("asks the target interpreter's environment for libraries and their packages", async () => {
  // A target whose ldd and dpkg-query differ from the host's, as a chroot's would: the answers
  // must come from the target's tools, not the host's.
  const dir = await Deno.makeTempDir({ prefix: "piw-target-" });
  try {
    const fakeLib = `${dir}/libtarget.so.1.2`;
    await Deno.writeTextFile(fakeLib, "");
    await Deno.symlink(fakeLib, `${dir}/libtarget.so.1`);
    await Deno.mkdir(`${dir}/bin`);
    const script = (name: string, body: string) =>
      Deno.writeTextFile(`${dir}/bin/${name}`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    await script("ldd", `echo "\tlibtarget.so.1 => ${dir}/libtarget.so.1 (0x00007f0000000000)"`);
    await script("dpkg-query", `echo "libtarget1:armhf: ${fakeLib}"`);
    const python = `${dir}/python3-target`;
    await Deno.writeTextFile(
      python,
      `#!/bin/sh\nPATH="${dir}/bin:$PATH" exec python3 "$@"\n`,
      { mode: 0o755 },
    );
    assert.deepEqual(await linkedLibraries("/bin/sh", undefined, python), [fakeLib]);
    const owners = await packageOwners([fakeLib], undefined, python);
    assert.equal(owners.get(fakeLib), "libtarget1");
    // The host's own tools give the host's answer for the same question.
    assert.ok(!(await linkedLibraries("/bin/sh")).includes(fakeLib));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
