/**
 * Fails (exit 1, one line a fault) when the modules under src/ that main.ts or scripts/demo.ts
 * reach import each other in a cycle, type-only imports included (a cycle makes load order matter
 * and the modules one unit), or when production code (src/, scripts/) imports from tests/.
 * Reads `deno info --json` of each entry point.
 * Run: `deno run -A scripts/check_cycles.ts`.
 * @module
 */

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

const top = new URL("../", import.meta.url);
const src = new URL("src/", top).href;
const tests = new URL("tests/", top).href;
const production = [src, new URL("scripts/", top).href];
const modules: InfoModule[] = [];
for (const entry of ["main.ts", "scripts/demo.ts"]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: top,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const message = new TextDecoder().decode(out.stderr).trim();
    console.error(`check_cycles: deno info ${entry} failed: ${message}`);
    Deno.exit(1);
  }
  modules.push(...JSON.parse(new TextDecoder().decode(out.stdout)).modules);
}

const name = (s: string) => s.slice(top.href.length);
const testImports = new Set<string>();
const edges = new Map<string, string[]>();
for (const module of modules) {
  const deps = module.dependencies ?? [];
  const imported = deps.flatMap((d) => [d.code?.specifier, d.type?.specifier])
    .filter((s): s is string => s !== undefined);
  if (production.some((p) => module.specifier.startsWith(p))) {
    for (const t of imported.filter((s) => s.startsWith(tests))) {
      testImports.add(`production code imports tests/: ${name(module.specifier)} → ${name(t)}`);
    }
  }
  if (!module.specifier.startsWith(src)) continue;
  const targets = imported.filter((s) => s.startsWith(src));
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

for (const line of testImports) console.error(line);
for (const cycle of cycles) {
  console.error(`import cycle in src/: ${cycle.map(name).sort().join(", ")}`);
}
if (cycles.length || testImports.size) Deno.exit(1);
console.log(`no import cycles among ${edges.size} modules of src/`);
