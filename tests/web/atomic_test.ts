import assert from "node:assert/strict";
import {
  FILE_MODE,
  makeRealDir,
  removeFile,
  removeStaleTemps,
  sameButStamp,
  symlinkOnce,
  writeFileAtomic,
  writeFileExclusive,
  writeTextIfChanged,
} from "../../src/web/mod.ts";
import { CAN_MOUNT, mountSmallDisk } from "../fixtures/tmpfs.ts";

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "piw-web-atomic-" });
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("writeFileAtomic replaces a file with mode 0644 and leaves no temporary file", () => {
  const dir = tempDir();
  try {
    writeFileAtomic(`${dir}/index.html`, "one");
    writeFileAtomic(`${dir}/index.html`, new TextEncoder().encode("two"));
    assert.equal(Deno.readTextFileSync(`${dir}/index.html`), "two");
    assert.equal(Deno.statSync(`${dir}/index.html`).mode! & 0o777, FILE_MODE);
    assert.deepEqual(names(dir), ["index.html"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic gives 0644 even under a restrictive umask", () => {
  const dir = tempDir();
  const old = Deno.umask(0o077);
  try {
    writeFileAtomic(`${dir}/a.html`, "x");
  } finally {
    Deno.umask(old);
  }
  try {
    assert.equal(Deno.statSync(`${dir}/a.html`).mode! & 0o777, FILE_MODE);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic cleans up its temporary file when the rename fails", () => {
  const dir = tempDir();
  try {
    Deno.mkdirSync(`${dir}/target`);
    Deno.writeFileSync(`${dir}/target/keep`, new Uint8Array(1));
    // Renaming a file over a non-empty directory fails.
    assert.throws(() => writeFileAtomic(`${dir}/target`, "x"));
    assert.deepEqual(names(dir), ["target"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "writeFileAtomic on a full disk fails and leaves no temporary file",
  ignore: !CAN_MOUNT,
  async fn() {
    const disk = await mountSmallDisk(4);
    try {
      writeFileAtomic(`${disk.path}/index.html`, "old");
      disk.fill();
      // Bigger than any slack a full tmpfs has left.
      const page = "x".repeat(256 * 1024);
      assert.throws(
        () => writeFileAtomic(`${disk.path}/index.html`, page),
        /No space left|os error 28/,
      );
      assert.throws(
        () => writeFileExclusive(`${disk.path}/log.txt`, page),
        /No space left|os error 28/,
      );
      assert.deepEqual(names(disk.path), ["filler", "index.html"]);
      assert.equal(Deno.readTextFileSync(`${disk.path}/index.html`), "old");
    } finally {
      await disk.unmount();
    }
  },
});

Deno.test("removeStaleTemps removes only this module's older temporary files", () => {
  const dir = tempDir();
  try {
    const old = new Date(Date.now() - 60_000);
    for (const name of [".index.html.k2j4h5g1.tmp", ".p.json.a.tmp", "keep.tmp", ".x.tmp.bak"]) {
      Deno.writeTextFileSync(`${dir}/${name}`, "");
      Deno.utimeSync(`${dir}/${name}`, old, old);
    }
    Deno.mkdirSync(`${dir}/.sub.abc.tmp`);
    Deno.writeTextFileSync(`${dir}/.new.html.zz.tmp`, ""); // a live writer's, newer than `before`
    assert.equal(removeStaleTemps(dir, new Date(Date.now() - 30_000)), 2);
    assert.deepEqual(names(dir), [".new.html.zz.tmp", ".sub.abc.tmp", ".x.tmp.bak", "keep.tmp"]);
    assert.equal(removeStaleTemps(`${dir}/missing`, new Date()), 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a concurrent reader never sees a half-written file", async () => {
  const dir = tempDir();
  const path = `${dir}/page.html`;
  // Two contents of different sizes; any torn read is neither.
  const a = "a".repeat(1_000_000);
  const b = "b".repeat(1_500_000);
  writeFileAtomic(path, a);
  const reader = new Worker(
    "data:application/javascript," + encodeURIComponent(`
      self.onmessage = (e) => {
        const { path, stopAt } = e.data;
        let reads = 0, torn = 0;
        const deadline = Date.now() + stopAt;
        while (Date.now() < deadline) {
          const text = Deno.readTextFileSync(path);
          reads++;
          const ok = (text.length === 1000000 && text[0] === "a" && text[999999] === "a") ||
            (text.length === 1500000 && text[0] === "b" && text[1499999] === "b");
          if (!ok) torn++;
        }
        self.postMessage({ reads, torn });
      };`),
    { type: "module" },
  );
  try {
    const result = new Promise<{ reads: number; torn: number }>((resolve) =>
      reader.onmessage = (e) => resolve(e.data)
    );
    reader.postMessage({ path, stopAt: 1500 });
    const deadline = Date.now() + 1500;
    let writes = 0;
    while (Date.now() < deadline) {
      writeFileAtomic(path, writes++ % 2 ? a : b);
      // Let the reader's thread run between writes on a busy machine.
      if (writes % 10 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    const { reads, torn } = await result;
    assert.ok(writes > 10 && reads > 10, `writes ${writes}, reads ${reads}`);
    assert.equal(torn, 0);
    assert.deepEqual(names(dir), ["page.html"]);
  } finally {
    reader.terminate();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("writeFileExclusive writes once and refuses to replace", () => {
  const dir = tempDir();
  try {
    writeFileExclusive(`${dir}/log.gz`, "first");
    assert.throws(() => writeFileExclusive(`${dir}/log.gz`, "second"), Deno.errors.AlreadyExists);
    assert.equal(Deno.readTextFileSync(`${dir}/log.gz`), "first");
    assert.deepEqual(names(dir), ["log.gz"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("makeRealDir replaces a symlink left by an old layout with a directory", () => {
  const dir = tempDir();
  try {
    Deno.mkdirSync(`${dir}/elsewhere`);
    Deno.symlinkSync("elsewhere", `${dir}/pkg`);
    makeRealDir(`${dir}/pkg`);
    assert.ok(Deno.lstatSync(`${dir}/pkg`).isDirectory);
    makeRealDir(`${dir}/pkg`); // idempotent
    makeRealDir(`${dir}/a/b/c`); // parents too
    assert.ok(Deno.statSync(`${dir}/a/b/c`).isDirectory);
    Deno.writeFileSync(`${dir}/file`, new Uint8Array());
    assert.throws(() => makeRealDir(`${dir}/file`), Deno.errors.AlreadyExists);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("symlinkOnce makes a relative link and leaves an existing entry alone", () => {
  const dir = tempDir();
  try {
    Deno.mkdirSync(`${dir}/foo`);
    assert.equal(symlinkOnce("foo", `${dir}/Foo`), true);
    assert.equal(Deno.readLinkSync(`${dir}/Foo`), "foo");
    assert.equal(symlinkOnce("bar", `${dir}/Foo`), false);
    assert.equal(Deno.readLinkSync(`${dir}/Foo`), "foo");
    assert.equal(removeFile(`${dir}/Foo`), true);
    assert.equal(removeFile(`${dir}/Foo`), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("sameButStamp lets only the stamp's places differ", () => {
  const stamp = "2024-06-01 12:05";
  const text = `<p>a</p><!-- ${stamp} --><p>b</p><!-- ${stamp} -->`;
  assert.ok(sameButStamp(text.replaceAll(stamp, "2023-01-01 00:00"), text, stamp));
  assert.ok(sameButStamp(text, text, ""));
  assert.ok(!sameButStamp(text.replace("<p>a", "<p>x"), text, stamp));
  assert.ok(!sameButStamp(text.replace("<p>b", "<p>x"), text, stamp));
  assert.ok(!sameButStamp(text + " ", text, stamp));
  assert.ok(!sameButStamp(text.replaceAll(stamp, "2023-01-01 00:00"), text, ""));
});

Deno.test("writeTextIfChanged leaves a file holding the same text (but for the stamp) alone", () => {
  const dir = tempDir();
  const path = `${dir}/index.html`;
  try {
    assert.equal(writeTextIfChanged(path, "<p>one</p><!-- 2024-01-01 -->", "2024-01-01"), true);
    const first = Deno.statSync(path);
    assert.equal(writeTextIfChanged(path, "<p>one</p><!-- 2024-02-02 -->", "2024-02-02"), false);
    assert.equal(Deno.statSync(path).ino, first.ino);
    assert.equal(Deno.readTextFileSync(path), "<p>one</p><!-- 2024-01-01 -->");
    assert.equal(writeTextIfChanged(path, "<p>two</p><!-- 2024-02-02 -->", "2024-02-02"), true);
    assert.notEqual(Deno.statSync(path).ino, first.ino);
    assert.equal(Deno.readTextFileSync(path), "<p>two</p><!-- 2024-02-02 -->");
    assert.equal(Deno.statSync(path).mode! & 0o777, FILE_MODE);
    assert.deepEqual(names(dir), ["index.html"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
