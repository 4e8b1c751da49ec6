import { startFarm } from "/work/main/tests/monitor/farm.ts";
import { MasterClient } from "/work/main/src/monitor/client.ts";
import { Context } from "/work/main/src/transport/mod.ts";
import { decodeMessage, monitorStatsProtocol } from "/work/main/src/protocols/mod.ts";
const farm = await startFarm();
const ctx = new Context();
const sub = ctx.socket("SUB", { subscribe: "", linger: 0 });
sub.connect(farm.statusQueue);
const c = new MasterClient(farm.statusQueue, farm.controlQueue, { helloDelayMs: 1000, silenceMs: 3000 });
c.start();
const t = Date.now();
while (Date.now() - t < 6000) {
  const f = await sub.recv(500);
  if (f) { try { const m = decodeMessage(monitorStatsProtocol, f[0]); console.log(Date.now()-t, m.name, JSON.stringify(m.data).slice(0,100)); } catch (e) { console.log("ERR", (e as Error).message); } }
}
console.log(c.notice, c.farm.master.hello);
console.log(farm.master.lines.filter(l => /monitor|control|error|Error/.test(l)).join("\n"));
await c.close(); sub.close(); await ctx.close();
await farm.stop();
