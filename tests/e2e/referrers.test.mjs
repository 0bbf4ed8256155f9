// Referrer channels and referrer spam end to end (issue #14): a real page on a second origin,
// opened from a webmail, lands in the stats API as email; an AI assistant's and an Android
// app's referrers get their channels; a batch from a referrer spammer is not stored, is counted
// in dropped_events, and its receipt says so.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startStack, stopStack, eventually, snippet, browserHeaders,
} from "./harness.mjs";

let worker, site, browser, admin, cookie;

before(async () => ({ worker, admin, site, browser, cookie } = await startStack({ site: true, browser: true, cookie: true })));
after(() => stopStack({ worker, site, browser }));

const get = async (path) => {
  const r = await fetch(`${worker.base}${path}`, { headers: { Cookie: cookie } });
  assert.equal(r.status, 200, path);
  return r.json();
};

/** The stored (path, referrer source, channel) of events under `prefix`, once there are `n`. */
const stored = (prefix, n) => eventually(async () => {
  const rows = await worker.d1(`SELECT path, referrer_host, referrer_source, channel FROM events
    WHERE path LIKE '${prefix}%' AND kind = 'pageview' ORDER BY path`);
  return rows.length >= n ? rows : null;
}, 30_000, `${n} page views under ${prefix}`);

/** Posts one batch as a browser's beacon from `ip` would (another address: another visitor). */
const post = (ip, events) => fetch(`${worker.base}/api/event`, {
  method: "POST",
  headers: browserHeaders("http://127.0.0.1", { ip }),
  body: JSON.stringify({ site: "demo", events }),
});

test("a page opened from Gmail on another origin is an email visit in the stats API", async () => {
  site.page("/from-mail/", `<!doctype html><html><head><meta charset="utf-8"><title>mail</title>
${snippet(worker)}</head><body><h1>From a newsletter</h1></body></html>`);
  const context = await browser.newContext();
  const page = await context.newPage();
  // The browser sends this as the Referer and exposes it as document.referrer.
  await page.goto(site.url("/from-mail/"), { referer: "https://mail.google.com/" });
  assert.equal(await page.evaluate(() => document.referrer), "https://mail.google.com/");
  const [row] = await stored("/from-mail/", 1);
  assert.deepEqual(row, { path: "/from-mail/", referrer_host: "mail.google.com", referrer_source: "Gmail", channel: "email" });
  const channels = await eventually(async () => {
    const { rows } = await get("/api/stats/breakdown?site=demo&period=today&dimension=channel");
    return rows.some((r) => r.value === "email") ? rows : null;
  }, 30_000, "the email channel in the breakdown");
  assert.equal(channels.find((r) => r.value === "email").visits, 1);
  const sources = (await get("/api/stats/breakdown?site=demo&period=today&dimension=source")).rows;
  assert.ok(sources.some((r) => r.value === "Gmail"), JSON.stringify(sources));
  await context.close();
});

test("AI assistants, Android apps, subdomains of the site and UTM mediums get their channels", async () => {
  const visits = [
    ["198.51.100.1", "/ch/ai", "https://chatgpt.com/"],
    ["198.51.100.2", "/ch/app", "android-app://com.google.android.gm/"],
    ["198.51.100.3", "/ch/internal", "https://blog.localhost/post"],
    ["198.51.100.4", "/ch/social", "https://www.tiktok.com/@someone"],
    ["198.51.100.5", "/ch/paid?utm_source=google&utm_medium=cpc", "https://www.google.com/"],
  ];
  for (const [ip, path, referrer] of visits) {
    const r = await post(ip, [{ kind: "pageview", url: `http://127.0.0.1${path}`, referrer }]);
    assert.equal(r.status, 202, await r.text());
  }
  const rows = await stored("/ch/", visits.length);
  assert.deepEqual(rows.map((r) => [r.path, r.referrer_source, r.channel]), [
    ["/ch/ai", "ChatGPT", "ai_assistant"],
    ["/ch/app", "Gmail", "email"],
    ["/ch/internal", "blog.localhost", "internal"],
    ["/ch/paid", "Google", "paid_search"],
    ["/ch/social", "TikTok", "organic_social"],
  ]);
  const { rows: channels } = await get("/api/stats/breakdown?site=demo&period=today&dimension=channel");
  for (const c of ["ai_assistant", "internal", "paid_search", "organic_social"]) {
    assert.ok(channels.some((r) => r.value === c), `${c} in ${JSON.stringify(channels)}`);
  }
});

test("referrer spam is not stored, is counted per day and reason, and the receipt says so", async () => {
  const spam = { kind: "pageview", url: "http://127.0.0.1/spam/a", referrer: "https://www.zvuker.net/promo" };
  const fine = { kind: "pageview", url: "http://127.0.0.1/spam/b", referrer: "https://example.org/" };
  const r = await post("198.51.100.9", [spam, fine, { ...spam, url: "http://127.0.0.1/spam/c", referrer: "http://a.0-0.fr/" }]);
  assert.equal(r.status, 202);
  const receipt = await r.json();
  assert.deepEqual(
    [receipt.accepted, receipt.dropped, receipt.dropped_reasons, receipt.problems],
    [1, 2, { referrer_spam: 2 }, []], JSON.stringify(receipt));
  // A batch of spam alone: nothing to buffer, still a receipt and a count.
  const alone = await (await post("198.51.100.9", [spam])).json();
  assert.deepEqual([alone.accepted, alone.dropped, alone.dropped_reasons], [0, 1, { referrer_spam: 1 }]);

  assert.deepEqual((await stored("/spam/", 1)).map((e) => e.path), ["/spam/b"]);
  const day = new Date().toISOString().slice(0, 10);
  const counted = await worker.d1("SELECT site_id, day, reason, events FROM dropped_events");
  assert.deepEqual(counted, [{ site_id: "demo", day, reason: "referrer_spam", events: 3 }]);
  // Nothing of the spam events reached the events table, however long we wait.
  await new Promise((resolve) => setTimeout(resolve, 6500));
  assert.deepEqual((await worker.d1("SELECT path FROM events WHERE path LIKE '/spam/%'")).map((e) => e.path), ["/spam/b"]);
});

test("a count that cannot be recorded does not fail the ingest", async () => {
  await worker.d1("ALTER TABLE dropped_events RENAME TO dropped_events_away");
  try {
    const r = await post("198.51.100.10", [
      { kind: "pageview", url: "http://127.0.0.1/nocount/spam", referrer: "https://zvooq.eu/" },
      { kind: "pageview", url: "http://127.0.0.1/nocount/kept", referrer: "https://example.org/" },
    ]);
    assert.equal(r.status, 202);
    const receipt = await r.json();
    assert.deepEqual([receipt.accepted, receipt.dropped_reasons], [1, { referrer_spam: 1 }]);
    assert.deepEqual((await stored("/nocount/", 1)).map((e) => e.path), ["/nocount/kept"]);
    await eventually(() => worker.log().includes("dropped events not counted"), 10_000, "the failed count in the log");
  } finally {
    await worker.d1("ALTER TABLE dropped_events_away RENAME TO dropped_events");
  }
});
