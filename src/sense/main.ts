/**
 * `piw sense`: the master and its slaves on a Raspberry Pi Sense HAT (or, with `--emulate`, on
 * an 8×8 matrix in the terminal), navigated with its joystick. The connection and the farm model
 * are `piw monitor`'s (`src/clients/monitor.ts`, `src/monitor/state.ts`).
 *
 * Environment: `PIW_SENSE_FB` (framebuffer device or file) and `PIW_SENSE_JOYSTICK` (evdev
 * device or FIFO) replace the discovery by name.
 * @module
 */
import type { SenseOptions } from "../cli/options.ts";
import { PiwError } from "../errors.ts";
import { MasterClient } from "../clients/monitor.ts";
import { FrameBuffer, hatDevices, readJoystick } from "./hat.ts";
import { Emulator } from "./emulator.ts";
import { move, type Nav, render, type Stick } from "./screens.ts";

/** Redraw often enough for the pulsing cursor and scrolling text. */
const FRAME_MS = 50;

/** Run `piw sense` with parsed options; resolves to the exit code. */
export async function run(options: SenseOptions): Promise<number> {
  if (options.emulate && !Deno.stdout.isTerminal()) {
    throw new PiwError("piw sense --emulate needs a terminal");
  }
  // Find the HAT before connecting, so a missing one fails at once.
  const devices = options.emulate ? null : hatDevices();
  const client = new MasterClient(options.statusQueue, options.controlQueue);
  let nav: Nav = { screen: "main", index: 0 };
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => done = resolve);
  const onStick = (stick: Stick) => {
    const result = move(client.farm, nav, stick);
    nav = result.nav;
    if (result.command) client.send(result.command);
    if (result.quit) done();
  };

  const aborter = new AbortController();
  let display: { show(frame: ReturnType<typeof render>): void; close(): void };
  if (devices) {
    display = new FrameBuffer(devices.fb, options.rotate);
    // Not awaited: a FIFO with no writer blocks its open until the process exits.
    readJoystick(devices.joystick, options.rotate, onStick, aborter.signal).catch((error) => {
      console.error(`piw sense: joystick: ${(error as Error).message}`);
      done();
    });
  } else {
    const emulator = new Emulator();
    emulator.open(onStick, done);
    display = emulator;
  }
  client.start();
  // A SIGTERM still gives the terminal (or the matrix) back before exiting.
  const onSignal = () => done();
  Deno.addSignalListener("SIGTERM", onSignal);
  const ticker = setInterval(() => {
    const now = new Date();
    client.farm.prune(now);
    // A slave whose page is open may vanish; go back to the grid.
    if (nav.screen === "slave" && !client.farm.slaves.has(nav.slaveId)) {
      nav = { screen: "main", index: 0 };
    }
    display.show(render(client.farm, nav, now));
  }, FRAME_MS);
  try {
    await finished;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    clearInterval(ticker);
    aborter.abort();
    display.close();
    await client.close();
  }
  return 0;
}
