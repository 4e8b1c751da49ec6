/** Joystick events for the sense tests, as the Sense HAT's evdev device delivers them. */

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
