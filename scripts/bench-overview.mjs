// The overview through the real Worker under wrangler dev, on the storage bench's generated
// events (analytics-core/benches/support/generate.rs, printed as NDJSON by the example
// `bench_events`) loaded through the bulk import route into the cold shards (Durable Objects):
// load rate, bytes per event on disk, then — median of interleaved rounds — GET /health, the
// 30-day overview unfiltered, the same overview filtered by a country, a page and a source, and
// a filtered breakdown, with the per-shard times the Worker logs. Prints figures only.
//
// node scripts/bench-overview.mjs   (BENCH_EVENTS=10000000 by default, 1000000 for a quicker
// run; BENCH_ROUNDS=5; ./vigia bench runs it)
//
// wrangler dev runs every Durable Object in one workerd process, so the shards of a fan-out
// answer closer to one after the other than in production, where each is its own object.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startWorker, createAdmin, ROOT } from "../tests/e2e/harness.mjs";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Lines per import request: the route takes at most 50,000 lines and 16 MiB. */
const CHUNK_LINES = 20_000;
const CHUNK_BYTES = 15 * 1024 * 1024;
const DAY = 86_400_000;
const DAYS = 60; // generate.rs DAYS
const today = Math.floor(Date.now() / DAY) * DAY;
// The 60 days end 3 days ago: all of them before yesterday, so they go to the cold shards.
const first = today - (3 + DAYS - 1) * DAY;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const last = first + (DAYS - 1) * DAY;

const state = mkdtempSync(join(tmpdir(), "vigia-bench-overview-"));
console.log(`overview bench: ${EVENTS} generated events, ${iso(first)} … ${iso(last)} (UTC), site "demo", through POST /api/sites/demo/import/events under wrangler dev`);
execFileSync("cargo", ["build", "--quiet", "--release", "-p", "analytics-core", "--example", "bench_events"], {
  cwd: ROOT, stdio: "inherit",
});
const generator = join(ROOT, "target", "release", "examples", "bench_events");

const worker = await startWorker({ state });
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const admin = await createAdmin(worker.base);
  const login = await fetch(`${worker.base}/api/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: worker.base },
    body: JSON.stringify(admin),
  });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const headers = { Cookie: cookie, Origin: worker.base };

  // --- load ---
  const totals = { stored: 0, already_stored: 0, too_recent: 0, skipped: 0 };
  const send = async (body) => {
    const r = await fetch(`${worker.base}/api/sites/demo/import/events`, {
      method: "POST", headers: { ...headers, "Content-Type": "application/x-ndjson" }, body,
    });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`import answered ${r.status}: ${text.slice(0, 500)}`);
    const a = JSON.parse(text);
    totals.stored += a.stored; totals.already_stored += a.already_stored; totals.too_recent += a.too_recent;
    totals.skipped += (a.skipped ?? []).reduce((n, s) => n + s.lines, 0);
  };
  const started = performance.now();
  const child = spawn(generator, [String(EVENTS), iso(first), "demo"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  let chunk = [], bytes = 0, sent = 0, lastReport = started;
  for await (const line of lines) {
    if (chunk.length >= CHUNK_LINES || bytes + line.length + 1 > CHUNK_BYTES) {
      await send(chunk.join("\n"));
      sent += chunk.length; chunk = []; bytes = 0;
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        const s = (lastReport - started) / 1000;
        console.log(`  … ${sent} events in ${s.toFixed(0)} s (${(sent / s).toFixed(0)} events/s)`);
      }
    }
    chunk.push(line); bytes += line.length + 1;
  }
  if (chunk.length) { await send(chunk.join("\n")); sent += chunk.length; }
  const loadS = (performance.now() - started) / 1000;
  console.log(`  loaded ${sent} events in ${loadS.toFixed(0)} s = ${(sent / loadS).toFixed(0)} events/s (${CHUNK_LINES} lines a request; generation included): stored ${totals.stored}, already stored ${totals.already_stored}, too recent ${totals.too_recent}, skipped ${totals.skipped}`);

  // --- daily rollups of the imported days: the sealing job builds them (bounded runs) ---
  const builtFrom = performance.now();
  let runs = 0;
  for (;;) {
    const r = await fetch(`${worker.base}/api/admin/seal`, { method: "POST", headers });
    const text = await r.text();
    runs++;
    if (r.status !== 200) {
      // Not fatal for the bench: the filtered reads do not need the daily rollups.
      await new Promise((res) => setTimeout(res, 1000));
      const why = worker.log().split("\n").filter((l) => /ERROR/.test(l)).slice(-1)[0] ?? "";
      console.log(`  ! POST /api/admin/seal answered ${r.status} (${why.replace(/\x1b\[[0-9;]*m/g, "").trim()}): the imported days have no daily rollups, the unfiltered overview below reads none`);
      runs = -1;
      break;
    }
    if (!JSON.parse(text).more || runs >= 100) break;
  }
  if (runs > 0) {
    console.log(`  daily rollups of the imported days built by POST /api/admin/seal: ${runs} run(s), ${((performance.now() - builtFrom) / 1000).toFixed(1)} s`);
  }

  // --- bytes on disk ---
  const files = (dir) => readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
  const sqlite = files(state).filter((p) => /\.sqlite(-wal|-shm)?$/.test(p));
  const sum = (ps) => ps.reduce((n, p) => n + statSync(p).size, 0);
  // wrangler's state: v3/d1/… (D1), v3/do/<script>-<class>/… (Durable Objects); its trace
  // store (v3/observability) is no part of Vigia's storage.
  const d1Files = sqlite.filter((p) => p.includes("/v3/d1/"));
  const doFiles = sqlite.filter((p) => p.includes("/v3/do/"));
  const d1Bytes = sum(d1Files), doBytes = sum(doFiles);
  const biggest = Math.max(0, ...doFiles.map((p) => statSync(p).size));
  const named = (ps) => ps.map((p) => [p, statSync(p).size]).filter(([, b]) => b > 1e6)
    .map(([p, b]) => `${p.slice(state.length + 1)} ${mb(b)}`).join(", ");
  console.log(`  on disk (${state}): D1 ${mb(d1Bytes)}, Durable Objects ${mb(doBytes)} in ${doFiles.length} files (largest ${mb(biggest)}); all in ${((d1Bytes + doBytes) / sent).toFixed(1)} B/event (D1 ${(d1Bytes / sent).toFixed(1)}, objects ${(doBytes / sent).toFixed(1)})`);
  console.log(`    files over 1 MB: ${named([...d1Files, ...doFiles])} (-wal: SQLite's write-ahead log, not yet checkpointed)`);
  try {
    const storage = await (await fetch(`${worker.base}/api/admin/storage`, { headers })).json();
    for (const s of storage.sites ?? []) {
      console.log(`  registry: site ${s.site}, sealed_until ${iso(s.sealed_until)}, hot events ${s.hot_events}, shards ${s.shards.map((x) => `${x.period} ${x.events} events ${mb(x.bytes)}`).join("; ")}`);
    }
  } catch (e) {
    console.log(`  (GET /api/admin/storage: ${e.message})`);
  }

  // --- reads ---
  const from = iso(last - 29 * DAY), to = iso(last);
  const range = `site=demo&period=custom&from=${from}&to=${to}`;
  const routes = [
    ["GET /health (trivial)", "/health"],
    ["overview, 30 days, unfiltered (rollups in D1)", `/api/stats/overview?${range}`],
    ["overview, 30 days, f=country:PT (fan-out)", `/api/stats/overview?${range}&f=country:PT`],
    ["overview, 30 days, f=page:/section-3/page-17", `/api/stats/overview?${range}&f=page:/section-3/page-17`],
    ["overview, 30 days, f=source:Google", `/api/stats/overview?${range}&f=source:Google`],
    ["breakdown page, 30 days, f=country:PT", `/api/stats/breakdown?${range}&dimension=page&limit=10&f=country:PT`],
  ];
  const times = routes.map(() => []);
  const shardLines = routes.map(() => []);
  const answers = routes.map(() => null);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, path]] of routes.entries()) {
      const logFrom = worker.log().length;
      const t = performance.now();
      const r = await fetch(`${worker.base}${path}`, { headers: { Cookie: cookie } });
      const body = await r.text();
      const ms = performance.now() - t;
      if (!r.ok) throw new Error(`${path}: ${r.status} ${body.slice(0, 500)}`);
      times[i].push(ms);
      answers[i] = body;
      // The Worker logs one line per store read: "fan-out shard YYYY-MM: N ms, R rows, X rows
      // read" (X as the Durable Object's SQL cursor counts it) and "fan-out d1: …" (D1's meta).
      await new Promise((res) => setTimeout(res, 50)); // let the log lines arrive
      const found = [...worker.log().slice(logFrom).matchAll(/fan-out (shard (\d{4}-\d{2})|d1): (\d+) ms, (\d+) rows(?:, (\d+) rows read)?/g)]
        .map((m) => ({ month: m[2] ?? "D1", ms: Number(m[3]), rows: Number(m[4]), read: Number(m[5] ?? 0) }));
      shardLines[i].push(found);
    }
  }
  console.log(`  median of ${ROUNDS} interleaved rounds (this machine; wrangler dev runs all Durable Objects in one process, so fan-out is closer to serial than in production; a store's time is from the request's start to its answer, waiting included):`);
  for (const [i, [label]] of routes.entries()) {
    console.log(`    ${label.padEnd(50)} ${median(times[i]).toFixed(1).padStart(9)} ms`);
    const reads = shardLines[i];
    if (reads.some((r) => r.length)) {
      // Per shard (month): the median over rounds of its summed read time in one request.
      const months = [...new Set(reads.flat().map((r) => r.month))].sort();
      const cells = months.map((m) => {
        const per = reads.map((round) => round.filter((r) => r.month === m).reduce((n, r) => n + r.ms, 0));
        const count = reads[0].filter((r) => r.month === m).length;
        const read = median(reads.map((round) => round.filter((r) => r.month === m).reduce((n, r) => n + r.read, 0)));
        return `${m}: ${median(per)} ms over ${count} reads, ${read} rows read`;
      });
      const sums = reads.map((round) => round.reduce((n, r) => n + r.ms, 0));
      const maxes = reads.map((round) => Math.max(0, ...round.map((r) => r.ms)));
      console.log(`      store reads: ${cells.join("; ")}; summed ${median(sums)} ms, slowest single read ${median(maxes)} ms`);
    }
  }
  const unfiltered = JSON.parse(answers[1]);
  const pt = JSON.parse(answers[2]);
  console.log(`  answers: unfiltered visitors ${unfiltered.totals?.visitors}, page views ${unfiltered.totals?.pageviews}; country:PT visitors ${pt.totals?.visitors}, page views ${pt.totals?.pageviews}`);
  if (!unfiltered.totals?.pageviews) {
    console.log("  ! the unfiltered overview read no rollups: bulk-imported raw events have no daily rollups yet, so its time is that of empty reads");
  }
} catch (e) {
  // What the Worker said before the failure (its log lines arrive a moment later).
  await new Promise((res) => setTimeout(res, 1000));
  console.error(worker.log().split("\n").filter((l) => !/\[wrangler:info\] (GET|POST)/.test(l)).slice(-30).join("\n"));
  throw e;
} finally {
  await worker.stop();
}
