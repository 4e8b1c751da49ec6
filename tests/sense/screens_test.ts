/** piw sense's pure parts: the main screen's pixels, joystick navigation, RGB565, rotation, evdev. */
import assert from "node:assert/strict";
import { FarmState } from "../../src/monitor/state.ts";
import { COLORS, move, type Nav, render, slavePixel, textScreen } from "../../src/sense/screens.ts";
import { decodeEvent, fromRgb565, rotate, rotateStick, toRgb565 } from "../../src/sense/hat.ts";
import { masterStats, NO_DATA, slaveHello } from "../../src/protocols/mod.ts";

const NOW = new Date(Date.UTC(2026, 0, 1, 12));

function farmWith(...replies: [string, unknown][]): FarmState {
  const farm = new FarmState();
  replies.forEach(([msg, data], i) => {
    const hello = slaveHello.example();
    hello[5] = `s${i}`;
    farm.apply({ name: "SLAVE", data: [i + 1, NOW, "HELLO", hello] }, NOW);
    farm.apply({ name: "SLAVE", data: [i + 1, NOW, msg, data] }, NOW);
  });
  return farm;
}

Deno.test("slave pixels run down the columns below the three statistics rows", () => {
  assert.deepEqual(slavePixel(0), { x: 0, y: 3 });
  assert.deepEqual(slavePixel(4), { x: 0, y: 7 });
  assert.deepEqual(slavePixel(5), { x: 1, y: 3 });
});

Deno.test("each slave state has its colour on the main screen", () => {
  const farm = farmWith(
    ["SLEEP", false],
    ["SLEEP", false],
    ["BUILD", ["foo", "1.0"]],
    ["SEND", "foo.whl"],
    ["DONE", NO_DATA],
    ["DIE", NO_DATA],
  );
  // The cursor sits on slave 0; the others show their colours.
  const frame = render(farm, { screen: "main", index: 0 }, NOW);
  const px = (i: number) => frame[slavePixel(i).y * 8 + slavePixel(i).x];
  assert.deepEqual(px(1), COLORS.idle);
  assert.deepEqual(px(2), COLORS.building);
  assert.deepEqual(px(3), COLORS.sending);
  assert.deepEqual(px(4), COLORS.cleaning);
  assert.deepEqual(px(5), COLORS.dead);
  assert.deepEqual(px(6), COLORS.black);
  // A build older than 15 minutes turns yellow.
  const later = new Date(NOW.getTime() + 16 * 60_000);
  farm.apply({ name: "SLAVE", data: [3, later, "STATS", null] }, later);
  const frame2 = render(farm, { screen: "main", index: 0 }, later);
  assert.deepEqual(frame2[slavePixel(2).y * 8 + slavePixel(2).x], COLORS.long);
});

Deno.test("the top rows show ping, disk free and the queue", () => {
  const farm = new FarmState();
  const s = masterStats.example();
  s[11] = 100, s[12] = 50, s[5] = { cp311: 16 };
  farm.apply({ name: "STATS", data: s }, NOW);
  const frame = render(farm, { screen: "main", index: 39 }, NOW);
  // Just heard: ping row all blue; disk half white; queue two white pixels.
  assert.deepEqual(frame.slice(0, 8), Array(8).fill(COLORS.background));
  assert.deepEqual(frame.slice(8, 16).map((p) => p[0]), [255, 255, 255, 255, 0, 0, 0, 0]);
  assert.deepEqual(frame.slice(16, 24).map((p) => p[0]), [255, 255, 0, 0, 0, 0, 0, 0]);
  // After 30 s of silence the ping row pulses red.
  const late = render(farm, { screen: "main", index: 39 }, new Date(NOW.getTime() + 30_500));
  assert.ok(late.slice(0, 8).every((p) => p[0] > 200 && p[1] === 0 && p[2] === 0));
});

Deno.test("the joystick walks main, slave pages, stats and quit screens", () => {
  const farm = farmWith(["SLEEP", false], ["SLEEP", false]);
  let nav: Nav = { screen: "main", index: 0 };
  nav = move(farm, nav, "down").nav;
  assert.deepEqual(nav, { screen: "main", index: 1 });
  nav = move(farm, nav, "enter").nav;
  assert.deepEqual(nav, { screen: "slave", slaveId: 2, page: 0 });
  nav = move(farm, nav, "right").nav;
  nav = move(farm, nav, "right").nav;
  nav = move(farm, nav, "right").nav;
  const kill = move(farm, nav, "enter");
  assert.deepEqual(kill.command, { name: "KILL", slaveId: 2 });
  assert.deepEqual(kill.nav, { screen: "main", index: 1 });
  // Off the top: statistics; down returns.
  nav = move(farm, { screen: "main", index: 0 }, "up").nav;
  assert.deepEqual(nav, { screen: "stats", page: 0 });
  assert.deepEqual(move(farm, nav, "left").nav, { screen: "stats", page: 5 });
  assert.equal(move(farm, nav, "down").nav.screen, "main");
  // Off the bottom: quit and terminate.
  nav = move(farm, { screen: "main", index: 4 }, "down").nav;
  assert.deepEqual(nav, { screen: "quit", page: 0 });
  assert.deepEqual(move(farm, nav, "enter"), { nav, quit: true });
  const terminate = move(farm, { screen: "quit", page: 1 }, "enter");
  assert.deepEqual(terminate.command, { name: "QUIT" });
  assert.equal(terminate.quit, true);
  // Right across the grid moves a column (5 slaves per column).
  assert.deepEqual(move(farm, { screen: "main", index: 0 }, "right").nav, {
    screen: "main",
    index: 5,
  });
});

Deno.test("text screens light pixels in the text colour", () => {
  const frame = textScreen("A", COLORS.white, NOW);
  assert.ok(frame.some((p) => p[0] === 255));
  assert.deepEqual(frame.slice(0, 8), Array(8).fill(COLORS.black));
});

Deno.test("RGB565 keeps the top bits of each channel, little-endian", () => {
  const frame = Array.from({ length: 64 }, (_, i) =>
    [i * 4, 255 - i * 4, 128] as [
      number,
      number,
      number,
    ]);
  const bytes = toRgb565(frame);
  assert.equal(bytes.length, 128);
  assert.deepEqual(toRgb565(fromRgb565(bytes)), bytes);
  assert.deepEqual(fromRgb565(toRgb565([[255, 0, 0], ...frame.slice(1)]))[0], [248, 0, 0]);
  assert.deepEqual([...toRgb565([[0, 0, 255], ...frame.slice(1)]).slice(0, 2)], [0x1f, 0]);
});

Deno.test("rotation turns the frame and the joystick together", () => {
  const frame = Array.from({ length: 64 }, (_, i) => [i, 0, 0] as [number, number, number]);
  const turned = rotate(frame, 90);
  // Clockwise: the top-left pixel comes from the bottom-left.
  assert.equal(turned[0][0], 56);
  assert.deepEqual(rotate(rotate(frame, 180), 180), frame);
  assert.deepEqual(rotate(frame, 360), frame);
  assert.equal(rotateStick("right", 90), "up");
  assert.equal(rotateStick("up", 90), "left");
  assert.equal(rotateStick("enter", 270), "enter");
});

Deno.test("evdev key presses decode to joystick moves; releases do not", () => {
  const event = (code: number, value: number, type = 1) => {
    const bytes = new Uint8Array(24);
    const view = new DataView(bytes.buffer);
    view.setUint16(16, type, true), view.setUint16(18, code, true), view.setInt32(20, value, true);
    return bytes;
  };
  assert.equal(decodeEvent(event(103, 1)), "up");
  assert.equal(decodeEvent(event(28, 2)), "enter");
  assert.equal(decodeEvent(event(108, 0)), null);
  assert.equal(decodeEvent(event(0, 0, 0)), null);
});
