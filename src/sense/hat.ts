/**
 * The Sense HAT itself, without a Python library: its 8×8 LED matrix is a Linux framebuffer
 * (`/dev/fbN` named "RPi-Sense FB", RGB565, row by row) and its joystick an evdev device
 * (`/dev/input/eventN` named "Raspberry Pi Sense HAT Joystick"), both found by name.
 * `PIW_SENSE_FB` and `PIW_SENSE_JOYSTICK` name them directly (tests use a file and a FIFO).
 * @module
 */

import { PiwError } from "../errors.ts";
import type { Frame, Stick } from "./screens.ts";

/** The framebuffer's name in `/sys/class/graphics/fbN/name`. */
export const FB_NAME = "RPi-Sense FB";
/** The joystick's name in `/sys/class/input/eventN/device/name`. */
export const JOYSTICK_NAME = "Raspberry Pi Sense HAT Joystick";

/** The device under `/dev` whose sysfs `name` file (under `sysDir`) reads `name`. */
export function findDevice(
  sysDir: string,
  prefix: string,
  nameFile: string,
  name: string,
  devDir: string,
): string | null {
  try {
    for (
      const entry of [...Deno.readDirSync(sysDir)].sort((a, b) => a.name.localeCompare(b.name))
    ) {
      if (!entry.name.startsWith(prefix)) continue;
      try {
        const text = Deno.readTextFileSync(`${sysDir}/${entry.name}/${nameFile}`).trim();
        if (text === name) return `${devDir}/${entry.name}`;
      } catch {
        // No name file: not ours.
      }
    }
  } catch {
    // No such class on this machine.
  }
  return null;
}

/**
 * The framebuffer and joystick paths: the environment's, else found by name under `sysClass`
 * (devices under `dev`); throws if either is missing.
 */
export function hatDevices(
  env: Pick<Deno.Env, "get"> = Deno.env,
  sysClass = "/sys/class",
  dev = "/dev",
): { fb: string; joystick: string } {
  const fb = env.get("PIW_SENSE_FB") ||
    findDevice(`${sysClass}/graphics`, "fb", "name", FB_NAME, dev);
  const joystick = env.get("PIW_SENSE_JOYSTICK") ||
    findDevice(`${sysClass}/input`, "event", "device/name", JOYSTICK_NAME, `${dev}/input`);
  if (!fb) throw new PiwError(`no Sense HAT framebuffer ("${FB_NAME}"); try --emulate`);
  if (!joystick) throw new PiwError(`no Sense HAT joystick ("${JOYSTICK_NAME}"); try --emulate`);
  return { fb, joystick };
}

/** The frame turned clockwise by `degrees` (0, 90, 180, 270), for a HAT mounted turned. */
export function rotate(frame: Frame, degrees: number): Frame {
  let out = frame;
  for (let turn = 0; turn < ((degrees / 90) % 4 + 4) % 4; turn++) {
    const src = out;
    // Clockwise: the new (x, y) shows the old (y, 7 - x).
    out = src.map((_, i) => src[(7 - (i % 8)) * 8 + Math.floor(i / 8)]);
  }
  return out;
}

/** The joystick direction as the viewer sees it, on a HAT turned clockwise by `degrees`. */
export function rotateStick(stick: Stick, degrees: number): Stick {
  if (stick === "enter") return stick;
  // The frame is turned clockwise on the matrix, so the HAT sits turned anticlockwise from
  // the viewer: its "right" is the viewer's "up".
  const ring: Stick[] = ["up", "right", "down", "left"];
  const steps = ((degrees / 90) % 4 + 4) % 4;
  return ring[(ring.indexOf(stick) - steps + 4) % 4];
}

/** 64 pixels as RGB565 little-endian, 128 bytes. */
export function toRgb565(frame: Frame): Uint8Array {
  const out = new Uint8Array(128);
  const view = new DataView(out.buffer);
  frame.forEach(([r, g, b], i) => {
    view.setUint16(i * 2, ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3), true);
  });
  return out;
}

/** RGB565 little-endian back to pixels (the low bits lost in encoding stay zero). */
export function fromRgb565(bytes: Uint8Array): Frame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: 64 }, (_, i) => {
    const v = view.getUint16(i * 2, true);
    return [((v >> 11) & 31) << 3, ((v >> 5) & 63) << 2, (v & 31) << 3];
  });
}

/** evdev key codes of the joystick. */
const KEYS: Record<number, Stick> = {
  103: "up",
  108: "down",
  105: "left",
  106: "right",
  28: "enter",
};
/** `struct input_event` on 64-bit Linux: timeval (16), type (2), code (2), value (4). */
export const EVENT_SIZE = 24;
const EV_KEY = 1;

/** The stick move in one input_event, if it is a key press or auto-repeat. */
export function decodeEvent(bytes: Uint8Array): Stick | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, EVENT_SIZE);
  const [type, code, value] = [
    view.getUint16(16, true),
    view.getUint16(18, true),
    view.getInt32(20, true),
  ];
  if (type !== EV_KEY || value === 0) return null;
  return KEYS[code] ?? null;
}

/** The LED matrix as a framebuffer device (or a plain file). */
export class FrameBuffer {
  #file: Deno.FsFile;
  #last = "";

  /** Open `path` for writing. */
  constructor(path: string, readonly rotation = 0) {
    this.#file = Deno.openSync(path, {
      write: true,
      create: path.startsWith("/dev/") ? false : true,
    });
  }

  /** Show `frame` (skipped when unchanged, the HAT is slow to write). */
  show(frame: Frame): void {
    const bytes = toRgb565(rotate(frame, this.rotation));
    const key = bytes.join(",");
    if (key === this.#last) return;
    this.#last = key;
    this.#file.seekSync(0, Deno.SeekMode.Start);
    this.#file.writeSync(bytes);
  }

  /** Blank the matrix and close it. */
  close(): void {
    this.#last = "";
    this.show(Array.from({ length: 64 }, () => [0, 0, 0]));
    this.#file.close();
  }
}

/**
 * Read joystick moves from the evdev device `path` until `signal` aborts, calling `onStick`
 * with each (turned by `rotation`). A FIFO that reaches end of file is opened again.
 */
export async function readJoystick(
  path: string,
  rotation: number,
  onStick: (stick: Stick) => void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const file = await Deno.open(path, { read: true });
    const closeOnAbort = () => file.close();
    signal.addEventListener("abort", closeOnAbort, { once: true });
    const buffer = new Uint8Array(EVENT_SIZE * 16);
    let pending = new Uint8Array(0);
    try {
      while (!signal.aborted) {
        const n = await file.read(buffer);
        if (n === null) break;
        const data = new Uint8Array(pending.length + n);
        data.set(pending);
        data.set(buffer.subarray(0, n), pending.length);
        let offset = 0;
        for (; offset + EVENT_SIZE <= data.length; offset += EVENT_SIZE) {
          const stick = decodeEvent(data.subarray(offset, offset + EVENT_SIZE));
          if (stick) onStick(rotateStick(stick, rotation));
        }
        pending = data.slice(offset);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      signal.removeEventListener("abort", closeOnAbort);
      try {
        file.close();
      } catch {
        // Closed by the abort.
      }
    }
  }
}
