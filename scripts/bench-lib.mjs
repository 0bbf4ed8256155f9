// Shared by the benches that load the Worker under `wrangler dev`: a bounded load driver that
// records each request's latency, and percentiles. Prints nothing; the benches do.

/** The `p`-quantile (0..1) of ascending `sorted` latencies, nearest rank below. */
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** The median of `values` (any order); NaN when empty. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Sends `request(connection, n)` from `connections` concurrent loops, each waiting for its answer
 * before the next, until `seconds` pass or `requests` have been sent (whichever is given; both:
 * the first reached). A 2xx or a 404 counts as answered (the trivial route is a 404).
 * Returns { name, rps, ok, other, p50, p95, p99, latencies } (ms, latencies ascending).
 */
export async function drive(name, request, { connections = 8, seconds = Infinity, requests = Infinity } = {}) {
  const latencies = [];
  let ok = 0, other = 0, n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, async (_, c) => {
    while (performance.now() < deadline && n < requests) {
      const t0 = performance.now();
      const r = await request(c, n++);
      await r.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (r.ok || r.status === 404) ok++; else other++;
    }
  }));
  const elapsed = Number.isFinite(seconds) ? seconds : (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => percentile(latencies, p);
  return { name, rps: ok / elapsed, ok, other, p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), latencies };
}
