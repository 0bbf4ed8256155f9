// Time to first chart, measured: headless Chromium at a 4× CPU slowdown on a throttled mobile
// network (150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up: Lighthouse's mobile preset) opens
// the overview of a site with 30 days of data, for the same sources built with and without
// splitting, side by side in one run. Prints the requests and bytes before the first chart and
// the time until the KPI cards and the chart are drawn; asserts nothing about the times.
//
// node scripts/bench-first-chart.mjs   (BENCH_RUNS=3 per variant, BENCH_EVENTS=3000 over
// BENCH_DAYS=30; ./vigia bench runs it). Both builds land under target/bench-first-chart/ and
// are reused while the dashboard's inputs are unchanged.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, createAdmin, sessionCookie, launchBrowser, eventually, ROOT, browserHeaders } from "../tests/e2e/harness.mjs";
import { ENTRY_FILES } from "./publish-dashboard.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const CPU_SLOWDOWN = 4;
// CDP takes bytes per second and milliseconds (the added round-trip latency of every request).
const NETWORK = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };
// Lighthouse's mobile screen; the layout is the dashboard's narrow one.
const SCREEN = { viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true };
const CHART_TIMEOUT_MS = 120_000;
const OUT = join(ROOT, "target", "bench-first-chart");
const VARIANTS = ["unsplit", "split"];

// ---------------------------------------------------------------------------------------------
// Builds. Both variants come from the same dashboard inputs (hashed the way build.sh does), so
// the comparison is one commit built two ways; each is reused while that hash holds.

const bash = (script, capture = false) =>
  execFileSync("bash", ["-c", `set -euo pipefail; source scripts/env.sh; source scripts/build.sh; ${script}`], {
    cwd: ROOT, encoding: "utf8", stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"],
  });
const DASHBOARD_INPUTS = "dashboard-leptos scripts/publish-dashboard.mjs scripts/assets.mjs scripts/build.sh";
const dashboardHash = () => bash(`inputs_hash ${DASHBOARD_INPUTS}`, true).trim();
const readText = (file) => (existsSync(file) ? readFileSync(file, "utf8").trim() : null);
const buildOf = (assets) => readFileSync(join(assets, "index.html"), "utf8").match(/name="vigia-build" content="([^"]+)"/)[1];

// The Worker (it serves both variants), the loader and the demo pages (dist/ gives each variant
// its non-dashboard assets), each only when its inputs changed. dist/'s dashboard is not
// rebuilt here: it is used below only when it already is the split build of these inputs.
bash("build_collector; build_demo; build_worker");
const hash = dashboardHash();
const prepared = {};
for (const variant of VARIANTS) {
  const assets = join(OUT, variant);
  const stampFile = join(OUT, `${variant}.stamp`);
  if (readText(stampFile) === hash && existsSync(join(assets, "index.html"))) {
    prepared[variant] = { assets, how: "reused" };
    continue;
  }
  rmSync(stampFile, { force: true });
  rmSync(assets, { recursive: true, force: true });
  if (variant === "split" && readText(join(ROOT, ".vigia", "stamps", "dashboard")) === hash) {
    // dist/ already holds the split build of these inputs (build_dashboard stamped it).
    cpSync(join(ROOT, "dist"), assets, { recursive: true });
    prepared[variant] = { assets, how: "copied from dist/" };
  } else {
    const work = join(OUT, `${variant}-build`);
    console.log(`first-chart bench: building the ${variant} dashboard (~1.5 min)`);
    bash(`compile_dashboard ${variant} '${work}'`);
    // A copy of dist/ for v.js, the collector and the demo pages; the build published into it.
    cpSync(join(ROOT, "dist"), assets, { recursive: true });
    execFileSync(process.execPath, [join(ROOT, "scripts", "publish-dashboard.mjs"), join(work, "out"),
      join(ROOT, "dashboard-leptos", "static", "index.html"), assets], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    prepared[variant] = { assets, how: "built" };
  }
  if (!existsSync(join(assets, "app", buildOf(assets), "dashboard_bg.wasm"))) {
    throw new Error(`${variant}: ${assets}/index.html names a build that is not there`);
  }
}
// Someone editing the dashboard while this ran would make the two builds differ: say so, and
// leave them unstamped so the next run builds both again.
const sameInputs = dashboardHash() === hash;
if (sameInputs) for (const variant of VARIANTS) writeFileSync(join(OUT, `${variant}.stamp`), `${hash}\n`);
else console.log("first-chart bench: WARNING the dashboard's sources changed during the build; the two variants may differ by more than splitting");

// ---------------------------------------------------------------------------------------------
// Data. Ingest stamps events with the Worker's clock, so 30 days cannot be sent as such: each
// day goes through the real ingest API (enrichment, Durable Object buffer, flush with rollups)
// into a site of its own, all at once; one SQL pass then moves each day's raw events and hourly
// rollups into the measured site, shifted back by whole days (rollups are keyed by hour, so a
// whole-day shift keeps them consistent with their events), and the helper sites are deleted.

let seed = 0x2545f4914f6cdd1dn;
/** A small deterministic generator, so every run seeds the same visits (the weekend dip follows the calendar). */
const random = () => {
  seed ^= (seed << 13n) & 0xffffffffffffffffn;
  seed ^= seed >> 7n;
  seed ^= (seed << 17n) & 0xffffffffffffffffn;
  return Number(seed % 1_000_000n) / 1_000_000;
};
const pick = (items) => items[Math.floor(random() * items.length)];
/** Picks from [weight, item] pairs. */
const weighted = (pairs) => {
  let r = random() * pairs.reduce((a, [w]) => a + w, 0);
  for (const [w, item] of pairs) if ((r -= w) < 0) return item;
  return pairs.at(-1)[1];
};

const ORIGIN = "https://www.example.com";
const LANDING = [[30, "/"], [8, "/pricing"], [6, "/features"], [6, "/docs"], [5, "/blog/launch"],
  [5, "/blog/privacy-first-analytics"], [4, "/blog/edge-analytics"], [3, "/blog/cookieless"], [3, "/docs/install"],
  [2, "/integrations"], [2, "/changelog"], [1, "/careers"], [1, "/legal/privacy"]];
const NEXT = ["/", "/pricing", "/features", "/docs", "/docs/install", "/docs/api", "/docs/faq", "/docs/proxy",
  "/blog", "/about", "/contact", "/signup", "/changelog", "/integrations", "/integrations/wordpress", "/customers"];
const REFERRERS = [[35, null], [20, "https://www.google.com/"], [5, "https://duckduckgo.com/"], [3, "https://www.bing.com/"],
  [6, "https://news.ycombinator.com/item?id=42424242"], [5, "https://www.reddit.com/r/webdev/"], [4, "https://twitter.com/"],
  [4, "https://github.com/vigia/vigia"], [3, "https://www.linkedin.com/"], [3, "https://dev.to/"], [2, "https://news.example.org/privacy"]];
const CAMPAIGNS = ["?utm_source=newsletter&utm_medium=email&utm_campaign=launch",
  "?utm_source=newsletter&utm_medium=email&utm_campaign=october", "?utm_source=mastodon&utm_medium=social"];
const AGENTS = [
  [30, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"],
  [15, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"],
  [18, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"],
  [14, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"],
  [10, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"],
  [5, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"],
  [8, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"],
];
const PLACES = [[20, ["US", "California", "San Francisco"]], [10, ["US", "Texas", "Austin"]], [12, ["DE", "Berlin", "Berlin"]],
  [8, ["PT", "Lisbon", "Lisbon"]], [9, ["GB", "England", "London"]], [7, ["FR", "Ile-de-France", "Paris"]],
  [6, ["BR", "Sao Paulo", "Sao Paulo"]], [6, ["IN", "Karnataka", "Bengaluru"]], [5, ["NL", "North Holland", "Amsterdam"]],
  [4, ["JP", "Tokyo", "Tokyo"]], [4, ["ES", "Madrid", "Madrid"]], [4, ["CA", "Ontario", "Toronto"]]];
const SCREENS = [390, 412, 768, 1280, 1440, 1920];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One visit as the collector would send it: one request per page (with the engagement of the
 * page before), then the visit's events. Returns the requests in order. */
function visit(k, v) {
  const ip = `198.${18 + (v >> 8)}.${k}.${v & 255}`; // the benchmarking range, one address per visit
  const [country, region, city] = weighted(PLACES);
  // What a browser's beacon carries (Origin, Sec-Fetch-*): scripted requests are stored as bots.
  const headers = { ...browserHeaders("https://www.example.com"), "User-Agent": weighted(AGENTS), "CF-Connecting-IP": ip, "Accept-Language": "en-US,en;q=0.8",
    "X-Vigia-Geo-Country": country, "X-Vigia-Geo-Region": region, "X-Vigia-Geo-City": city };
  const screen_width = pick(SCREENS);
  const pages = [weighted(LANDING)];
  const length = weighted([[40, 1], [25, 2], [15, 3], [10, 4], [6, 5], [4, 6]]);
  while (pages.length < length) pages.push(pick(NEXT));
  const referrer = weighted(REFERRERS);
  const requests = pages.map((path, i) => {
    const events = [];
    if (i > 0) events.push({ kind: "engagement", url: ORIGIN + pages[i - 1], engaged_ms: 2_000 + Math.floor(random() * 90_000), scroll: 10 + Math.floor(random() * 91) });
    const query = i === 0 && referrer === null && random() < 0.25 ? pick(CAMPAIGNS) : "";
    events.push({ kind: "pageview", url: ORIGIN + path + query, screen_width, ...(i === 0 && referrer ? { referrer } : {}) });
    return events;
  });
  const last = ORIGIN + pages.at(-1);
  const extra = [];
  if (random() < 0.12) extra.push({ kind: "custom", url: last, name: "Signup", props: { plan: weighted([[6, "free"], [3, "pro"], [1, "team"]]) } });
  if (random() < 0.05) extra.push({ kind: "outbound", url: last, name: "https://github.com/vigia/vigia" });
  if (random() < 0.03) extra.push({ kind: "download", url: last, name: `${ORIGIN}/files/brochure.pdf` });
  extra.push({ kind: "engagement", url: last, engaged_ms: 2_000 + Math.floor(random() * 120_000), scroll: 10 + Math.floor(random() * 91) });
  requests.push(extra);
  return { headers, requests };
}

async function seedSite(worker, cookie) {
  const call = async (method, path, body) => {
    const r = await fetch(`${worker.base}${path}`, { method, headers: { Cookie: cookie, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  // Goals and a funnel, so the overview's goal and funnel panels carry what a used site has.
  await call("POST", "/api/sites/demo/goals", { kind: "event", value: "Signup" });
  await call("POST", "/api/sites/demo/goals", { kind: "page", value: "/pricing" });
  await call("POST", "/api/sites/demo/funnels", { name: "Signup", steps: [{ kind: "page", value: "/" }, { kind: "page", value: "/pricing" }, { kind: "event", value: "Signup" }] });

  // Events per day: a slow rise towards today, quieter weekends, some noise.
  const dayMs = 86_400_000;
  const today = Math.floor(Date.now() / dayMs);
  const weights = Array.from({ length: DAYS }, (_, k) => {
    const weekday = new Date((today - k) * dayMs).getUTCDay();
    return (0.75 + 0.5 * (1 - k / Math.max(1, DAYS - 1))) * (weekday === 0 || weekday === 6 ? 0.6 : 1) * (0.85 + 0.3 * random());
  });
  const total = weights.reduce((a, b) => a + b, 0);
  const visits = [];
  for (let k = 0; k < DAYS; k++) {
    await call("POST", "/api/sites", { id: `seed-${k}`, name: `seed ${k}`, hostnames: ["www.example.com"] });
    const target = Math.round((EVENTS * weights[k]) / total);
    for (let v = 0, n = 0; n < target; v++) {
      const one = visit(k, v);
      n += one.requests.flat().length;
      visits.push({ site: `seed-${k}`, ...one });
    }
  }
  let sent = 0, pageviews = 0;
  const queue = [...visits];
  // Visits in parallel, each one's requests in order with a short pause (a visit with a
  // duration); 24 at a time keeps wrangler dev busy without tripping anything.
  await Promise.all(Array.from({ length: 24 }, async () => {
    for (let one; (one = queue.shift());) {
      for (const events of one.requests) {
        const r = await fetch(`${worker.base}/api/event`, { method: "POST", headers: one.headers, body: JSON.stringify({ site: one.site, events }) });
        const receipt = await r.json();
        if (r.status !== 202 || receipt.dropped) throw new Error(`ingest answered ${r.status}: ${JSON.stringify(receipt)}`);
        sent += receipt.accepted;
        pageviews += events.filter((e) => e.kind === "pageview").length;
        await sleep(200 + random() * 800);
      }
    }
  }));
  await eventually(async () => {
    const [row] = await worker.d1("SELECT COUNT(*) AS n FROM events WHERE site_id LIKE 'seed-%'");
    return row.n >= sent;
  }, 60_000, `${sent} seeded events flushed to D1`);
  const moves = Array.from({ length: DAYS }, (_, k) => {
    const shift = k * dayMs;
    return `UPDATE events SET site_id = 'demo', ts = ts - ${shift}, day = strftime('%Y-%m-%d', (ts - ${shift}) / 1000, 'unixepoch') WHERE site_id = 'seed-${k}';
      UPDATE rollups_hourly SET site_id = 'demo', hour = hour - ${shift} WHERE site_id = 'seed-${k}';`;
  });
  await worker.d1(moves.join("\n"));
  for (let k = 0; k < DAYS; k++) await call("DELETE", `/api/sites/seed-${k}`);
  const check = await call("GET", "/api/stats/overview?site=demo&period=30d");
  const drawn = check.series.points.filter((p) => p.pageviews > 0).length;
  console.log(`first-chart bench: seeded ${sent} events through POST /api/event (${pageviews} page views, ${visits.length} visits) over ${DAYS} days; ` +
    `the 30-day overview reads ${check.totals.pageviews} page views, ${check.totals.visitors} visitors, ${drawn} of ${check.series.points.length} days with data`);
  if (check.totals.pageviews !== pageviews) throw new Error(`the overview counts ${check.totals.pageviews} page views, ${pageviews} were sent`);
  return { events: sent, pageviews, visits: visits.length };
}

// ---------------------------------------------------------------------------------------------
// Measuring. In the page, from the first script: a MutationObserver notes when every KPI card
// has its value and when the chart's line has its path, then waits for the next frame (a
// requestAnimationFrame callback runs before that frame's paint; a task posted from it runs
// after it), so "drawn" means painted, relative to navigation start (performance.now()).

const OBSERVER = `(() => {
  if (window !== window.top) return;
  const b = (window.__bench = { kpisInserted: null, chartInserted: null, kpis: null, chart: null });
  let finish;
  b.done = new Promise((r) => (finish = r));
  const painted = (key) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      b[key] = performance.now();
      if (b.kpis !== null && b.chart !== null) finish({ kpis: b.kpis, chart: b.chart, kpisInserted: b.kpisInserted, chartInserted: b.chartInserted });
    };
    channel.port2.postMessage(0);
  });
  const observer = new MutationObserver(() => {
    if (b.kpisInserted === null) {
      const values = document.querySelectorAll(".kpis .kpi .value");
      if (values.length && [...values].every((v) => v.textContent.trim() !== "")) { b.kpisInserted = performance.now(); painted("kpis"); }
    }
    if (b.chartInserted === null && document.querySelector("figure.chart svg path.line.pageviews[d]")) {
      b.chartInserted = performance.now(); painted("chart");
    }
    if (b.kpisInserted !== null && b.chartInserted !== null) observer.disconnect();
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["d"] });
})();`;

/** A fixed piece of JavaScript, timed: compares an unthrottled page with the measured ones. */
const LOOP = () => {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 20_000_000; i++) x = (x + i * 7) % 1_000_003;
  return [performance.now() - t, x];
};

async function measure(browser, worker, cookie) {
  const context = await browser.newContext(SCREEN); // a fresh context: empty cache
  try {
    const [name, value] = cookie.split(/=(.*)/s);
    await context.addCookies([{ name, value, url: worker.base, httpOnly: true, sameSite: "Strict" }]);
    await context.addInitScript(OBSERVER);
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
    await cdp.send("Network.emulateNetworkConditions", NETWORK);
    const inflight = new Set();
    cdp.on("Network.requestWillBeSent", (e) => inflight.add(e.requestId));
    cdp.on("Network.loadingFinished", (e) => inflight.delete(e.requestId));
    cdp.on("Network.loadingFailed", (e) => inflight.delete(e.requestId));

    await page.goto(`${worker.base}/`, { waitUntil: "commit" });
    const times = await Promise.race([
      page.evaluate(() => window.__bench.done),
      sleep(CHART_TIMEOUT_MS).then(() => null),
    ]);
    if (!times) {
      const text = (await page.evaluate(() => document.body.innerText).catch(() => "")).slice(0, 300);
      throw new Error(`no chart within ${CHART_TIMEOUT_MS / 1000} s; page says: ${JSON.stringify(text)}; errors: ${errors.join("; ")}`);
    }
    // Let what was asked for before the chart finish, so resource timing has its sizes (the
    // realtime panel polls every 10 s, so "quiet" is a moment, not a state).
    await eventually(() => inflight.size === 0, 30_000, "the network to go quiet").catch(() => {});
    const entries = await page.evaluate(() => [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
      .map((e) => ({ url: e.name, type: e.entryType, start: e.startTime, requestStart: e.requestStart, end: e.responseEnd, bytes: e.encodedBodySize })));
    const [loopMs] = await page.evaluate(LOOP);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    return { ...times, entries, loopMs };
  } finally {
    await context.close();
  }
}

/** What a run fetched before its chart was drawn: finished (with their encoded body sizes) and
 * still in flight, split into static assets and API calls; and any split-off chunk among them. */
function summarise(run) {
  const sum = { assets: { n: 0, bytes: 0 }, api: { n: 0, bytes: 0 }, inflight: 0, chunks: [], list: [] };
  for (const e of run.entries) {
    const { pathname } = new URL(e.url);
    if (e.start >= run.chart) continue;
    const chunk = pathname.match(/^\/app\/[^/]+\/([^/]+)$/);
    if (chunk && !ENTRY_FILES.includes(chunk[1])) sum.chunks.push(chunk[1]);
    if (e.end > run.chart) { sum.inflight++; continue; }
    const kind = pathname.startsWith("/api/") ? "api" : "assets";
    sum[kind].n++;
    sum[kind].bytes += e.bytes;
    sum.list.push(`${pathname.replace(/^\/app\/[^/]+\//, "app/…/")}${e.url.includes("?") ? "?…" : ""} ${e.bytes} B ${e.start.toFixed(0)}–${e.end.toFixed(0)} ms`);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------

const state = mkdtempSync(join(tmpdir(), "vigia-bench-first-chart-"));
const seeder = await startWorker({ state, vars: { VIGIA_TRUST_GEO_HEADERS: "true" }, assets: prepared.split.assets });
let admin, seeded;
try {
  admin = await createAdmin(seeder.base);
  seeded = await seedSite(seeder, await sessionCookie(seeder.base, admin));
} catch (e) {
  await seeder.stop();
  throw e;
}
// One Worker per variant, running side by side on copies of the seeded state, so the runs can
// alternate and whatever else this machine does falls on both alike. The seeding Worker ends
// without removing its state (kill keeps it; everything was flushed to D1 above).
await seeder.kill();
const workers = {};
const browser = await launchBrowser();
let failed = false;
try {
  for (const variant of VARIANTS) {
    const own = variant === "split" ? state : mkdtempSync(join(tmpdir(), "vigia-bench-first-chart-"));
    if (own !== state) cpSync(state, own, { recursive: true });
    workers[variant] = await startWorker({ state: own, migrate: false, assets: prepared[variant].assets });
    workers[variant].cookie = await sessionCookie(workers[variant].base, admin);
  }

  // The unthrottled reference for the CPU check: the same loop on a plain page.
  const plain = await browser.newContext();
  const plainPage = await plain.newPage();
  await plainPage.goto(`${workers.split.base}/health`);
  const plainLoop = [];
  for (let i = 0; i < 5; i++) plainLoop.push((await plainPage.evaluate(LOOP))[0]);
  await plain.close();

  const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < RUNS; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const run = await measure(browser, workers[variant], workers[variant].cookie);
      run.summary = summarise(run);
      runs[variant].push(run);
      console.log(`  run ${round + 1} ${variant.padEnd(7)} KPIs ${run.kpis.toFixed(0)} ms, chart ${run.chart.toFixed(0)} ms` +
        ` (inserted ${run.chartInserted.toFixed(0)} ms), ${run.summary.assets.n + run.summary.api.n} requests before it`);
    }
  }

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ms = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
  const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
  const middle = (variant) => [...runs[variant]].sort((a, b) => a.chart - b.chart)[Math.floor(runs[variant].length / 2)];
  const rows = [["variant", "requests before chart", "bytes before chart: assets / API", "KPIs drawn, ms", "chart drawn, ms", "lazy chunks before chart"]];
  for (const variant of VARIANTS) {
    const rs = runs[variant];
    // Requests and bytes from one run, the median one by chart time, so the row adds up: which
    // of the panels' calls finish before the chart differs from run to run.
    const mid = middle(variant).summary;
    const chunks = [...new Set(rs.flatMap((r) => r.summary.chunks))];
    rows.push([
      variant,
      `${mid.assets.n + mid.api.n} (${mid.assets.n} assets + ${mid.api.n} API)${mid.inflight ? ` +${mid.inflight} in flight` : ""}`,
      `${kb(mid.assets.bytes)} / ${kb(mid.api.bytes)}`,
      ms(rs.map((r) => r.kpis)),
      ms(rs.map((r) => r.chart)),
      chunks.length ? chunks.join(", ") : "none",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\nfirst-chart bench: the overview of a site with ${seeded.events} events (${seeded.pageviews} page views) over ${DAYS} days, cold cache, ${RUNS} runs per variant (alternating);`);
  console.log(`headless Chromium, ${CPU_SLOWDOWN}× CPU slowdown, ${NETWORK.latency} ms round trip, 1.6 Mbit/s down, 750 kbit/s up; wrangler dev (gzip) on 127.0.0.1`);
  console.log(`times: median (min–max) from navigation start; requests and bytes: the median run's, finished before the chart was drawn, bytes as encoded (gzip) bodies\n`);
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  for (const variant of VARIANTS) {
    console.log(`\n  ${variant} (build ${buildOf(prepared[variant].assets)}, ${prepared[variant].how}), the median run's requests before its chart (encoded body, start–end):\n    ${middle(variant).summary.list.join("\n    ")}`);
  }
  // Whether the emulation took. CPU: the same loop in the measured pages against a plain page
  // (fastest of each, as other work on the machine only ever slows a run down). Network:
  // Chromium adds the round trip before a response's headers end, so a small file takes about
  // 150 ms from request to end, and the main wasm's rate shows the throughput.
  const fastest = (xs) => Math.min(...xs);
  const loops = VARIANTS.flatMap((v) => runs[v].map((r) => r.loopMs));
  const docs = VARIANTS.flatMap((v) => runs[v].flatMap((r) => r.entries.filter((e) => e.type === "navigation")));
  const wasm = VARIANTS.flatMap((v) => runs[v].flatMap((r) => r.entries.filter((e) => e.url.endsWith("/dashboard_bg.wasm"))));
  const mbits = median(wasm.map((e) => (e.bytes * 8) / (e.end - e.requestStart - NETWORK.latency) / 1000));
  console.log(`\n  emulation check: a fixed JS loop took ${fastest(plainLoop).toFixed(0)} ms in a plain page and ${fastest(loops).toFixed(0)} ms in the measured ones ` +
    `(×${(fastest(loops) / fastest(plainLoop)).toFixed(1)}); index.html took ${median(docs.map((e) => e.end - e.requestStart)).toFixed(0)} ms from request to last byte; ` +
    `the main wasm came at ~${mbits.toFixed(2)} Mbit/s after the round trip (sharing the link with the other entry files)`);
  if (!sameInputs) console.log("  WARNING: the dashboard's sources changed during the build (see above)");
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  for (const w of Object.values(workers)) await w.stop();
  rmSync(state, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
