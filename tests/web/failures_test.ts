/**
 * A failed build's class on the project page (under its ✗, with the lines in the tooltip) and in
 * the project JSON, rendered by the real templates; and the home page's counts by class.
 */
import assert from "node:assert/strict";
import type { ProjectData } from "../../src/db/types.ts";
import { projectJson, renderProjectPage } from "../../src/web/project.ts";
import { failureRows } from "../../src/web/home.ts";
import { Templates } from "../../src/web/templates.ts";

const AT = new Date(Date.UTC(2026, 0, 1, 12));
const RETRY = new Date(Date.UTC(2026, 0, 1, 12, 10));

function data(): ProjectData {
  const failure = (buildId: number, abiTag: string, rest: Record<string, unknown>) => ({
    buildId,
    abiTag,
    status: false,
    builtAt: AT,
    builtBy: 1,
    durationMs: 1,
    ...rest,
  });
  return {
    package: "foo",
    name: "foo",
    description: "",
    skip: "",
    aliases: [],
    releases: [{
      version: "1.0",
      released: AT,
      skip: "",
      yanked: false,
      queuedAbi: null,
      builds: [
        failure(1, "cp311", {
          failureClass: "missing-library",
          failureDetail: "ffi.h",
          failureLines: "c/_cffi.c:2:10: fatal error: ffi.h: No such file or directory",
          retryAt: null,
        }),
        failure(2, "cp313", {
          failureClass: "no-sdist",
          failureDetail: "",
          failureLines: "ERROR: No matching distribution found for foo==1.0",
          retryAt: RETRY,
        }),
      ],
      files: [],
      abis: {
        cp311: { status: "fail", buildId: 1 },
        cp313: { status: "fail", buildId: 2 },
      },
    }],
  };
}

Deno.test("the project page shows why each build failed, and when it is retried", () => {
  const d = data();
  const html = renderProjectPage(new Templates(), d, [{ release: d.releases[0], files: [] }], AT);
  assert.match(
    html,
    /<small class="failure" data-failure="missing-library">missing header or library: <code>ffi\.h<\/code> \(apt: libffi-dev\)<\/small>/,
  );
  assert.match(
    html,
    /title="cp311: fail: missing header or library ffi\.h \(apt: libffi-dev\)\n[^"]*fatal error: ffi\.h/,
  );
  assert.match(
    html,
    /<small class="failure" data-failure="no-sdist">no source distribution<br>retry 2026-01-01 12:10/,
  );
});

Deno.test("the project JSON says why each build failed", () => {
  const d = data();
  const json = JSON.parse(
    projectJson(d, [{ release: d.releases[0], files: [] }], { siteUrl: "https://example.org" }),
  );
  assert.deepEqual(json.releases["1.0"].builds.cp311.failure, {
    class: "missing-library",
    detail: "ffi.h",
    debian_package: "libffi-dev",
    lines: "c/_cffi.c:2:10: fatal error: ffi.h: No such file or directory",
    retry_at: null,
  });
  assert.equal(json.releases["1.0"].builds.cp313.failure.class, "no-sdist");
  assert.match(json.releases["1.0"].builds.cp313.failure.retry_at, /^2026-01-01.12:10:00/);
});

Deno.test("the home page counts failures by class, in the classes' order", () => {
  assert.deepEqual(failureRows({ "other": 2, "no-sdist": 5, "": 1, "retries pending": 3 }), [
    { label: "no source distribution", count: "5" },
    { label: "other", count: "2" },
    { label: "not classified", count: "1" },
  ]);
});
