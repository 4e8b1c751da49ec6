/** A closed socket's inproc name is free at once, so a restarted task can bind it again. */
import assert from "node:assert/strict";
import { Context } from "../../src/transport/mod.ts";

Deno.test("an inproc name can be bound again right after its socket closes", async () => {
  const context = new Context();
  try {
    const name = `inproc://rebind-${crypto.randomUUID()}`;
    for (let i = 0; i < 200; i++) {
      const socket = context.socket("REP");
      socket.bind(name);
      socket.close(0);
    }
    const server = context.socket("REP");
    server.bind(name);
    const client = context.socket("REQ");
    client.connect(name);
    await client.send([new TextEncoder().encode("ping")]);
    const got = await server.recv(2000);
    assert.equal(new TextDecoder().decode(got![0]), "ping");
    client.close(0);
    server.close(0);
  } finally {
    await context.close();
  }
});

/** A Unix socket another process listens on at `path`, until `stop()`. */
async function foreignListener(path: string) {
  const owner = new Deno.Command("python3", {
    args: [
      "-c",
      "import socket,sys\n" +
      "s=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1]);s.listen(1)\n" +
      "print('ready',flush=True);sys.stdin.read()",
      path,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = owner.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value?.trim(), "ready");
  return {
    async stop() {
      await owner.stdin.close();
      await owner.status;
      await reader.cancel();
    },
  };
}

Deno.test("an ipc socket file a live socket serves is not taken over; a stale one is", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-rebind-" });
  const address = `ipc://${dir}/queue`;
  const context = new Context();
  try {
    // Another process's live socket: libzmq would unlink and replace its file.
    const owner = await foreignListener(`${dir}/queue`);
    const inode = Deno.statSync(`${dir}/queue`).ino;
    const second = context.socket("PULL", { linger: 0 });
    assert.throws(() => second.bind(address), /bind on PULL socket .* address in use by a live/);
    assert.equal(Deno.statSync(`${dir}/queue`).ino, inode);
    await owner.stop();
    // The owner is gone and its file left behind: stale, so it is replaced.
    assert.equal(second.bind(address), address);
    second.close(0);
    second.removeIpcFiles();
    assert.throws(() => Deno.statSync(`${dir}/queue`), Deno.errors.NotFound);
  } finally {
    await context.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a closed socket leaves an ipc file another process has since bound", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piw-rebind-" });
  const context = new Context();
  try {
    const socket = context.socket("PULL", { linger: 0 });
    socket.bind(`ipc://${dir}/queue`);
    // Someone else's socket now (e.g. a master that does not check before binding).
    Deno.removeSync(`${dir}/queue`);
    const other = await foreignListener(`${dir}/queue`);
    socket.close(0);
    socket.removeIpcFiles();
    assert.ok(Deno.lstatSync(`${dir}/queue`).isSocket);
    await other.stop();
  } finally {
    await context.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
