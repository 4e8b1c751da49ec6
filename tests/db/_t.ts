import { PGlite } from "@electric-sql/pglite";
let t = performance.now();
const c = new PGlite();
await c.waitReady;
console.log("open1", performance.now() - t); t = performance.now();
const d = new PGlite();
await d.waitReady;
console.log("open2", performance.now() - t); t = performance.now();
