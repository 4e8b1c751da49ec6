/**
 * The C slave client (`slave_client.c`) the SlaveDriver and build-path benchmarks drive, compiled
 * with `cc` against Debian's libzmq5.
 * @module
 */

/** The C client compiled into `dir`, or null when there is no C compiler (say why, once). */
export function buildCClient(dir: string): string | null {
  const source = new URL("./slave_client.c", import.meta.url).pathname;
  const binary = `${dir}/slave_client`;
  try {
    const out = new Deno.Command("cc", {
      args: ["-O2", "-o", binary, source, "-l:libzmq.so.5"],
      stderr: "piped",
    }).outputSync();
    if (out.success) return binary;
    console.log(`  (no C client: ${new TextDecoder().decode(out.stderr).trim()})`);
  } catch (error) {
    console.log(`  (no C client: ${(error as Error).message})`);
  }
  return null;
}
