/**
 * `piw monitor`'s keys and buttons: moving the selection, Tab between the list and the
 * controls, the hotkeys, and the y/n confirmation of the destructive ones (kill, terminate).
 * Pure: a key and the current state in, the state changed and what to send out.
 * @module
 */

import type { Command } from "../clients/monitor.ts";
import { BUTTONS, type UiState } from "./view.ts";

/** What a key asks of the program: send a command, quit, or nothing but a redraw. */
export type KeyResult = { command: Command } | "quit" | null;

/** A fresh UI state. */
export function initialUi(): UiState {
  return {
    selected: 0,
    focus: "list",
    button: 0,
    confirm: null,
    pending: null,
    notice: "connecting",
  };
}

/** Press button/hotkey `key` with the selected slave id (null = the master row). */
export function action(ui: UiState, key: string, slaveId: number | null): KeyResult {
  const who = slaveId === null ? "all slaves" : `slave ${slaveId}`;
  switch (key) {
    case "p":
      ui.notice = "sent SLEEP (pause the master)";
      return { command: { name: "SLEEP", slaveId: null } };
    case "r":
      ui.notice = "sent WAKE (resume the master)";
      return { command: { name: "WAKE", slaveId: null } };
    case "s":
      ui.notice = `sent SKIP to ${who}`;
      return { command: { name: "SKIP", slaveId } };
    case "k":
      ui.pending = { name: "KILL", slaveId };
      ui.confirm = `Kill ${who} at its next IDLE?`;
      return null;
    case "t":
      ui.pending = { name: "QUIT" };
      ui.confirm = "Terminate the master?";
      return null;
    case "q":
      return "quit";
  }
  return null;
}

/**
 * Handle one key (terminal-kit names: "UP", "TAB", "ENTER", "y", …) given the number of slave
 * rows and the id of each.
 */
export function handleKey(ui: UiState, key: string, slaveIds: number[]): KeyResult {
  const slaveId = ui.selected > 0 ? slaveIds[ui.selected - 1] ?? null : null;
  if (ui.confirm !== null) {
    const command = ui.pending;
    ui.confirm = null;
    ui.pending = null;
    if ((key === "y" || key === "Y") && command) {
      ui.notice = "slaveId" in command
        ? `sent KILL to ${command.slaveId === null ? "all slaves" : `slave ${command.slaveId}`}`
        : "sent QUIT (terminate the master)";
      return { command };
    }
    ui.notice = "cancelled";
    return null;
  }
  if (key === "CTRL_C") return "quit";
  if (key === "TAB" || key === "SHIFT_TAB") {
    ui.focus = ui.focus === "list" ? "controls" : "list";
    return null;
  }
  if (ui.focus === "controls") {
    if (key === "LEFT") ui.button = (ui.button + BUTTONS.length - 1) % BUTTONS.length;
    else if (key === "RIGHT") ui.button = (ui.button + 1) % BUTTONS.length;
    else if (key === "ENTER" || key === " ") return action(ui, BUTTONS[ui.button].key, slaveId);
    else if (BUTTONS.some((b) => b.key === key)) return action(ui, key, slaveId);
    return null;
  }
  if (key === "UP") ui.selected = Math.max(0, ui.selected - 1);
  else if (key === "DOWN" || key === "j") ui.selected = Math.min(slaveIds.length, ui.selected + 1);
  else if (key === "HOME") ui.selected = 0;
  else if (key === "END") ui.selected = slaveIds.length;
  else if (BUTTONS.some((b) => b.key === key)) return action(ui, key, slaveId);
  return null;
}
