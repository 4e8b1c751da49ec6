/**
 * Fails (exit 1, one line a cycle) when the modules under src/ that main.ts reaches import each
 * other in a cycle, type-only imports included: a cycle makes load order matter and the
 * modules one unit. Reads `deno info --json main.ts`.
 * Run: `deno run -A scripts/check_cycles.ts`.
 * @module
 */

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

const top = new URL("../", import.meta.url);
const src = new URL("src/", top).href;
const out = await new Deno.Command(Deno.execPath(), {
  args: ["info", "--json", "main.ts"],
  cwd: top,
  stdout: "piped",
  stderr: "piped",
}).output();
if (!out.success) {
  console.error(`check_cycles: deno info failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  Deno.exit(1);
}
const modules: InfoModule[] = JSON.parse(new TextDecoder().decode(out.stdout)).modules;

const edges = new Map<string, string[]>();
for (const module of modules) {
  if (!module.specifier.startsWith(src)) continue;
  const targets = (module.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
    .filter((s): s is string => s !== undefined && s.startsWith(src));
  edges.set(module.specifier, [...new Set(targets)]);
}

// Tarjan's strongly connected components: each with more than one module (or a module that
// imports itself) is a cycle.
let counter = 0;
const index = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
const cycles: string[][] = [];
function visit(v: string): void {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
  }
  if (low.get(v) !== index.get(v)) return;
  const component: string[] = [];
  let w: string;
  do {
    w = stack.pop()!;
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component);
}
for (const v of edges.keys()) if (!index.has(v)) visit(v);

const name = (s: string) => s.slice(top.href.length);
for (const cycle of cycles) {
  console.error(`import cycle in src/: ${cycle.map(name).sort().join(", ")}`);
}
if (cycles.length) Deno.exit(1);
console.log(`no import cycles among ${edges.size} modules of src/`);
