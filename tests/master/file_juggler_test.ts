/**
 * FileJuggler over real libzmq: a scripted sender (DEALER) on the file queue and a real
 * FsClient on the fs queue; files land in a temporary output directory.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Context, type Socket } from "../../src/transport/mod.ts";
import {
  bigBrotherProtocol,
  decodeMessage,
  encodeFileFrames,
  fileJugglerProtocol,
  parseFileFrames,
} from "../../src/protocols/mod.ts";
import { FileJuggler, type FileJugglerOptions } from "../../src/master/tasks/file_juggler.ts";
import { FsClient, FsError } from "../../src/clients/fs.ts";
import { FileState } from "../../src/master/states.ts";
import { stagedPath } from "../../src/master/build_journal.ts";
import type { MasterConfig } from "../../src/master/config.ts";
import { diskUsage } from "../../src/master/system.ts";
import { captureLogs, startTask, testConfig, waitFor } from "./helpers.ts";

const sender = fileJugglerProtocol.reversed();

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function bytes(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

function fileState(filename: string, data: Uint8Array): FileState {
  const [name, version, py, abi, platform] = filename.slice(0, -4).split("-");
  return new FileState(
    filename,
    data.length,
    sha256(data),
    name,
    version,
    py,
    abi,
    platform,
    null,
    {},
  );
}

type Fetch = { offset: number; length: number };

/** A DEALER talking to FileJuggler's file queue like a slave. */
class Sender {
  readonly socket: Socket;
  constructor(context: Context, endpoint: string) {
    this.socket = context.socket("DEALER", { linger: 0 });
    this.socket.connect(endpoint);
  }
  hello(slaveId: number): Promise<boolean> {
    return this.socket.send(encodeFileFrames(sender, { name: "HELLO", slaveId }));
  }
  chunk(offset: number, data: Uint8Array): Promise<boolean> {
    return this.socket.send(encodeFileFrames(sender, { name: "CHUNK", offset, data }));
  }
  /** The next FETCH or DONE (null after `timeoutMs` of silence). */
  async next(timeoutMs = 3000): Promise<Fetch | "DONE" | null> {
    const frames = await this.socket.recv(timeoutMs);
    if (!frames) return null;
    const msg = parseFileFrames(sender, frames);
    return msg.name === "DONE" ? "DONE" : { offset: msg.offset, length: msg.length };
  }
  /**
   * Answer FETCHes from `data` until DONE; `answer` may change or drop (null) a chunk, and
   * `maxSilences` HELLOs are said again when the master goes quiet.
   */
  async serve(
    data: Uint8Array,
    answer: (f: Fetch, n: number) => Uint8Array[] | null = (f) => [
      data.subarray(f.offset, f.offset + f.length),
    ],
    slaveId = 1,
  ): Promise<Fetch[]> {
    const fetches: Fetch[] = [];
    for (;;) {
      const msg = await this.next(1000);
      if (msg === "DONE") return fetches;
      if (msg === null) {
        await this.hello(slaveId);
        continue;
      }
      fetches.push(msg);
      for (const chunk of answer(msg, fetches.length) ?? []) await this.chunk(msg.offset, chunk);
    }
  }
  close() {
    this.socket.close(0);
  }
}

interface Harness {
  juggler: FileJuggler;
  fs: FsClient;
  output: string;
  stats: Socket;
  sender(): Sender;
  logs: string[];
  /** The config FileJuggler runs with (the same object: a test may change its bounds). */
  config: MasterConfig;
}

async function withJuggler(
  body: (h: Harness) => Promise<void>,
  options: FileJugglerOptions = {},
  overrides: Partial<MasterConfig> = {},
): Promise<void> {
  const logs = captureLogs("warning");
  const context = new Context();
  const output = await Deno.makeTempDir({ prefix: "piw-juggler-" });
  const config = testConfig({ outputPath: output, fileQueue: "tcp://127.0.0.1:*", ...overrides });
  const stats = context.socket("PULL", { linger: 0 });
  stats.bind(config.statsQueue);
  const juggler = await startTask(
    new FileJuggler(context, config, { refetchAfterMs: 300, tickMs: 50, ...options }),
  );
  const fs = new FsClient(context, config.fsQueue, 10_000);
  const senders: Sender[] = [];
  try {
    await body({
      juggler,
      fs,
      output,
      stats,
      logs: logs.lines,
      config,
      sender() {
        const s = new Sender(context, juggler.fileEndpoint);
        senders.push(s);
        return s;
      },
    });
  } finally {
    for (const s of senders) s.close();
    fs.close();
    await juggler.stop();
    stats.close(0);
    await context.close(0);
    logs.stop();
    await Deno.remove(output, { recursive: true });
  }
}

/** Files under `<output>/simple`, recursively, as relative paths. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    if (e.isDirectory) found.push(...await tree(`${dir}/${e.name}`, rel + "/"));
    else found.push(rel);
  }
  return found.sort();
}

const WHEEL = "foo-1.0-py3-none-any.whl";

/** Where VERIFY stages `data` sent as {@link WHEEL}. */
function staged(output: string, data: Uint8Array, filename = WHEEL): string {
  return stagedPath(output, { filename, filehash: sha256(data) });
}

/** EXPECT `data` as {@link WHEEL} from slave 1, and that slave's HELLO: its sender. */
async function startTransfer(h: Harness, data: Uint8Array): Promise<Sender> {
  await h.fs.expect(1, fileState(WHEEL, data));
  const s = h.sender();
  await s.hello(1);
  return s;
}

/** VERIFY passes and what is staged is `data`. */
async function assertStaged(h: Harness, data: Uint8Array): Promise<void> {
  assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
  assert.deepEqual(await Deno.readFile(staged(h.output, data)), data);
}

Deno.test("a file arrives in 64 KiB FETCHes, ten in flight, and is staged 0644, nothing published", async () => {
  await withJuggler(async (h) => {
    const data = bytes(1_000_000);
    const s = await startTransfer(h, data);
    // The initial credit: min(10, size / 64 KiB) FETCHes before any CHUNK.
    const first: Fetch[] = [];
    for (let i = 0; i < 10; i++) first.push((await s.next()) as Fetch);
    assert.equal(await s.next(200), null, "no more than ten in flight");
    assert.deepEqual(first.map((f) => f.offset), [...Array(10).keys()].map((i) => i * 65536));
    assert.ok(first.every((f) => f.length === 65536));
    for (const f of first) await s.chunk(f.offset, data.subarray(f.offset, f.offset + f.length));
    await s.serve(data);
    assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
    const path = staged(h.output, data);
    assert.deepEqual(await Deno.readFile(path), data);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    assert.deepEqual(
      await tree(h.output),
      [path.slice(h.output.length + 1)],
      "nothing published before the build is recorded, no temporary left",
    );
  });
});

Deno.test("STATFS goes to BigBrother at start and after each verified file", async () => {
  await withJuggler(async (h) => {
    const first = await h.stats.recv(3000);
    assert.ok(first);
    assert.equal(decodeMessage(bigBrotherProtocol, first[0]).name, "STATFS");
    const data = bytes(1000);
    const s = await startTransfer(h, data);
    await s.serve(data);
    await h.fs.verify(1, "foo");
    const after = await h.stats.recv(3000);
    assert.ok(after);
    const msg = decodeMessage(bigBrotherProtocol, after[0]);
    assert.equal(msg.name, "STATFS");
    assert.equal((msg.data as number[]).length, 2);
  });
});

Deno.test("dropped chunks are asked for again after silence", async () => {
  await withJuggler(async (h) => {
    const data = bytes(700_000);
    const s = await startTransfer(h, data);
    const dropped = new Set([2, 5, 9]);
    const fetches = await s.serve(
      data,
      (f, n) => dropped.has(n) ? null : [data.subarray(f.offset, f.offset + f.length)],
    );
    assert.ok(fetches.length >= 11 + dropped.size, `${fetches.length} fetches`);
    await assertStaged(h, data);
  });
});

Deno.test("HELLO mid-transfer resets the credit; duplicate chunks do no harm", async () => {
  await withJuggler(async (h) => {
    const data = bytes(300_000);
    const s = await startTransfer(h, data);
    const first = (await s.next()) as Fetch;
    await s.hello(1); // "I heard nothing": FileJuggler asks again from the start
    const fetches = await s.serve(data, (f) => {
      const chunk = data.subarray(f.offset, f.offset + f.length);
      return [chunk, chunk]; // every chunk twice
    });
    assert.ok(fetches.some((f) => f.offset === first.offset));
    await assertStaged(h, data);
  });
});

Deno.test("corrupted data fails VERIFY, leaves nothing behind, and succeeds when re-sent", async () => {
  await withJuggler(async (h) => {
    const data = bytes(200_000);
    const state = fileState(WHEEL, data);
    await h.fs.expect(1, state);
    const s = h.sender();
    await s.hello(1);
    await s.serve(data, (f) => {
      const chunk = data.slice(f.offset, f.offset + f.length);
      if (f.offset === 65536) chunk[10] ^= 0xff;
      return [chunk];
    });
    const failed = await h.fs.verify(1, "foo");
    assert.equal(failed.status, "failed");
    assert.match((failed as { reason: string }).reason, /sha256/);
    assert.deepEqual(await tree(`${h.output}/simple`), []);
    await h.fs.expect(1, state);
    await s.hello(1);
    await s.serve(data);
    assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
  });
});

Deno.test("a sender that disappears mid-transfer publishes nothing", async () => {
  await withJuggler(async (h) => {
    const data = bytes(500_000);
    const s = await startTransfer(h, data);
    const f = (await s.next()) as Fetch;
    await s.chunk(f.offset, data.subarray(f.offset, f.offset + f.length));
    s.close();
    await waitFor(() => h.juggler.active.size === 0, 5000, "the transfer to time out");
    assert.equal((await h.fs.verify(1, "foo")).status, "failed");
    assert.deepEqual(await tree(`${h.output}/simple`), []);
  }, { transferTimeoutMs: 400 });
});

Deno.test("stray chunks (no transfer, outside the file, empty) are ignored", async () => {
  await withJuggler(async (h) => {
    const stray = h.sender();
    await stray.chunk(0, bytes(10));
    await stray.hello(7); // nothing EXPECTed for slave 7
    assert.equal(await stray.next(200), null);
    const data = bytes(100_000);
    const s = await startTransfer(h, data);
    await s.serve(data, (f) => [
      bytes(10),
      new Uint8Array(0),
      data.subarray(f.offset, f.offset + f.length),
    ]);
    // The 10 random bytes landed at the right offsets but were overwritten by the real ones.
    assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
    await s.chunk(99_990, bytes(20)); // beyond the end: ignored
    assert.ok(h.logs.some((l) => l.includes("unexpected transfer from slave 7")));
  });
});

Deno.test("an empty file is DONE at once", async () => {
  await withJuggler(async (h) => {
    const data = new Uint8Array(0);
    const s = await startTransfer(h, data);
    assert.equal(await s.next(), "DONE");
    assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
    assert.equal((await Deno.stat(staged(h.output, data))).size, 0);
  });
});

Deno.test("hostile filenames and package names are refused with a reason", async () => {
  await withJuggler(async (h) => {
    const data = bytes(100);
    for (
      const name of [
        "../foo-1.0-py3-none-any.whl",
        "foo/bar-1.0-py3-none-any.whl",
        "..foo-1.0-py3-none-any.whl",
        "foo-1.0_RC1-py3-none-any.whl",
        "foo-1.0.tar.gz",
        "foo-1.0-py3-none-any.whl\0",
      ]
    ) {
      await assert.rejects(() => h.fs.expect(1, claim(name, 100)), FsError, name);
    }
    assert.ok(h.logs.filter((l) => l.includes("refusing a transfer")).length === 6);
    const s = await startTransfer(h, data);
    await s.serve(data);
    const outcome = await h.fs.verify(1, "../etc");
    assert.equal(outcome.status, "refused");
    assert.deepEqual(await tree(h.output), []);
  });
});

Deno.test("the .part files of interrupted transfers are deleted at start, legacy ones too", async () => {
  const output = await Deno.makeTempDir({ prefix: "piw-juggler-parts-" });
  try {
    await Deno.mkdir(`${output}/.piw-incoming`, { recursive: true });
    await Deno.mkdir(`${output}/simple/foo`, { recursive: true });
    const part = `${output}/.piw-incoming/.piw-transfer-abc.part`;
    // Older piw received into simple/ itself.
    const legacy = `${output}/simple/.piw-transfer-def.part`;
    await Deno.writeFile(part, bytes(10));
    await Deno.writeFile(legacy, bytes(10));
    await Deno.writeFile(`${output}/simple/foo/${WHEEL}`, bytes(10));
    const context = new Context();
    const config = testConfig({ outputPath: output, fileQueue: "tcp://127.0.0.1:*" });
    const juggler = await startTask(new FileJuggler(context, config));
    try {
      await waitFor(async () => (await tree(output)).length === 1, 10_000, "parts removed");
      assert.deepEqual(await tree(output), [`simple/foo/${WHEEL}`]);
    } finally {
      await juggler.stop();
      await context.close(0);
    }
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("a new EXPECT for a slave replaces its unfinished transfer", async () => {
  await withJuggler(async (h) => {
    const old = bytes(300_000, 3);
    await h.fs.expect(1, fileState("foo-0.9-py3-none-any.whl", old));
    const s = h.sender();
    await s.hello(1);
    await s.next();
    const data = bytes(1000, 4);
    await h.fs.expect(1, fileState(WHEEL, data));
    assert.equal(h.juggler.active.size, 0);
    const fresh = h.sender();
    await fresh.hello(1);
    await fresh.serve(data);
    assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
    assert.deepEqual(await tree(`${h.output}/.piw-incoming`), [`staged/${sha256(data)}-${WHEEL}`]);
  });
});

/** A file state claiming `size` bytes (the data never comes). */
function claim(filename: string, size: number): FileState {
  return new FileState(
    filename,
    size,
    "0".repeat(64),
    "foo",
    "1.0",
    "py3",
    "none",
    "any",
    null,
    {},
  );
}

Deno.test("EXPECT beyond --max-file-size or the free space is refused before a byte is written", async () => {
  const GiB = 2 ** 30;
  const { free } = await diskUsage("/tmp");
  // Keep all but 1 GiB of what is free now: room for one 600 MiB file, not two.
  const overrides = { maxFileSize: 2 * GiB, minFreeSpace: Math.max(0, free - GiB) };
  await withJuggler(
    async (h) => {
      await assert.rejects(
        h.fs.expect(1, claim(WHEEL, 2 ** 50)),
        (e: Error) => e instanceof FsError && /--max-file-size/.test(e.message),
      );
      await assert.rejects(
        h.fs.expect(1, claim(WHEEL, 1.5 * GiB)),
        (e: Error) => e instanceof FsError && /do not fit/.test(e.message),
      );
      await h.fs.expect(1, claim(WHEEL, 600 * 2 ** 20));
      // The bytes promised to slave 1 count against slave 2's file.
      await assert.rejects(
        h.fs.expect(2, claim("foo-2.0-py3-none-any.whl", 600 * 2 ** 20)),
        (e: Error) => e instanceof FsError && /600 MiB|629145600 promised/.test(e.message),
      );
      // A new EXPECT of slave 1 replaces its own transfer, so its bytes do not count twice.
      await h.fs.expect(1, claim(WHEEL, 600 * 2 ** 20));
      const written = await tree(`${h.output}/.piw-incoming`);
      assert.equal(written.length, 1, `only slave 1's empty temporary file: ${written}`);
      assert.equal((await Deno.stat(`${h.output}/.piw-incoming/${written[0]}`)).size, 0);
    },
    {},
    overrides,
  );
});

Deno.test("while the disk is low no FETCH goes out and EXPECT is refused; then transfers resume", async () => {
  await withJuggler(async (h) => {
    const data = bytes(1_000_000);
    const s = await startTransfer(h, data);
    const first = (await s.next()) as Fetch;
    // The output path runs low (the master pauses): what is in flight may land, nothing more.
    const minFreeSpace = h.config.minFreeSpace;
    h.config.minFreeSpace = Number.MAX_SAFE_INTEGER;
    await waitFor(() => h.juggler.lowDisk, 5000, "low disk noticed");
    for (let f = await s.next(200); f !== null; f = await s.next(200)) { /* in flight */ }
    await s.chunk(first.offset, data.subarray(first.offset, first.offset + first.length));
    assert.equal(await s.next(1000), null, "no FETCH while the disk is low");
    await assert.rejects(
      h.fs.expect(2, fileState("foo-2.0-py3-none-any.whl", bytes(10))),
      (e: Error) => e instanceof FsError && /do not fit/.test(e.message),
    );
    assert.ok(h.logs.some((l) => l.includes("transfers stopped")), h.logs.join("\n"));
    h.config.minFreeSpace = minFreeSpace;
    await s.serve(data);
    assert.deepEqual(await h.fs.verify(1, "foo"), { status: "staged" });
    assert.ok(h.logs.some((l) => l.includes("transfers resumed")));
  }, { diskCheckMs: 50, refetchAfterMs: 60_000 });
});
