/** The monitors' farm model: slave states from SLAVE events, master rows, history, restarts. */
import assert from "node:assert/strict";
import {
  DEAD_LINGER_MS,
  FarmState,
  formatDuration,
  formatSize,
  HISTORY,
} from "../../src/monitor/state.ts";
import {
  masterHello,
  masterStats,
  NO_DATA,
  type SlaveHello,
  slaveHello,
  type SlaveStats,
  slaveStats,
  TimeDelta,
} from "../../src/protocols/mod.ts";

const T0 = Date.UTC(2026, 0, 1, 12);
const at = (s: number) => new Date(T0 + s * 1000);

function hello(label: string, abi = "cp311", busyTimeoutS = 60): SlaveHello {
  const h = slaveHello.example();
  h[1] = TimeDelta.fromSeconds(busyTimeoutS);
  h[3] = abi;
  h[5] = label;
  return h;
}

function stats(load = 0.5, temperature = 40): SlaveStats {
  return [at(0), 100, 50, 100, 50, 100, 90, load, temperature];
}

function slave(farm: FarmState, id: number, s: number, msg: string, data: unknown = NO_DATA) {
  farm.apply({ name: "SLAVE", data: [id, at(s), msg, data] }, at(s));
}

Deno.test("a slave's status follows the master's replies", () => {
  const farm = new FarmState();
  slave(farm, 1, 0, "HELLO", hello("a"));
  slave(farm, 1, 0, "ACK", [1, "https://pypi.org/simple"]);
  const row = farm.slaves.get(1)!;
  assert.equal(row.status(at(1)), "idle");
  assert.equal(row.task, "Starting up");
  slave(farm, 1, 1, "SLEEP", false);
  assert.equal(row.task, "Waiting for jobs");
  slave(farm, 1, 2, "SLEEP", true);
  assert.equal(row.task, "Paused");
  slave(farm, 1, 3, "BUILD", ["foo", "1.0"]);
  assert.equal(row.status(at(4)), "building");
  assert.equal(row.task, "Building foo 1.0");
  slave(farm, 1, 5, "SEND", "foo-1.0-py3-none-any.whl");
  assert.equal(row.status(at(6)), "sending");
  slave(farm, 1, 7, "DONE");
  assert.equal(row.status(at(8)), "cleaning");
  assert.equal(row.task, "Cleaning up after build");
  slave(farm, 1, 9, "DIE");
  assert.equal(row.status(at(9)), "dead");
  assert.equal(row.task, "Terminating");
});

Deno.test("a silent slave turns alert at half its busy timeout and dead after it", () => {
  const farm = new FarmState();
  slave(farm, 1, 0, "HELLO", hello("a", "cp311", 60));
  slave(farm, 1, 0, "SLEEP", false);
  const row = farm.slaves.get(1)!;
  assert.equal(row.status(at(29)), "idle");
  assert.equal(row.status(at(31)), "alert");
  assert.equal(row.status(at(61)), "dead");
});

Deno.test("a slave short of resources is alert", () => {
  for (const [load, temperature] of [[4.5, 40], [0.5, 80]]) {
    const farm = new FarmState();
    slave(farm, 1, 0, "HELLO", hello("a"));
    slave(farm, 1, 0, "STATS", stats(load, temperature));
    slave(farm, 1, 0, "BUILD", ["foo", "1.0"]);
    assert.equal(farm.slaves.get(1)!.status(at(1)), "alert");
  }
});

Deno.test("task time survives a replay of the same reply and restarts on a new one", () => {
  const farm = new FarmState();
  slave(farm, 1, 0, "HELLO", hello("a"));
  slave(farm, 1, 10, "BUILD", ["foo", "1.0"]);
  slave(farm, 1, 20, "BUILD", ["foo", "1.0"]);
  assert.equal(farm.slaves.get(1)!.taskStarted.getTime(), at(10).getTime());
  slave(farm, 1, 30, "SEND", "x.whl");
  assert.equal(farm.slaves.get(1)!.taskStarted.getTime(), at(30).getTime());
  assert.equal(farm.slaves.get(1)!.longBuild(at(40)), false);
});

Deno.test("rows sort by ABI then label, and stats history is capped", () => {
  const farm = new FarmState();
  slave(farm, 1, 0, "HELLO", hello("zed", "cp39"));
  slave(farm, 2, 0, "HELLO", hello("bee", "cp311"));
  slave(farm, 3, 0, "HELLO", hello("ant", "cp311"));
  assert.deepEqual(farm.rows().map((r) => r.label), ["ant", "bee", "zed"]);
  for (let i = 0; i < HISTORY + 5; i++) slave(farm, 1, i, "STATS", slaveStats.example());
  assert.equal(farm.slaves.get(1)!.stats.length, HISTORY);
});

Deno.test("dead slaves are pruned after a while", () => {
  const farm = new FarmState();
  slave(farm, 1, 0, "HELLO", hello("a"));
  slave(farm, 1, 0, "DIE", null);
  farm.prune(at(1));
  assert.ok(farm.slaves.has(1));
  farm.prune(new Date(T0 + DEAD_LINGER_MS + 1000));
  assert.ok(!farm.slaves.has(1));
});

Deno.test("a master HELLO with a new start time resets the farm", () => {
  const farm = new FarmState();
  const h = masterHello.example();
  h[0] = at(0);
  assert.equal(farm.apply({ name: "HELLO", data: h }), "none");
  farm.apply({ name: "STATS", data: masterStats.example() });
  slave(farm, 1, 0, "HELLO", hello("a"));
  assert.equal(farm.apply({ name: "HELLO", data: [...h] }), "none");
  assert.equal(farm.slaves.size, 1);
  const restarted = [...h] as typeof h;
  restarted[0] = at(100);
  assert.equal(farm.apply({ name: "HELLO", data: restarted }), "new-master");
  assert.equal(farm.slaves.size, 0);
  assert.equal(farm.master.stats.length, 0);
});

Deno.test("replayed master STATS are not added twice", () => {
  const farm = new FarmState();
  const s = masterStats.example();
  farm.apply({ name: "STATS", data: s });
  farm.apply({ name: "STATS", data: s });
  assert.equal(farm.master.stats.length, 1);
});

Deno.test("the master is alert when silent or idle for an hour, dead before it speaks", () => {
  const farm = new FarmState();
  assert.equal(farm.master.status(at(0)), "dead");
  const s = masterStats.example();
  s[2] = { cp311: 3 };
  s[11] = 100, s[12] = 50, s[13] = 100, s[14] = 50, s[15] = 100, s[16] = 90;
  s[17] = 0.5, s[18] = 40;
  farm.apply({ name: "STATS", data: s }, at(0));
  assert.equal(farm.master.status(at(1)), "idle");
  assert.equal(farm.master.status(at(31)), "alert");
  const quiet = [...s] as typeof s;
  quiet[0] = at(5), quiet[2] = {}, quiet[8] = 0;
  farm.apply({ name: "STATS", data: quiet }, at(5));
  assert.equal(farm.master.status(at(6)), "alert");
});

Deno.test("durations and sizes read as the monitor shows them", () => {
  assert.equal(formatDuration(7_000), "7s");
  assert.equal(formatDuration(306_000), "5m 06s");
  assert.equal(formatDuration(3 * 3600_000 + 4 * 60_000), "3h 04m");
  assert.equal(formatDuration(26 * 3600_000), "1d 2h");
  assert.equal(formatSize(512), "512 B");
  assert.equal(formatSize(1.5 * 1024 ** 3), "1.5 GiB");
});
