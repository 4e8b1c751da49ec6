/**
 * What `piw monitor` shows, as plain lines of coloured segments: the header, the master row, one
 * row per slave, the details and graphs of the selected row, the control buttons and the status
 * line. Pure (farm state + UI state → lines) so it is tested without a terminal.
 * @module
 */

import {
  type FarmState,
  formatDuration,
  formatSize,
  masterResources,
  type MasterRow,
  type RowStatus,
  type SlaveRow,
} from "./state.ts";
import type { Command } from "../clients/monitor.ts";

/** An RGB colour. */
export type Rgb = [number, number, number];

/** A run of text in one colour (and optionally inverse, for the selection and focus). */
export interface Segment {
  text: string;
  color?: Rgb;
  inverse?: boolean;
  bold?: boolean;
}

/** One screen line. */
export type Line = Segment[];

/** Colour and glyph of each state, so it reads both in colour and in a plain capture. */
export const STATE_STYLE: Readonly<Record<RowStatus, { glyph: string; color: Rgb }>> = {
  idle: { glyph: "·", color: [160, 160, 160] },
  building: { glyph: "▶", color: [0, 200, 0] },
  sending: { glyph: "⇅", color: [60, 120, 255] },
  cleaning: { glyph: "~", color: [190, 0, 190] },
  alert: { glyph: "!", color: [230, 200, 0] },
  dead: { glyph: "✖", color: [230, 0, 0] },
};

/** The control buttons, in order, with their hotkeys; in a row they fit 80 columns. */
export const BUTTONS = [
  { key: "p", label: "Pause" },
  { key: "r", label: "Resume" },
  { key: "k", label: "Kill slave" },
  { key: "s", label: "Skip build" },
  { key: "t", label: "Stop master" },
  { key: "q", label: "Quit" },
] as const;

/** A button as the button row shows it: `[p Pause]`. */
export function buttonText(button: { key: string; label: string }): string {
  return `[${button.key} ${button.label}]`;
}

/** A Python version as HELLO sends it ("311", "3.11") as people write it: "3.11". */
export function pythonVersion(version: string): string {
  return /^\d\d+$/.test(version) ? `${version[0]}.${version.slice(1)}` : version;
}

/** A temperature, or "n/a" where there is no sensor (stats then say 0.0). */
export function temperatureText(celsius: number): string {
  return celsius > 0 ? `${celsius.toFixed(1)}°C` : "n/a";
}

/**
 * A one-segment line as lines of at most `width` characters, broken where its fields are (two
 * spaces), so an 80-column terminal shows every field; a field longer than a line is cut.
 */
function wrap(segment: Segment, width: number): Line[] {
  const lines: string[] = [];
  for (const field of segment.text.split("  ")) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 2 + field.length <= width) lines[last] += "  " + field;
    else lines.push(field.slice(0, width));
  }
  return lines.map((text) => [{ ...segment, text }]);
}

/** The line saying why a row is "alert", if it is. */
function alertLine(reason: string | null): Line[] {
  return reason === null ? [] : [[{ text: `Alert: ${reason}`, color: STATE_STYLE.alert.color }]];
}

/** The UI's own state: selection, focus, the pending confirmation and the status notice. */
export interface UiState {
  /** 0 = the master row, n = the n-th slave row. */
  selected: number;
  /** Where the arrow keys go. */
  focus: "list" | "controls";
  /** The highlighted button when the controls have focus. */
  button: number;
  /** A question awaiting y/n, if any. */
  confirm: string | null;
  /** The command that a "y" to that question sends. */
  pending: Command | null;
  /** One line of news (link state, what was sent). */
  notice: string;
}

const DIM: Rgb = [128, 128, 128];
const SPARKS = "▁▂▃▄▅▆▇█";

/** A sparkline of `values` (at most `width` of the latest), scaled to `scale` or their maximum. */
export function sparkline(values: number[], width: number, scale = 0): string {
  const shown = values.slice(-width);
  const max = Math.max(...shown, scale);
  return shown.map((v) => SPARKS[max > 0 ? Math.round((v / max) * 7) : 0]).join("");
}

function pad(text: string, width: number): string {
  return text.length > width ? text.slice(0, width - 1) + "…" : text.padEnd(width);
}

const COLUMNS = [3, 8, 14, 6, 9, 9] as const;

function row(cells: string[], width: number): string {
  const fixed = cells.slice(0, -1).map((c, i) => pad(c, COLUMNS[i])).join(" ");
  return pad(`${fixed} ${cells.at(-1)}`, width);
}

function masterCells(master: MasterRow, status: RowStatus, now: Date): string[] {
  const started = master.hello?.[0];
  const pending = Object.entries(master.pending).map(([abi, n]) => `${abi} ${n}`).join(", ");
  return [
    "M",
    status,
    master.hello?.[1] ?? "(no master)",
    "",
    started ? formatDuration(now.getTime() - started.getTime()) : "",
    "",
    `Queue: ${pending || "empty"}`,
  ];
}

function slaveCells(slave: SlaveRow, status: RowStatus, now: Date): string[] {
  return [
    String(slave.slaveId),
    status,
    slave.label,
    slave.abi,
    slave.firstSeen ? formatDuration(now.getTime() - slave.firstSeen.getTime()) : "",
    formatDuration(now.getTime() - slave.taskStarted.getTime()),
    slave.task,
  ];
}

/** The used fraction of a size (0 when the size is unknown). */
function used(free: number, size: number): number {
  return size > 0 ? 1 - free / size : 0;
}

function percent(free: number, size: number): string {
  return size > 0 ? `${Math.round((100 * free) / size)}% free of ${formatSize(size)}` : "n/a";
}

function masterDetails(master: MasterRow, now: Date, width: number): Line[] {
  const s = master.latest;
  const h = master.hello;
  const lines: Line[] = [[{
    text: h ? `Master ${h[1]}  board ${h[4]}  serial ${h[5]}  ${h[2]} ${h[3]}` : "Master: no HELLO",
  }], ...alertLine(master.alertReason(now))];
  if (!s) return [...lines, [{ text: "waiting for statistics", color: DIM }]];
  const r = masterResources(s);
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const perAbi = Object.entries(s[5]).map(([abi, n]) => `${abi}: ${n}`).join("  ") || "empty";
  lines.push(
    [{ text: `Queue ${perAbi}` }],
    [{
      text: `Builds last hour ${sum(s[2])}  built ${s[1]} (${formatSize(s[4])}, ${
        formatDuration(s[3].toMilliseconds())
      })  files ${s[7]}  new/h ${s[6]}  downloads last hour ${s[8]}`,
    }],
    [{
      text: `Disk ${percent(r.diskFree, r.diskSize)}  Mem ${percent(r.memFree, r.memSize)}  ` +
        `Swap ${percent(r.swapFree, r.swapSize)}  Load ${r.loadAvg1.toFixed(2)}  ` +
        `Temp ${temperatureText(r.cpuTemp)}`,
    }],
  );
  const g = Math.max(10, width - 14);
  const hist = master.stats;
  const graph = (name: string, values: number[], scale = 0): Line => [
    { text: pad(name, 12), color: DIM },
    { text: sparkline(values, g, scale), color: [0, 180, 220] },
  ];
  lines.push(
    graph("builds/h", hist.map((x) => sum(x[2]))),
    graph("downloads/h", hist.map((x) => x[8])),
    graph("load", hist.map((x) => x[17]), 4),
    graph("temp °C", hist.map((x) => x[18]), 85),
    graph("disk used", hist.map((x) => used(x[12], x[11])), 1),
    graph("mem used", hist.map((x) => used(x[14], x[13])), 1),
  );
  return lines;
}

function slaveDetails(slave: SlaveRow, now: Date, width: number): Line[] {
  const h = slave.hello;
  const lines: Line[] = [[{
    text: h
      ? `Slave ${slave.slaveId} ${h[5]}  Python ${pythonVersion(h[2])} (${h[3]}, ${h[4]})  ` +
        `board ${h[8]}  serial ${h[9]}  ${h[6]} ${h[7]}`
      : `Slave ${slave.slaveId}: no HELLO yet`,
  }], ...alertLine(slave.status(now) === "alert" ? slave.alertReason(now) : null)];
  const s = slave.stats.at(-1);
  if (s) {
    const skew = now.getTime() - s[0].getTime();
    lines.push([{
      text: `Disk ${percent(s[2], s[1])}  Mem ${percent(s[4], s[3])}  Swap ${
        percent(s[6], s[5])
      }  Load ${s[7].toFixed(2)}  Temp ${temperatureText(s[8])}  clock delta ${
        formatDuration(skew)
      }`,
    }]);
  }
  lines.push([{ text: `Task: ${slave.task}` }]);
  const g = Math.max(10, width - 14);
  const graph = (name: string, values: number[], scale = 0): Line => [
    { text: pad(name, 12), color: DIM },
    { text: sparkline(values, g, scale), color: [0, 180, 220] },
  ];
  lines.push(
    graph("load", slave.stats.map((x) => x[7]), 4),
    graph("temp °C", slave.stats.map((x) => x[8]), 85),
    graph("disk used", slave.stats.map((x) => used(x[2], x[1])), 1),
    graph("mem used", slave.stats.map((x) => used(x[4], x[3])), 1),
  );
  return lines;
}

/** The whole screen, `height` lines of at most `width` characters. */
export function render(
  farm: FarmState,
  ui: UiState,
  now: Date,
  width: number,
  height: number,
): Line[] {
  const slaves = farm.rows();
  const lines: Line[] = [];
  const title = `piw monitor — ${farm.master.hello?.[1] ?? "?"} — ${slaves.length} slave(s)`;
  lines.push([{ text: pad(title, width), bold: true, inverse: true }]);
  const header = row(["#", "State", "Label", "ABI", "Up Time", "Task Time", "Task"], width - 2);
  lines.push([{ text: "  " + header, bold: true }]);
  const rowLine = (status: RowStatus, cells: string[], index: number): Line => {
    const style = STATE_STYLE[status];
    const chosen = index === ui.selected;
    return [
      { text: style.glyph + " ", color: style.color, bold: true },
      { text: row(cells, width - 2), inverse: chosen && ui.focus === "list", bold: chosen },
    ];
  };
  const masterStatus = farm.master.status(now);
  lines.push(rowLine(masterStatus, masterCells(farm.master, masterStatus, now), 0));
  // Details, buttons and status take the bottom; the list gets what is left (scrolling).
  const selectedSlave = ui.selected > 0 ? slaves[ui.selected - 1] : undefined;
  const details =
    (selectedSlave
      ? slaveDetails(selectedSlave, now, width)
      : masterDetails(farm.master, now, width))
      .flatMap((l) =>
        l.length === 1
          ? wrap(l[0], width)
          : [l.map((s) => ({ ...s, text: s.text.slice(0, width) }))]
      );
  const listRoom = Math.max(1, height - lines.length - details.length - 4);
  const first = Math.max(0, Math.min(ui.selected - 1 - listRoom + 1, slaves.length - listRoom));
  const visible = slaves.slice(first, first + listRoom);
  visible.forEach((slave, i) => {
    const status = slave.status(now);
    lines.push(rowLine(status, slaveCells(slave, status, now), first + i + 1));
  });
  while (lines.length < height - details.length - 3) lines.push([{ text: "" }]);
  lines.push([{ text: "─".repeat(width), color: DIM }]);
  lines.push(...details);
  const buttons: Line = [];
  BUTTONS.forEach((b, i) => {
    if (i > 0) buttons.push({ text: " " });
    buttons.push({ text: buttonText(b), inverse: ui.focus === "controls" && ui.button === i });
  });
  lines.push(buttons);
  lines.push(
    ui.confirm
      ? [{ text: `${ui.confirm} (y/n)`, color: [255, 80, 80], bold: true }]
      : [{ text: `${ui.notice}   Tab: list/controls  ↑↓: select`, color: DIM }],
  );
  return lines.slice(0, height);
}

/** Which button (index) is at column `x` (1-based) of the button line, if any. */
export function buttonAt(x: number): number | null {
  let col = 1;
  for (const [i, b] of BUTTONS.entries()) {
    const w = buttonText(b).length;
    if (x >= col && x < col + w) return i;
    col += w + 1;
  }
  return null;
}
