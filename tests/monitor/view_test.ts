/** piw monitor's screen and keys without a terminal: rows, glyphs, graphs, hotkeys, confirmation. */
import assert from "node:assert/strict";
import { FarmState } from "../../src/monitor/state.ts";
import { buttonAt, render, sparkline, STATE_STYLE } from "../../src/monitor/view.ts";
import { handleKey, initialUi } from "../../src/monitor/keys.ts";
import {
  masterHello,
  type MasterStats,
  masterStats,
  slaveHello,
  slaveStats,
} from "../../src/protocols/mod.ts";

const NOW = new Date(Date.UTC(2026, 0, 1, 12));

function farm(): FarmState {
  const f = new FarmState();
  f.apply({ name: "HELLO", data: masterHello.example() }, NOW);
  f.apply({ name: "STATS", data: masterStats.example() }, NOW);
  for (
    const [id, label, msg, data] of [[1, "bee", "BUILD", ["foo", "2.0"]], [
      2,
      "ant",
      "SLEEP",
      false,
    ]] as const
  ) {
    const hello = slaveHello.example();
    hello[5] = label;
    f.apply({ name: "SLAVE", data: [id, NOW, "HELLO", hello] }, NOW);
    f.apply({ name: "SLAVE", data: [id, NOW, "STATS", slaveStats.example()] }, NOW);
    f.apply({ name: "SLAVE", data: [id, NOW, msg, data] }, NOW);
  }
  return f;
}

const text = (lines: ReturnType<typeof render>) => lines.map((l) => l.map((s) => s.text).join(""));

Deno.test("the screen lists the master and the slaves sorted, with state glyphs", () => {
  const screen = text(render(farm(), initialUi(), NOW, 100, 30));
  assert.equal(screen.length, 30);
  assert.ok(screen.every((l) => [...l].length <= 100), screen.join("\n"));
  const ant = screen.findIndex((l) => l.includes("ant"));
  const bee = screen.findIndex((l) => l.includes("bee"));
  assert.ok(ant > 0 && bee === ant + 1);
  assert.match(screen[bee], /^▶ 1 +building +bee .*Building foo 2\.0/);
  assert.match(screen[ant], /^[·!] 2 .*Waiting for jobs/);
  assert.match(screen.at(-2)!, /\[p Pause\].*\[q Quit\]/);
});

Deno.test("the selected slave's details and graphs replace the master's", () => {
  const ui = initialUi();
  ui.selected = 1;
  const screen = text(render(farm(), ui, NOW, 100, 30)).join("\n");
  assert.match(screen, /Slave 2 ant/);
  assert.match(screen, /load +[▁-█]/);
  ui.selected = 0;
  assert.match(text(render(farm(), ui, NOW, 100, 30)).join("\n"), /Queue .*\n.*Builds last hour/);
});

Deno.test("sparklines scale to their maximum", () => {
  assert.equal(sparkline([0, 1, 2, 4], 10), "▁▃▅█");
  assert.equal(sparkline([0, 0], 10), "▁▁");
  assert.equal(sparkline([1, 2, 3], 2), "▆█");
});

Deno.test("hotkeys send pause, resume and skip at once", () => {
  const ui = initialUi();
  assert.deepEqual(handleKey(ui, "p", [5]), { command: { name: "SLEEP", slaveId: null } });
  assert.deepEqual(handleKey(ui, "r", [5]), { command: { name: "WAKE", slaveId: null } });
  handleKey(ui, "DOWN", [5]);
  assert.deepEqual(handleKey(ui, "s", [5]), { command: { name: "SKIP", slaveId: 5 } });
  assert.equal(handleKey(ui, "q", [5]), "quit");
});

Deno.test("kill and terminate wait for y; anything else cancels", () => {
  const ui = initialUi();
  handleKey(ui, "DOWN", [7]);
  assert.equal(handleKey(ui, "k", [7]), null);
  assert.match(ui.confirm!, /Kill slave 7/);
  assert.equal(handleKey(ui, "n", [7]), null);
  assert.equal(ui.confirm, null);
  handleKey(ui, "k", [7]);
  assert.deepEqual(handleKey(ui, "y", [7]), { command: { name: "KILL", slaveId: 7 } });
  handleKey(ui, "t", [7]);
  assert.deepEqual(handleKey(ui, "y", [7]), { command: { name: "QUIT" } });
});

Deno.test("Tab moves to the buttons, arrows pick one and Enter presses it", () => {
  const ui = initialUi();
  handleKey(ui, "TAB", []);
  assert.equal(ui.focus, "controls");
  handleKey(ui, "RIGHT", []);
  assert.deepEqual(handleKey(ui, "ENTER", []), { command: { name: "WAKE", slaveId: null } });
  handleKey(ui, "LEFT", []);
  handleKey(ui, "LEFT", []);
  assert.equal(handleKey(ui, "ENTER", []), "quit");
  assert.equal(buttonAt(1), 0);
  assert.equal(buttonAt(9), 0);
  assert.equal(buttonAt(10), null);
  assert.equal(buttonAt(11), 1);
});

Deno.test("the master row and panel show uptime, queues per ABI, builds, downloads and resources", () => {
  const f = new FarmState();
  const hello = masterHello.example();
  hello[0] = new Date(NOW.getTime() - (3 * 3600 + 4 * 60) * 1000);
  hello[1] = "farmhost";
  f.apply({ name: "HELLO", data: hello }, NOW);
  const stats = (at: number, built: number, downloads: number): MasterStats => {
    const s = masterStats.example();
    s[0] = new Date(NOW.getTime() - at * 1000);
    s[2] = { cp311: built, cp39: 1 };
    s[5] = { cp311: 5, cp39: 2 };
    s[8] = downloads;
    s[11] = 100 * 1024 ** 3, s[12] = 25 * 1024 ** 3;
    s[13] = 8 * 1024 ** 3, s[14] = 4 * 1024 ** 3;
    s[15] = 1024 ** 3, s[16] = 1024 ** 3;
    s[17] = 1.5, s[18] = 45.5;
    return s;
  };
  f.apply({ name: "STATS", data: stats(20, 0, 0) }, NOW);
  f.apply({ name: "STATS", data: stats(10, 6, 42) }, NOW);
  const screen = text(render(f, initialUi(), NOW, 120, 30)).join("\n");
  assert.match(screen, /^. M +idle +farmhost +3h 04m +Queue: cp311 5, cp39 2/m);
  assert.match(screen, /^Queue cp311: 5 {2}cp39: 2$/m);
  assert.match(screen, /Builds last hour 7 .* downloads last hour 42/);
  assert.match(screen, /Disk 25% free of 100\.0 GiB {2}Mem 50% free of 8\.0 GiB/);
  assert.match(screen, /Load 1\.50 {2}Temp 45\.5°C/);
  // History: the builds went from 1 to 7 an hour, the downloads from 0 to 42.
  assert.match(screen, /^builds\/h {4}▂█$/m);
  assert.match(screen, /^downloads\/h ▁█$/m);
  assert.match(screen, /^disk used {3}▆▆$/m);
});

Deno.test("each of the six states has its own glyph and colour", () => {
  const f = new FarmState();
  const states: [string, string, unknown, number][] = [
    ["idle", "SLEEP", false, 0.5],
    ["building", "BUILD", ["foo", "1.0"], 0.5],
    ["sending", "SEND", "foo.whl", 0.5],
    ["cleaning", "DONE", null, 0.5],
    ["alert", "BUILD", ["bar", "1.0"], 6],
    ["dead", "DIE", null, 0.5],
  ];
  states.forEach(([label, msg, data, load], i) => {
    const hello = slaveHello.example();
    hello[5] = label;
    const s = slaveStats.example();
    s[1] = 100, s[2] = 90, s[3] = 100, s[4] = 90, s[5] = 100, s[6] = 90, s[7] = load, s[8] = 40;
    f.apply({ name: "SLAVE", data: [i + 1, NOW, "HELLO", hello] }, NOW);
    f.apply({ name: "SLAVE", data: [i + 1, NOW, "STATS", s] }, NOW);
    f.apply({ name: "SLAVE", data: [i + 1, NOW, msg, data] }, NOW);
  });
  const lines = render(f, initialUi(), NOW, 100, 30);
  const seen = new Set<string>();
  for (const [label] of states) {
    const cells = new RegExp(`^\\d +${label} +${label} `);
    const line = lines.find((l) => cells.test(l[1]?.text ?? ""))!;
    const want = STATE_STYLE[label as keyof typeof STATE_STYLE];
    assert.equal(line[0].text, want.glyph + " ", label);
    assert.deepEqual(line[0].color, want.color, label);
    seen.add(`${want.glyph} ${want.color}`);
  }
  assert.equal(seen.size, 6, "six distinct glyph/colour pairs");
});

Deno.test("a slave row shows id, label, ABI, up time, task time and task", () => {
  const f = new FarmState();
  const hello = slaveHello.example();
  hello[3] = "cp311", hello[5] = "pi4-01";
  const at = (s: number) => new Date(NOW.getTime() - s * 1000);
  f.apply({ name: "SLAVE", data: [12, at(125), "HELLO", hello] }, at(125));
  f.apply({ name: "SLAVE", data: [12, at(7), "BUILD", ["numpy", "2.0"]] }, at(7));
  const screen = text(render(f, initialUi(), NOW, 100, 30)).join("\n");
  assert.match(screen, /^▶ 12 +building +pi4-01 +cp311 +2m 05s +7s +Building numpy 2\.0/m);
});

Deno.test("the selected slave's graphs follow its own stats history", () => {
  const f = farm();
  for (const [i, load] of [0, 2, 4].entries()) {
    const s = slaveStats.example();
    s[0] = new Date(NOW.getTime() + i * 1000);
    s[7] = load;
    f.apply({ name: "SLAVE", data: [2, NOW, "STATS", s] }, NOW);
  }
  const ui = initialUi();
  ui.selected = 1; // ant, slave 2
  const screen = text(render(f, ui, NOW, 100, 30)).join("\n");
  assert.match(screen, /^load {8}.▁▅█$/m);
  ui.selected = 2; // bee, slave 1: one stats message only
  assert.match(text(render(f, ui, NOW, 100, 30)).join("\n"), /^load {8}.$/m);
});
