/**
 * Pages in real headless Chromium: the DOM after scripts ran and a screenshot, at a given window
 * size (390 px wide is a phone). Fails with a clear message when Chromium is missing
 * (scripts/setup --tests installs it).
 * @module
 */
import assert from "node:assert/strict";

/** What Chromium made of a page. */
export interface Rendered {
  /** The DOM after the page's scripts ran (`--dump-dom`). */
  dom: string;
  /** Where the screenshot was written (a PNG, checked not blank). */
  screenshot: string;
}

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** The Chromium binary, or null when none is installed. */
export function chromiumBinary(): string | null {
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  }) ?? null;
}

/**
 * Render `url` at `width`×`height`, screenshot to `screenshot`, and dump the DOM once the page's
 * fetches had `budgetMs` of virtual time to finish.
 */
export async function render(
  url: string,
  screenshot: string,
  { width = 1280, height = 1400, budgetMs = 5000 } = {},
): Promise<Rendered> {
  const binary = chromiumBinary();
  if (!binary) throw new Error("Chromium is not installed: run bash scripts/setup --tests");
  const profile = await Deno.makeTempDir({ prefix: "piw-chromium-" });
  const flags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`,
    `--virtual-time-budget=${budgetMs}`,
  ];
  try {
    const taken = await run(binary, [...flags, `--screenshot=${screenshot}`, url]);
    const png = await Deno.readFile(screenshot).catch(() => new Uint8Array());
    assert.deepEqual(
      [...png.slice(0, 4)],
      [0x89, 0x50, 0x4e, 0x47],
      `no screenshot: ${taken.stderr}`,
    );
    assert.ok(png.length > 5000, "the screenshot is not blank");
    const dumped = await run(binary, [...flags, "--dump-dom", url]);
    assert.equal(dumped.code, 0, dumped.stderr);
    return { dom: dumped.stdout, screenshot };
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
