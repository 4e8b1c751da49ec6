import { compileFormat } from "../../src/logger/format.ts";
import { classify } from "../../src/logger/classify.ts";
import { encodeLogFrame } from "../../src/logger/encode.ts";
import { openLog, readLineBatches } from "../../src/logger/lines.ts";
import { writeLog } from "./logger_corpus.ts";
import { Session } from "node:inspector";
const path = "/tmp/logprof.log";
writeLog(path, 400_000);
const parser = compileFormat("combined");
async function run() {
  let n = 0;
  for await (const lines of readLineBatches(await openLog(path))) {
    for (const line of lines) {
      const e = parser.parse(line);
      const m = e && classify(e);
      if (m) n += encodeLogFrame(m).length;
    }
  }
  return n;
}
await run();
const s = new Session();
s.connect();
await new Promise((r) => s.post("Profiler.enable", r));
await new Promise((r) => s.post("Profiler.start", r));
const t0 = performance.now();
await run();
const dt = performance.now() - t0;
s.post("Profiler.stop", (_e: unknown, res: any) => {
  const prof = res.profile;
  const self = new Map<number, number>();
  const dtAvg = (prof.endTime - prof.startTime) / prof.samples.length;
  for (const id of prof.samples) self.set(id, (self.get(id) ?? 0) + 1);
  const byName = new Map<string, number>();
  for (const node of prof.nodes) {
    const c = node.callFrame;
    const k = `${c.functionName || "(anon)"} ${c.url.split("/").pop()}:${c.lineNumber + 1}`;
    byName.set(k, (byName.get(k) ?? 0) + (self.get(node.id) ?? 0));
  }
  const total = prof.samples.length;
  console.log(`${(dt / 400).toFixed(2)} µs/line`);
  for (const [k, v] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log((100 * v / total).toFixed(1).padStart(5) + "%", k);
  }
});
