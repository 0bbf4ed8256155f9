// The cost of enrichment in the Worker (issue #14 point 4), side by side: the Worker built from
// the commit before #14 (PREVIOUS, exported with `git archive` into target/enrich-cost-previous
// and built once with that tree's own scripts/build.sh, Worker part only) and this checkout's.
// Prints a Markdown table; asserts nothing. Per build:
//
// - bundle: what `wrangler deploy --dry-run --outdir` would upload (the wasm and the bundled
//   JS), raw and gzip -9, wrangler's own "Total Upload" line, and the margin to Cloudflare's
//   3 MB (compressed) Worker size limit on the free plan;
// - cold start: a fresh `wrangler dev` (that tree's own tests/e2e/harness.mjs `startWorker`)
//   on a copy of a database where setup is already done, so that no request but the timed
//   ones reaches the isolate before its first event (setup's audit line parses a user agent
//   and would warm the parser). Spawn to the first answer of the trivial route
//   (`GET /api/nothing`, the Worker's own 404, polled every 20 ms); then, one request at a
//   time, the trivial route warm and six `POST /api/event` (UA parse, bot check, referrer):
//   the isolate's first, the same browser again, a new browser, that browser again, and two
//   forms of a rare browser (COLD_SEQUENCE). BENCH_STARTS fresh starts per build (default 5),
//   the builds alternating (A-B, B-A, …); median (min–max);
// - memory: VmRSS of the workerd that runs Vigia's isolate (wrangler starts a second one, its
//   proxy, shown apart) right after start, after TRIVIAL_REQUESTS trivial requests, and after
//   BENCH_EVENTS single-event requests (default 2,000), with VmHWM (peak) at the end;
// - per-event time: those requests, each from its own address with a browser's headers (and
//   client hints where the user agent is a recent Chromium), the user agents cycling through
//   isbot's browser fixtures (555 user agents of 186 browsers, scripts/bench-data/isbot/), the
//   referrers through a list of common ones, against the
//   trivial route on the same Worker just before; BENCH_CONNECTIONS at a time (default 2);
//   median and p95, and event − trivial;
// - the pipeline alone in wasm (see wasmChild): compile, each cold-sequence event alone, µs per
//   event over 1,000 varied events (first pass, and best of the next four), and the growth of
//   the wasm heap, in BENCH_STARTS fresh Node processes per build, alternating.
//
// The native per-event time is criterion's (`cargo bench -p analytics-core --bench
// enrichment`, step (b) of `./vigia bench`), for this checkout only.
//
//   node scripts/bench-enrich-cost.mjs       (after `./vigia build`; `./vigia bench` runs it)
//   BENCH_STARTS=5 BENCH_EVENTS=2000 BENCH_CONNECTIONS=2 are the defaults.

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { drive, median, percentile } from "./bench-lib.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The last commit with the enrichment as it was before issue #14 (as scripts/bench-accuracy.mjs). */
const PREVIOUS = "239be187dce3d43819505534a820f4902a10090f";
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2);
/** Trivial-route requests before the events: the latency baseline (percentiles settle well
 * before this) and the memory baseline with the runtime warm. */
const TRIVIAL_REQUESTS = 500;
/** Cloudflare's Worker size limit on the free plan, after compression ("3 MB"; read as 10^6 B,
 * the stricter reading). The paid plan's is 10 MB. */
const FREE_PLAN_GZIP_LIMIT = 3_000_000;
/** How often the cold-start poller asks for the trivial route while wrangler starts. */
const POLL_MS = 20;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Inputs: realistic user agents and referrers.

/** isbot's browser fixtures (Unlicense, vendored unchanged): "Name:" lines, then "  - UA". */
function userAgents() {
  const text = readFileSync(join(ROOT, "scripts/bench-data/isbot/browsers.yml"), "utf8");
  return text.split("\n").filter((l) => l.startsWith("  - ")).map((l) => {
    const v = l.slice(4).trim();
    return v.startsWith('"') ? JSON.parse(v) : v;
  });
}

/** Where visitors come from on a typical site: direct, search, social, webmail, apps, AI
 * assistants, news and blogs (written here; hosts only matter, paths vary). */
const REFERRERS = [
  "", "", "",
  "https://www.google.com/", "https://www.google.de/search?q=vigia", "https://www.bing.com/search?q=analytics",
  "https://duckduckgo.com/", "https://search.yahoo.com/search?p=privacy+analytics", "https://yandex.ru/search/?text=vigia",
  "https://www.baidu.com/s?wd=vigia", "https://www.ecosia.org/search?q=web+analytics",
  "https://t.co/abc123", "https://www.facebook.com/", "https://l.facebook.com/l.php?u=x", "https://lm.facebook.com/",
  "https://www.instagram.com/", "https://www.linkedin.com/feed/", "https://www.reddit.com/r/selfhosted/comments/x/",
  "https://news.ycombinator.com/item?id=1", "https://www.tiktok.com/", "https://www.pinterest.com/pin/1/",
  "https://mail.google.com/mail/u/0/", "https://outlook.live.com/mail/0/inbox", "https://mail.yahoo.com/",
  "android-app://com.google.android.gm/", "android-app://com.slack/",
  "https://chatgpt.com/", "https://www.perplexity.ai/search/x", "https://github.com/some/repo",
  "https://en.wikipedia.org/wiki/Web_analytics", "https://www.theguardian.com/technology", "https://blog.example.org/post",
  "https://www.youtube.com/watch?v=x", "https://127.0.0.1/pricing",
];

const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/** The cold-start sequence, one request at a time: [label, user agent]. A parser that builds
 * its rules lazily pays when a user agent first reaches rules not used yet; a new browser
 * usually does, and a rare one may reach rules no common browser needs. */
const COLD_SEQUENCE = [
  ["1st event: Chrome 131, Linux (the isolate's first)", CHROME],
  ["2nd event: Chrome 130, Windows (browser seen)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"],
  ["3rd event: Firefox 133, Windows (new browser)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"],
  ["4th event: Firefox 132, macOS (browser seen)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0"],
  ["5th event: AWeb with an MSIE token (rare browser)", "Mozilla/6.0 (compatible; MSIE 7.01; Amiga-AWeb)"],
  ["6th event: AWeb, plain (rare browser, other form)", "Mozilla/6.0 (compatible; Amiga-AWeb)"],
];

/**
 * The headers a browser's beacon carries (as tests/e2e/harness.mjs `browserHeaders` has them,
 * written out here so that both builds get the very same whatever their harness sends), with
 * the low-entropy client hints a recent Chromium browser adds (over HTTPS, as a real site's
 * beacon goes), and the visitor's address as Cloudflare passes it.
 */
function beaconHeaders(ua, ip) {
  const headers = {
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": ua,
    "Accept-Language": "en-US,en;q=0.9",
    Origin: "http://127.0.0.1",
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Dest": "empty",
    "CF-Connecting-IP": ip,
  };
  const chromium = ua.match(/Chrome\/(\d+)/);
  if (chromium && Number(chromium[1]) >= 90) {
    const platform = /Android/.test(ua) ? "Android" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS"
      : /CrOS/.test(ua) ? "Chrome OS" : /Linux/.test(ua) ? "Linux" : "Unknown";
    headers["Sec-CH-UA"] = `"Chromium";v="${chromium[1]}", "Not_A Brand";v="24"`;
    headers["Sec-CH-UA-Mobile"] = /Mobile/.test(ua) ? "?1" : "?0";
    headers["Sec-CH-UA-Platform"] = `"${platform}"`;
  }
  return headers;
}

function eventRequest(base, { ua, referrer, n }) {
  const body = JSON.stringify({
    site: "demo",
    events: [{ kind: "pageview", url: `http://127.0.0.1/bench/${n % 97}?utm_source=${n % 5 ? "" : "newsletter"}`, referrer, screen_width: 1280 }],
  });
  // Each request its own address (198.18.0.0/15, the benchmarking range): a new visitor, and
  // the per-visitor and per-address limits stay out of the figures.
  const ip = `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`;
  return fetch(`${base}/api/event`, { method: "POST", body, headers: beaconHeaders(ua, ip) });
}

// ---------------------------------------------------------------------------------------------
// The two builds.

function sh(cwd, script) {
  const env = { ...process.env };
  // That tree's env.sh sets its own ROOT; a target dir from outside would mix the builds.
  delete env.ROOT;
  delete env.CARGO_TARGET_DIR;
  execFileSync("bash", ["-c", `source scripts/env.sh && source scripts/build.sh && ${script}`], {
    cwd, env, stdio: ["ignore", "inherit", "inherit"],
  });
}

/** PREVIOUS exported into target/enrich-cost-previous/src, its Worker built there (once). It
 * shares this checkout's node_modules (same wrangler) and dist/ (same static assets). */
function buildPrevious() {
  const src = join(ROOT, "target/enrich-cost-previous/src");
  const stamp = join(ROOT, "target/enrich-cost-previous", `built-${PREVIOUS}`);
  if (!existsSync(stamp) || !existsSync(join(src, "edge-worker/build/index.js"))) {
    console.error(`building the Worker of ${PREVIOUS.slice(0, 7)} in ${src} (once)`);
    mkdirSync(src, { recursive: true });
    const tar = execFileSync("git", ["-C", ROOT, "archive", PREVIOUS], { maxBuffer: 1 << 30 });
    execFileSync("tar", ["-x", "-C", src], { input: tar });
    for (const link of ["node_modules", "dist"]) {
      if (!existsSync(join(src, link))) symlinkSync(join(ROOT, link), join(src, link));
    }
    sh(src, "build_worker");
    writeFileSync(stamp, "");
  }
  return src;
}

function describeNow() {
  const head = execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]).toString().trim();
  const dirty = execFileSync("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).toString().trim();
  return `now (${head}${dirty ? "+changes" : ""})`;
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/** What wrangler would upload: the wasm, the bundled JS, and its own Total Upload line. */
function bundle(root) {
  const out = mkdtempSync(join(tmpdir(), "vigia-bundle-"));
  try {
    const log = execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out], {
      cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"],
    }).toString();
    const total = log.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
    const sizes = { wasm: 0, wasmGz: 0, js: 0, jsGz: 0 };
    for (const f of readdirSync(out)) {
      const bytes = readFileSync(join(out, f));
      const kind = f.endsWith(".wasm") ? "wasm" : f.endsWith(".js") || f.endsWith(".mjs") ? "js" : null;
      if (!kind) continue; // README.md, source maps: not uploaded
      sizes[kind] += bytes.length;
      sizes[`${kind}Gz`] += gzipSync(bytes, { level: 9 }).length;
    }
    return { ...sizes, wranglerRaw: total ? Number(total[1]) * 1024 : NaN, wranglerGz: total ? Number(total[2]) * 1024 : NaN };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The workerd processes under the `wrangler dev` listening on `port`: wrangler starts two, a
 * proxy on the public port and the runtime that holds Vigia's isolate (the one measured). */
function workerdProcesses(port) {
  const procs = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      procs.push({ pid: Number(d), ppid, cmdline, comm });
    } catch {} // gone meanwhile
  }
  const wrangler = procs.find((p) => p.cmdline.some((a) => a.endsWith("wrangler.js")) && p.cmdline.includes("dev")
    && p.cmdline[p.cmdline.indexOf("--port") + 1] === String(port));
  if (!wrangler) throw new Error(`no wrangler dev on port ${port}`);
  const below = new Set([wrangler.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (below.has(p.ppid) && !below.has(p.pid)) { below.add(p.pid); grew = true; }
  }
  const workerd = procs.filter((p) => below.has(p.pid) && p.comm.startsWith("workerd"));
  const isProxy = (p) => p.cmdline.includes(`--socket-addr=entry=127.0.0.1:${port}`);
  const worker = workerd.filter((p) => !isProxy(p));
  if (worker.length !== 1) throw new Error(`expected one workerd runtime besides the proxy, found ${worker.length}`);
  return { runtime: worker[0].pid, proxy: workerd.filter(isProxy).map((p) => p.pid) };
}

/** VmRSS and VmHWM (bytes) of `pid`. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    rss: 1024 * Number(status.match(/VmRSS:\s+(\d+)/)[1]),
    hwm: 1024 * Number(status.match(/VmHWM:\s+(\d+)/)[1]),
  };
}

/** A database with migrations applied and setup done (the admin and the site "demo"): each
 * measured start runs on a copy, so setup's requests never reach a measured isolate. */
async function template(build) {
  const state = mkdtempSync(join(tmpdir(), "vigia-cost-template-"));
  const worker = await build.harness.startWorker({ state });
  await build.harness.createAdmin(worker.base);
  // Setup's writes are committed (SQLite WAL) before it answers: a kill loses none of them,
  // and stop() would delete the folder.
  await worker.kill();
  return state;
}

/** `startWorker` on a copy of the template; a port taken between choosing it and binding it
 * (other work on the machine) is retried on another. `port` for the first try. */
async function startOnCopy(build, port) {
  for (let attempt = 1; ; attempt++) {
    const state = mkdtempSync(join(tmpdir(), "vigia-cost-"));
    cpSync(build.template, state, { recursive: true });
    try {
      return await build.harness.startWorker({ state, migrate: false, port });
    } catch (e) {
      rmSync(state, { recursive: true, force: true });
      if (attempt === 3 || !/already in use/.test(e.message)) throw e;
      port = await build.harness.freePort();
    }
  }
}

/** One fresh `wrangler dev` on a copy of the template; `measure(worker)` runs, then it stops. */
async function freshStart(build, measure) {
  const port = await build.harness.freePort();
  const spawned = performance.now();
  let firstAnswer = null;
  let starting = true;
  const poller = (async () => {
    while (starting && firstAnswer === null) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/nothing`);
        const body = await r.text();
        // The Worker's own 404 (wrangler answers other things while it starts).
        if (r.status === 404 && body.includes("no route")) firstAnswer = performance.now() - spawned;
      } catch {}
      if (firstAnswer === null) await sleep(POLL_MS);
    }
  })();
  const worker = await startOnCopy(build, port);
  if (worker.port !== port) {
    // Retried on another port: the poller watched the wrong one; time a clean start.
    starting = false;
    await worker.stop();
    return freshStart(build, measure);
  }
  try {
    await Promise.race([poller, sleep(5_000)]);
    starting = false;
    return await measure(worker, { firstAnswer, ready: performance.now() - spawned });
  } finally {
    await worker.stop();
  }
}

async function timed(fn) {
  const t0 = performance.now();
  const r = await fn();
  await r.arrayBuffer();
  if (!(r.ok || r.status === 404)) throw new Error(`answered ${r.status}`);
  return performance.now() - t0;
}

async function coldStart(build, starts) {
  return freshStart(build, async (worker, { firstAnswer }) => {
    const trivial = () => fetch(`${worker.base}/api/nothing`);
    const warm = [];
    for (let i = 0; i < 3; i++) warm.push(await timed(trivial));
    const events = [];
    for (const [i, [, ua]] of COLD_SEQUENCE.entries()) {
      events.push(await timed(() => eventRequest(worker.base, { ua, referrer: "https://www.google.com/", n: 60_000 + starts * 16 + i })));
    }
    return { firstAnswer, warmTrivial: median(warm), events };
  });
}

/** Requests in a block before the load moves to the other build. */
const BLOCK = 50;

/** Statistics of one build's latencies gathered over blocks (`drive` results). */
function merged(blocks, seconds) {
  const latencies = blocks.flatMap((b) => b.latencies).sort((a, b) => a - b);
  const ok = blocks.reduce((sum, b) => sum + b.ok, 0);
  const other = blocks.reduce((sum, b) => sum + b.other, 0);
  return { ok, other, rps: ok / seconds, p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) };
}

/**
 * Both builds under load at once, each on its own fresh `wrangler dev`: TRIVIAL_REQUESTS
 * trivial requests, then EVENTS single-event requests (the same user agents and referrers in
 * the same order for both), in blocks of BLOCK alternating between the builds, so that a
 * machine busier at one moment weighs on both alike. Memory of each runtime after start, after
 * the trivial requests and after the events.
 */
async function sustained(builds, agents) {
  const running = [];
  try {
    for (const b of builds) {
      const worker = await startOnCopy(b, null);
      running.push({ build: b, worker, ...workerdProcesses(worker.port), trivial: [], ingest: [], seconds: { trivial: 0, ingest: 0 } });
    }
    for (const r of running) r.afterStart = memory(r.runtime);
    const phase = async (kind, total, request) => {
      for (let from = 0; from < total; from += BLOCK) {
        // A-B, then B-A: neither build always follows the other.
        const order = (from / BLOCK) % 2 ? [...running].reverse() : running;
        for (const r of order) {
          const t0 = performance.now();
          r[kind].push(await drive(kind, (c, n) => request(r, from + n), { connections: CONNECTIONS, requests: Math.min(BLOCK, total - from) }));
          r.seconds[kind] += (performance.now() - t0) / 1000;
        }
      }
    };
    await phase("trivial", TRIVIAL_REQUESTS, (r) => fetch(`${r.worker.base}/api/nothing`));
    for (const r of running) r.afterTrivial = memory(r.runtime);
    await phase("ingest", EVENTS, (r, n) =>
      eventRequest(r.worker.base, { ua: agents[n % agents.length], referrer: REFERRERS[n % REFERRERS.length], n }));
    for (const r of running) {
      r.build.sustained = {
        afterStart: r.afterStart,
        afterTrivial: r.afterTrivial,
        afterEvents: memory(r.runtime),
        proxyRss: r.proxy.reduce((sum, p) => sum + memory(p).rss, 0),
        trivial: merged(r.trivial, r.seconds.trivial),
        ingest: merged(r.ingest, r.seconds.ingest),
      };
    }
  } finally {
    for (const r of running) await r.worker.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The pipeline alone in wasm, under Node's WebAssembly (V8, as workerd): a small crate generated
// under target/enrich-cost-wasm/ (product code untouched) that depends on that tree's
// analytics-core, with its Cargo.lock and the workspace's release profile, and exports what
// ingest does per request: parse a batch, enrich it, serialise the events. No wasm-opt pass
// (the Worker's gets one), so sizes are not the Worker's; times and heap are the pipeline's.

const WASM_CASES = 1000;
/** Passes over the cases: the first meets each browser for the first time; the best of the
 * others is the warm figure (on a shared machine, other work only ever adds time). */
const WASM_PASSES = 5;

const harnessCrate = (name, core) => `[package]
name = "${name}"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]
path = "lib.rs"

[dependencies]
analytics-core = { path = "${core}" }
serde_json = "1"

[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"

[workspace]
`;

/** The harness for a tree whose ingest modules are at `ingest` (`analytics_core::ingest` since
 * the core was grouped by what it serves, `analytics_core` before). */
const harnessLib = (ingest) => `// Generated by scripts/bench-enrich-cost.mjs; see there.
use analytics_core::enrich::bot::FetchMetadata;
use analytics_core::enrich::ip::IpHeaders;
use ${ingest}::pipeline::{enrich_batch, RequestFacts, SiteConfig};
use ${ingest}::wire::parse_batch;
use std::sync::Mutex;

static INPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static CASES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Room for \`len\` bytes of input ("user agent TAB batch body" lines); Node writes there.
#[no_mangle]
pub extern "C" fn input(len: usize) -> *mut u8 {
    let mut input = INPUT.lock().unwrap_or_else(|e| e.into_inner());
    *input = vec![0; len];
    input.as_mut_ptr()
}

/// Splits the input into cases once, so that \`run\` times the pipeline only.
#[no_mangle]
pub extern "C" fn prepare() -> usize {
    let input = INPUT.lock().unwrap_or_else(|e| e.into_inner());
    let text = String::from_utf8_lossy(&input);
    let mut cases = CASES.lock().unwrap_or_else(|e| e.into_inner());
    *cases = text
        .lines()
        .map(|l| {
            let (ua, body) = l.split_once('\\t').unwrap_or((l, ""));
            (ua.to_string(), body.to_string())
        })
        .collect();
    cases.len()
}

/// Cases \`from..from + count\` through the pipeline; returns the serialised bytes (kept so
/// that nothing is optimised away).
#[no_mangle]
pub extern "C" fn run(from: usize, count: usize) -> u32 {
    let cases = CASES.lock().unwrap_or_else(|e| e.into_inner());
    let site = SiteConfig {
        id: "demo".into(),
        hostnames: vec!["127.0.0.1".into()],
        ..Default::default()
    };
    let mut out = 0u32;
    for i in from..from + count {
        let (ua, body) = &cases[i % cases.len()];
        let Ok(batch) = parse_batch(body.as_bytes()) else { continue };
        let facts = RequestFacts {
            ip_headers: IpHeaders {
                cf_connecting_ip: Some("198.18.0.1"),
                ..Default::default()
            },
            user_agent: ua,
            has_accept_language: true,
            origin: Some("http://127.0.0.1"),
            fetch: FetchMetadata {
                site: Some("cross-site"),
                mode: Some("no-cors"),
                dest: Some("empty"),
                ..Default::default()
            },
            ..Default::default()
        };
        if let Ok(events) = enrich_batch(&batch, &site, &facts, b"daily-salt", 1_800_000_000_000, "req") {
            out = out.wrapping_add(serde_json::to_vec(&events).map(|v| v.len() as u32).unwrap_or(0));
        }
    }
    out
}
`;

/** Builds the harness against `build`'s analytics-core; returns the wasm's path. */
function buildWasmHarness(build) {
  const dir = join(ROOT, "target/enrich-cost-wasm", build.key);
  const target = join(ROOT, "target/enrich-cost-wasm/target");
  mkdirSync(dir, { recursive: true });
  const name = `enrich-cost-${build.key}`;
  const write = (file, text) => {
    const path = join(dir, file);
    if (!existsSync(path) || readFileSync(path, "utf8") !== text) writeFileSync(path, text);
  };
  write("Cargo.toml", harnessCrate(name, join(build.root, "analytics-core")));
  const grouped = existsSync(join(build.root, "analytics-core/src/ingest/pipeline.rs"));
  write("lib.rs", harnessLib(grouped ? "analytics_core::ingest" : "analytics_core"));
  // The tree's own versions of every dependency: its lock, copied again whenever it changed
  // (cargo adds this crate to the copy, so the copy is compared by what it was made from).
  const lock = readFileSync(join(build.root, "Cargo.lock"), "utf8");
  const from = join(dir, "Cargo.lock.from");
  if (!existsSync(from) || readFileSync(from, "utf8") !== lock) {
    writeFileSync(join(dir, "Cargo.lock"), lock);
    writeFileSync(from, lock);
  }
  const env = { ...process.env, CARGO_TARGET_DIR: target };
  execFileSync("cargo", ["build", "--quiet", "--release", "--target", "wasm32-unknown-unknown", "--manifest-path", join(dir, "Cargo.toml")], {
    env, stdio: ["ignore", "inherit", "inherit"],
  });
  return join(target, "wasm32-unknown-unknown/release", `${name.replaceAll("-", "_")}.wasm`);
}

/** The cases: the cold sequence, then WASM_CASES user agents and referrers cycling. */
function wasmCases(agents) {
  const body = (i, referrer) => JSON.stringify({
    site: "demo", events: [{ kind: "pageview", url: `http://127.0.0.1/bench/${i % 97}`, referrer, screen_width: 1280 }],
  });
  const cases = COLD_SEQUENCE.map(([, ua], i) => [ua, body(i, "https://www.google.com/")]);
  for (let i = 0; i < WASM_CASES; i++) cases.push([agents[i % agents.length], body(i, REFERRERS[i % REFERRERS.length])]);
  return cases.map(([ua, b]) => `${ua.replaceAll(/[\t\n]/g, " ")}\t${b}`).join("\n");
}

/** In a fresh Node process: compile and instantiate, each cold-sequence case alone, then
 * WASM_PASSES passes over the WASM_CASES cases. */
async function wasmChild(path) {
  const t0 = performance.now();
  const module = await WebAssembly.compile(readFileSync(path));
  const imports = {};
  for (const i of WebAssembly.Module.imports(module)) {
    if (i.kind === "function") (imports[i.module] ??= {})[i.name] = () => { throw new Error(`${i.module}.${i.name} called`); };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const instantiate = performance.now() - t0;
  const { memory, input, prepare, run } = instance.exports;
  const text = new TextEncoder().encode(wasmCases(userAgents()));
  const ptr = input(text.length);
  new Uint8Array(memory.buffer, ptr, text.length).set(text);
  if (prepare() !== COLD_SEQUENCE.length + WASM_CASES) throw new Error("the harness read the cases wrongly");
  const heapBefore = memory.buffer.byteLength;
  const cold = COLD_SEQUENCE.map((_, i) => {
    const t = performance.now();
    if (!run(i, 1)) throw new Error(`case ${i} produced nothing`);
    return performance.now() - t;
  });
  const passes = Array.from({ length: WASM_PASSES }, () => {
    const t = performance.now();
    run(COLD_SEQUENCE.length, WASM_CASES);
    return performance.now() - t;
  });
  process.stdout.write(JSON.stringify({ instantiate, cold, passes, heapBefore, heapAfter: memory.buffer.byteLength }));
}

function wasmRun(path) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--wasm-child", path], { maxBuffer: 1 << 20 });
  return JSON.parse(out.toString());
}

// ---------------------------------------------------------------------------------------------
// Output.

const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : "–");
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
const spread = (vs, f) => `${f(median(vs))} (${f(Math.min(...vs))}–${f(Math.max(...vs))})`;
function change(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) return "";
  const d = (100 * (b - a)) / a;
  return `${d >= 0 ? "+" : ""}${d.toFixed(0)} %`;
}

async function main() {
  if (process.argv[2] === "--wasm-child") return wasmChild(process.argv[3]);
  const began = performance.now();
  const load0 = loadavg()[0];
  sh(ROOT, "build_all");
  const builds = [
    { key: "previous", name: `previous (${PREVIOUS.slice(0, 7)})`, root: buildPrevious() },
    { key: "now", name: describeNow(), root: ROOT },
  ];
  for (const b of builds) {
    try {
      b.wasm = buildWasmHarness(b);
    } catch (e) {
      console.error(`the wasm harness for ${b.name} did not build (its figures are left out): ${e.message}`);
    }
    b.wasmRuns = [];
  }
  for (let i = 0; i < STARTS; i++) {
    for (const b of i % 2 ? [...builds].reverse() : builds) if (b.wasm) b.wasmRuns.push(wasmRun(b.wasm));
  }
  for (const b of builds) {
    b.harness = await import(pathToFileURL(join(b.root, "tests/e2e/harness.mjs")).href);
    b.bundle = bundle(b.root);
    b.template = await template(b);
    b.cold = [];
  }
  const agents = userAgents();
  try {
    for (let i = 0; i < STARTS; i++) {
      for (const b of i % 2 ? [...builds].reverse() : builds) b.cold.push(await coldStart(b, i));
    }
    await sustained(builds, agents);
  } finally {
    for (const b of builds) rmSync(b.template, { recursive: true, force: true });
  }

  const [p, n] = builds;
  const rows = [];
  const row = (label, f, pv, nv, withChange = true) => rows.push(`| ${label} | ${f(pv)} | ${f(nv)} | ${withChange ? change(pv, nv) : ""} |`);
  const section = (title) => rows.push(`| **${title}** | | | |`);

  section("bundle (wrangler deploy --dry-run)");
  row("wasm, raw", kb, p.bundle.wasm, n.bundle.wasm);
  row("wasm, gzip -9", kb, p.bundle.wasmGz, n.bundle.wasmGz);
  row("JS shim (bundled), raw", kb, p.bundle.js, n.bundle.js);
  row("JS shim (bundled), gzip -9", kb, p.bundle.jsGz, n.bundle.jsGz);
  row("wrangler's Total Upload, raw", kb, p.bundle.wranglerRaw, n.bundle.wranglerRaw);
  row("wrangler's Total Upload, gzip", kb, p.bundle.wranglerGz, n.bundle.wranglerGz);
  const margin = (b) => FREE_PLAN_GZIP_LIMIT - Math.max(b.wasmGz + b.jsGz, b.wranglerGz);
  row("margin to the free plan's 3 MB (gzip)", (v) => `${kb(v)} (${((100 * v) / FREE_PLAN_GZIP_LIMIT).toFixed(0)} % left)`, margin(p.bundle), margin(n.bundle), false);

  section(`cold start (median of ${STARTS} fresh wrangler dev, min–max)`);
  const coldRow = (label, pick) => rows.push(`| ${label} | ${spread(p.cold.map(pick), ms)} | ${spread(n.cold.map(pick), ms)} | ${change(median(p.cold.map(pick)), median(n.cold.map(pick)))} |`);
  coldRow("spawn → first answer, trivial route", (c) => c.firstAnswer ?? NaN);
  coldRow("trivial route, warm (after /health)", (c) => c.warmTrivial);
  COLD_SEQUENCE.forEach(([label], i) => coldRow(label, (c) => c.events[i]));

  section("memory of the workerd that runs Vigia's isolate (/proc VmRSS, VmHWM)");
  row("RSS after start", mib, p.sustained.afterStart.rss, n.sustained.afterStart.rss);
  row(`RSS after ${TRIVIAL_REQUESTS} trivial requests`, mib, p.sustained.afterTrivial.rss, n.sustained.afterTrivial.rss);
  row(`RSS after ${EVENTS} events more`, mib, p.sustained.afterEvents.rss, n.sustained.afterEvents.rss);
  row("peak RSS (VmHWM) at the end", mib, p.sustained.afterEvents.hwm, n.sustained.afterEvents.hwm);
  row("events' growth (after events − after trivial)", mib, p.sustained.afterEvents.rss - p.sustained.afterTrivial.rss,
    n.sustained.afterEvents.rss - n.sustained.afterTrivial.rss);
  row("(wrangler's proxy workerd, not Vigia's: RSS at the end)", mib, p.sustained.proxyRss, n.sustained.proxyRss, false);

  section(`per event (${EVENTS} single-event POSTs, ${agents.length} user agents cycling; ${TRIVIAL_REQUESTS} trivial requests before; ${CONNECTIONS} at a time, blocks of ${BLOCK} alternating between the builds)`);
  const s = (b) => b.sustained;
  row("POST /api/event p50", ms, s(p).ingest.p50, s(n).ingest.p50);
  row("POST /api/event p95", ms, s(p).ingest.p95, s(n).ingest.p95);
  row("trivial route p50", ms, s(p).trivial.p50, s(n).trivial.p50);
  row("trivial route p95", ms, s(p).trivial.p95, s(n).trivial.p95);
  row("event − trivial, p50", ms, s(p).ingest.p50 - s(p).trivial.p50, s(n).ingest.p50 - s(n).trivial.p50);
  row("events/s", (v) => v.toFixed(0), s(p).ingest.rps, s(n).ingest.rps);
  if (p.wasmRuns.length || n.wasmRuns.length) {
    section(`the pipeline alone in wasm (parse + enrich + serialise one event; Node's WebAssembly, median of ${STARTS} fresh processes, min–max)`);
    const us = (v) => (Number.isFinite(v) ? `${(v * 1000).toFixed(0)} µs` : "–");
    const wasmRow = (label, pick, f) => {
      const pv = p.wasmRuns.map(pick), nv = n.wasmRuns.map(pick);
      const cell = (vs) => (vs.length ? spread(vs, f) : "–");
      rows.push(`| ${label} | ${cell(pv)} | ${cell(nv)} | ${change(median(pv), median(nv))} |`);
    };
    wasmRow("compile + instantiate", (r) => r.instantiate, ms);
    COLD_SEQUENCE.forEach(([label], i) => wasmRow(label, (r) => r.cold[i], us));
    wasmRow(`per event, first pass over ${WASM_CASES} (${agents.length} user agents)`, (r) => r.passes[0] / WASM_CASES, us);
    wasmRow(`per event, warm (best of passes 2–${WASM_PASSES})`, (r) => Math.min(...r.passes.slice(1)) / WASM_CASES, us);
    wasmRow("linear memory before the first event", (r) => r.heapBefore, mib);
    wasmRow("linear memory growth over all events", (r) => r.heapAfter - r.heapBefore, mib);
  }
  const refused = s(p).ingest.other + s(n).ingest.other + s(p).trivial.other + s(n).trivial.other;

  console.log(`## Cost of enrichment in the Worker: previous vs now\n`);
  console.log(`| figure | ${p.name} | ${n.name} | change |`);
  console.log("|---|---:|---:|---:|");
  for (const r of rows) console.log(r);
  console.log(`\nwrangler dev on 127.0.0.1; load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; ` +
    `${((performance.now() - began) / 1000).toFixed(0)} s in all${refused ? `; ${refused} requests not answered 2xx/404` : ""}.`);
}

await main();
