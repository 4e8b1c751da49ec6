/** piw sense finds the Sense HAT's framebuffer and joystick by their sysfs names. */
import assert from "node:assert/strict";
import { FB_NAME, hatDevices, JOYSTICK_NAME } from "../../src/sense/hat.ts";
import { PiwError } from "../../src/errors.ts";

const NO_ENV = { get: (_: string) => undefined };

/** A sysfs-like tree: `files` maps paths under it to contents. */
function sysTree(files: Record<string, string>): string {
  const root = Deno.makeTempDirSync({ prefix: "piw-sense-sys-" });
  for (const [path, text] of Object.entries(files)) {
    Deno.mkdirSync(`${root}/${path.split("/").slice(0, -1).join("/")}`, { recursive: true });
    Deno.writeTextFileSync(`${root}/${path}`, text);
  }
  return root;
}

Deno.test("the HAT's devices are found by name among others", () => {
  const root = sysTree({
    "graphics/fb0/name": "simple\n",
    "graphics/fb1/name": `${FB_NAME}\n`,
    "graphics/fbcon/uevent": "",
    "input/event0/device/name": "Power Button\n",
    "input/event2/device/name": `${JOYSTICK_NAME}\n`,
    "input/event3/device/name": "Some Keyboard\n",
    "input/mice/uevent": "",
  });
  try {
    assert.deepEqual(hatDevices(NO_ENV, root, "/devices"), {
      fb: "/devices/fb1",
      joystick: "/devices/input/event2",
    });
    // The environment wins (tests point it at a file and a FIFO).
    const env = { get: (k: string) => ({ PIW_SENSE_FB: "/tmp/fb" } as Record<string, string>)[k] };
    assert.equal(hatDevices(env, root, "/devices").fb, "/tmp/fb");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("without a HAT piw sense says so and suggests --emulate", () => {
  const root = sysTree({
    "graphics/fb0/name": "simple\n",
    "input/event2/device/name": `${JOYSTICK_NAME}\n`,
  });
  try {
    assert.throws(() => hatDevices(NO_ENV, root, "/dev"), (e: Error) => {
      assert.ok(e instanceof PiwError);
      assert.match(e.message, /no Sense HAT framebuffer \("RPi-Sense FB"\); try --emulate/);
      return true;
    });
    Deno.writeTextFileSync(`${root}/graphics/fb0/name`, `${FB_NAME}\n`);
    Deno.removeSync(`${root}/input`, { recursive: true });
    assert.throws(() => hatDevices(NO_ENV, root, "/dev"), /no Sense HAT joystick/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
