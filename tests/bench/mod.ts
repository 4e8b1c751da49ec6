/**
 * Runs every `tests/bench/*_bench.ts` in turn, each as its own `deno run -A <file>` process
 * (so one benchmark's threads and sockets cannot skew the next), printing their output.
 * Arguments are passed on to every benchmark. Exits 1 if any benchmark failed.
 *
 * Run: `deno task bench` (or `deno run -A tests/bench/mod.ts [args…]`).
 * @module
 */

const dir = new URL(".", import.meta.url);
const files = [...Deno.readDirSync(dir)]
  .filter((entry) => entry.isFile && entry.name.endsWith("_bench.ts"))
  .map((entry) => entry.name)
  .sort();

let failed = 0;
for (const name of files) {
  console.log(`\n=== ${name}`);
  const started = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(name, dir).pathname, ...Deno.args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`=== ${name}: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${seconds} s`);
  if (code !== 0) failed++;
}
console.log(`\n${files.length - failed}/${files.length} benchmarks completed`);
if (failed > 0) Deno.exit(1);
