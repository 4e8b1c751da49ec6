/**
 * `piw monitor`: the master and its slaves in the terminal, with controls (pause, resume, kill
 * or skip a slave, terminate the master). Connects as piwheels' monitor does (SUB status, PUSH
 * control, HELLO after 1 s) and re-sends HELLO when the master falls silent.
 * @module
 */
import type { MonitorOptions } from "../cli/options.ts";
import { PiwError } from "../errors.ts";
import { MasterClient } from "../clients/monitor.ts";
import { handleKey, initialUi } from "./keys.ts";
import { buttonAt, render } from "./view.ts";
import { type InputEvent, Screen } from "./tui.ts";

/** Run `piw monitor` with parsed options; resolves to the exit code. */
export async function run(options: MonitorOptions): Promise<number> {
  if (!Deno.stdout.isTerminal()) throw new PiwError("piw monitor needs a terminal");
  const client = new MasterClient(options.statusQueue, options.controlQueue);
  const screen = new Screen();
  const ui = initialUi();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => done = resolve);

  const redraw = () => {
    const { width, height } = screen.size;
    const now = new Date();
    client.farm.prune(now);
    // Keep the selection on the list as slaves come and go.
    ui.selected = Math.min(ui.selected, client.farm.slaves.size);
    // The last row stays empty: writing there can scroll some terminals.
    screen.draw(render(client.farm, ui, now, width, height - 1));
  };
  let lastNotice = client.notice;
  client.onChange = () => {
    // Link news (connected, lost, restarted) replaces whatever the status line said.
    if (client.notice !== lastNotice) ui.notice = lastNotice = client.notice;
    redraw();
  };

  const onInput = (event: InputEvent) => {
    const ids = client.farm.rows().map((r) => r.slaveId);
    let result = null;
    if ("key" in event) result = handleKey(ui, event.key, ids);
    else if ("wheel" in event) result = handleKey(ui, event.wheel === "up" ? "UP" : "DOWN", ids);
    else result = click(event.click.x, event.click.y, ids);
    if (result === "quit") done();
    else if (result) client.send(result.command);
    redraw();
  };

  // Rows start at line 3 (title, header); the button line is third from the bottom.
  const click = (x: number, y: number, ids: number[]) => {
    const { height } = screen.size;
    if (y === height - 2) {
      const button = buttonAt(x);
      if (button === null) return null;
      ui.focus = "controls";
      ui.button = button;
      return handleKey(ui, "ENTER", ids);
    }
    if (y >= 3 && y - 3 <= ids.length) {
      ui.focus = "list";
      ui.selected = y - 3;
    }
    return null;
  };

  screen.open(onInput);
  // A SIGTERM still gives the terminal (or the matrix) back before exiting.
  const onSignal = () => done();
  Deno.addSignalListener("SIGTERM", onSignal);
  client.start();
  const ticker = setInterval(redraw, 1000);
  redraw();
  try {
    await finished;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    clearInterval(ticker);
    screen.close();
    await client.close();
  }
  return 0;
}
