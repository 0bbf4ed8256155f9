// Benchmark (a): requests/s and events/s of POST /api/event with 10-event batches against a
// trivial route, in the same run, on the real Worker under wrangler dev. Bounded load on
// 127.0.0.1 only. Prints figures; asserts nothing.
import { startWorker, createAdmin, browserHeaders } from "../tests/e2e/harness.mjs";
import { drive } from "./bench-lib.mjs";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const batch = JSON.stringify({
  site: "demo",
  events: Array.from({ length: 10 }, (_, i) => ({ kind: "pageview", url: `http://127.0.0.1/bench/${i}?utm_source=bench`, screen_width: 1280 })),
});

const worker = await startWorker();
try {
  await createAdmin(worker.base);
  const load = { connections: CONNECTIONS, seconds: SECONDS };
  const trivial = await drive("GET /api/nothing (trivial 404)", () => fetch(`${worker.base}/api/nothing`), load);
  const ingest = await drive("POST /api/event (10 events)", (c, n) =>
    fetch(`${worker.base}/api/event`, {
      method: "POST",
      body: batch,
      // A new visitor every 20 requests, each from its own address as real traffic is, keeps the
      // per-visitor and per-address rate limits out of the figures; a browser's headers keep
      // the events counted as humans (the work the figures are about).
      headers: {
        ...browserHeaders("http://127.0.0.1", { ip: `198.18.${c % 256}.${Math.floor(n / 20) % 256}` }),
        "User-Agent": `${UA} bench-${c}-${Math.floor(n / 20)}`,
      },
    }), load);
  console.log(`ingest bench: ${CONNECTIONS} connections, ${SECONDS} s each, wrangler dev on 127.0.0.1`);
  for (const r of [trivial, ingest]) {
    console.log(`  ${r.name.padEnd(34)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  (${r.other} non-2xx)`);
  }
  console.log(`  ingest events/s: ${(ingest.rps * 10).toFixed(0)}; ingest at ${(100 * ingest.rps / trivial.rps).toFixed(0)}% of the trivial route's request rate`);
} finally {
  await worker.stop();
}
