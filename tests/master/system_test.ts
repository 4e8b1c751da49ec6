/** The master's machine facts and systemd notifications. */
import assert from "node:assert/strict";
import { diskUsage, machineStats, masterHello, sdNotify } from "../../src/master/system.ts";
import { diskStats } from "../../src/system/stats.ts";

Deno.test("diskUsage reports the size and free space of a filesystem", async () => {
  const { size, free } = await diskUsage("/tmp");
  assert.ok(Number.isSafeInteger(size) && size > 0);
  assert.ok(Number.isSafeInteger(free) && free >= 0 && free <= size);
  // statvfs agrees with df (free space moves, so only roughly).
  const df = await diskStats("/tmp");
  assert.equal(size, df.size);
  assert.ok(Math.abs(free - df.free) < 2 ** 26, `${free} vs ${df.free}`);
});

Deno.test("machineStats reports memory, swap, load and temperature", async () => {
  const stats = await machineStats();
  assert.ok(stats.memSize > 0 && stats.memFree <= stats.memSize);
  assert.ok(stats.swapFree <= stats.swapSize);
  assert.ok(Number.isFinite(stats.loadAverage) && Number.isFinite(stats.cpuTemp));
});

Deno.test("masterHello names the start time and the host", async () => {
  const started = new Date();
  const hello = await masterHello(started);
  assert.equal(hello.length, 6);
  assert.equal(hello[0], started);
  assert.equal(hello[1], Deno.hostname());
});

Deno.test("sdNotify does nothing without NOTIFY_SOCKET", () => {
  const saved = Deno.env.get("NOTIFY_SOCKET");
  Deno.env.delete("NOTIFY_SOCKET");
  try {
    assert.equal(sdNotify("READY=1"), false);
  } finally {
    if (saved !== undefined) Deno.env.set("NOTIFY_SOCKET", saved);
  }
});

Deno.test("sdNotify sends the state to the NOTIFY_SOCKET datagram socket", async () => {
  const path = `/tmp/piw-test-notify-${crypto.randomUUID().slice(0, 8)}`;
  // Deno's unix datagram sockets are unstable, so the listener runs in its own process.
  const listener = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--unstable-net",
      `const l = Deno.listenDatagram({ transport: "unixpacket", path: ${JSON.stringify(path)} });
       console.log("listening");
       const [data] = await l.receive();
       console.log(new TextDecoder().decode(data));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = listener.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const saved = Deno.env.get("NOTIFY_SOCKET");
  try {
    let text = "";
    while (!text.includes("listening")) text += (await lines.read()).value ?? "";
    Deno.env.set("NOTIFY_SOCKET", path);
    assert.equal(sdNotify("READY=1"), true);
    while (!text.includes("READY=1")) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /READY=1/);
  } finally {
    if (saved === undefined) Deno.env.delete("NOTIFY_SOCKET");
    else Deno.env.set("NOTIFY_SOCKET", saved);
    lines.releaseLock();
    await listener.stdout.cancel().catch(() => {});
    await listener.status;
    await Deno.remove(path).catch(() => {});
  }
});
