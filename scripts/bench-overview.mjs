// Overview API latency on 1 M generated events, through the real Worker under wrangler dev
// with its local D1: the 30-day overview from rollups, a breakdown, and the same overview
// filtered (raw events), side by side with a trivial route in one run. Prints figures only.
//
// node scripts/bench-overview.mjs   (BENCH_EVENTS=1000000 by default; ./vigia bench runs it)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, createAdmin, ROOT } from "../tests/e2e/harness.mjs";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const state = mkdtempSync(join(tmpdir(), "vigia-bench-overview-"));
const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
execFileSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state],
  { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
const find = (dir) => readdirSync(dir).flatMap((name) => {
  const p = join(dir, name);
  return statSync(p).isDirectory() ? find(p) : p.endsWith(".sqlite") && p.includes("d1") ? [p] : [];
});
const [d1File] = find(state);
console.log(`overview bench: loading ${EVENTS} generated events into ${d1File}`);
execFileSync("cargo", ["bench", "--quiet", "-p", "analytics-core", "--bench", "storage"], {
  cwd: ROOT, stdio: "inherit", env: { ...process.env, BENCH_INTO_D1: d1File, BENCH_EVENTS: String(EVENTS) },
});

const worker = await startWorker({ state, migrate: false });
try {
  const admin = await createAdmin(worker.base);
  const login = await fetch(`${worker.base}/api/login`, { method: "POST", body: JSON.stringify(admin) });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  // The generated data covers 2024-10-04 … 2024-12-02; the overview reads its last 30 days.
  const range = "site=bench&period=custom&from=2024-11-03&to=2024-12-02";
  const routes = [
    ["GET /health (trivial, one D1 read)", "/health"],
    ["overview, 30 days (rollups)", `/api/stats/overview?${range}`],
    ["breakdown: top pages, 30 days (rollups)", `/api/stats/breakdown?${range}&dimension=page`],
    ["overview, 30 days, filtered country:PT (raw events)", `/api/stats/overview?${range}&f=country:PT`],
  ];
  const times = routes.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, path]] of routes.entries()) {
      const started = performance.now();
      const r = await fetch(`${worker.base}${path}`, { headers: { Cookie: cookie } });
      const body = await r.text();
      if (!r.ok) throw new Error(`${path}: ${r.status} ${body}`);
      times[i].push(performance.now() - started);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`overview bench: ${EVENTS} events, median of ${ROUNDS} interleaved rounds (this machine, wrangler dev + local D1)`);
  for (const [i, [label]] of routes.entries()) {
    console.log(`  ${label.padEnd(52)} ${median(times[i]).toFixed(1).padStart(8)} ms`);
  }
} finally {
  await worker.stop();
}
