// Metering (issue #17, point 4) against the real Worker: known numbers of good and bad events
// from a browser-like client and of good and bad activity records, then the metering API shows
// exactly those counts; who may read it; and a flush retried after a SIGKILL stores nothing twice.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, createAdmin, sessionCookie, eventually, browserHeaders, callApi } from "./harness.mjs";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SITE_LIMIT = 40;
const ACTIVITY_LIMIT = 5;
const SHOP = "http://shop.example";
let worker, root, olga, mia;

/** The UTC month the counts land in (a run across a month's end would split them). */
const month = () => new Date().toISOString().slice(0, 7);

before(async () => {
  worker = await startWorker({
    vars: { VIGIA_SITE_EVENTS_PER_MINUTE: String(SITE_LIMIT), VIGIA_ACTIVITY_RECORDS_PER_MINUTE: String(ACTIVITY_LIMIT) },
  });
  const admin = await createAdmin(worker.base);
  root = as(await sessionCookie(worker.base, admin));
  olga = await plainUser("olga.shop@example.com");
  const made = await olga("POST", "/api/sites", { id: "shop", name: "Shop", hostnames: ["shop.example"] });
  assert.equal(made.status, 201, made.text);
  const viewer = { email: "mia.viewer@example.com", password: "mia's viewer password" };
  assert.equal((await root("POST", "/api/users", viewer)).status, 201);
  // An instance admin adds an existing account at once (a site owner would invite it).
  const member = await root("PUT", "/api/sites/shop/members", { email: viewer.email, role: "viewer" });
  assert.ok(member.status < 300, member.text);
  mia = as(await sessionCookie(worker.base, viewer));
});
after(async () => { await worker?.stop(); });

function as(cookie) {
  return (method, path, body, headers = {}) => callApi(worker.base, method, path, body, cookie ? { Cookie: cookie, ...headers } : headers);
}

async function plainUser(email) {
  const password = `${email} password`;
  const made = await root("POST", "/api/users", { email, password });
  assert.ok([200, 201].includes(made.status), made.text);
  return as(await sessionCookie(worker.base, { email, password }));
}

/** Posts a batch as a browser on `origin` would (one visitor per `who`). */
const send = (base, site, events, { origin = SHOP, who = "v" } = {}) =>
  fetch(`${base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders(origin, { userAgent: `${UA} ${who}` }) },
    body: typeof events === "string" ? events : JSON.stringify({ site, events }),
  });
const views = (n, host = SHOP, extra = {}) => Array.from({ length: n }, (_, i) => ({ kind: "pageview", url: `${host}/p${i}`, ...extra }));

/** Rate windows are whole minutes; start the burst early in one so it cannot straddle two. */
async function freshWindow() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 25_000) await new Promise((r) => setTimeout(r, left + 200));
}

const rowOf = (rows, site, source) => {
  const r = rows.find((x) => x.site === site && x.source === source && !x.deleted);
  return r && { received: r.received, stored: r.stored, refused: r.refused };
};

test("every event and record that reached a site is counted: received, stored, refused", async () => {
  await freshWindow();
  const statuses = [];
  const status = async (r, expected, what) => {
    statuses.push([what, r.status]);
    assert.equal(r.status, expected, `${what}: ${await r.text()}`);
  };
  // Events: 5 good.
  await status(await send(worker.base, "shop", views(5), { who: "a" }), 202, "5 good");
  // 4 events: 2 good, one of an unknown kind, one without a URL (refused by reading).
  const mixed = await send(worker.base, "shop", [...views(2), { kind: "teleport", url: `${SHOP}/x` }, { kind: "pageview" }], { who: "b" });
  assert.equal(mixed.status, 202);
  assert.deepEqual(((j) => [j.accepted, j.dropped])(await mixed.json()), [2, 2]);
  // 3 events: 2 good, 1 from a referrer spam domain (dropped on purpose).
  const spam = await send(worker.base, "shop", [...views(2), { kind: "pageview", url: `${SHOP}/s`, referrer: "https://www.zvuker.net/x" }], { who: "c" });
  assert.equal(spam.status, 202);
  assert.deepEqual(((j) => [j.accepted, j.dropped])(await spam.json()), [2, 1]);
  // 3 events sent from a page on a foreign origin: refused whole (403).
  await status(await send(worker.base, "shop", views(3), { origin: "http://evil.example", who: "d" }), 403, "foreign origin");
  // 2 events for a host that is not the site's: refused whole (403).
  await status(await send(worker.base, "shop", views(2, "http://other.example"), { who: "e" }), 403, "foreign host");
  // The site's limit is 40 a minute: 9 kept so far, 20 more fit, the next 20 do not (429).
  await status(await send(worker.base, "shop", views(20), { who: "f" }), 202, "20 within the limit");
  await status(await send(worker.base, "shop", views(20), { who: "g" }), 429, "20 over the site limit");
  // Not attributable to a site, so not counted: an unknown site, a body that is not a batch.
  await status(await send(worker.base, "no-such-site", views(4)), 404, "unknown site");
  await status(await send(worker.base, "shop", "{not json"), 400, "not JSON");

  // Activity: a key, 3 good records, a batch of 2 with a bad one (400, both refused), then 4
  // over the limit of 5 a minute (429, refused).
  const key = (await olga("POST", "/api/sites/shop/activity-key")).json.key;
  const report = (body) => callApi(worker.base, "POST", "/api/activity", body, { Authorization: `Bearer ${key}` });
  const good = await report({ records: [{ type: "login", user_id: "u1" }, { type: "data_view", user_id: "u1" }, { type: "logout", user_id: "u1" }] });
  assert.deepEqual([good.status, good.json.stored], [202, 3], good.text);
  const bad = await report({ records: [{ type: "login" }, { type: "teleport" }] });
  assert.deepEqual([bad.status, bad.json.error], [400, "bad_activity"]);
  const limited = await report({ records: Array.from({ length: 4 }, () => ({ type: "login" })) });
  assert.equal(limited.status, 429, limited.text);
  assert.equal((await report({ type: "login" })).status, 429, "still limited this minute");

  // Received 5+4+3+3+2+20+20 = 57; stored 5+2+2+20 = 29; refused 2+1+3+2+20 = 28.
  // Activity: received 3+2+4+1 = 10, stored 3, refused 2+4+1 = 7.
  const want = { events: { received: 57, stored: 29, refused: 28 }, activity: { received: 10, stored: 3, refused: 7 } };
  const seen = await eventually(async () => {
    const r = await olga("GET", `/api/sites/shop/metering?month=${month()}`);
    const got = { events: rowOf(r.json.rows, "shop", "events"), activity: rowOf(r.json.rows, "shop", "activity") };
    return JSON.stringify(got) === JSON.stringify(want) ? r.json : null;
  }, 60_000, "the shop's metering");
  assert.deepEqual(seen.rows.map((r) => r.month), [month(), month()]);
  assert.equal(seen.rows.length, 2, "no app row: the shop sent no app records");
  // What was stored is what D1 holds.
  const [{ n }] = await worker.d1("SELECT COUNT(*) AS n FROM events WHERE site_id = 'shop'");
  assert.equal(n, 29);
  const [{ a }] = await worker.d1("SELECT COUNT(*) AS a FROM activity WHERE site_id = 'shop'");
  assert.equal(a, 3);

  // The instance admin sees the same rows beside every other site's.
  const all = await root("GET", `/api/admin/metering?month=${month()}`);
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(rowOf(all.json.rows, "shop", "events"), want.events);
  assert.deepEqual(rowOf(all.json.rows, "shop", "activity"), want.activity);
  assert.equal((await root("GET", "/api/admin/metering?month=1999-01")).json.rows.length, 0);
  assert.ok((await root("GET", "/api/admin/metering")).json.rows.length >= 2, "every month kept");
  const badMonth = await root("GET", "/api/admin/metering?month=2026-13");
  assert.deepEqual([badMonth.status, badMonth.json.error], [400, "bad_month"]);
});

test("a site's admin reads only their site's metering; the instance view is for instance admins", async () => {
  assert.equal((await olga("GET", "/api/sites/shop/metering")).status, 200);
  // Another site: answered as if it did not exist (the house rule: membership cannot be probed).
  const other = await olga("GET", "/api/sites/demo/metering");
  assert.deepEqual([other.status, other.json.error], [404, "site_not_found"]);
  const viewer = await mia("GET", "/api/sites/shop/metering");
  assert.deepEqual([viewer.status, viewer.json.error], [403, "insufficient_role"]);
  const instance = await olga("GET", "/api/admin/metering");
  assert.deepEqual([instance.status, instance.json.error], [403, "admin_only"]);
  assert.equal((await as(null)("GET", "/api/admin/metering")).status, 401);
});

test("a deleted site keeps its counts for the instance admin, under its id, flagged deleted", async () => {
  assert.equal((await root("POST", "/api/sites", { id: "gone", name: "Gone", hostnames: ["gone.example"] })).status, 201);
  assert.equal((await send(worker.base, "gone", views(3, "http://gone.example"), { origin: "http://gone.example", who: "z" })).status, 202);
  await eventually(async () => rowOf((await root("GET", "/api/admin/metering")).json.rows, "gone", "events")?.stored === 3, 30_000, "gone's events stored");
  const del = await root("DELETE", "/api/sites/gone");
  assert.equal(del.status, 200, del.text);
  const rows = (await root("GET", "/api/admin/metering")).json.rows.filter((r) => r.site === "gone");
  assert.deepEqual(rows.map((r) => [r.source, r.received, r.stored, r.refused, r.deleted]), [["events", 3, 3, 0, true]]);
  // Re-created under the same id, it starts from nothing.
  assert.equal((await root("POST", "/api/sites", { id: "gone", name: "Gone again", hostnames: ["gone.example"] })).status, 201);
  assert.deepEqual((await root("GET", "/api/sites/gone/metering")).json.rows, []);
});

test("a flush D1 committed before a SIGKILL is retried after the restart without doubling stored", async (t) => {
  // The buffer stalls after D1 committed its batch and before it forgets it: a kill there is
  // the worst moment (D1 has the events and the counts, the buffer still holds them).
  const first = await startWorker({ vars: { VIGIA_TEST_FLUSH_PAUSE: "landed" } });
  let second;
  try {
    await createAdmin(first.base);
    const base = "http://127.0.0.1";
    // The refusal first: its counts wait in the buffer and go with the events' flush.
    assert.equal((await send(first.base, "demo", views(2, "http://evil.example"), { origin: base, who: "k2" })).status, 403);
    assert.equal((await send(first.base, "demo", views(10, base), { origin: base, who: "k1" })).status, 202);
    await eventually(async () => (await first.d1("SELECT COUNT(*) AS n FROM events"))[0].n === 10, 60_000, "the batch in D1");
    const landed = await first.d1("SELECT received, stored, refused FROM metering WHERE source = 'events'");
    assert.deepEqual(landed, [{ received: 12, stored: 10, refused: 2 }], "the counts landed with the events");
    await first.kill();

    second = await startWorker({ state: first.state, migrate: false });
    const cookie = await sessionCookie(second.base, { email: "owner@example.com", password: "a long test password" });
    // One more event after the restart: the retried flush must still be exactly the first one.
    assert.equal((await send(second.base, "demo", views(1, base), { origin: base, who: "k3" })).status, 202);
    const counts = await eventually(async () => {
      const r = await callApi(second.base, "GET", "/api/sites/demo/metering", undefined, { Cookie: cookie });
      const row = rowOf(r.json?.rows ?? [], "demo", "events");
      return row?.stored === 11 ? row : null;
    }, 90_000, "the event sent after the restart stored").catch(async (e) => {
      t.diagnostic(JSON.stringify(await second.d1("SELECT * FROM metering")));
      t.diagnostic(JSON.stringify(await second.d1("SELECT * FROM flush_log")));
      t.diagnostic(JSON.stringify(await second.d1("SELECT COUNT(*) AS n FROM events")));
      t.diagnostic(second.log().slice(-3000));
      throw e;
    });
    // Wait until the buffer forgot the batch D1 already had (pending 0), then look again.
    await eventually(async () => (await second.d1("SELECT COUNT(*) AS n FROM flush_log WHERE site_id = 'demo'"))[0].n >= 2, 60_000, "the second flush");
    await new Promise((r) => setTimeout(r, 7000)); // more than one flush interval: any retry has run
    const final = await second.d1("SELECT received, stored, refused FROM metering WHERE source = 'events'");
    t.diagnostic(`after the restart: ${JSON.stringify(counts)}; final ${JSON.stringify(final)}`);
    assert.deepEqual(final, [{ received: 13, stored: 11, refused: 2 }]);
    assert.equal((await second.d1("SELECT COUNT(*) AS n FROM events"))[0].n, 11);
    const [{ pv }] = await second.d1("SELECT COALESCE(SUM(pageviews), 0) AS pv FROM rollups_hourly WHERE dimension = 'total'");
    assert.equal(pv, 11, "rollups added once too");
  } finally {
    await second?.stop();
    await first.stop().catch(() => {});
  }
});
