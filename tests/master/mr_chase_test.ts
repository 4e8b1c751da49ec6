/**
 * MrChase on the wire: a running `piw master` answers the import protocol (§2.4) directly —
 * protocol violations, refused imports, a file whose hash does not match, page rebuild counts,
 * and the import queue's ipc socket closed to other users (checked by connecting as `nobody`
 * when the tests run as root).
 */
import assert from "node:assert/strict";
import { ImportClient } from "../../src/clients/import.ts";
import { sendFile } from "../../src/slave/transfer.ts";
import { fileSha256, inspectWheel } from "../../src/slave/inspect.ts";
import { fileStateTuple } from "../../src/slave/inspect.ts";
import { TimeDelta } from "../../src/protocols/mod.ts";
import { adminWheel, exists, withMaster } from "../admin/harness.ts";

/** Connect to the unix socket `path` as user `uid` in group `gid` only (run as root). */
async function connectAs(path: string, uid: number, gid: number) {
  const connect = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])";
  const out = await new Deno.Command("setpriv", {
    args: [
      `--reuid=${uid}`,
      `--regid=${gid}`,
      "--clear-groups",
      "/usr/bin/python3",
      "-c",
      connect,
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}
const PKG = "piw-admin-pkg";

Deno.test({
  name: "MrChase refuses bad imports, re-asks for a file that fails to verify, then gives up",
  async fn() {
    const wheel = await adminWheel();
    const work = await Deno.makeTempDir({ prefix: "piw-mr-chase-" });
    try {
      const file = await inspectWheel(wheel.path, work);
      await withMaster(async (master) => {
        const socketFile = master.importQueue.slice("ipc://".length);
        const mode = Deno.statSync(socketFile).mode! & 0o777;
        assert.equal(mode, 0o660, "only owner and group may use the import queue");
        if (Deno.uid() === 0) {
          // Another user cannot connect; the same user in the owner's group can.
          const other = await connectAs(socketFile, 65534, 65534);
          assert.notEqual(other.code, 0);
          assert.match(other.stderr, /PermissionError/);
          const group = await connectAs(socketFile, 65534, Deno.statSync(socketFile).gid!);
          assert.equal(group.code, 0, group.stderr);
        }
        const client = new ImportClient(master.importQueue, 20_000);
        try {
          const build = (status: boolean, files = [fileStateTuple(file)], abi = "cp311") =>
            [0, PKG, "1.0", abi, status, new TimeDelta(0, 5), "log", files] as const;
          assert.deepEqual(await client.request("SENT"), {
            name: "ERROR",
            data: "protocol violation",
          });
          assert.deepEqual(await client.request("ADDPKG", [PKG, "", "", false, []]), {
            name: "DONE",
            data: "NEWPKG",
          });
          assert.deepEqual(await client.request("IMPORT", [...build(true)]), {
            name: "ERROR",
            data: `unknown package version ${PKG}-1.0`,
          });
          assert.deepEqual(
            await client.request("ADDVER", [PKG, "1.0", "", false, new Date(), false, false, []]),
            { name: "DONE", data: "NEWVER" },
          );
          // The new version is handed out at once (REFRESH), not at the next periodic one (60 s).
          await master.waitForLine("build queue: cp311: 1", 20_000);
          assert.deepEqual(
            await client.request("ADDVER", [
              PKG,
              "1.0",
              "why",
              false,
              new Date(),
              false,
              false,
              [],
            ]),
            { name: "ERROR", data: "SKIPVER" },
          );
          assert.equal((await client.request("IMPORT", [...build(false)])).name, "ERROR");
          assert.deepEqual(await client.request("IMPORT", [...build(true, [])]), {
            name: "ERROR",
            data: "no files listed for import",
          });
          assert.deepEqual(await client.request("IMPORT", [...build(true, undefined, "cp27mu")]), {
            name: "ERROR",
            data: "invalid ABI: cp27mu",
          });
          const other = fileStateTuple({ ...file, filename: "other-1.0-py3-none-any.whl" });
          assert.match(
            (await client.request("IMPORT", [...build(true, [other])])).data,
            /not a wheel of piw-admin-pkg/,
          );

          // A wrong hash: the file is asked for again, then the import is abandoned.
          const wrong = fileStateTuple({ ...file, filehash: "0".repeat(64) });
          let reply = await client.request("IMPORT", [...build(true, [wrong])]);
          let sends = 0;
          while (reply.name === "SEND") {
            sends++;
            await sendFile(client.context, master.fileQueue, 0, wheel.path);
            reply = await client.request("SENT");
          }
          assert.equal(sends, 3);
          assert.equal(reply.name, "ERROR");
          assert.match(reply.data, /failed to verify/);
          assert.ok(!exists(`${master.outputPath}/simple/${PKG}/${wheel.filename}`));

          // The right hash goes through.
          assert.equal(file.filehash, await fileSha256(wheel.path));
          reply = await client.request("IMPORT", [...build(true)]);
          assert.deepEqual(reply, { name: "SEND", data: wheel.filename });
          await sendFile(client.context, master.fileQueue, 0, wheel.path);
          assert.deepEqual(await client.request("SENT"), { name: "DONE", data: "IMPORT" });
          assert.ok(exists(`${master.outputPath}/simple/${PKG}/${wheel.filename}`));
          assert.deepEqual(await client.request("REBUILD", ["HOME"]), {
            name: "DONE",
            data: "REBUILD",
          });
          // Page rebuilds say how many packages were queued, still as DONE's one string.
          assert.deepEqual(await client.request("REBUILD", ["PROJECT", null]), {
            name: "DONE",
            data: "REBUILD 1",
          });
          assert.deepEqual(await client.request("REBUILD", ["BOTH", PKG]), {
            name: "DONE",
            data: "REBUILD 1",
          });
          assert.deepEqual(await client.request("REMVER", [PKG, "2.0", false, "", false]), {
            name: "ERROR",
            data: "NOVER",
          });
        } finally {
          await client.close();
        }
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
