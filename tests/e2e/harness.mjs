// Shared helpers for the end-to-end tests: a real `wrangler dev` on a free port with fresh
// local D1 / Durable Object state, D1 queries through wrangler, and headless Chromium.
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OUTPUT = join(ROOT, "test-output");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const run = promisify(execFile);

/** A desktop Chrome user agent: headless Chromium's own says "HeadlessChrome" and is flagged as a bot. */
export const DESKTOP_CHROME_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/** Firefox on Windows: a desktop browser that is not the test's Chromium. */
export const FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/** The id the Worker gives the `index`-th event of request `requestId` (X-Request-ID). */
export const eventId = (requestId, index) => `${requestId}-${String(index).padStart(2, "0")}`;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The setup token each started Worker was given, by its base URL (createAdmin sends it). */
const SETUP_TOKENS = new Map();

/** Starts the real Worker under `wrangler dev` with fresh state; returns { base, d1, stop }.
 * `assets` serves another folder than dist/ (a deploy test publishes into a copy); `port`
 * reuses a port (a restart keeps the origin, and with it the browser's cache). */
export async function startWorker({ vars = {}, state = null, migrate = true, assets = null, port = null } = {}) {
  port ??= await freePort();
  state ??= mkdtempSync(join(tmpdir(), "vigia-e2e-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  if (migrate) {
    await run(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
      cwd: ROOT,
      env,
    });
  }
  const base = `http://127.0.0.1:${port}`;
  // `vars` may be a function of the Worker's base URL (for VIGIA_PUBLIC_URL). Every instance
  // gets its own first-run setup token, as `./vigia run` does, unless the test sets one.
  const given = typeof vars === "function" ? vars(base) : vars;
  const setupToken = given.VIGIA_SETUP_TOKEN ?? randomBytes(24).toString("base64url");
  SETUP_TOKENS.set(base, setupToken);
  const varArgs = Object.entries({ VIGIA_SETUP_TOKEN: setupToken, ...given })
    .filter(([, v]) => v !== "")
    .flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    process.execPath,
    [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state,
      "--show-interactive-dev-session=false", "--test-scheduled", ...varArgs,
      ...(assets ? ["--assets", assets] : [])],
    // Its own process group, so a kill reaches workerd too.
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${log}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`wrangler dev not healthy in 60 s:\n${log}`);
    await sleep(300);
  }
  const d1 = async (sql) => {
    const { stdout } = await run(
      process.execPath,
      [WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", state, "--json", "--command", sql],
      { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 },
    );
    return JSON.parse(stdout)[0].results;
  };
  const signalGroup = async (signal) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try { process.kill(-child.pid, signal); } catch {}
    await exited;
  };
  /** Stops the Worker and removes its local state. */
  const stop = async () => {
    await signalGroup("SIGTERM");
    rmSync(state, { recursive: true, force: true });
  };
  /** Ends wrangler and workerd at once, as a crash or a power cut would. */
  const kill = () => signalGroup("SIGKILL");
  /** Runs a cron trigger (`wrangler dev --test-scheduled`): the daily one unless told, as if
   * scheduled at `time` (UTC ms) when given. */
  const cron = async (expression = "45 0 * * *", time = null) => {
    const at = time === null ? "" : `&time=${time}`;
    const r = await fetch(`${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(expression)}${at}`);
    if (!r.ok) throw new Error(`scheduled run answered ${r.status}: ${await r.text()}`);
  };
  /** Requests wrangler dev served, as its log lines say ("GET /v.js 200 OK"), since `from`. */
  const served = (pattern, from = 0) =>
    log.slice(from).split("\n").filter((line) => /\[wrangler:info\] (GET|HEAD|POST) /.test(line) && pattern.test(line));
  return { base, port, d1, stop, kill, cron, state, served, setupToken, log: () => log };
}

/** The host name test pages are served under: a second origin, as a real site is. Chromium
 * resolves every `*.localhost` name to loopback, so no DNS is needed. */
export const SITE_HOST = "site.localhost";

/** The snippet as a site owner pastes it, pointing at the Worker (`src` changes for a proxy). */
export const snippet = (worker, attributes = "", src = `${worker.base}/v.js`) =>
  `<script defer src="${src}" data-site="demo" data-allow-localhost ${attributes}></script>`;

/**
 * A site on a second origin (`http://site.localhost:PORT`), as Vigia's users have it: it
 * serves the demo pages (demo/) with their snippet pointing at the Worker's origin, pages a
 * test adds with `page(path, html, headers)`, and a first-party proxy under `/stats/` that
 * forwards to the Worker what a site owner forwards against ad blockers (the loader, the module
 * and the ingest call). `proxied` lists the paths it forwarded.
 */
export async function startSite(worker) {
  const port = await freePort();
  const origin = `http://${SITE_HOST}:${port}`;
  const pages = new Map();
  const proxied = [];
  const types = { ".html": "text/html; charset=utf-8", ".pdf": "application/pdf", ".js": "text/javascript" };
  const server = createHttpServer(async (req, res) => {
    try {
      const url = new URL(req.url, origin);
      if (url.pathname.startsWith("/stats/")) {
        // What a site owner's proxy does: same path under the Worker, the visitor's address
        // passed on, the body as sent.
        const target = `${worker.base}${url.pathname.slice("/stats".length)}${url.search}`;
        proxied.push(`${req.method} ${url.pathname}`);
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k)));
        headers["x-forwarded-for"] = req.socket.remoteAddress.replace(/^::ffff:/, "");
        const answer = await fetch(target, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
        const out = {};
        answer.headers.forEach((v, k) => { if (!["content-encoding", "content-length", "transfer-encoding"].includes(k)) out[k] = v; });
        res.writeHead(answer.status, out);
        return res.end(Buffer.from(await answer.arrayBuffer()));
      }
      const added = pages.get(url.pathname);
      if (added) {
        res.writeHead(200, { "Content-Type": types[".html"], ...added.headers });
        return res.end(added.html);
      }
      let file = join(ROOT, "demo", url.pathname.replace(/^\/demo\/?/, ""));
      if (!url.pathname.startsWith("/demo/") || !file.startsWith(join(ROOT, "demo")) || !existsSync(file)) {
        res.writeHead(404, { "Content-Type": "text/plain" });
        return res.end("not found");
      }
      if (statSync(file).isDirectory()) file = join(file, "index.html");
      const ext = file.slice(file.lastIndexOf("."));
      let body = readFileSync(file);
      // The demo pages carry the snippet as `src="/v.js"`, for Vigia's own origin.
      // A strict page names its hosts: Vigia's is another origin here, so it joins 'self'.
      if (ext === ".html") {
        body = body.toString().replaceAll('src="/v.js"', `src="${worker.base}/v.js"`)
          .replace(/(http-equiv="Content-Security-Policy"\s+content=")([^"]*)/, (_, a, csp) => a + csp.replaceAll("'self'", `'self' ${worker.base}`));
      }
      res.writeHead(200, { "Content-Type": types[ext] ?? "application/octet-stream" });
      res.end(body);
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    origin,
    url: (path) => `${origin}${path}`,
    page: (path, html, headers = {}) => pages.set(path, { html, headers }),
    proxied,
    stop: () => new Promise((r) => server.close(r)),
  };
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually(check, ms = 30_000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last}`);
    await sleep(500);
  }
}

export async function createAdmin(base, { email = "owner@example.com", password = "a long test password" } = {}) {
  const r = await fetch(`${base}/api/setup`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${SETUP_TOKENS.get(base) ?? ""}` },
    body: JSON.stringify({
      email,
      password,
      // The browser tests' pages are on the second origin, site.localhost.
      site: { id: "demo", name: "Demo site", hostnames: ["127.0.0.1", "localhost", SITE_HOST] },
    }),
  });
  if (r.status !== 201) throw new Error(`setup answered ${r.status}: ${await r.text()}`);
  return { email, password };
}

/** What most suites start with: a Worker and its first admin, and when asked a second-origin
 * site, a headless browser and the admin's session cookie. `stopStack` stops what it started. */
export async function startStack({ vars, site = false, browser = false, cookie = false } = {}) {
  const stack = { worker: await startWorker({ vars }) };
  stack.admin = await createAdmin(stack.worker.base);
  if (site) stack.site = await startSite(stack.worker);
  if (browser) stack.browser = await launchBrowser();
  if (cookie) stack.cookie = await sessionCookie(stack.worker.base, stack.admin);
  return stack;
}

export async function stopStack({ browser, site, worker } = {}) {
  await browser?.close();
  await site?.stop();
  await worker?.stop();
}

/** A JSON request to the Worker: `{status, json, text}` (`json` is null when the answer is not JSON). */
export async function callApi(base, method, path, body, headers = {}) {
  const r = await fetch(`${base}${path}`, {
    method, headers: { ...headers, "Content-Type": "application/json" }, body: body && JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text };
}

/** A local HTTP receiver (a mail API, a webhook) on a free port: `onRequest(req, body, res)`
 * gets each request with its whole body as text. */
export async function startReceiver(onRequest) {
  const port = await freePort();
  const server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => onRequest(req, body, res));
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { server, port, stop: () => new Promise((r) => server.close(r)) };
}

/** Logs in through the API; returns the session cookie (`name=value`). */
export async function sessionCookie(base, { email, password }) {
  const r = await fetch(`${base}/api/login`, { method: "POST", body: JSON.stringify({ email, password }) });
  if (r.status !== 200) throw new Error(`login ${email} answered ${r.status}: ${await r.text()}`);
  return r.headers.get("set-cookie").split(";")[0];
}

/** Headless Chromium with a desktop Chrome user agent set for the whole browser (a context-level
 * override does not reach beacons sent while a page unloads). `userAgent: null` keeps
 * headless Chromium's own ("HeadlessChrome"), which is stored as a bot. */
export async function launchBrowser({ userAgent = DESKTOP_CHROME_UA } = {}) {
  const { chromium } = await import("playwright-core");
  mkdirSync(OUTPUT, { recursive: true });
  // What a person's browser sends with a beacon, so ingest's bot signals (docs/bots.md) see a
  // person: a user agent without "Headless", Accept-Language (--lang), and Chromium's own
  // Sec-CH-UA brands (checked: "Chromium" and a GREASE brand, no "HeadlessChrome").
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--lang=en-US",
      ...(userAgent ? [`--user-agent=${userAgent}`] : [])],
  });
}

/** The low-entropy client hints Chrome 131 on Linux sends with every request (a Chromium
 * user agent without them is still a person; with a "HeadlessChrome" brand it is a bot). */
export const DESKTOP_CHROME_HINTS = {
  "Sec-CH-UA": '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
  "Sec-CH-UA-Mobile": "?0",
  "Sec-CH-UA-Platform": '"Linux"',
};

/** Headers a browser's beacon carries (checked in Chromium: sendBeacon sends `Origin`, and
 * `Sec-Fetch-Site`/`-Mode`/`-Dest: empty`; fetch keepalive the same with mode `cors`; and
 * `Accept-Language`). Ingest counts a request without them as a bot (stored with its reason,
 * docs/bots.md), and refuses one whose `Origin` is not the site's. `ip` (optional) sets the
 * visitor's address as Cloudflare would (`CF-Connecting-IP`). Client hints are left out (many
 * callers swap the user agent for another browser's); add `DESKTOP_CHROME_HINTS` with Chrome's. */
export function browserHeaders(origin = `http://${SITE_HOST}`, { userAgent = DESKTOP_CHROME_UA, ip = null } = {}) {
  return {
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": userAgent,
    "Accept-Language": "en-US,en;q=0.9",
    Origin: origin,
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Dest": "empty",
    ...chromeClientHints(userAgent),
    ...(ip ? { "CF-Connecting-IP": ip } : {}),
  };
}

/** The low-entropy client hints a real Chrome sends with every secure request (localhost
 * counts), beacons included: none for a user agent that is not Google Chrome's. */
export function chromeClientHints(userAgent) {
  const chrome = /Chrome\/(\d+)/.exec(userAgent);
  if (!chrome || /Edg\/|OPR\/|SamsungBrowser|HeadlessChrome/.test(userAgent)) return {};
  const platform = /Android/.test(userAgent) ? "Android" : /Windows/.test(userAgent) ? "Windows"
    : /Mac OS X/.test(userAgent) ? "macOS" : /CrOS/.test(userAgent) ? "Chrome OS" : "Linux";
  return {
    "Sec-CH-UA": `"Google Chrome";v="${chrome[1]}", "Chromium";v="${chrome[1]}", "Not_A Brand";v="24"`,
    "Sec-CH-UA-Mobile": /Mobile/.test(userAgent) ? "?1" : "?0",
    "Sec-CH-UA-Platform": `"${platform}"`,
  };
}
