import assert from "node:assert/strict";
import { build, buildEnvironment, pipCommand } from "../../src/slave/builder.ts";
import { sessionMembers } from "../../src/slave/session.ts";
import {
  createFixtureIndex,
  hermeticPipEnv,
  readPids,
  withHangingBuild,
} from "../fixtures/package_index.ts";
import { processAlive } from "../fixtures/piw_process.ts";

/** Nothing the hanging build started survives: not its processes, nor any in its session. */
async function assertBuildGone(pidFile: string): Promise<void> {
  const { pids, sid } = await readPids(pidFile);
  for (const pid of pids) assert.ok(!processAlive(pid), `process ${pid} survived`);
  assert.deepEqual(sessionMembers(sid), []);
}

Deno.test("reports a failing build with pip's log", async () => {
  const index = await createFixtureIndex([{ name: "piw-fail", version: "1.0", kind: "fail" }]);
  try {
    const result = await build("piw-fail", "1.0", { indexUrl: index.url, env: hermeticPipEnv() });
    await result.cleanup();
    assert.equal(result.status, false);
    assert.deepEqual(result.files, []);
    assert.match(result.output, /piw-fixture: piw-fail refuses to build/);
    assert.match(result.output, /deliberate build failure/);
    assert.ok(result.durationMs > 0);
  } finally {
    await index.close();
  }
});

Deno.test("reports a version the index does not have as a failure", async () => {
  const index = await createFixtureIndex([{ name: "piw-there", version: "1.0" }]);
  try {
    const result = await build("piw-there", "9.9", { indexUrl: index.url, env: hermeticPipEnv() });
    await result.cleanup();
    assert.equal(result.status, false);
    assert.match(result.output, /No matching distribution found for piw-there==9\.9/);
  } finally {
    await index.close();
  }
});

Deno.test("kills a hanging build and its whole process tree at the timeout", async () => {
  await withHangingBuild(
    { name: "piw-hang", version: "1.0", ignoreSigterm: true },
    async (index, pidFile) => {
      const timeoutMs = 8000, killGraceMs = 1000;
      const started = Date.now();
      const result = await build("piw-hang", "1.0", {
        indexUrl: index.url,
        env: hermeticPipEnv(),
        timeoutMs,
        killGraceMs,
      });
      const elapsed = Date.now() - started;
      await result.cleanup();
      assert.equal(result.status, false);
      assert.deepEqual(result.files, []);
      assert.match(result.output, /Build timed out after 8 s/);
      assert.ok(elapsed >= timeoutMs + killGraceMs - 100, `took ${elapsed} ms`);
      assert.ok(elapsed < timeoutMs + killGraceMs + 10_000, `took ${elapsed} ms`);
      // The backend ran (so the timeout, not pip, ended it) and nothing it started survives:
      // not the SIGTERM-ignoring backend, nor the child that left its process group.
      await assertBuildGone(pidFile);
    },
  );
});

Deno.test("stops a build when aborted, taking its processes with it", async () => {
  await withHangingBuild({ name: "piw-skip", version: "1.0" }, async (index, pidFile) => {
    const controller = new AbortController();
    const running = build("piw-skip", "1.0", {
      indexUrl: index.url,
      env: hermeticPipEnv(),
      signal: controller.signal,
      killGraceMs: 60_000,
    });
    for (let i = 0; i < 300; i++) {
      try {
        await Deno.stat(pidFile);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    controller.abort("SKIP from the master");
    const started = Date.now();
    const result = await running;
    await result.cleanup();
    // The grace is 60 s: ending well within it means SIGTERM sufficed.
    assert.ok(Date.now() - started < 30_000, "SIGTERM sufficed; no need to wait for the grace");
    assert.equal(result.status, false);
    assert.match(result.output, /Build aborted \(SKIP from the master\)/);
    await assertBuildGone(pidFile);
  });
});

Deno.test("runs pip in a fresh directory with piwheels' environment and memory limit", async () => {
  // A backend that reports what it sees, then fails so that pip shows its output.
  const report = `import os, resource
def get_requires_for_build_wheel(config_settings=None):
    print("CWD=" + os.getcwd())
    for k in ("PIWHEELS_BUILD", "GIT_ALLOW_PROTOCOL", "OPENSSL_STATIC", "TMPDIR", "PATH", "PIW_X"):
        print(k + "=" + os.environ.get(k, "<unset>"))
    print("RLIMIT_DATA=%d" % resource.getrlimit(resource.RLIMIT_DATA)[0])
    raise SystemExit("reported")
build_wheel = build_sdist = get_requires_for_build_wheel
`;
  const index = await createFixtureIndex([
    { name: "piw-env", version: "1.0", kind: "fail-fast", files: { "fixture_backend.py": report } },
  ]);
  try {
    const limit = 2 * 1024 ** 3;
    const result = await build("piw-env", "1.0", {
      indexUrl: index.url,
      env: { ...hermeticPipEnv(), PIW_X: "x" },
      memoryLimit: limit,
    });
    await result.cleanup();
    assert.equal(result.status, false);
    const seen = new Map(
      [...result.output.matchAll(/^\s*(\w+)=(.*)$/gm)].map((m) => [m[1], m[2].trim()]),
    );
    assert.equal(seen.get("PIWHEELS_BUILD"), "1");
    assert.equal(seen.get("GIT_ALLOW_PROTOCOL"), "file");
    assert.equal(seen.get("OPENSSL_STATIC"), "1");
    assert.equal(seen.get("PIW_X"), "x");
    assert.ok(seen.get("TMPDIR")?.startsWith(result.dir), seen.get("TMPDIR"));
    // pip unpacks the sdist into its own temporary directory, which lies under our TMPDIR.
    assert.ok(seen.get("CWD")?.startsWith(result.dir), seen.get("CWD"));
    assert.equal(seen.get("RLIMIT_DATA"), String(limit));
  } finally {
    await index.close();
  }
});

Deno.test("a build that allocates more than the memory limit fails and says why", async () => {
  // A backend that asks for 1.5 GiB (more than piwheels' 1 GiB RLIMIT_DATA) at once.
  const greedy = `def get_requires_for_build_wheel(config_settings=None):
    block = bytearray(1536 * 1024 * 1024)
    return []
build_wheel = build_sdist = get_requires_for_build_wheel
`;
  const index = await createFixtureIndex([
    {
      name: "piw-greedy",
      version: "1.0",
      kind: "fail-fast",
      files: { "fixture_backend.py": greedy },
    },
  ]);
  try {
    const result = await build("piw-greedy", "1.0", {
      indexUrl: index.url,
      env: hermeticPipEnv(),
      memoryLimit: 1024 ** 3,
    });
    await result.cleanup();
    assert.equal(result.status, false);
    assert.match(result.output, /MemoryError/);
    assert.match(
      result.output,
      /^Build ran out of memory: its data size is limited to 1 GiB \(piw slave --memory-limit\)$/m,
    );
  } finally {
    await index.close();
  }
});

Deno.test("states the pip command and environment piwheels uses", () => {
  const cmd = pipCommand("foo", "1.0", {
    python: "python3.11",
    wheelDir: "/w",
    indexUrl: "https://pypi.org/simple/",
    extraIndexUrls: ["https://www.piwheels.org/simple"],
  });
  assert.deepEqual(cmd.slice(0, 5), ["python3.11", "-m", "pip", "wheel", "foo==1.0"]);
  for (
    const opt of [
      "--wheel-dir=/w",
      "--no-deps",
      "--no-cache-dir",
      "--no-binary=foo",
      "--index-url=https://pypi.org/simple/",
      "--extra-index-url=https://www.piwheels.org/simple",
    ]
  ) assert.ok(cmd.includes(opt), opt);
  const env = buildEnvironment("/t", { DROP: null }, { HOME: "/home/u", PATH: "/bin", DROP: "1" });
  assert.equal(env.PATH, "/home/u/.cargo/bin:/bin");
  assert.equal(env.TMPDIR, "/t");
  assert.equal("DROP" in env, false);
});

Deno.test("does not start a build that was aborted before it began", async () => {
  const controller = new AbortController();
  controller.abort("shutting down");
  const result = await build("anything", "1.0", {
    indexUrl: "http://127.0.0.1:9/simple/",
    signal: controller.signal,
  });
  await result.cleanup();
  assert.equal(result.status, false);
  assert.match(result.output, /Build aborted \(shutting down\)/);
});
