// The walking skeleton end to end: the demo page's real script tag in headless Chromium →
// collector wasm → Worker → Durable Object → D1 → stats API → Leptos dashboard.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, stopStack, eventually, DESKTOP_CHROME_UA, FIREFOX_UA, OUTPUT, browserHeaders } from "./harness.mjs";

const TEST_IP = "198.51.100.23";
let worker, site, browser, admin, lastSeen;

// The demo pages come from a second origin, as a real site's do.
before(async () => ({ worker, admin, site, browser } = await startStack({ site: true, browser: true })));
after(() => stopStack({ worker, site, browser }));

test("every response carries X-Request-ID and health reports D1 and the buffer", async () => {
  const r = await fetch(`${worker.base}/health`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("x-request-id"), /^[0-9a-f]{16}$/);
  const body = await r.json();
  assert.equal(body.d1.ok, true);
  assert.equal(body.buffer.ok, true);
  const missing = await fetch(`${worker.base}/api/nothing-here`);
  assert.equal(missing.status, 404);
  assert.ok(missing.headers.get("x-request-id"));
});

test("bad ingest input gets a JSON error with a 4xx, never a 5xx", async () => {
  const post = (body) => fetch(`${worker.base}/api/event`, { method: "POST", body });
  const cases = [
    ['{"site":"demo","ev', 400, "bad_json"],
    ['{"site":"nope","events":[{"kind":"pageview","url":"http://127.0.0.1/"}]}', 404, "not_found"],
    ['{"site":"demo","events":[{"kind":"pageview","url":"https://evil.example/"}]}', 403, "forbidden"],
    [JSON.stringify({ site: "demo", events: Array(51).fill({ kind: "pageview", url: "http://127.0.0.1/" }) }), 413, "too_many_events"],
    ["x".repeat(40_000), 413, "payload_too_large"],
  ];
  for (const [body, status, error] of cases) {
    const r = await post(body);
    assert.equal(r.status, status, `${body.slice(0, 60)} → ${r.status}`);
    const json = await r.json();
    assert.equal(json.error, error);
    assert.ok(json.message.length > 0);
    assert.ok(r.headers.get("x-request-id"));
  }
});

async function expectedVisitor(day, ip, userAgent) {
  const [{ salt }] = await worker.d1(`SELECT salt FROM salts WHERE day = '${day}'`);
  return createHmac("sha256", Buffer.from(salt, "hex")).update(`demo\0${ip}\0${userAgent}`).digest("hex").slice(0, 32);
}

test("stats need a login", async () => {
  const r = await fetch(`${worker.base}/api/stats/totals?site=demo&from=2026-01-01&to=2026-01-02`);
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, "unauthorized");
});

test("demo page → collector → Worker → Durable Object → D1 → dashboard", async () => {
  const context = await browser.newContext({
    userAgent: DESKTOP_CHROME_UA,
    locale: "en-US",
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await page.goto(site.url("/demo/"));
  const collectorReady = () => page.waitForFunction(() => window.vigia && window.vigia.ready === true);
  await collectorReady();
  await page.click("#spa-link"); // history.pushState → a second page view
  await page.waitForSelector("text=Route: pricing");
  await Promise.all([page.waitForURL("**/demo/about/"), page.click("#about-link")]); // pagehide → beacon
  await collectorReady();
  await page.goto(`${worker.base}/`); // leaving the about page flushes its page view
  assert.deepEqual(pageErrors, []);

  // The Durable Object flushes by alarm (≤ 5 s); wait for all three page views in D1.
  const events = await eventually(async () => {
    const rows = await worker.d1("SELECT * FROM events WHERE kind = 'pageview' ORDER BY ts");
    return rows.length >= 3 ? rows : (lastSeen = `only ${JSON.stringify(rows.map((r) => r.path))}`, null);
  }, 30_000, "three page views in D1").catch((e) => { throw new Error(`${e.message}; D1 had ${lastSeen}`); });
  assert.deepEqual(events.map((e) => e.path).sort(), ["/demo/", "/demo/about/", "/demo/pricing"]);
  for (const e of events) {
    assert.equal(e.browser, "Chrome");
    assert.equal(e.os, "Linux");
    assert.equal(e.device, "desktop");
    assert.equal(e.bot, 0);
    assert.match(e.visitor, /^[0-9a-f]{32}$/);
    assert.equal(e.session, events[0].session, "one visit, one session");
    assert.notEqual(e.country, "");
  }
  // wrangler dev reports local clients as CF-Connecting-IP 127.0.0.1 (an extra header set in
  // the browser does not reach beacons sent on unload), so that is the address hashed here.
  assert.equal(events[0].visitor, await expectedVisitor(events[0].day, "127.0.0.1", DESKTOP_CHROME_UA));

  // The dashboard, logged in through its own form, shows the numbers.
  await page.fill("input[name=email]", admin.email);
  await page.fill("input[name=password]", admin.password);
  await page.click("button[type=submit]");
  const topPages = "[data-panel=Pages] table[data-dimension=page]";
  await page.waitForSelector(topPages);
  assert.equal(await page.textContent("[data-kpi=pageviews] .value"), "3");
  assert.equal(await page.textContent("[data-kpi=visitors] .value"), "1");
  const rows = await page.$$eval(`${topPages} tbody tr`, (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r[0]).sort(), ["/demo/", "/demo/about/", "/demo/pricing"]);
  for (const r of rows) assert.equal(r[1], "1");
  assert.equal(await page.locator("svg[aria-label] path.line.pageviews").count(), 1);
  // Thirty daily points (the default period); hovering today's shows its three page views.
  const columns = page.locator("svg[aria-label] rect.hover");
  assert.equal(await columns.count(), 30);
  await columns.nth(29).hover({ force: true });
  assert.match(await page.textContent(".chart .tooltip"), /3 page views\s*1 visitors/);
  await columns.nth(0).hover({ force: true });
  assert.match(await page.textContent(".chart .tooltip"), /0 page views/);
  await page.screenshot({ path: join(OUTPUT, "dashboard-desktop.png"), fullPage: true });

  // The same numbers come from the hourly rollups, per dimension.
  const breakdown = async (dimension) =>
    (await page.evaluate(async (q) => (await fetch(`/api/stats/breakdown?${q}`)).json(),
      `site=demo&from=${events[0].day}&to=${events[0].day}&dimension=${dimension}`)).rows;
  const [browserRow] = await breakdown("browser");
  assert.deepEqual([browserRow.value, browserRow.visitors, browserRow.visits, browserRow.pageviews, browserRow.bounces], ["Chrome", 1, 1, 3, 0]);
  assert.deepEqual((await breakdown("entry_page")).map((r) => [r.value, r.visits]), [["/demo/", 1]]);
  assert.deepEqual((await breakdown("exit_page")).map((r) => [r.value, r.visits]), [["/demo/about/", 1]]);
  assert.equal((await page.evaluate(async () => (await fetch("/api/stats/breakdown?site=demo&from=2026-01-01&to=2026-01-01&dimension=nope")).status)), 400);
  await context.close();
});

test("the visitor hash is keyed on the edge's client IP, which is then dropped", async () => {
  const userAgent = FIREFOX_UA;
  const r = await fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders("http://127.0.0.1"), "CF-Connecting-IP": TEST_IP, "User-Agent": userAgent, "Accept-Language": "de" },
    body: JSON.stringify({ site: "demo", events: [{ kind: "pageview", url: "http://127.0.0.1/ip-test?secret=s3cr3t-value" }] }),
  });
  assert.equal(r.status, 202);
  const [event] = await eventually(async () => {
    const rows = await worker.d1("SELECT * FROM events WHERE path = '/ip-test'");
    return rows.length ? rows : null;
  }, 30_000, "the event in D1");
  assert.equal(event.browser, "Firefox");
  // uap-core names the OS family and keeps the version apart (woothee stored "Windows 10").
  assert.equal(event.os, "Windows");
  assert.equal(event.os_version, "10");
  assert.equal(event.query, "", "query string dropped");
  assert.equal(event.visitor, await expectedVisitor(event.day, TEST_IP, userAgent));
});

test("no raw IP, user agent or secret query value in any column of any table", async () => {
  const tables = await worker.d1(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'");
  assert.ok(tables.some((t) => t.name === "events"));
  const events = await worker.d1("SELECT COUNT(*) AS n FROM events");
  assert.ok(events[0].n >= 4, "the earlier tests stored events to scan");
  for (const { name } of tables) {
    const dump = JSON.stringify(await worker.d1(`SELECT * FROM "${name}"`));
    for (const secret of [TEST_IP, "X11; Linux x86_64", "Win64; x64; rv:133.0", "s3cr3t-value"]) {
      assert.ok(!dump.includes(secret), `${name} holds ${secret}`);
    }
    // The demo site's hostname is 127.0.0.1: it may appear as a hostname (site_hostnames, and
    // the audit log's record of the setup request body), never as a client address.
    const addressCheck = name === "audit_log"
      ? JSON.stringify(await worker.d1("SELECT actor_email, action, target, country, client, ip_hash FROM audit_log"))
      : dump;
    if (name !== "site_hostnames") assert.ok(!addressCheck.includes("127.0.0.1"), `${name} holds an address`);
  }
  // The raw bytes of every file of the local state — D1's SQLite files and the Durable
  // Object's SQLite storage (the buffer), free pages included — hold none of them either.
  const files = readdirSync(worker.state, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  assert.ok(files.some((f) => f.parentPath.includes("EventBuffer")), "the Durable Object's storage was scanned");
  for (const f of files) {
    const bytes = readFileSync(join(f.parentPath, f.name));
    for (const secret of [TEST_IP, "X11; Linux x86_64", "s3cr3t-value"]) {
      assert.ok(!bytes.includes(Buffer.from(secret)), `${join(f.parentPath, f.name)} holds ${secret}`);
    }
  }
});
