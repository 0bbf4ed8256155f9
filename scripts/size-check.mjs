// The collector's size contract: loader + JS glue + wasm, each gzip -9, together at most
// BUDGET bytes. Prints the figures; exits non-zero above the budget. (A size, not a timing.)
import { readFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const BUDGET = 6144;
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const gz = (path) => (existsSync(path) ? gzipSync(readFileSync(path), { level: 9 }).length : 0);
const raw = (path) => (existsSync(path) ? readFileSync(path).length : 0);

const parts = [
  ["loader   v.js", join(dist, "v.js")],
  // The module needs no wasm-bindgen glue: the loader instantiates it and is the only JavaScript.
  ["JS glue  (none)", join(dist, "collector", "collector.js")],
  ["wasm     collector.wasm", join(dist, "collector", "collector.wasm")],
];
let total = 0;
for (const [name, path] of parts) {
  const size = gz(path);
  total += size;
  console.log(`collector size: ${name.padEnd(26)} ${String(raw(path)).padStart(6)} B raw ${String(size).padStart(6)} B gzip -9`);
}
console.log(`collector size: total ${total} B gzip -9 (budget ${BUDGET} B, ${BUDGET - total} B to spare)`);
if (!existsSync(parts[0][1]) || !existsSync(parts[2][1])) {
  console.error("collector size: build output missing; run ./vigia build");
  process.exit(1);
}
if (total > BUDGET) {
  console.error(`collector size: over budget by ${total - BUDGET} B`);
  process.exit(1);
}
