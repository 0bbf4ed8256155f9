// Size contracts, printed and enforced (sizes, not timings):
// - the collector: loader + JS glue + wasm, each gzip -9, together at most 6,144 B;
// - the dashboard's overview: everything fetched before its first chart (index.html, CSS, JS,
//   the main wasm), each gzip -9, together at most 154,112 B; and every file of the build (the
//   overview's and the split-off screens' chunks) together at most 342,016 B.
// Exits non-zero when a part is missing or a budget is exceeded.
import { readFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ENTRY_FILES } from "./publish-dashboard.mjs";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const gz = (path) => (existsSync(path) ? gzipSync(readFileSync(path), { level: 9 }).length : 0);
const raw = (path) => (existsSync(path) ? readFileSync(path).length : 0);
// The module's name carries its content hash; the newest published one is the last in builds.json.
const builds = join(dist, "collector-builds.json");
const dashboardBuilds = join(dist, "dashboard-builds.json");
const dashboard = existsSync(dashboardBuilds) ? JSON.parse(readFileSync(dashboardBuilds, "utf8")).at(-1) : { id: "missing", files: ENTRY_FILES };
const app = (file) => join(dist, "app", dashboard.id, file);
const newest = existsSync(builds) ? JSON.parse(readFileSync(builds, "utf8")).at(-1) : { wasm: "collector.*.wasm", extras: "extras.*.js" };

const contracts = [
  {
    name: "collector",
    budget: 6144,
    parts: [
      ["loader   v.js", join(dist, "v.js"), true],
      // The module needs no wasm-bindgen glue: the loader instantiates it and is the only JavaScript.
      [`wasm     ${newest.wasm}`, join(dist, "collector", newest.wasm), true],
    ],
  },
  {
    // Fetched only when the tag asks for an opt-in feature (manual, exclusions, page-view
    // properties, forms, revenue).
    name: "collector extras",
    budget: 3072,
    parts: [[`JS       ${newest.extras}`, join(dist, "collector", newest.extras), true]],
  },
  {
    // Nothing split off is fetched before the first chart (the dashboard tests check that).
    name: "dashboard overview",
    // 153,600 until #16 (+320 B, the imported-data note); +128 B in #17: the shell opens an
    // app's screen (the site's kind read, one more split point in the loader), docs/dashboard.md;
    // +64 B in #17 for the metering table on the Users screen (+76 B measured, docs/metering.md).
    budget: 154112,
    parts: [["HTML     index.html", join(dist, "index.html"), true], ...ENTRY_FILES.map((f) => [`${f.endsWith("wasm") ? "wasm" : f.endsWith("css") ? "CSS " : "JS  "}     ${f}`, app(f), true])],
  },
  {
    name: "dashboard all modules",
    // 300 KiB until issue #15; +5 KiB for the typed API readers of the split-off screens; +25 KiB
    // in #17 for the App screen and an app's settings and creation, +4 KiB for the instance
    // admins' metering table (docs/dashboard.md, docs/metering.md).
    budget: 342016,
    parts: [
      ["overview (as above)", null, false],
      ...dashboard.files.filter((f) => !ENTRY_FILES.includes(f)).map((f) => [`lazy     ${f}`, app(f), true]),
    ],
  },
];

let failed = false;
let overviewTotal = 0;
for (const c of contracts) {
  let total = 0;
  for (const [label, path, required] of c.parts) {
    const size = path === null ? overviewTotal : gz(path);
    total += size;
    console.log(`${c.name} size: ${label.padEnd(36)} ${String(raw(path)).padStart(8)} B raw ${String(size).padStart(7)} B gzip -9`);
    if (required && !existsSync(path)) {
      console.error(`${c.name} size: ${path} missing; run ./vigia build`);
      failed = true;
    }
  }
  for (const [label, path] of c.extra ?? []) {
    console.log(`${c.name} size: ${label.padEnd(36)} ${String(raw(path)).padStart(8)} B raw ${String(gz(path)).padStart(7)} B gzip -9`);
  }
  if (c.name === "dashboard overview") overviewTotal = total;
  console.log(`${c.name} size: total ${total} B gzip -9 (budget ${c.budget} B, ${c.budget - total} B to spare)`);
  if (total > c.budget) {
    console.error(`${c.name} size: over budget by ${total - c.budget} B`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
