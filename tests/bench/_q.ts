import { openClient } from "../../src/db/mod.ts";
const c = await openClient("postgres://piw_test:piw_test@127.0.0.1:5432/piw_bench_d28c3563");
for (let i = 0; i < 4; i++) {
  let t = performance.now();
  await c.query("SELECT length(get_build_queue_json(100000)::text)");
  const t0 = performance.now() - t; t = performance.now();
  const [r] = await c.query<{ v: string }>("SELECT get_build_queue_json(100000)::text AS v");
  const t1 = performance.now() - t; t = performance.now();
  const q = JSON.parse(r.v);
  const t2 = performance.now() - t; t = performance.now();
  console.log(`server-only ${t0.toFixed(0)} query+transfer ${t1.toFixed(0)} parse ${t2.toFixed(0)} size ${r.v.length}`);
}
await c.close();
