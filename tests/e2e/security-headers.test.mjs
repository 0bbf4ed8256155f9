// Issue #13, point 8 (headers and logs): what a browser is told about the dashboard and the API,
// tried as an attacker would — framing the dashboard from another origin (clickjacking), and
// checking that nothing inline but Vigia's own boot script may run. The dashboard working under
// its policy on every screen is checked by a11y.test.mjs (no policy violation on any screen).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startWorker, createAdmin, sessionCookie, launchBrowser, startSite } from "./harness.mjs";

let worker, browser, site;

before(async () => {
  worker = await startWorker();
  await createAdmin(worker.base);
  browser = await launchBrowser();
  site = await startSite(worker);
});

after(async () => {
  await site?.stop();
  await browser?.close();
  await worker?.stop();
});

/** The directives of a Content-Security-Policy header, by name. */
const directives = (csp) =>
  Object.fromEntries((csp ?? "").split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));

/** HSTS for a year at least. */
const YEAR_S = 31_536_000;
const hstsMaxAge = (h) => Number(/max-age=(\d+)/.exec(h ?? "")?.[1] ?? 0);

test("the dashboard's pages carry a strict policy: no framing, no inline or foreign script, nosniff, HSTS", async () => {
  for (const path of ["/", "/index.html", "/?tab=settings&site=demo"]) {
    const r = await fetch(`${worker.base}${path}`);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get("content-type") ?? "", /text\/html/, path);
    const csp = directives(r.headers.get("content-security-policy"));
    assert.deepEqual(csp["frame-ancestors"], ["'none'"], `${path}: frame-ancestors 'none'`);
    assert.ok(csp["default-src"]?.includes("'none'") || csp["default-src"]?.includes("'self'"), `${path}: a default-src`);
    const scripts = csp["script-src"] ?? [];
    assert.ok(scripts.length > 0, `${path}: a script-src`);
    for (const loose of ["'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:"]) {
      assert.ok(!scripts.includes(loose), `${path}: script-src must not allow ${loose}`);
    }
    assert.deepEqual(csp["object-src"] ?? csp["default-src"], ["'none'"], `${path}: no plugins`);
    assert.deepEqual(csp["base-uri"], ["'none'"], `${path}: no <base> rewriting script URLs`);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(r.headers.get("x-frame-options"), "DENY", `${path}: older browsers are told too`);
    assert.ok(hstsMaxAge(r.headers.get("strict-transport-security")) >= YEAR_S, `${path}: HSTS for a year`);
  }
});

test("API answers and the Worker's own pages are nosniff with HSTS, whatever their status", async () => {
  const cookie = await sessionCookie(worker.base, { email: "owner@example.com", password: "a long test password" });
  const answers = [
    ["GET", "/health", {}],
    ["GET", "/api/me", {}], // 401
    ["GET", "/api/me", { Cookie: cookie }],
    ["GET", "/api/nowhere", {}], // 404
    ["POST", "/api/event", {}], // 400: no body
    ["GET", "/api/reports/unsubscribe?token=nonsense", {}], // an HTML page of the Worker's
  ];
  for (const [method, path, headers] of answers) {
    const r = await fetch(`${worker.base}${path}`, { method, headers });
    await r.arrayBuffer();
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", `${method} ${path} (${r.status})`);
    assert.ok(hstsMaxAge(r.headers.get("strict-transport-security")) >= YEAR_S, `${method} ${path} (${r.status}): HSTS`);
  }
});

test("another origin cannot frame the dashboard (clickjacking)", async () => {
  site.page("/frame/", `<!doctype html><html><body><h1>Win a prize</h1>
<iframe id="victim" src="${worker.base}/?tab=settings&site=demo" width="800" height="600"></iframe></body></html>`);
  const context = await browser.newContext();
  const tab = await context.newPage();
  const blocked = [];
  tab.on("console", (m) => { if (/frame-ancestors|Refused to (display|frame)/i.test(m.text())) blocked.push(m.text()); });
  await tab.goto(site.url("/frame/"));
  await tab.waitForLoadState("load");
  const frame = tab.frames().find((f) => f !== tab.mainFrame());
  assert.ok(frame, "the iframe exists");
  // A blocked frame shows Chromium's error page, never the dashboard: no boot script ran in it.
  const dashboardRan = await frame.evaluate(() => !!document.querySelector("meta[name=vigia-build]")).catch(() => false);
  assert.equal(dashboardRan, false, `the dashboard rendered inside another origin's frame (frame URL ${frame.url()})`);
  assert.ok(blocked.length > 0, "the browser says why the frame was refused");
  await context.close();
});

test("an injected inline script would not run in the dashboard", async () => {
  // What an HTML injection would add: an inline script. The policy allows only the boot
  // script's own hash, so the browser refuses anything else inline.
  const context = await browser.newContext();
  const tab = await context.newPage();
  const violations = [];
  await tab.exposeFunction("reportViolation", (v) => violations.push(v));
  await tab.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(`${e.violatedDirective} ${e.blockedURI}`)));
  await tab.goto(`${worker.base}/`);
  await tab.waitForSelector("#login, form", { timeout: 30_000 });
  assert.deepEqual(violations, [], "the dashboard itself loads without a violation");
  const ran = await tab.evaluate(async () => {
    window.injected = false;
    const s = document.createElement("script");
    s.textContent = "window.injected = true";
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 200));
    return window.injected;
  });
  assert.equal(ran, false, "an inline script added to the page ran");
  assert.ok(violations.some((v) => v.startsWith("script-src")), `the browser reported the refused script: ${violations}`);
  await context.close();
});

test("Workers Logs keep no request headers, addresses or query strings (invocation logs off)", () => {
  // Cloudflare's invocation logs record each request's URL (with its query) and headers (user
  // agent, addresses); Vigia keeps only its own log lines, which name routes, not paths.
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const section = /\[observability\.logs\]([\s\S]*?)(\n\[|$)/.exec(toml)?.[1] ?? "";
  assert.match(section, /^\s*invocation_logs\s*=\s*false\s*$/m, "[observability.logs] invocation_logs = false");
  const errorLog = readFileSync(join(ROOT, "edge-worker", "src", "lib.rs"), "utf8");
  assert.doesNotMatch(errorLog, /console_error!\([^)]*\{path\}/, "error lines name the route pattern, not the requested path (it can hold user ids)");
});
