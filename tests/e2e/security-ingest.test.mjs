// Ingest abuse (issue #13, point 5) and the address-fingerprint key (point 8), tried as an
// attacker would, through the real Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DESKTOP_CHROME_UA, browserHeaders, callApi, eventually, startStack, stopStack, SITE_HOST } from "./harness.mjs";

let worker, cookie;

before(async () => ({ worker, cookie } = await startStack({ cookie: true })));
after(() => stopStack({ worker }));

const api = (method, path, body, headers = { Cookie: cookie }) => callApi(worker.base, method, path, body, headers);

const post = async (events, headers, site = "demo") => {
  const r = await fetch(`${worker.base}/api/event`, { method: "POST", headers, body: JSON.stringify({ site, events }) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text, retryAfter: r.headers.get("retry-after"), requestId: r.headers.get("x-request-id") };
};
const page = (path = "/") => ({ kind: "pageview", url: `http://${SITE_HOST}${path}` });

const storedBot = (requestId) => eventually(async () => {
  const rows = await worker.d1(`SELECT bot FROM events WHERE id = '${requestId}-00'`);
  return rows.length ? { bot: rows[0].bot } : null;
}, 30_000, `event ${requestId}-00 stored`).then((row) => row.bot);

test("a request from a page on another origin is refused, whatever URL the body names", async () => {
  const forged = await post([page("/forged")], browserHeaders("https://evil.example", { ip: "198.51.100.1" }));
  assert.equal(forged.status, 403, forged.text);
  assert.equal(forged.json?.error, "origin_not_allowed", forged.text);
  // The site's own origin (any port, with or without www.) is accepted.
  const own = await post([page("/own")], browserHeaders(`http://${SITE_HOST}:8080`, { ip: "198.51.100.1" }));
  assert.equal(own.status, 202, own.text);
  await storedBot(own.requestId);
  const rows = await worker.d1("SELECT path FROM events WHERE path IN ('/forged', '/own') ORDER BY path");
  assert.deepEqual(rows.map((r) => r.path), ["/own"]);
});

test("scripted requests (no Origin, no fetch metadata) are stored as bots; a browser's are not", async () => {
  // What `curl` with a copied user agent sends: everything but what only a browser adds.
  const curl = await post([page("/scripted")], { "User-Agent": DESKTOP_CHROME_UA, "Accept-Language": "en", "CF-Connecting-IP": "198.51.100.2" });
  assert.equal(curl.status, 202, curl.text);
  // A script that forges Origin but not the fetch metadata.
  const forgedOrigin = await post([page("/scripted-origin")], { "User-Agent": DESKTOP_CHROME_UA, "Accept-Language": "en", Origin: `http://${SITE_HOST}`, "CF-Connecting-IP": "198.51.100.2" });
  assert.equal(forgedOrigin.status, 202, forgedOrigin.text);
  const browser = await post([page("/browser")], browserHeaders(undefined, { ip: "198.51.100.3" }));
  assert.equal(browser.status, 202, browser.text);
  assert.equal(await storedBot(curl.requestId), 1, "curl counted as a human");
  assert.equal(await storedBot(forgedOrigin.requestId), 1, "a request without Sec-Fetch-* counted as a human");
  assert.equal(await storedBot(browser.requestId), 0, "a browser's beacon counted as a bot");
});

/** Rate windows are whole minutes; start a burst early in one so it cannot straddle two. */
async function freshWindow() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 45_000) await new Promise((r) => setTimeout(r, left + 200));
}

test("rotating the user agent does not escape the limit: one address is limited too, generously", async () => {
  await freshWindow();
  const statuses = [];
  let limited = null;
  for (let i = 0; i < 80 && !limited; i++) {
    // Every request a "new visitor": another user agent, same address.
    const ua = DESKTOP_CHROME_UA.replace("Chrome/131.0.0.0", `Chrome/131.0.${i}.0`);
    const events = Array.from({ length: 50 }, (_, j) => page(`/rotate/${j}`));
    const r = await post(events, browserHeaders(undefined, { userAgent: ua, ip: "198.51.100.7" }));
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  // Hundreds of people behind one carrier address are not throttled: 2,000 events in a minute pass.
  assert.ok(statuses.slice(0, 40).every((s) => s === 202), `refused early: ${statuses.join(",")}`);
  assert.ok(limited, `never limited after ${statuses.length} requests of 50 events from one address`);
  assert.equal(limited.json.error, "rate_limited");
  assert.match(limited.json.message, /address/);
  assert.ok(Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 60, `Retry-After ${limited.retryAfter}`);
  // Another address is not affected.
  assert.equal((await post([page("/other-address")], browserHeaders(undefined, { ip: "198.51.100.8" }))).status, 202);
});

test("distinct property keys and values per site and day are bounded; the rest is counted under (other)", async () => {
  let sent = 0;
  // 2,400 distinct values under 30 keys (the issue: one 25 KB request made 1,554 rollup rows)…
  for (let b = 0; b < 2; b++) {
    const events = Array.from({ length: 40 }, (_, i) => ({
      kind: "custom", name: "flood", url: `http://${SITE_HOST}/flood`,
      props: Object.fromEntries(Array.from({ length: 30 }, (_, k) => [`k${k}`, `v${b}.${i}.${k}`])),
    }));
    sent += 40 * 30;
    const r = await post(events, browserHeaders(undefined, { ip: "198.51.100.9" }));
    assert.equal(r.status, 202, r.text);
  }
  // …and 90 new keys: the first 20 fill the day's 50 keys, the rest of each event's keys fold
  // into one "(other)" property.
  const keyFlood = Array.from({ length: 3 }, (_, i) => ({
    kind: "custom", name: "flood", url: `http://${SITE_HOST}/flood`,
    props: Object.fromEntries(Array.from({ length: 30 }, (_, k) => [`x${i}_${k}`, "1"])),
  }));
  sent += 20 + 3;
  assert.equal((await post(keyFlood, browserHeaders(undefined, { ip: "198.51.100.9" }))).status, 202);
  const rows = await eventually(async () => {
    const r = await worker.d1("SELECT value, events FROM rollups_hourly WHERE site_id = 'demo' AND dimension = 'prop' AND value LIKE 'flood%'");
    const total = r.reduce((n, row) => n + row.events, 0);
    return total >= sent ? r : null;
  }, 60_000, "the flood's properties in the rollups");
  const labels = rows.map((r) => r.value.split("\u001f"));
  const keys = new Set(labels.map(([, k]) => k).filter((k) => k !== "(other)"));
  const values = labels.filter(([, k, v]) => k !== "(other)" && v !== "(other)");
  assert.ok(keys.size <= 50, `${keys.size} distinct property keys kept`);
  assert.ok(values.length <= 1000, `${values.length} distinct property values kept`);
  // Nothing is lost: the overflow is counted under (other).
  const other = rows.filter((r) => r.value.split("\u001f").includes("(other)")).reduce((n, r) => n + r.events, 0);
  assert.ok(other >= sent - 1000, `only ${other} counted under (other)`);
  assert.equal(rows.reduce((n, r) => n + r.events, 0), sent);
});

test("rollups past the site's retention are deleted by the daily job, like raw events", async () => {
  const old = Date.now() - 5000 * 24 * 3600 * 1000;
  const hour = Math.floor(old / 3600000) * 3600000;
  const recent = Math.floor(Date.now() / 3600000) * 3600000 - 24 * 3600000;
  await worker.d1(`INSERT INTO rollups_hourly (site_id, hour, dimension, value, pageviews) VALUES ('demo', ${hour}, 'page', '/ancient', 3), ('demo', ${recent}, 'page', '/yesterday', 2)`);
  await worker.cron();
  const rows = await worker.d1("SELECT value FROM rollups_hourly WHERE site_id = 'demo' AND value IN ('/ancient', '/yesterday') ORDER BY value");
  assert.deepEqual(rows.map((r) => r.value), ["/yesterday"]);
});

test("the same address gets another fingerprint on another site; old fingerprint keys are deleted", async () => {
  assert.equal((await api("POST", "/api/sites", { id: "second", name: "Second", hostnames: ["second.example"] })).status, 201);
  for (const site of ["demo", "second"]) {
    const key = (await api("POST", `/api/sites/${site}/activity-key`)).json.key;
    const r = await api("POST", "/api/activity", { type: "login", user_id: `fp-${site}`, ip: "192.0.2.99" }, { Authorization: `Bearer ${key}` });
    assert.equal(r.status, 202, r.text);
  }
  const rows = await worker.d1("SELECT site_id, ip_hash FROM activity WHERE user_id IN ('fp-demo', 'fp-second') ORDER BY site_id");
  assert.equal(rows.length, 2);
  assert.ok(rows[0].ip_hash && rows[1].ip_hash, JSON.stringify(rows));
  assert.notEqual(rows[0].ip_hash, rows[1].ip_hash, "one fingerprint links the address across sites");
  // A day's key is kept only while a rule can need it; the daily job deletes older ones.
  await worker.d1("INSERT INTO fingerprint_keys (day, secret) VALUES ('2001-01-01', 'aa')");
  await worker.cron();
  assert.deepEqual(await worker.d1("SELECT day FROM fingerprint_keys WHERE day = '2001-01-01'"), []);
});
