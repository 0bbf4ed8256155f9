// Bots end to end (issue #14, point 2): requests a crawler, a script or a hosting network sends
// are stored, flagged with the reason that fired (docs/bots.md), left out of the stats, and
// shown in the Bots API and screen; a real browser's page view counts as a person. Another
// site's bots are refused to a member of one site.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  startWorker, createAdmin, sessionCookie, eventually, browserHeaders, launchBrowser, startSite, snippet,
  DESKTOP_CHROME_UA, DESKTOP_CHROME_HINTS, OUTPUT,
} from "./harness.mjs";

let worker, admin, root;

before(async () => {
  worker = await startWorker({ vars: { VIGIA_TRUST_GEO_HEADERS: "true" } });
  admin = await createAdmin(worker.base);
  root = await as(await sessionCookie(worker.base, admin));
});
after(async () => { await worker?.stop(); });

async function as(cookie) {
  const call = async (method, path, body) => {
    const r = await fetch(`${worker.base}${path}`, {
      method,
      headers: { Cookie: cookie, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: r.status, json, text };
  };
  return { call, get: (p) => call("GET", p) };
}

const page = (path) => JSON.stringify({ site: "demo", events: [{ kind: "pageview", url: `http://127.0.0.1${path}` }] });
const ingest = (path, headers) => fetch(`${worker.base}/api/event`, { method: "POST", headers, body: page(path) });
const beacon = (extra = {}, options = {}) => ({ ...browserHeaders("http://127.0.0.1", options), ...extra });

const BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";

test("crawlers, scripts and hosting networks are stored as bots with their reason, out of the stats, in the Bots view", async () => {
  const sent = [
    // A crawler's user agent, otherwise a browser's beacon.
    ["/bot-crawler", beacon({}, { userAgent: BINGBOT, ip: "198.51.100.1" }), "known_crawler"],
    // curl with a copied Chrome user agent: no Origin, no fetch metadata, no language.
    ["/bot-curl", { "Content-Type": "text/plain", "User-Agent": DESKTOP_CHROME_UA, "CF-Connecting-IP": "198.51.100.2" }, "no_fetch_metadata"],
    // A browser-looking beacon from a hosting network (Hetzner, AS24940), as Cloudflare's cf.asn says.
    ["/bot-hosted", beacon({ "X-Vigia-Cf-Asn": "24940" }, { ip: "198.51.100.3" }), "hosting_network"],
    // Cloudflare verified it (Bot Management's verifiedBotCategory).
    ["/bot-verified", beacon({ "X-Vigia-Cf-Verified-Bot-Category": "Search Engine Crawler" }, { ip: "198.51.100.4" }), "verified_bot"],
    // A person: Chrome's beacon with its client hints, from a consumer network (Deutsche Telekom, AS3320).
    ["/person", beacon({ ...DESKTOP_CHROME_HINTS, "X-Vigia-Cf-Asn": "3320" }, { ip: "198.51.100.5" }), ""],
  ];
  for (const [path, headers] of sent) {
    const r = await ingest(path, headers);
    assert.equal(r.status, 202, `${path}: ${await r.text()}`);
  }
  // The referrer step counts spam it drops here; one day's count stands in for it.
  const today = new Date().toISOString().slice(0, 10);
  await worker.d1(`INSERT INTO dropped_events (site_id, day, reason, events) VALUES ('demo', '${today}', 'referrer_spam', 3)`);

  const rows = await eventually(async () => {
    const r = await worker.d1("SELECT path, bot, bot_reason FROM events WHERE path LIKE '/bot-%' OR path = '/person' ORDER BY path");
    return r.length === sent.length ? r : null;
  }, 30_000, "the five events in D1");
  const stored = Object.fromEntries(rows.map((r) => [r.path, [r.bot, r.bot_reason]]));
  for (const [path, , reason] of sent) assert.deepEqual(stored[path], [reason ? 1 : 0, reason], path);

  const totals = await root.get("/api/stats/totals?site=demo&period=today");
  assert.equal(totals.status, 200, totals.text);
  assert.equal(totals.json.visitors, 1, "the four bots are not visitors");
  assert.equal(totals.json.pageviews, 1);
  const pages = await root.get("/api/stats/pages?site=demo&period=today");
  assert.deepEqual(pages.json.pages.map((r) => r.path), ["/person"], "only the person's page is in the stats");

  const bots = await root.get("/api/stats/bots?site=demo&period=today");
  assert.equal(bots.status, 200, bots.text);
  assert.equal(bots.json.events, 4);
  assert.deepEqual(
    Object.fromEntries(bots.json.reasons.map((r) => [r.value, r.events])),
    { known_crawler: 1, no_fetch_metadata: 1, hosting_network: 1, verified_bot: 1 },
  );
  assert.equal(bots.json.user_agents.reduce((n, r) => n + r.events, 0), 4);
  assert.deepEqual(bots.json.dropped, [{ value: "referrer_spam", events: 3 }]);
  assert.equal(bots.json.dropped_events, 3);
});

test("a member of one site cannot read another site's bots", async () => {
  assert.equal((await root.call("POST", "/api/sites", { id: "other-shop", name: "Other", hostnames: ["other.example"] })).status, 201);
  const password = "viewer password 123";
  assert.ok([200, 201].includes((await root.call("POST", "/api/users", { email: "vera@example.com", password })).status));
  const member = await root.call("PUT", "/api/sites/other-shop/members", { email: "vera@example.com", role: "viewer" });
  assert.ok(member.status < 300, member.text);
  const vera = await as(await sessionCookie(worker.base, { email: "vera@example.com", password }));
  // A viewer reads the bots of her site …
  assert.equal((await vera.get("/api/stats/bots?site=other-shop&period=today")).status, 200);
  // … and not those of a site she is no member of, however she names it.
  for (const path of ["/api/stats/bots?site=demo&period=today", "/api/stats/bots?site=demo&site=other-shop", "/api/stats/bots?site=DEMO"]) {
    const r = await vera.get(path);
    assert.ok([403, 404].includes(r.status), `${path}: ${r.status} ${r.text}`);
    assert.ok(!r.text.includes("known_crawler"), path);
  }
  // Nobody logged out reads them.
  const anonymous = await fetch(`${worker.base}/api/stats/bots?site=demo&period=today`);
  assert.ok([401, 403].includes(anonymous.status));
});

test("a real browser's page view is a person; the Bots screen shows the flagged traffic", async () => {
  const site = await startSite(worker);
  site.page("/real-browser", `<!doctype html><html lang="en"><head><title>Real</title>${snippet(worker)}</head><body><h1>Hello</h1></body></html>`);
  const browser = await launchBrowser();
  try {
    const visitor = await browser.newPage();
    await visitor.goto(site.url("/real-browser"));
    const row = await eventually(async () => {
      const r = await worker.d1("SELECT bot, bot_reason, browser FROM events WHERE path = '/real-browser'");
      return r.length ? r[0] : null;
    }, 30_000, "the browser's page view");
    assert.deepEqual([row.bot, row.bot_reason], [0, ""], JSON.stringify(row));
    await visitor.close();

    for (const [name, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 360, height: 740 }]]) {
      const context = await browser.newContext({ viewport });
      const tab = await context.newPage();
      await tab.goto(`${worker.base}/?site=demo&period=today&tab=bots`);
      await tab.fill("input[name=email]", admin.email);
      await tab.fill("input[name=password]", admin.password);
      await tab.click("button[type=submit]");
      await tab.waitForSelector("#bot-reasons tbody tr");
      assert.equal(await tab.textContent("#bot-events"), "4");
      const reasons = await tab.$$eval("#bot-reasons td[data-key=value]", (tds) => tds.map((t) => t.textContent));
      assert.ok(reasons.includes("Known crawler (crawler list)"), reasons.join(", "));
      assert.ok(reasons.includes("Hosting or datacenter network"), reasons.join(", "));
      assert.equal(await tab.textContent("#dropped-events"), "3");
      // Nothing wider than the screen.
      const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: ${overflow}px wider than the screen`);
      await tab.screenshot({ path: join(OUTPUT, `bots-${name}.png`), fullPage: true });
      await context.close();
    }
  } finally {
    await browser.close();
    await site.stop();
  }
});
