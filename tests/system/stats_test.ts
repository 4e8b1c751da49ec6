import assert from "node:assert/strict";
import {
  cpuTemperature,
  diskStats,
  loadAverage,
  memoryStats,
  slaveStats,
  statsTuple,
} from "../../src/system/stats.ts";

Deno.test("measures disk space as statvfs reports it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const disk = await diskStats(dir);
    const out = await new Deno.Command("python3", {
      args: [
        "-c",
        "import os, sys; s = os.statvfs(sys.argv[1]); print(s.f_blocks * s.f_frsize, s.f_bavail * s.f_frsize)",
        dir,
      ],
      stdout: "piped",
    }).output();
    const [size, free] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
    assert.equal(disk.size, size);
    // Free space moves while other tests write; allow 64 MiB of drift.
    assert.ok(Math.abs(disk.free - free) < 64 * 2 ** 20, `${disk.free} vs ${free}`);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("reads memory and swap from meminfo, falling back to MemFree + Cached", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(
      path,
      "MemTotal:        1000 kB\nMemFree:          200 kB\nMemAvailable:     500 kB\n" +
        "Cached:           100 kB\nSwapTotal:        300 kB\nSwapFree:         250 kB\nHugePages_Total:       0\n",
    );
    assert.deepEqual(await memoryStats(path), {
      memSize: 1000 * 1024,
      memFree: 500 * 1024,
      swapSize: 300 * 1024,
      swapFree: 250 * 1024,
    });
    await Deno.writeTextFile(path, "MemTotal: 1000 kB\nMemFree: 200 kB\nCached: 100 kB\n");
    assert.deepEqual(await memoryStats(path), {
      memSize: 1000 * 1024,
      memFree: 300 * 1024,
      swapSize: 0,
      swapFree: 0,
    });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("reads load average and CPU temperature (0.0 when there is no sensor)", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "45678\n");
    assert.equal(await cpuTemperature(path), 45.678);
    await Deno.writeTextFile(path, "0.52 0.58 0.59 2/345 6789\n");
    assert.equal(await loadAverage(path), 0.52);
  } finally {
    await Deno.remove(path);
  }
  assert.equal(await cpuTemperature("/nonexistent"), 0);
});

Deno.test("gathers plausible stats in message order", async () => {
  const before = Date.now();
  const stats = await slaveStats(Deno.cwd());
  const tuple = statsTuple(stats);
  assert.equal(tuple.length, 9);
  assert.ok(tuple[0] instanceof Date && tuple[0].getTime() >= before);
  const [, diskSize, diskFree, memSize, memFree, swapSize, swapFree, load, temp] = tuple;
  assert.ok(diskSize > 0 && diskFree >= 0 && diskFree <= diskSize);
  assert.ok(memSize > 0 && memFree > 0 && memFree <= memSize);
  assert.ok(swapSize >= 0 && swapFree >= 0 && swapFree <= swapSize);
  assert.ok(load >= 0 && temp >= 0);
});
