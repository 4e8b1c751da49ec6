/** piw monitor's screen and keys without a terminal: rows, glyphs, graphs, hotkeys, confirmation. */
import assert from "node:assert/strict";
import { FarmState } from "../../src/monitor/state.ts";
import { buttonAt, render, sparkline } from "../../src/monitor/view.ts";
import { handleKey, initialUi } from "../../src/monitor/keys.ts";
import { masterHello, masterStats, slaveHello, slaveStats } from "../../src/protocols/mod.ts";

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
  assert.match(screen.at(-2)!, /\[Pause \(p\)\].*\[Quit \(q\)\]/);
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
  assert.equal(buttonAt(11), 0);
  assert.equal(buttonAt(12), null);
  assert.equal(buttonAt(13), 1);
});
