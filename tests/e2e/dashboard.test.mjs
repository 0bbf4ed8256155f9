// The dashboard and its API end to end: real Worker under wrangler dev, real local D1 and
// Durable Objects, the real Leptos app in headless Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIREFOX_UA as FIREFOX, startStack, stopStack, eventually, OUTPUT, browserHeaders } from "./harness.mjs";

let worker, browser, admin;
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

before(async () => ({ worker, admin, browser } = await startStack({ vars: { VIGIA_TRUST_GEO_HEADERS: "true" }, browser: true })));
after(() => stopStack({ worker, browser }));

/** Logs in through the API; returns a fetch that carries the session cookie. */
async function login(email, password) {
  const r = await fetch(`${worker.base}/api/login`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }),
  });
  assert.equal(r.status, 200, `login ${email}: ${await r.clone().text()}`);
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const call = async (method, path, body, headers = {}) => {
    const res = await fetch(`${worker.base}${path}`, {
      method,
      headers: { Cookie: cookie, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: res.status, json, text, headers: res.headers };
  };
  return { cookie, call, get: (p) => call("GET", p), post: (p, b) => call("POST", p, b) };
}

/** Sends one visit: `events` in order, from one IP and user agent, with edge geo headers. */
async function visit({ site = "demo", ip, ua = FIREFOX, country = "PT", region = "Lisbon", city = "Lisbon", events }) {
  const r = await fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders(site === "demo" ? undefined : `https://${site}`), "CF-Connecting-IP": ip, "User-Agent": ua, "X-Vigia-Geo-Country": country, "X-Vigia-Geo-Region": region, "X-Vigia-Geo-City": city },
    body: JSON.stringify({ site, events }),
  });
  assert.equal(r.status, 202, await r.text());
}

/** Opens the dashboard at `path` and logs in through its form as the instance admin. */
async function logIn(tab, path) {
  await tab.goto(`${worker.base}${path}`);
  await tab.fill("input[name=email]", admin.email);
  await tab.fill("input[name=password]", admin.password);
  await tab.click("button[type=submit]");
}

const page = (path, extra = {}) => ({ kind: "pageview", url: `http://127.0.0.1${path}`, ...extra });

async function stats(session, path) {
  const r = await session.get(path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
}

/** Waits until the site's stored events reach `n` (the buffer flushes within ~5 s). */
async function flushed(site, n) {
  await eventually(async () => {
    const [row] = await worker.d1(`SELECT COUNT(*) AS n FROM events WHERE site_id = '${site}'`);
    return row.n >= n;
  }, 30_000, `${n} events of ${site} in D1`);
}

const todayIn = (timeZone) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date());

let seeded = false;
/** A small known dataset on site `demo`: four visits from three countries and two browsers. */
async function seed() {
  if (seeded) return;
  seeded = true;
  await visit({ ip: "203.0.113.1", country: "PT", events: [
    page("/", { referrer: "https://www.google.com/search?q=vigia" }),
    page("/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=launch"),
    { kind: "custom", url: "http://127.0.0.1/pricing", name: "Signup", props: { plan: "pro" } },
  ] });
  await visit({ ip: "203.0.113.2", country: "PT", ua: IPHONE, events: [
    page("/", { referrer: "https://news.ycombinator.com/item?id=1" }),
    page("/pricing"),
    { kind: "outbound", url: "http://127.0.0.1/pricing", name: "https://github.com/vigia" },
  ] });
  await visit({ ip: "203.0.113.3", country: "DE", region: "Berlin", city: "Berlin", events: [
    page("/"),
    { kind: "download", url: "http://127.0.0.1/", name: "http://127.0.0.1/files/brochure.pdf" },
  ] });
  await visit({ ip: "203.0.113.4", country: "US", region: "Texas", city: "Austin", ua: IPHONE, events: [page("/docs")] });
  await flushed("demo", 9);
}

test("overview: totals, comparison with the previous period, the chart and every breakdown, in the site's time zone", async () => {
  const s = await login(admin.email, admin.password);
  await seed();
  const o = await stats(s, "/api/stats/overview?site=demo&period=today");
  assert.equal(o.range.timezone, "UTC");
  assert.equal(o.range.from, todayIn("UTC"));
  assert.deepEqual(
    [o.totals.visitors, o.totals.visits, o.totals.pageviews, o.totals.bounces],
    [4, 4, 6, 2], JSON.stringify(o.totals));
  assert.equal(o.totals.bounce_rate, 50);
  assert.equal(o.totals.views_per_visit, 1.5);
  assert.equal(o.series.bucket, "hour");
  assert.equal(o.series.points.reduce((a, p) => a + p.pageviews, 0), 6);

  // Breakdowns, each from the rollups.
  const rows = async (dimension, q = "") =>
    (await stats(s, `/api/stats/breakdown?site=demo&period=today&dimension=${dimension}${q}`)).rows;
  const pick = (rs, key = "visitors") => Object.fromEntries(rs.map((r) => [r.value, r[key]]));
  assert.deepEqual(pick(await rows("page")), { "/": 3, "/pricing": 2, "/docs": 1 });
  assert.deepEqual(pick(await rows("entry_page"), "visits"), { "/": 3, "/docs": 1 });
  assert.deepEqual(pick(await rows("exit_page"), "visits"), { "/": 1, "/pricing": 2, "/docs": 1 });
  assert.deepEqual(pick(await rows("country")), { PT: 2, DE: 1, US: 1 });
  assert.deepEqual(pick(await rows("city")), { Lisbon: 2, Berlin: 1, Austin: 1 });
  assert.deepEqual(pick(await rows("browser")), { Firefox: 2, Safari: 2 });
  assert.deepEqual(pick(await rows("device")), { desktop: 2, mobile: 2 });
  assert.deepEqual(pick(await rows("source")), { Google: 1, "Hacker News": 1, Direct: 2 });
  assert.deepEqual(pick(await rows("channel"), "visits"), { organic_search: 1, organic_social: 1, direct: 2 });
  assert.deepEqual(pick(await rows("event"), "events"), { Signup: 1 });
  assert.deepEqual(pick(await rows("prop"), "events"), { "Signup\u001fplan\u001fpro": 1 });
  assert.deepEqual(pick(await rows("outbound"), "events"), { "https://github.com/vigia": 1 });
  assert.deepEqual(pick(await rows("download"), "events"), { "http://127.0.0.1/files/brochure.pdf": 1 });
  // UTM tags are session attributes: the visit entered at "/" without tags.
  assert.deepEqual(pick(await rows("utm_source")), { "": 4 });

  // Comparison: yesterday had 3 page views and 2 visits (written as rollups, the way a flush would).
  const yesterday = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 3_600_000 * 10;
  await worker.d1(`INSERT INTO rollups_hourly (site_id, hour, dimension, value, visitors, hour_visitors, pageviews, visits, bounces) VALUES ('demo', ${yesterday}, 'total', '', 2, 2, 3, 2, 2)`);
  const again = await stats(s, "/api/stats/overview?site=demo&period=today");
  assert.deepEqual([again.previous.totals.pageviews, again.previous.totals.visits], [3, 2]);
  assert.equal(again.previous.range.to, new Date(Date.now() - 86_400_000).toISOString().slice(0, 10));

  // The site's time zone moves "today": Kiritimati (UTC+14) is often a day ahead of UTC.
  const patch = await s.call("PATCH", "/api/sites/demo", { timezone: "Pacific/Kiritimati" });
  assert.equal(patch.status, 200, patch.text);
  const ahead = await stats(s, "/api/stats/overview?site=demo&period=today");
  assert.equal(ahead.range.timezone, "Pacific/Kiritimati");
  assert.equal(ahead.range.from, todayIn("Pacific/Kiritimati"));
  const midnight = new Date(`${ahead.range.from}T00:00:00+14:00`).getTime();
  assert.equal(ahead.range.from_ms, midnight);
  const week = await stats(s, "/api/stats/overview?site=demo&period=7d");
  assert.equal(week.series.points.length, 7);
  assert.equal(week.series.points.at(-1).label, ahead.range.from);
  const bad = await s.get("/api/stats/overview?site=demo&period=custom&from=2026-02-30&to=2026-03-01");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, "bad_range");
  await s.call("PATCH", "/api/sites/demo", { timezone: "UTC" });
  const wrongZone = await s.call("PATCH", "/api/sites/demo", { timezone: "Mars/Olympus" });
  assert.equal(wrongZone.status, 400);
});

test("filters: clicking a row filters the whole dashboard, chips combine and come off, the URL keeps the view", async () => {
  await seed();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  await logIn(tab, "/");
  await tab.selectOption("#period", "today");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "4");
  await tab.click("[data-panel=Locations] .row-filter:text-is('PT')");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "2");
  assert.match(tab.url(), /[?&]f=country%3APT/);
  assert.match(tab.url(), /period=today/);
  assert.equal(await tab.textContent(".chip"), "Country is PT×");
  // Every panel follows the filter: only the two Portuguese visits' pages remain.
  await tab.waitForFunction(() => [...document.querySelectorAll("[data-panel=Pages] .row-filter")].map((b) => b.textContent).sort().join() === "/,/pricing");
  // A second filter combines with the first.
  await tab.click("[data-panel=Devices] .row-filter:text-is('Firefox')");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "1");
  assert.equal(await tab.locator(".chip").count(), 2);
  // The URL is the view: a fresh tab on it shows the same filtered numbers.
  const bookmarked = tab.url();
  const other = await context.newPage();
  await other.goto(bookmarked);
  await other.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "1");
  assert.equal(await other.locator(".chip").count(), 2);
  await other.close();
  // Removing a chip widens the view again; Back brings it back.
  await tab.click(".chip:has-text('Browser is Firefox') .chip-x");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "2");
  await tab.goBack();
  await tab.waitForFunction(() => document.querySelectorAll(".chip").length === 2);
  await tab.click("text=Clear all");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "4");
  assert.doesNotMatch(tab.url(), /f=/);
  // Filtered API numbers come from raw events and agree with what the rows said.
  const s = await login(admin.email, admin.password);
  const pt = await stats(s, "/api/stats/overview?site=demo&period=today&f=country:PT");
  assert.deepEqual([pt.totals.visitors, pt.totals.pageviews, pt.totals.visits], [2, 4, 2]);
  const signups = await stats(s, "/api/stats/breakdown?site=demo&period=today&dimension=country&f=event:Signup");
  assert.deepEqual(signups.rows.map((r) => [r.value, r.visitors]), [["PT", 1]]);
  const badFilter = await s.get("/api/stats/overview?site=demo&period=today&f=visitor:abc");
  assert.equal(badFilter.status, 400);
  assert.equal(badFilter.json.error, "bad_filter");
  assert.deepEqual(errors, []);
  await context.close();
});

test("realtime counts visitors of the last five minutes and refreshes by itself", async () => {
  await seed();
  const context = await browser.newContext();
  const tab = await context.newPage();
  await logIn(tab, "/");
  await tab.waitForSelector("#realtime .live-count");
  const before = Number(await tab.textContent("#realtime .live-count"));
  assert.ok(before >= 4, `realtime showed ${before}`);
  await visit({ ip: "203.0.113.77", country: "NZ", events: [page("/live-now")] });
  // No reload: the panel polls every 10 s and the buffer flushes within 5 s.
  await tab.waitForFunction((n) => Number(document.querySelector("#realtime .live-count")?.textContent) === n + 1, before, { timeout: 30_000 });
  assert.match(await tab.textContent("#realtime .live-pages"), /\/live-now/);
  await context.close();
});

test("goals convert visitors, funnels show conversion and drop-off per step", async () => {
  await seed();
  const s = await login(admin.email, admin.password);
  for (const goal of [{ kind: "event", value: "Signup" }, { kind: "page", value: "/pricing" }]) {
    const r = await s.post("/api/sites/demo/goals", goal);
    assert.equal(r.status, 201, r.text);
  }
  assert.equal((await s.post("/api/sites/demo/goals", { kind: "page", value: "/pricing" })).status, 409);
  assert.equal((await s.post("/api/sites/demo/goals", { kind: "page", value: "pricing" })).json.error, "bad_goal");
  const goals = await stats(s, "/api/stats/goals?site=demo&period=today");
  const byValue = Object.fromEntries(goals.goals.map((g) => [g.value, g]));
  // Visitors today: the seed's four plus realtime's one.
  assert.equal(byValue.Signup.visitors, 1);
  assert.equal(byValue["/pricing"].visitors, 2);
  assert.equal(byValue["/pricing"].conversion_rate, Math.round(2 / goals.visitors * 1000) / 10);

  const created = await s.post("/api/sites/demo/funnels", {
    name: "Signup flow",
    steps: [{ kind: "page", value: "/" }, { kind: "page", value: "/pricing" }, { kind: "event", value: "Signup" }],
  });
  assert.equal(created.status, 201, created.text);
  assert.equal((await s.post("/api/sites/demo/funnels", { name: "x", steps: [{ kind: "page", value: "/" }] })).json.error, "bad_funnel");
  const f = await stats(s, `/api/stats/funnel?site=demo&period=today&funnel=${created.json.id}`);
  assert.deepEqual(f.steps.map((st) => st.visits), [3, 2, 1]);
  assert.deepEqual(f.steps.map((st) => st.dropoff), [0, 1, 1]);
  assert.deepEqual(f.steps.map((st) => st.conversion_rate), [100, 66.7, 33.3]);

  // Revenue per currency, and a page view's properties (a visit outside the funnel).
  assert.equal((await s.post("/api/sites/demo/goals", { kind: "event", value: "Purchase" })).status, 201);
  const [{ n }] = await worker.d1("SELECT COUNT(*) AS n FROM events WHERE site_id = 'demo'");
  await visit({ ip: "203.0.113.61", country: "BR", region: "SP", city: "Campinas", events: [
    page("/docs", { props: { section: "guides" } }),
    { kind: "custom", url: "http://127.0.0.1/docs", name: "Purchase", revenue: { amount: "49.90", currency: "eur" } },
    { kind: "custom", url: "http://127.0.0.1/docs", name: "Purchase", revenue: { amount: 1000, currency: "JPY" } },
  ] });
  await flushed("demo", n + 3);

  // The dashboard shows all of it.
  const context = await browser.newContext({ locale: "en-US" });
  const tab = await context.newPage();
  await logIn(tab, "/?period=today");
  await tab.waitForSelector("#funnel .funnel-step");
  assert.equal(await tab.locator("#funnel .funnel-step").count(), 3);
  assert.match(await tab.textContent("#funnel"), /1 dropped off \(50\.0%\)/);
  await tab.waitForSelector("#goals .conversion");
  assert.match(await tab.textContent("#goals"), /Signup/);
  // Each currency on its own line, as the browser's locale writes money.
  const revenue = await tab.textContent("#goals tr:has-text('Purchase') .revenue");
  assert.deepEqual(revenue.split("\n"), ["€49.90", "¥1,000"]);
  // Page-view properties in the Properties tab, and as a filter chip.
  await tab.click("[data-panel=Events] [data-dimension=prop]");
  await tab.click("[data-panel=Events] .row-filter:text-is('Page view · section = guides')");
  await tab.waitForSelector(".chip:has-text('Property is Page view · section = guides')");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "1");
  assert.match(decodeURIComponent(tab.url()), /f=prop:pageview\u001fsection\u001fguides/);
  await context.close();
});

test("exports: a breakdown as CSV, and raw events streamed with the documented columns", async () => {
  await seed();
  const s = await login(admin.email, admin.password);
  const csv = await s.get("/api/stats/breakdown?site=demo&period=today&dimension=country&format=csv");
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type"), /^text\/csv/);
  assert.match(csv.headers.get("content-disposition"), /attachment; filename="vigia-demo-country-/);
  const lines = csv.text.trim().split("\r\n");
  assert.equal(lines[0], "value,visitors,visits,pageviews,bounce_rate,visit_duration_s,engaged_s,events,share_of_visitors");
  assert.ok(lines.some((l) => l.startsWith("PT,2,2,4,")), lines.join("\n"));

  // A value that a spreadsheet would run as a formula is defused.
  // Counted before the visit: the buffer may flush it before a slow count would finish.
  const [{ n }] = await worker.d1("SELECT COUNT(*) AS n FROM events WHERE site_id = 'demo'");
  await visit({ ip: "203.0.113.90", events: [{ kind: "custom", url: "http://127.0.0.1/", name: "=HYPERLINK(\"http://evil\")" }] });
  await flushed("demo", n + 1);
  const raw = await s.get("/api/export/events?site=demo&period=today");
  assert.equal(raw.status, 200);
  const rows = raw.text.trim().split("\r\n");
  const doc = await (await fetch(`${worker.base}/api/openapi.json`)).json();
  const documented = doc.paths["/api/export/events"].get.description.match(/Columns: ([^.]+)\./)[1].split(", ");
  assert.deepEqual(rows[0].split(","), documented);
  const [{ total }] = await worker.d1("SELECT COUNT(*) AS total FROM events WHERE site_id = 'demo'");
  assert.equal(rows.length - 1, total);
  assert.ok(rows.some((r) => r.includes(`"'=HYPERLINK(""http://evil"")"`)), "formula defused");
  assert.ok(!raw.text.includes("203.0.113."), "no IP in an export");
  // Viewers read stats but cannot export raw events.
  await s.post("/api/users", { email: "viewer-export@example.com", password: "viewer password 1" });
  await s.call("PUT", "/api/sites/demo/members", { email: "viewer-export@example.com", role: "viewer" });
  const viewer = await login("viewer-export@example.com", "viewer password 1");
  assert.equal((await viewer.get("/api/export/events?site=demo&period=today")).status, 403);
  assert.equal((await viewer.get("/api/stats/breakdown?site=demo&period=today&dimension=page&format=csv")).status, 200);
});

test("sites: add with a time zone, snippet with a copy button, installation check, edit, delete with all data", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.base });
  const tab = await context.newPage();
  await logIn(tab, "/");
  await tab.click("text=+ Add site");
  await tab.fill("#new-site input >> nth=0", "Shop");
  await tab.fill("#new-site input >> nth=1", "shop.example");
  await tab.fill("#new-site input >> nth=2", "Europe/Lisbon");
  await tab.click("#new-site button[type=submit]");
  await tab.waitForSelector("#snippet pre");
  const snippet = await tab.textContent("#snippet pre");
  assert.equal(snippet, `<script defer src="${worker.base}/v.js" data-site="shop.example"></script>`);
  assert.match(tab.url(), /site=shop\.example/);
  assert.match(tab.url(), /tab=settings/);
  await tab.click("#copy-snippet");
  await tab.waitForSelector("text=Copied.");
  assert.equal(await tab.evaluate(() => navigator.clipboard.readText()), snippet);
  assert.match(await tab.textContent("#install-status"), /Waiting for the first event/);
  await tab.screenshot({ path: join(OUTPUT, "dashboard-settings-desktop.png"), fullPage: true });

  // The first event arrives: the check turns green without a reload.
  const r = await fetch(`${worker.base}/api/event`, {
    method: "POST", headers: { ...browserHeaders("https://shop.example"), "CF-Connecting-IP": "192.0.2.9", "User-Agent": FIREFOX },
    body: JSON.stringify({ site: "shop.example", events: [{ kind: "pageview", url: "https://shop.example/" }] }),
  });
  assert.equal(r.status, 202);
  await tab.waitForSelector("#install-status .ok", { timeout: 30_000 });

  // Edit: the name changes everywhere; hash routing puts data-hash in the snippet.
  await tab.fill("#edit-site input >> nth=0", "Shop (EU)");
  assert.equal(await tab.isChecked("#hash-routing"), false);
  await tab.check("#hash-routing");
  await tab.click("#edit-site button[type=submit]");
  await tab.waitForSelector("#edit-site >> text=Saved.");
  await tab.waitForSelector(".site-picker option:text-is('Shop (EU)')", { state: "attached" });
  assert.equal(await tab.textContent("#snippet pre"),
    `<script defer src="${worker.base}/v.js" data-site="shop.example" data-hash></script>`);
  const s0 = await login(admin.email, admin.password);
  assert.equal((await stats(s0, "/api/sites/shop.example")).hash_routing, true);
  await tab.reload();
  await tab.waitForSelector("#hash-routing");
  assert.equal(await tab.isChecked("#hash-routing"), true);
  assert.match(await tab.textContent("#snippet pre"), /data-hash>/);

  // Delete: only after typing the id; then the site and its data are gone.
  assert.equal(await tab.isDisabled("#delete-site button.danger"), true);
  await tab.fill("#delete-site input", "shop.example");
  await tab.click("#delete-site button.danger");
  await tab.waitForFunction(() => !location.search.includes("shop.example"));
  const s = await login(admin.email, admin.password);
  assert.ok(!(await stats(s, "/api/sites")).sites.some((x) => x.id === "shop.example"));
  for (const table of ["events", "rollups_hourly", "site_hostnames", "memberships"]) {
    const [{ n }] = await worker.d1(`SELECT COUNT(*) AS n FROM ${table} WHERE site_id = 'shop.example'`);
    assert.equal(n, 0, `${table} still holds rows of the deleted site`);
  }
  assert.equal((await s.get("/api/sites/shop.example")).status, 404);
  await context.close();
});

test("users and access: roles per site, password change, API tokens shown once, a public link that is off by default", async () => {
  const s = await login(admin.email, admin.password);
  assert.equal((await s.post("/api/users", { email: "ana@example.com", password: "first password 1" })).status, 201);
  assert.equal((await s.post("/api/users", { email: "ana@example.com", password: "first password 1" })).status, 409);
  assert.equal((await s.post("/api/users", { email: "bo@example.com", password: "short" })).status, 400);
  assert.equal((await s.call("PUT", "/api/sites/demo/members", { email: "ana@example.com", role: "admin" })).status, 200);
  const ana = await login("ana@example.com", "first password 1");
  assert.deepEqual((await stats(ana, "/api/sites")).sites.map((x) => [x.id, x.role]), [["demo", "admin"]]);
  // An admin cannot make owners; an owner (here the instance admin) can.
  assert.equal((await ana.call("PUT", "/api/sites/demo/members", { email: "ana@example.com", role: "owner" })).status, 403);
  assert.equal((await ana.call("DELETE", "/api/sites/demo")).status, 403);
  // Password change: the old one stops working, other sessions end.
  const other = await login("ana@example.com", "first password 1");
  assert.equal((await ana.post("/api/me/password", { current: "wrong", new: "second password 2" })).json.error, "wrong_password");
  assert.equal((await ana.post("/api/me/password", { current: "first password 1", new: "second password 2" })).status, 200);
  assert.equal((await other.get("/api/me")).status, 401);
  assert.equal((await ana.get("/api/me")).status, 200);
  const old = await fetch(`${worker.base}/api/login`, { method: "POST", body: JSON.stringify({ email: "ana@example.com", password: "first password 1" }) });
  assert.equal(old.status, 401);

  // API tokens: shown once, read stats, cannot change anything, stop working when revoked.
  const made = await ana.post("/api/tokens", { name: "cron" });
  assert.equal(made.status, 201);
  assert.match(made.json.token, /^vgt_[0-9a-f]{64}$/);
  const listed = await stats(ana, "/api/tokens");
  assert.ok(!JSON.stringify(listed).includes(made.json.token.slice(10)), "the token is never listed");
  const bearer = { Authorization: `Bearer ${made.json.token}` };
  const viaToken = await fetch(`${worker.base}/api/stats/overview?site=demo&period=today`, { headers: bearer });
  assert.equal(viaToken.status, 200);
  const write = await fetch(`${worker.base}/api/sites/demo`, { method: "PATCH", headers: bearer, body: "{}" });
  assert.equal(write.status, 403);
  assert.equal((await write.json()).error, "token_not_allowed");
  assert.equal((await ana.call("DELETE", `/api/tokens/${made.json.id}`)).status, 200);
  assert.equal((await fetch(`${worker.base}/api/stats/overview?site=demo&period=today`, { headers: bearer })).status, 401);

  // The public link: off by default; on, it opens a read-only dashboard without logging in.
  assert.equal((await stats(s, "/api/sites/demo")).share.enabled, false);
  const on = await s.post("/api/sites/demo/share", { enabled: true });
  assert.equal(on.status, 200);
  const token = new URL(on.json.url).searchParams.get("share");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  await tab.goto(on.json.url + "&period=today");
  await tab.waitForSelector("[data-kpi=visitors] .value");
  assert.match(await tab.textContent(".notice"), /public, read-only/);
  assert.equal(await tab.locator("text=Site settings").count(), 0);
  assert.equal(await tab.locator("#export-raw").count(), 0);
  const shareHeaders = { "X-Vigia-Share": token };
  assert.equal((await fetch(`${worker.base}/api/stats/totals?site=demo&period=today`, { headers: shareHeaders })).status, 200);
  const members = await fetch(`${worker.base}/api/sites/demo/members`, { headers: shareHeaders });
  assert.deepEqual([members.status, (await members.json()).error], [403, "share_not_allowed"]);
  assert.equal((await fetch(`${worker.base}/api/export/events?site=demo`, { headers: shareHeaders })).status, 403);
  await s.post("/api/sites/demo/share", { enabled: false });
  assert.equal((await fetch(`${worker.base}/api/stats/totals?site=demo`, { headers: shareHeaders })).status, 401);
  await context.close();
});

test("an invitation link lets the person choose their password, once", async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await logIn(tab, "/?tab=users");
  await tab.waitForSelector("#new-user");
  await tab.fill("#new-user input[type=email]", "invitee@example.com");
  await tab.click("#new-user button[type=submit]");
  const link = await tab.textContent("#invite-url", { timeout: 10_000 });
  assert.match(link, /\/\?invite=[0-9a-f]{64}$/);
  // Before accepting, no password works for the account.
  const early = await fetch(`${worker.base}/api/login`, { method: "POST", body: JSON.stringify({ email: "invitee@example.com", password: "invited" }) });
  assert.equal(early.status, 401);
  const fresh = await browser.newContext();
  const invited = await fresh.newPage();
  await invited.goto(link);
  await invited.waitForSelector("#accept-invite");
  assert.doesNotMatch(invited.url(), /invite=/, "the token leaves the address bar");
  await invited.fill("#accept-invite input", "my own password 9");
  await invited.click("#accept-invite button[type=submit]");
  await invited.waitForSelector("text=No sites yet");
  const again = await fetch(`${worker.base}/api/invites/accept`, {
    method: "POST", body: JSON.stringify({ token: new URL(link).searchParams.get("invite"), password: "another password 9" }),
  });
  assert.deepEqual([again.status, (await again.json()).error], [404, "invite_not_found"]);
  await login("invitee@example.com", "my own password 9");
  await fresh.close();
  await context.close();
});

test("every route with every role and with none: the OpenAPI file's access is what the Worker enforces", async () => {
  const doc = await (await fetch(`${worker.base}/api/openapi.json`)).json();
  const root = await login(admin.email, admin.password);
  const keeper = await login(admin.email, admin.password); // never used by the walk (which logs out)
  const members = { viewer: "walk-viewer", auditor: "walk-auditor", admin: "walk-admin", owner: "walk-owner", stranger: "walk-stranger" };
  const password = "walk password 12";
  for (const [role, name] of Object.entries(members)) {
    await root.post("/api/users", { email: `${name}@example.com`, password });
  }
  let share = null;
  /** The site the walk runs on, with one member per role and its public link on; deleting it
   * (the owner may) is followed by creating it again. */
  const ensureSite = async () => {
    await keeper.post("/api/sites", { id: "walk", name: "Walk", hostnames: ["walk.example"] });
    for (const role of ["viewer", "auditor", "admin", "owner"]) {
      const r = await keeper.call("PUT", "/api/sites/walk/members", { email: `${members[role]}@example.com`, role });
      assert.equal(r.status, 200, r.text);
    }
    const details = await keeper.get("/api/sites/walk");
    if (!details.json.share.enabled) {
      share = new URL((await keeper.post("/api/sites/walk/share", { enabled: true })).json.url).searchParams.get("share");
    }
  };
  await ensureSite();
  const sessions = { instance_admin: root };
  for (const [role, name] of Object.entries(members)) sessions[role] = await login(`${name}@example.com`, password);
  const token = (await sessions.viewer.post("/api/tokens", { name: "walk" })).json.token;
  const rank = { viewer: 1, auditor: 2, admin: 3, owner: 4 };
  const identities = {
    none: { headers: {}, allowed: (a) => a === "public" },
    stranger: { session: "stranger", allowed: (a) => ["public", "user"].includes(a) },
    viewer: { session: "viewer", role: "viewer" },
    auditor: { session: "auditor", role: "auditor" },
    admin: { session: "admin", role: "admin" },
    owner: { session: "owner", role: "owner" },
    instance_admin: { session: "instance_admin", role: "owner", admin: true },
    token: { headers: { Authorization: `Bearer ${token}` }, role: "viewer", tokenOnly: true },
    share: { get headers() { return { "X-Vigia-Share": share }; }, role: "viewer", shareOnly: true },
  };
  const allowedFor = (who, access, method, path) => {
    if (who.allowed) return who.allowed(access);
    if (access === "public") return true;
    const readOnly = method === "get";
    // Tokens read stats and exports, and import history (`./vigia import`), with their owner's role.
    const tokenRoute = (readOnly && (path.startsWith("/api/stats/") || path.startsWith("/api/export/")))
      || (method === "post" && path === "/api/sites/{site}/import");
    if (who.tokenOnly && !tokenRoute) return false;
    if (who.shareOnly && !(readOnly && path.startsWith("/api/stats/"))) return false;
    if (access === "user") return true;
    if (access === "instance_admin") return !!who.admin;
    return rank[who.role] >= rank[access.split(":")[1]];
  };
  const denials = new Set(["unauthorized", "insufficient_role", "token_not_allowed", "share_not_allowed", "admin_only", "site_not_found"]);
  let calls = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const access = op["x-vigia-access"];
      assert.ok(access, `${method} ${path} documents its access`);
      for (const [name, who] of Object.entries(identities)) {
        if (method === "delete" && path === "/api/sites/{site}") await ensureSite();
        const url = path.replace("{site}", "walk").replace("{token}", share).replace(/\{[a-z]+\}/g, "999999")
          + (path.startsWith("/api/stats/") || path.startsWith("/api/export/") ? "?site=walk&period=today" : "");
        const headers = { ...(who.headers ?? {}) };
        if (who.session) headers.Cookie = sessions[who.session].cookie;
        const withBody = ["post", "put", "patch"].includes(method);
        const r = await fetch(`${worker.base}${url}`, {
          method: method.toUpperCase(), headers: { ...headers, ...(withBody ? { "Content-Type": "application/json" } : {}) },
          body: withBody ? "{}" : undefined,
        });
        calls++;
        const body = await r.text();
        let error = null;
        try { error = JSON.parse(body).error; } catch {}
        const where = `${method.toUpperCase()} ${path} as ${name}: ${r.status} ${body.slice(0, 160)}`;
        assert.ok(r.status < 500, where);
        if (allowedFor(who, access, method, path)) {
          assert.ok(!denials.has(error), `should be allowed: ${where}`);
        } else {
          assert.ok([401, 403, 404].includes(r.status) && denials.has(error), `should be refused: ${where}`);
          if (name === "none") assert.equal(r.status, 401, where);
        }
        if (method === "post" && path === "/api/logout" && who.session) {
          const { email } = name === "instance_admin" ? admin : { email: `${members[who.session]}@example.com` };
          sessions[who.session] = await login(email, name === "instance_admin" ? admin.password : password);
        }
      }
    }
  }
  assert.ok(calls > 300, `${calls} calls`);

  // CORS is closed and other sites cannot change anything.
  const cross = await fetch(`${worker.base}/api/stats/totals?site=walk`, { headers: { Cookie: keeper.cookie, Origin: "https://evil.example" } });
  assert.equal(cross.headers.get("access-control-allow-origin"), null);
  const forged = await fetch(`${worker.base}/api/sites`, {
    method: "POST", headers: { Cookie: keeper.cookie, Origin: "https://evil.example", "Content-Type": "application/json" },
    body: JSON.stringify({ id: "forged", hostnames: ["forged.example"] }),
  });
  assert.equal(forged.status, 403);
  assert.equal((await keeper.get("/api/sites/forged")).status, 404);
  const preflight = await fetch(`${worker.base}/api/sites`, { method: "OPTIONS", headers: { Origin: "https://evil.example" } });
  assert.equal(preflight.headers.get("access-control-allow-origin"), null);
});

test("strings from visitors render as text: script-bearing values never execute", async () => {
  const hostile = "<img src=x onerror=\"window.__xss=1\">";
  const script = "<script>window.__xss=2</script>";
  await visit({ ip: "203.0.113.66", events: [
    page("/safe?utm_source=" + encodeURIComponent(hostile) + "&utm_campaign=" + encodeURIComponent(script), { referrer: "https://evil.example/" }),
    { kind: "custom", url: "http://127.0.0.1/", name: hostile, props: { [script]: hostile } },
    { kind: "outbound", url: "http://127.0.0.1/", name: "javascript:window.__xss=3" },
  ] });
  const [{ n }] = await worker.d1("SELECT COUNT(*) AS n FROM events WHERE site_id = 'demo' AND kind = 'outbound' AND name LIKE 'javascript:%'");
  if (n === 0) await eventually(async () => (await worker.d1("SELECT COUNT(*) AS n FROM events WHERE name LIKE 'javascript:%'"))[0].n > 0, 30_000, "hostile events stored");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  const dialogs = [];
  tab.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  await logIn(tab, "/?period=today");
  await tab.waitForSelector("[data-panel=Events] .row-filter");
  await tab.click("[data-panel=Events] [data-dimension=prop]");
  await tab.waitForFunction((h) => document.querySelector("[data-panel=Events]").textContent.includes(h), hostile);
  await tab.click("[data-panel=Sources] [data-dimension=utm_source]");
  await tab.waitForFunction((h) => document.querySelector("[data-panel=Sources]").textContent.includes(h), hostile);
  await tab.click("[data-panel=Events] [data-dimension=outbound]");
  await tab.waitForFunction(() => document.querySelector("[data-panel=Events]").textContent.includes("javascript:window.__xss=3"));
  // Filter by the hostile value: it lands in a chip and in the URL, still as text.
  await tab.click(`[data-panel=Events] .row-filter:has-text("javascript:")`);
  await tab.waitForSelector(".chip");
  await tab.reload();
  await tab.waitForSelector(".chip");
  assert.equal(await tab.evaluate(() => window.__xss), undefined);
  assert.equal(await tab.locator("main img, main script").count(), 0);
  assert.deepEqual(dialogs, []);
  await context.close();
});

test("screenshots at desktop and phone widths, light and dark, with nothing wider than the screen", async () => {
  await seed();
  const shots = [
    ["desktop", { width: 1366, height: 900 }, "light"],
    ["phone", { width: 390, height: 844 }, "light"],
    ["desktop-dark", { width: 1366, height: 900 }, "dark"],
    ["phone-dark", { width: 390, height: 844 }, "dark"],
  ];
  for (const [name, viewport, colorScheme] of shots) {
    const context = await browser.newContext({ viewport, colorScheme, deviceScaleFactor: 1 });
    const tab = await context.newPage();
    await logIn(tab, "/?period=today");
    await tab.waitForSelector("[data-panel=Locations] .row-filter");
    await tab.waitForSelector("#funnel .funnel-step");
    await tab.waitForSelector("#realtime");
    const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the screen`);
    await tab.screenshot({ path: join(OUTPUT, `dashboard-overview-${name}.png`), fullPage: true });
    await context.close();
  }
});
