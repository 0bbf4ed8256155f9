// The wire format through the real Worker: a bad event or field goes alone, revenue is stored
// exactly and summed per goal and currency, page-view properties are a breakdown and a filter,
// and hash routing is a site setting. Batches are posted with fetch; D1 and the stats API are
// read back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, createAdmin, sessionCookie, eventually, eventId, FIREFOX_UA, browserHeaders } from "./harness.mjs";

let worker, cookie;

before(async () => {
  worker = await startWorker({ vars: { VIGIA_TRUST_GEO_HEADERS: "true" } });
  cookie = await sessionCookie(worker.base, await createAdmin(worker.base));
});
after(async () => { await worker?.stop(); });

const PAGE = "http://127.0.0.1";
const pv = (path, extra = {}) => ({ kind: "pageview", url: `${PAGE}${path}`, ...extra });
const custom = (name, extra = {}) => ({ kind: "custom", name, url: `${PAGE}/shop`, ...extra });

/** Posts a batch from one visitor; answers { status, body }. */
async function post(events, { ip = "203.0.113.10", country = "PT" } = {}) {
  const r = await fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders("http://127.0.0.1"), "CF-Connecting-IP": ip, "User-Agent": FIREFOX_UA, "Accept-Language": "en", "X-Vigia-Geo-Country": country },
    body: typeof events === "string" ? events : JSON.stringify({ site: "demo", events }),
  });
  return { status: r.status, body: await r.json(), requestId: r.headers.get("x-request-id") };
}

async function call(method, path, body) {
  const r = await fetch(`${worker.base}${path}`, {
    method,
    headers: { Cookie: cookie, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text };
}

async function stats(path) {
  const r = await call("GET", path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
}

/** Waits until D1 holds the events of these requests, `n` of them. */
async function stored(requestIds, n) {
  const list = requestIds.map((id) => `'${id}'`).join(",");
  return eventually(async () => {
    const rows = await worker.d1(
      `SELECT * FROM events WHERE substr(id, 1, length(id) - 3) IN (${list}) ORDER BY id`);
    // In the order the requests were given (request ids are random, so ORDER BY id alone
    // orders two requests by chance), then by index within each.
    const request = (row) => requestIds.indexOf(row.id.slice(0, -3));
    rows.sort((a, b) => request(a) - request(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.length >= n ? rows : null;
  }, 30_000, `${n} events in D1`);
}

test("a bad event or field goes alone; the rest is stored as sent, ids keep their index", async () => {
  const r = await post([
    pv("/wire/a", { screen_width: "wide", referrer: { x: 1 }, props: { section: "docs", deep: { a: 1 } } }),
    { kind: "nope", url: `${PAGE}/wire/x` },
    { kind: "custom", url: `${PAGE}/wire/x` },
    custom(`${"n".repeat(119)}é`, { props: { ok: "yes", nested: { a: 1 }, long: `${"v".repeat(255)}é`, nil: null } }),
    pv("javascript:alert(1)"),
    pv("/wire/b", { engaged_ms: -1 }),
    "not an event",
  ]);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.request_id, r.requestId);
  assert.deepEqual({ accepted: r.body.accepted, dropped: r.body.dropped }, { accepted: 3, dropped: 4 });
  assert.deepEqual(r.body.problems.map((p) => [p.event, p.field, p.error]), [
    [0, "referrer", "wrong_type"],
    [0, "screen_width", "wrong_type"],
    [0, "props.deep", "bad_prop"],
    [1, "kind", "unknown_kind"],
    [2, "name", "missing_name"],
    [3, "name", "truncated"],
    [3, "props.nested", "bad_prop"],
    [3, "props.long", "truncated"],
    [3, "props.nil", "bad_prop"],
    [4, "url", "bad_url"],
    [5, "engaged_ms", "out_of_range"],
    [6, "event", "not_an_object"],
  ]);
  assert.equal(r.body.problems_omitted, undefined);
  const rows = await stored([r.body.request_id], 3);
  assert.deepEqual(rows.map((e) => e.id), [0, 3, 5].map((i) => eventId(r.body.request_id, i)));
  const [a, named, b] = rows;
  assert.deepEqual([a.kind, a.path, a.referrer_host, a.screen], ["pageview", "/wire/a", "", "unknown"]);
  assert.deepEqual(JSON.parse(a.props), { section: "docs" });
  assert.equal(named.name, "n".repeat(119), "cut before the two-byte character");
  assert.deepEqual(JSON.parse(named.props), { ok: "yes", long: "v".repeat(255) });
  assert.deepEqual([b.path, b.engaged_ms], ["/wire/b", 0]);

  // Nothing to keep is still a 202; a body that cannot be a batch is not.
  const none = await post([{ kind: "nope", url: `${PAGE}/` }]);
  assert.deepEqual([none.status, none.body.accepted, none.body.dropped], [202, 0, 1]);
  const empty = await post([]);
  assert.deepEqual([empty.status, empty.body.accepted, empty.body.dropped, empty.body.problems], [202, 0, 0, []]);
  const many = await post(Array.from({ length: 25 }, () => ({ kind: "nope", url: `${PAGE}/` })));
  assert.deepEqual([many.body.problems.length, many.body.problems_omitted], [20, 5]);
  for (const [body, error] of [['{"site":"demo"}', "bad_json"], ['{"site":"demo","events":{}}', "bad_json"], ["[]", "bad_json"], ['{"site":"","events":[]}', "missing_site"]]) {
    const refused = await post(body);
    assert.deepEqual([refused.status, refused.body.error], [400, error], body);
  }
  const unknownSite = await post(JSON.stringify({ site: "nope", events: [] }));
  assert.equal(unknownSite.status, 404);
  const [{ n }] = await worker.d1(`SELECT COUNT(*) AS n FROM events WHERE path = '/'`);
  assert.equal(n, 0, "dropped events are not stored");
});

test("revenue is stored exactly and summed per goal and currency, from rollups and filtered", async () => {
  for (const goal of [{ kind: "event", value: "purchase" }, { kind: "page", value: "/checkout" }]) {
    assert.equal((await call("POST", "/api/sites/demo/goals", goal)).status, 201);
  }
  const pt = await post([
    pv("/checkout"),
    custom("purchase", { revenue: { amount: "12.50", currency: "eur" } }),
    custom("purchase", { revenue: { amount: 0.1, currency: "EUR" } }),
  ], { ip: "203.0.113.21", country: "PT" });
  const de = await post([
    custom("purchase", { revenue: { amount: "19.99", currency: "USD" } }),
    custom("purchase", { revenue: { amount: "-2.5", currency: "EUR" } }),
    custom("purchase", { props: { plan: "pro" }, revenue: { amount: "12,50", currency: "EUR" } }),
    custom("purchase"),
    { kind: "pageview", url: `${PAGE}/checkout`, revenue: { amount: 5, currency: "EUR" } },
  ], { ip: "203.0.113.22", country: "DE" });
  assert.deepEqual([pt.status, pt.body.accepted, pt.body.problems], [202, 3, []]);
  assert.deepEqual(de.body.problems.map((p) => [p.event, p.field, p.error]), [
    [2, "revenue.amount", "bad_amount"],
    [4, "revenue", "not_allowed"],
  ]);
  assert.equal(de.body.accepted, 5);
  const rows = await stored([pt.body.request_id, de.body.request_id], 8);
  const purchases = rows.filter((e) => e.name === "purchase");
  assert.deepEqual(purchases.map((e) => [e.revenue_micros, e.revenue_currency]), [
    [12_500_000, "EUR"], [100_000, "EUR"], [19_990_000, "USD"], [-2_500_000, "EUR"], [0, ""], [0, ""],
  ]);
  assert.deepEqual(JSON.parse(purchases[4].props), { plan: "pro" }, "a bad revenue costs only the revenue");
  const rolled = await eventually(async () => {
    const r = await worker.d1("SELECT value, revenue_micros, events FROM rollups_hourly WHERE dimension = 'revenue' ORDER BY value");
    return r.length === 2 ? r : null;
  }, 30_000, "revenue rollup rows");
  assert.deepEqual(rolled.map((r) => [r.value, r.revenue_micros, r.events]), [
    ["EUR\u001fpurchase", 10_100_000, 3], ["USD\u001fpurchase", 19_990_000, 1],
  ]);

  const goals = async (q = "") => {
    const g = await stats(`/api/stats/goals?site=demo&period=today${q}`);
    return Object.fromEntries(g.goals.map((x) => [x.value, x]));
  };
  const all = await goals();
  assert.deepEqual(all.purchase.revenue, [{ currency: "EUR", amount: "10.10" }, { currency: "USD", amount: "19.99" }]);
  assert.equal(all.purchase.conversions, 6);
  assert.deepEqual(all["/checkout"].revenue, [], "page goals carry no revenue");
  // Filtered: raw events of the selected visits.
  assert.deepEqual((await goals("&f=country:PT")).purchase.revenue, [{ currency: "EUR", amount: "12.60" }]);
  assert.deepEqual((await goals("&f=country:DE")).purchase.revenue, [
    { currency: "EUR", amount: "-2.50" }, { currency: "USD", amount: "19.99" },
  ]);
  // The raw export carries both columns, the refund as a plain number.
  const csv = (await call("GET", "/api/export/events?site=demo&period=today")).text.trim().split("\r\n");
  assert.deepEqual(csv[0].split(",").slice(-2), ["revenue", "revenue_currency"]);
  assert.ok(csv.some((l) => l.endsWith(",12.50,EUR")), csv.join("\n"));
  assert.ok(csv.some((l) => l.endsWith(",-2.50,EUR")), "refund not defused into text");
  assert.ok(csv.some((l) => l.endsWith(",19.99,USD")));
});

test("page-view properties are a breakdown and a filter, like event properties", async () => {
  const c = await post([pv("/docs", { props: { section: "guides" } })], { ip: "203.0.113.31", country: "FR" });
  const d = await post([
    pv("/blog", { props: { section: "news", logged_in: true } }),
    pv("/docs", { props: { section: "guides" } }),
    custom("signup", { props: { plan: "pro" } }),
  ], { ip: "203.0.113.32", country: "FR" });
  await stored([c.body.request_id, d.body.request_id], 4);
  const breakdown = async (dimension, q = "") =>
    Object.fromEntries((await stats(`/api/stats/breakdown?site=demo&period=today&dimension=${dimension}&limit=100${q}`))
      .rows.map((r) => [r.value, [r.visitors, r.events]]));
  const sep = "\u001f";
  const rolled = await eventually(async () => {
    const rows = await breakdown("prop");
    return rows[`pageview${sep}section${sep}guides`] ? rows : null;
  }, 30_000, "page-view props in the rollups");
  assert.deepEqual(rolled[`pageview${sep}section${sep}guides`], [2, 2]);
  assert.deepEqual(rolled[`pageview${sep}section${sep}news`], [1, 1]);
  assert.deepEqual(rolled[`pageview${sep}logged_in${sep}true`], [1, 1]);
  assert.deepEqual(rolled[`signup${sep}plan${sep}pro`], [1, 1]);
  // The same numbers from raw events (any filter takes that path).
  const raw = await breakdown("prop", "&f=country:FR");
  assert.deepEqual(raw[`pageview${sep}section${sep}guides`], [2, 2]);
  assert.deepEqual(raw[`pageview${sep}section${sep}news`], [1, 1]);
  // A page-view prop filter selects the visits that viewed such a page.
  const news = encodeURIComponent(`prop:pageview${sep}section${sep}news`);
  const overview = await stats(`/api/stats/overview?site=demo&period=today&f=${news}`);
  assert.deepEqual([overview.totals.visitors, overview.totals.pageviews], [1, 2]);
  assert.deepEqual(await breakdown("page", `&f=${news}`), { "/blog": [1, 0], "/docs": [1, 0] });
  assert.deepEqual(Object.keys(await breakdown("event", `&f=${news}`)), ["signup"]);
  const guides = encodeURIComponent(`prop:pageview${sep}section${sep}guides`);
  assert.equal((await stats(`/api/stats/overview?site=demo&period=today&f=${guides}`)).totals.visitors, 2);
});

test("hash routing: off by default, switched on through the site API, the fragment then stays", async () => {
  const before = (await stats("/api/sites/demo"));
  assert.equal(before.hash_routing, false);
  assert.doesNotMatch(before.snippet, /data-hash/);
  const off = await post([pv("/app#/settings?token=secret")], { ip: "203.0.113.41" });
  const [plain] = await stored([off.body.request_id], 1);
  assert.equal(plain.path, "/app");

  assert.equal((await call("PATCH", "/api/sites/demo", { hash_routing: "yes" })).status, 400);
  const patched = await call("PATCH", "/api/sites/demo", { hash_routing: true });
  assert.equal(patched.status, 200, patched.text);
  const after = await stats("/api/sites/demo");
  assert.equal(after.hash_routing, true);
  assert.equal(after.snippet, `<script defer src="${worker.base}/v.js" data-site="demo" data-hash></script>`);
  assert.equal((await stats("/api/sites")).sites.find((s) => s.id === "demo").hash_routing, true);

  // Ingest caches site settings for at most a minute per isolate (this one forgot at once).
  const kept = await eventually(async () => {
    const r = await post([pv("/app#/orders/7")], { ip: "203.0.113.42" });
    const [row] = await stored([r.body.request_id], 1);
    return row.path.includes("#") ? row : null;
  }, 70_000, "a stored path with its fragment");
  assert.equal(kept.path, "/app#/orders/7");
  const pages = await stats("/api/stats/breakdown?site=demo&period=today&dimension=page&limit=100");
  assert.ok(pages.rows.some((r) => r.value === "/app#/orders/7"));

  assert.equal((await call("PATCH", "/api/sites/demo", { hash_routing: false })).status, 200);
  assert.equal((await stats("/api/sites/demo")).hash_routing, false);
});
