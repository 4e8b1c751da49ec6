/**
 * What `piw sense` shows on the 8×8 matrix and how the joystick moves through it (as
 * piwheels' `piw-sense`): the main screen (ping, disk and queue rows, one pixel per slave), a
 * slave's
 * detail pages (label, ABI, task, kill), the statistics pages and the quit/terminate pages.
 * Pure: farm state, navigation state and the time in; 64 pixels or a command out.
 * @module
 */

import type { Command } from "../clients/monitor.ts";
import { type FarmState, formatDuration, formatSize, type SlaveRow } from "../monitor/state.ts";
import { textColumns } from "./font.ts";

/** An RGB colour, 0–255 each. */
export type Rgb = [number, number, number];
/** 64 pixels, row by row from the top left. */
export type Frame = Rgb[];
/** A joystick direction or press. */
export type Stick = "up" | "down" | "left" | "right" | "enter";

/** Slave pixel colours, as piwheels' `piw-sense` shows them. */
export const COLORS: Readonly<Record<string, Rgb>> = {
  idle: [64, 64, 64],
  building: [0, 255, 0],
  long: [255, 255, 0],
  sending: [0, 0, 255],
  cleaning: [128, 0, 128],
  dead: [255, 0, 0],
  background: [0, 0, 64],
  white: [255, 255, 255],
  black: [0, 0, 0],
};

/** Where the joystick is: a slave pixel, or one of the page screens. */
export type Nav =
  | { screen: "main"; index: number }
  | { screen: "slave"; slaveId: number; page: number }
  | { screen: "stats"; page: number }
  | { screen: "quit"; page: number };

/** The slave pages, in order. */
export const SLAVE_PAGES = ["label", "abi", "task", "kill"] as const;
/** The statistics pages, in order. */
export const STATS_PAGES = ["ping", "disk", "queue", "rate", "time", "size"] as const;
/** The bottom pages, in order. */
export const QUIT_PAGES = ["quit", "terminate"] as const;

/** Slave pixels start on this row (rows 0–2 are ping, disk, queue). */
const FIRST_ROW = 3;
const SLAVE_ROWS = 8 - FIRST_ROW;
/** Ping row goes from blue to white over this long, then pulses red. */
const PING_MS = 30_000;

/** Where slave `index` sits: vertical first, then horizontal. */
export function slavePixel(index: number): { x: number; y: number } {
  return { x: Math.floor(index / SLAVE_ROWS), y: FIRST_ROW + (index % SLAVE_ROWS) };
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const f = Math.max(0, Math.min(1, t));
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * f)) as Rgb;
}

/** A 0–1–0 pulse with a 1 s period. */
function pulse(now: number): number {
  return (1 - Math.cos((2 * Math.PI * (now % 1000)) / 1000)) / 2;
}

/** A bar of 8 pixels, white for `fraction` of it (the last pixel partly), blue otherwise. */
function bar(fraction: number): Rgb[] {
  return Array.from(
    { length: 8 },
    (_, x) => mix(COLORS.background, COLORS.white, fraction * 8 - x),
  );
}

/** The colour of one slave pixel. */
export function slaveColor(slave: SlaveRow, now: Date): Rgb {
  const status = slave.status(now);
  if (status === "dead") return COLORS.dead;
  if (slave.reply === "BUILD") return slave.longBuild(now) ? COLORS.long : COLORS.building;
  if (slave.reply === "SEND") return COLORS.sending;
  if (slave.reply === "DONE") return COLORS.cleaning;
  return COLORS.idle;
}

function mainScreen(farm: FarmState, index: number, now: Date): Frame {
  const t = now.getTime();
  const frame: Frame = Array.from({ length: 64 }, () => COLORS.black);
  const heard = farm.master.lastHeard?.getTime();
  const silent = heard === undefined ? PING_MS : t - heard;
  const ping = silent >= PING_MS
    ? Array.from({ length: 8 }, () => mix(COLORS.black, COLORS.dead, pulse(t)))
    : bar(silent / PING_MS);
  const stats = farm.master.latest;
  const disk = bar(stats && stats[11] > 0 ? stats[12] / stats[11] : 0);
  const queue = bar(farm.master.pendingTotal / 64);
  for (let x = 0; x < 8; x++) {
    [frame[x], frame[8 + x], frame[16 + x]] = [ping[x], disk[x], queue[x]];
  }
  farm.rows().slice(0, 8 * SLAVE_ROWS).forEach((slave, i) => {
    const { x, y } = slavePixel(i);
    frame[y * 8 + x] = slaveColor(slave, now);
  });
  const { x, y } = slavePixel(index);
  frame[y * 8 + x] = mix(frame[y * 8 + x], COLORS.white, pulse(t));
  return frame;
}

/** Scrolling `text` (5 px high, rows 1–5) over a background `fill` of the bottom rows. */
export function textScreen(text: string, color: Rgb, now: Date, fill = 0): Frame {
  const filled = Math.round(fill * 8);
  const frame: Frame = Array.from(
    { length: 64 },
    (_, i) => Math.floor(i / 8) >= 8 - filled ? COLORS.background : COLORS.black,
  );
  const columns = textColumns(text);
  // Short text stands still; longer text scrolls by 10 columns a second, with a gap.
  const scroll = columns.length <= 8 ? 0 : Math.floor(now.getTime() / 100) % (columns.length + 8);
  for (let x = 0; x < 8; x++) {
    const column = columns[(x + scroll) % (columns.length + 8)];
    if (!column) continue;
    column.forEach((lit, y) => {
      if (lit) frame[(y + 1) * 8 + x] = color;
    });
  }
  return frame;
}

function statsText(farm: FarmState, page: string, now: Date): [string, number] {
  const s = farm.master.latest;
  const heard = farm.master.lastHeard;
  const silent = heard ? now.getTime() - heard.getTime() : Infinity;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  switch (page) {
    case "ping":
      return [`Ping ${heard ? formatDuration(silent) : "never"}`, Math.min(1, silent / PING_MS)];
    case "disk":
      return s && s[11] > 0
        ? [`Disk ${Math.round((100 * s[12]) / s[11])}% free`, s[12] / s[11]]
        : ["Disk ?", 0];
    case "queue":
      return [`Queue ${farm.master.pendingTotal}`, Math.min(1, farm.master.pendingTotal / 64)];
    case "rate":
      return [`Builds ${s ? sum(s[2]) : 0}/h`, s ? Math.min(1, sum(s[2]) / 60) : 0];
    case "time":
      return [`Build time ${s ? formatDuration(s[3].toMilliseconds()) : "?"}`, 0];
    default:
      return [`Build size ${s ? formatSize(s[4]) : "?"}`, 0];
  }
}

/** The frame for `nav` at `now`. */
export function render(farm: FarmState, nav: Nav, now: Date): Frame {
  switch (nav.screen) {
    case "main":
      return mainScreen(farm, nav.index, now);
    case "stats": {
      const [text, fill] = statsText(farm, STATS_PAGES[nav.page], now);
      return textScreen(text, COLORS.white, now, fill);
    }
    case "quit":
      return textScreen(
        QUIT_PAGES[nav.page] === "quit" ? "Quit?" : "Terminate master?",
        COLORS.dead,
        now,
      );
    case "slave": {
      const slave = farm.slaves.get(nav.slaveId);
      if (!slave) return textScreen("Gone", COLORS.dead, now);
      const page = SLAVE_PAGES[nav.page];
      const color = slaveColor(slave, now);
      const text = page === "label"
        ? slave.label
        : page === "abi"
        ? slave.abi
        : page === "task"
        ? slave.task
        : "Kill?";
      return textScreen(text, page === "kill" ? COLORS.dead : mix(color, COLORS.white, 0.3), now);
    }
  }
}

/** What a joystick move does: the next navigation state and possibly a command or quitting. */
export interface Move {
  nav: Nav;
  command?: Command;
  quit?: boolean;
}

/** Move the joystick `stick` from `nav` over the slaves of `farm`. */
export function move(farm: FarmState, nav: Nav, stick: Stick): Move {
  const count = Math.min(farm.slaves.size, 8 * SLAVE_ROWS);
  const cycle = (page: number, size: number) =>
    stick === "left" ? (page + size - 1) % size : stick === "right" ? (page + 1) % size : page;
  switch (nav.screen) {
    case "main": {
      const { x, y } = slavePixel(nav.index);
      const at = (nx: number, ny: number) => nx * SLAVE_ROWS + ny - FIRST_ROW;
      if (stick === "up") {
        return {
          nav: y === FIRST_ROW ? { screen: "stats", page: 0 } : { ...nav, index: nav.index - 1 },
        };
      }
      if (stick === "down") {
        return { nav: y === 7 ? { screen: "quit", page: 0 } : { ...nav, index: nav.index + 1 } };
      }
      if (stick === "left") return { nav: { ...nav, index: x > 0 ? at(x - 1, y) : nav.index } };
      if (stick === "right") return { nav: { ...nav, index: x < 7 ? at(x + 1, y) : nav.index } };
      const slave = farm.rows()[nav.index];
      if (nav.index < count && slave) {
        return { nav: { screen: "slave", slaveId: slave.slaveId, page: 0 } };
      }
      return { nav };
    }
    case "slave": {
      if (stick === "enter") {
        const index = Math.max(0, farm.rows().findIndex((r) => r.slaveId === nav.slaveId));
        const back: Nav = { screen: "main", index };
        return SLAVE_PAGES[nav.page] === "kill"
          ? { nav: back, command: { name: "KILL", slaveId: nav.slaveId } }
          : { nav: back };
      }
      return { nav: { ...nav, page: cycle(nav.page, SLAVE_PAGES.length) } };
    }
    case "stats":
      if (stick === "down") return { nav: { screen: "main", index: 0 } };
      return { nav: { ...nav, page: cycle(nav.page, STATS_PAGES.length) } };
    case "quit":
      if (stick === "up") return { nav: { screen: "main", index: SLAVE_ROWS - 1 } };
      if (stick === "enter") {
        return QUIT_PAGES[nav.page] === "quit"
          ? { nav, quit: true }
          : { nav, command: { name: "QUIT" }, quit: true };
      }
      return { nav: { ...nav, page: cycle(nav.page, QUIT_PAGES.length) } };
  }
}
