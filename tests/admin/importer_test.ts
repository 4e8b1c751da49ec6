/** The small pure parts of the import clients: file queue address, DONE/ERROR replies, counts. */
import assert from "node:assert/strict";
import { fileQueueAddress } from "../../src/importer/main.ts";
import { formatBytes, progressLine, TransferProgress } from "../../src/importer/progress.ts";
import { expectDone } from "../../src/clients/import.ts";
import { PiwError } from "../../src/errors.ts";
import { pendingCount, queuedCount, queuedMessage } from "../../src/rebuild/main.ts";

Deno.test("a wildcard file-queue host (the master's bind address) means localhost", () => {
  assert.equal(fileQueueAddress("tcp://*:5556"), "tcp://localhost:5556");
  assert.equal(fileQueueAddress("tcp://0.0.0.0:7000"), "tcp://localhost:7000");
  assert.equal(fileQueueAddress("tcp://[::]:5556"), "tcp://localhost:5556");
  assert.equal(fileQueueAddress("tcp://10.0.0.1:5556"), "tcp://10.0.0.1:5556");
});

Deno.test("expectDone gives DONE's word and turns ERROR into a PiwError", () => {
  assert.equal(expectDone({ name: "DONE", data: "NEWPKG" }, (e) => e), "NEWPKG");
  assert.throws(
    () => expectDone({ name: "ERROR", data: "NOPKG" }, (e) => `cannot: ${e}`),
    (e) => e instanceof PiwError && e.message === "cannot: NOPKG",
  );
  assert.throws(() => expectDone({ name: "SEND", data: "x.whl" }, (e) => e), PiwError);
});

Deno.test("the transfer progress line shows a bar, a percentage and sizes", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536 * 1024), "1.5 MiB");
  assert.equal(
    progressLine("x.whl", 512, 1024),
    "x.whl [##########----------] 50% (512 B of 1.0 KiB)",
  );
  assert.equal(
    progressLine("empty.whl", 0, 0),
    "empty.whl [####################] 100% (0 B of 0 B)",
  );
});

Deno.test("piw rebuild reads the count from piw's DONE and still takes piwheels' bare REBUILD", () => {
  assert.equal(queuedCount("REBUILD 1234"), 1234);
  assert.equal(queuedCount("REBUILD"), null);
  assert.equal(queuedCount("REBUILD x"), null);
  assert.equal(queuedMessage("project", null, 1234), "queued 1234 project pages");
  assert.equal(queuedMessage("index", null, 2), "queued 2 index and 2 project pages");
  assert.equal(queuedMessage("project", "foo", 1), "queued 1 project page of foo");
  assert.equal(
    queuedMessage("index", null, null),
    "queued index and project pages of every package for rebuilding",
  );
  assert.equal(queuedMessage("home", null, null), "queued home for rebuilding");
});

Deno.test("a large transfer redraws its bar in place on a terminal, at most 5 times a second", () => {
  let clock = 0;
  const out: string[] = [];
  const progress = new TransferProgress("big.whl", 4096, {
    write: (text) => out.push(text),
    tty: true,
    now: () => clock,
  });
  for (let i = 0; i < 4; i++) {
    clock += 100; // two chunks per redraw
    progress.add(1024);
  }
  progress.finish();
  assert.deepEqual(out, [
    "\rbig.whl [##########----------] 50% (2.0 KiB of 4.0 KiB)\x1b[K",
    "\rbig.whl [####################] 100% (4.0 KiB of 4.0 KiB)\x1b[K",
    "\rbig.whl [####################] 100% (4.0 KiB of 4.0 KiB) sent 4096 bytes in 0.4 s\x1b[K\n",
  ]);
});

Deno.test("a transfer logged to a file or pipe shows only a start and an end line", () => {
  const out: string[] = [];
  const progress = new TransferProgress("big.whl", 4096, {
    write: (text) => out.push(text),
    tty: false,
    now: () => 0,
  });
  progress.add(4096);
  progress.finish();
  assert.deepEqual(out, ["sending big.whl (4.0 KiB)...\n", "sent 4096 bytes in 0.0 s\n"]);
});

Deno.test("piw rebuild reads the pages still to write from piw's answer to REBUILDING", () => {
  assert.equal(pendingCount("PENDING 12"), 12);
  assert.equal(pendingCount("PENDING 0"), 0);
  assert.equal(pendingCount("REBUILD"), null);
  assert.equal(pendingCount(undefined), null);
});
