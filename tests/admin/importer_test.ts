/** The small pure parts of the import clients: the file queue address and DONE/ERROR replies. */
import assert from "node:assert/strict";
import { fileQueueAddress } from "../../src/importer/main.ts";
import { formatBytes, progressLine } from "../../src/importer/progress.ts";
import { expectDone } from "../../src/cli/import_client.ts";
import { PiwError } from "../../src/errors.ts";

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
