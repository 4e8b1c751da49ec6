/**
 * The synthetic access log of the logger benchmarks.
 * @module
 */
import { BROWSER, combined, OLD_PIP_AGENT, PIP_AGENT, UV_AGENT } from "../logger/corpus.ts";

/** A day of traffic: mostly wheel downloads and pip searches, some pages, some noise. */
export function writeLog(path: string, lines: number): number {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const agents = [PIP_AGENT, UV_AGENT, OLD_PIP_AGENT];
  let hits = 0;
  let chunk: string[] = [];
  const start = Date.UTC(2026, 10, 24);
  for (let i = 0; i < lines; i++) {
    const at = new Date(start + Math.floor(i / 20) * 1000).toUTCString().split(" ");
    const time = `${at[1]}/${at[2]}/${at[3]}:${at[4]} +0000`;
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const pkg = `pkg${i % 5000}`;
    const agent = agents[i % 3];
    const r = i % 20;
    let line;
    if (r < 12) {
      line = combined(`/simple/${pkg}/${pkg}-1.0-py3-none-any.whl`, agent, { host, time });
    } else if (r < 16) line = combined(`/simple/${pkg}/`, PIP_AGENT, { host, time });
    else if (r === 16) line = combined(`/project/${pkg}/`, BROWSER, { host, time });
    else if (r === 17) line = combined(`/project/${pkg}/json/`, BROWSER, { host, time });
    else if (r === 18) line = combined("/", BROWSER, { host, time });
    else line = combined(`/simple/${pkg}/`, PIP_AGENT, { host, time, status: 304 });
    if (r !== 19) hits++;
    chunk.push(line);
    if (chunk.length === 10_000) {
      file.writeSync(encoder.encode(chunk.join("\n") + "\n"));
      chunk = [];
    }
  }
  if (chunk.length) file.writeSync(encoder.encode(chunk.join("\n") + "\n"));
  file.close();
  return hits;
}
