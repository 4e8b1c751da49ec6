/**
 * Rewriting a project whose pages have not changed leaves the files alone (same inode and
 * mtime), across a restart of the writer too; a change rewrites just the pages it touches.
 */
import assert from "node:assert/strict";
import { WebSite } from "../../src/web/mod.ts";
import { configureLogging } from "../../src/log.ts";
import { syntheticProject } from "../bench/web_bench.ts";

configureLogging({ level: "error" });

const PAGES = [
  "simple/package-7/index.html",
  "simple/package-7/index.json",
  "project/package-7/index.html",
  "project/package-7/json/index.json",
];

function inodes(out: string): number[] {
  return PAGES.map((page) => Deno.statSync(`${out}/${page}`).ino!);
}

Deno.test("an unchanged project is not rewritten; a changed one is", async () => {
  const out = await Deno.makeTempDir({ prefix: "piw-web-rewrite-" });
  const both = { simple: true, project: true };
  try {
    const first = new WebSite({ outputPath: out, now: () => new Date("2024-06-01T12:00:00Z") });
    first.setup();
    await first.writeProject(syntheticProject(7), both);
    const before = inodes(out);
    const html = Deno.readTextFileSync(`${out}/${PAGES[2]}`);
    assert.ok(html.includes("2024-06-01 12:00"));

    // A later writer (as after a restart) with the same data, an hour later.
    const later = new WebSite({ outputPath: out, now: () => new Date("2024-06-01T13:00:00Z") });
    await later.writeProject(syntheticProject(7), both);
    assert.deepEqual(inodes(out), before);
    assert.equal(Deno.readTextFileSync(`${out}/${PAGES[2]}`), html);

    // A new description changes the project page and JSON, not the simple index.
    const changed = { ...syntheticProject(7), description: "Now described differently" };
    await later.writeProject(changed, both);
    const after = inodes(out);
    assert.deepEqual(after.slice(0, 2), before.slice(0, 2));
    assert.notEqual(after[2], before[2]);
    assert.notEqual(after[3], before[3]);
    const page = Deno.readTextFileSync(`${out}/${PAGES[2]}`);
    assert.ok(page.includes("Now described differently"));
    assert.ok(page.includes("2024-06-01 13:00"));
    assert.equal(
      JSON.parse(Deno.readTextFileSync(`${out}/${PAGES[3]}`)).summary,
      changed.description,
    );

    // A yanked version changes the simple index too.
    const yanked = syntheticProject(7);
    yanked.releases[0].yanked = true;
    await later.writeProject(yanked, both);
    const last = inodes(out);
    assert.notEqual(last[0], after[0]);
    assert.notEqual(last[1], after[1]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("setting up removes temporary files a killed writer left in the top directories", () => {
  const out = Deno.makeTempDirSync({ prefix: "piw-web-leftover-" });
  try {
    const warnings: string[] = [];
    const log = { warning: (m: string) => warnings.push(m), error: () => {}, info: () => {} };
    const old = new Date(Date.now() - 60_000);
    const leftovers = [".index.html.0a1b2c3d.tmp", "simple/.index.html.x9y8z7.tmp"];
    Deno.mkdirSync(`${out}/simple`);
    for (const name of [...leftovers, "simple/other.tmp"]) {
      Deno.writeTextFileSync(`${out}/${name}`, "");
      Deno.utimeSync(`${out}/${name}`, old, old);
    }
    new WebSite({ outputPath: out, log: log as never }).setup();
    for (const name of leftovers) assert.throws(() => Deno.statSync(`${out}/${name}`), name);
    assert.ok(Deno.statSync(`${out}/simple/other.tmp`).isFile, "not of the writer's naming");
    assert.ok(warnings.some((w) => w.includes("removed 1 stale temporary files")), `${warnings}`);
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});
