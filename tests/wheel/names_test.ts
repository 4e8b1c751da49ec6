import assert from "node:assert/strict";
import {
  canonicaliseName,
  escapeWheelName,
  isCanonicalName,
  isValidProjectName,
} from "../../src/wheel/mod.ts";

Deno.test("canonicalises names as PEP 503 does", () => {
  assert.equal(canonicaliseName("Django"), "django");
  assert.equal(canonicaliseName("oslo.concurrency"), "oslo-concurrency");
  assert.equal(canonicaliseName("Foo__Bar-._baz"), "foo-bar-baz");
  assert.equal(canonicaliseName("requests"), "requests");
});

Deno.test("escapes names for wheel filenames with underscores", () => {
  assert.equal(escapeWheelName("Foo.Bar-baz"), "foo_bar_baz");
  assert.equal(escapeWheelName("a--b"), "a_b");
});

Deno.test("judges name validity and canonical form", () => {
  for (const ok of ["a", "A1", "foo.bar", "foo_bar-baz", "1x"]) {
    assert.ok(isValidProjectName(ok), ok);
  }
  for (const bad of ["", "-a", "a-", ".a", "a b", "a/b", "é"]) {
    assert.ok(!isValidProjectName(bad), bad);
  }
  assert.ok(isCanonicalName("foo-bar"));
  assert.ok(!isCanonicalName("foo_bar"));
  assert.ok(!isCanonicalName("foo--bar"));
  assert.ok(!isCanonicalName("Foo"));
});
