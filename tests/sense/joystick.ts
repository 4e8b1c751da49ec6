/** The sense tests' Sense HAT: joystick events as its evdev device delivers them, a stand-in HAT. */

/** Key codes of the joystick's evdev device. */
export const KEY = { up: 103, down: 108, left: 105, right: 106, enter: 28 } as const;

/** A key press and release as 64-bit `struct input_event`s. */
export function press(key: keyof typeof KEY): Uint8Array {
  const bytes = new Uint8Array(48);
  const view = new DataView(bytes.buffer);
  for (const [offset, value] of [[0, 1], [24, 0]]) {
    view.setUint16(offset + 16, 1, true);
    view.setUint16(offset + 18, KEY[key], true);
    view.setInt32(offset + 20, value, true);
  }
  return bytes;
}

/** A stand-in Sense HAT: a blank framebuffer file and a joystick FIFO in a fresh directory. */
export interface FakeHat {
  dir: string;
  fb: string;
  joystick: string;
  /** The environment that points `piw sense` at them. */
  env: Record<string, string>;
}

/** Make a {@link FakeHat} in a new temporary directory named `prefix…` (the caller removes it). */
export function fakeHat(prefix: string): FakeHat {
  const dir = Deno.makeTempDirSync({ prefix });
  const fb = `${dir}/fb`;
  const joystick = `${dir}/joystick`;
  Deno.writeFileSync(fb, new Uint8Array(128));
  if (!new Deno.Command("mkfifo", { args: [joystick] }).outputSync().success) {
    throw new Error(`mkfifo ${joystick} failed`);
  }
  return { dir, fb, joystick, env: { PIW_SENSE_FB: fb, PIW_SENSE_JOYSTICK: joystick } };
}
