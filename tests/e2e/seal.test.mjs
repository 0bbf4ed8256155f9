// Sealing days into the cold shards loses and doubles nothing: the real Worker under wrangler
// dev is SIGKILLed after each step of sealing a day (VIGIA_TEST_SEAL_PAUSE stalls it there),
// restarted on the same local state, and after every restart — and once everything is sealed —
// the raw-event views (filtered overview, a breakdown, the CSV export) answer exactly what they
// answered when every event was still in D1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, createAdmin, eventually } from "./harness.mjs";

const DAY = 86_400_000;
const SESSIONS_PER_DAY = 700; // × 3 events: more than one page (SEAL_PAGE_EVENTS = 2000) per day
const EVENTS_PER_SESSION = 3;
const DAYS = 3;
const today = Math.floor(Date.now() / DAY) * DAY;
const first = today - 12 * DAY; // well before yesterday: ready to seal
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);

// Old events written straight into D1 (ingest stamps events with the current time), with
// visitor hashes as varied as real ones. The last session of each day crosses midnight, so
// whole sessions must move together.
const seed = (first) => `WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < ${DAYS - 1}),
 s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < ${SESSIONS_PER_DAY - 1}),
 j(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM j WHERE n < ${EVENTS_PER_SESSION - 1}),
 e AS (SELECT d.n AS d, s.n AS s, j.n AS j,
   CASE WHEN s.n = ${SESSIONS_PER_DAY - 1} THEN ${first} + (d.n + 1) * ${DAY} - 90000 + j.n * 60000
        ELSE ${first} + d.n * ${DAY} + s.n * 100000 + j.n * 60000 END AS ts FROM d, s, j)
INSERT INTO events (id, site_id, ts, day, visitor, session, kind, name, path, referrer_source, channel, country, browser, os, device, props, bot)
SELECT printf('e%d-%04d-%02d', d, s, j), 'demo', ts, strftime('%Y-%m-%d', ts / 1000, 'unixepoch'),
  printf('%08x%08x%016x', (s * 2654435761) % 4294967296, d + 1, d * 100000 + s), printf('e%d-%04d-00', d, s),
  CASE WHEN j = 2 AND s % 5 = 0 THEN 'custom' ELSE 'pageview' END,
  CASE WHEN j = 2 AND s % 5 = 0 THEN 'signup' ELSE '' END,
  printf('/page-%d', (s * 7 + j) % 23),
  CASE s % 3 WHEN 0 THEN 'Google' WHEN 1 THEN 'Direct' ELSE 'news.example' END,
  CASE s % 3 WHEN 0 THEN 'search' WHEN 1 THEN 'direct' ELSE 'referral' END,
  CASE s % 4 WHEN 0 THEN 'PT' WHEN 1 THEN 'DE' ELSE 'US' END,
  'Firefox', 'Linux', 'desktop', '{}', 0
FROM e`;

async function login(base) {
  const r = await fetch(`${base}/api/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: base },
    body: JSON.stringify({ email: "owner@example.com", password: "a long test password" }),
  });
  assert.equal(r.status, 200, await r.text());
  return r.headers.get("set-cookie").split(";")[0];
}

const range = `site=demo&period=custom&from=${iso(first - DAY)}&to=${iso(first + (DAYS + 1) * DAY)}`;

/** What a site owner sees of the raw events: filtered views and the export. */
async function views(base, cookie) {
  const get = async (path) => {
    const r = await fetch(`${base}${path}`, { headers: { Cookie: cookie } });
    const text = await r.text();
    assert.equal(r.status, 200, `${path}: ${text}`);
    return text;
  };
  const pt = JSON.parse(await get(`/api/stats/overview?${range}&f=country:PT`));
  const google = JSON.parse(await get(`/api/stats/breakdown?${range}&dimension=page&limit=50&f=source:Google`));
  const page = JSON.parse(await get(`/api/stats/overview?${range}&f=page:/page-3`));
  const csv = await get(`/api/export/events?${range}`);
  const funnels = JSON.parse(await get(`/api/sites/demo/funnels`)).funnels;
  const funnel = funnels.length ? JSON.parse(await get(`/api/stats/funnel?${range}&funnel=${funnels[0].id}`)).steps : null;
  return {
    funnel,
    pt: { totals: pt.totals, series: pt.series },
    google: google.rows,
    page: page.totals,
    exported: csv.trim().split("\n").length - 1,
  };
}

async function seal(base, cookie) {
  const r = await fetch(`${base}/api/admin/seal`, { method: "POST", headers: { Cookie: cookie, Origin: base } });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text);
}

test("a SIGKILL after any step of sealing a day loses and doubles nothing", { timeout: 600_000 }, async (t) => {
  let worker = await startWorker();
  await createAdmin(worker.base);
  await worker.d1(seed(first));
  const total = DAYS * SESSIONS_PER_DAY * EVENTS_PER_SESSION;
  assert.equal((await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n, total);
  let cookie = await login(worker.base);
  const made = await fetch(`${worker.base}/api/sites/demo/funnels`, {
    method: "POST",
    headers: { Cookie: cookie, Origin: worker.base, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "pages", steps: [{ kind: "page", value: "/page-1" }, { kind: "page", value: "/page-2" }] }),
  });
  assert.equal(made.status, 201, await made.text());
  const before = await views(worker.base, cookie);
  assert.ok(before.funnel[0].visits > 0 && before.funnel[1].visits > 0, JSON.stringify(before.funnel));
  t.diagnostic(`before sealing: PT visits ${before.pt.totals.visits}, exported ${before.exported}`);
  assert.equal(before.exported, total);
  assert.ok(before.pt.totals.visits > 0 && before.google.length > 0 && before.page.pageviews > 0);

  const { state } = worker;
  for (const step of ["cleared", "page", "copied", "committed"]) {
    await worker.kill();
    worker = await startWorker({ state, migrate: false, vars: { VIGIA_TEST_SEAL_PAUSE: step } });
    cookie = await login(worker.base);
    const from = worker.log().length;
    const pending = seal(worker.base, cookie).catch(() => null); // never answers: it is killed
    await eventually(() => worker.log().slice(from).includes(`: ${step}`), 60_000, `the seal job reaching "${step}"`);
    await worker.kill();
    await pending;
    worker = await startWorker({ state, migrate: false });
    cookie = await login(worker.base);
    assert.deepEqual(await views(worker.base, cookie), before, `views after a SIGKILL at "${step}"`);
  }

  // Sealing to the end after the crashes: every sealed event has left D1 exactly once.
  for (let round = 0; round < 5; round++) if (!(await seal(worker.base, cookie)).more) break;
  assert.equal((await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n, 0, "events left in D1");
  const storage = await (await fetch(`${worker.base}/api/admin/storage`, { headers: { Cookie: cookie } })).json();
  const demo = storage.sites.find((s) => s.site === "demo");
  const inShards = demo.shards.reduce((n, s) => n + s.events, 0);
  t.diagnostic(`shards: ${JSON.stringify(demo.shards)}; sealed until ${iso(demo.sealed_until)}`);
  assert.equal(inShards, total, "events in the shards");
  assert.ok(demo.sealed_until >= first + DAYS * DAY);
  assert.deepEqual(await views(worker.base, cookie), before, "views once everything is sealed");
  // A second run finds nothing to do and changes nothing.
  const again = await seal(worker.base, cookie);
  assert.equal(again.sites.find((s) => s.site === "demo").days, 0);
  assert.deepEqual(await views(worker.base, cookie), before);
  await worker.stop();
});

test("./vigia migrate-storage moves an existing deployment's D1 events into the shards", { timeout: 300_000 }, async (t) => {
  const worker = await startWorker();
  try {
    await createAdmin(worker.base);
    await worker.d1(seed(first));
    const cookie = await login(worker.base);
    const before = await views(worker.base, cookie);
    // The real command, as the README tells an operator to run it.
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { stdout: out } = await promisify(execFile)("./vigia", ["migrate-storage", "--url", worker.base, "--email", "owner@example.com"], {
      cwd: new URL("../..", import.meta.url).pathname, encoding: "utf8",
      env: { ...process.env, VIGIA_ADMIN_PASSWORD: "a long test password" },
    });
    t.diagnostic(out.trim());
    assert.match(out, new RegExp(`${DAYS} days and ${DAYS * SESSIONS_PER_DAY * EVENTS_PER_SESSION} events moved`));
    assert.equal((await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n, 0);
    assert.deepEqual(await views(worker.base, cookie), before, "the same views after the migration");
    // Without an instance admin's credentials nothing moves.
    const anonymous = await fetch(`${worker.base}/api/admin/seal`, { method: "POST" });
    assert.equal(anonymous.status, 401);
  } finally {
    await worker.stop();
  }
});

test("retention and site deletion reach the cold shards", { timeout: 300_000 }, async (t) => {
  const worker = await startWorker();
  try {
    await createAdmin(worker.base);
    const old = today - 32 * DAY; // days −32, −31, −30: a 30-day retention keeps the last
    await worker.d1(seed(old));
    const cookie = await login(worker.base);
    const headers = { Cookie: cookie, Origin: worker.base, "Content-Type": "application/json" };
    assert.equal((await seal(worker.base, cookie)).more, false);
    const storage = async () => (await (await fetch(`${worker.base}/api/admin/storage`, { headers })).json()).sites.find((s) => s.site === "demo");
    const perDay = SESSIONS_PER_DAY * EVENTS_PER_SESSION;
    assert.equal((await storage()).shards.reduce((n, s) => n + s.events, 0), DAYS * perDay);
    const patch = await fetch(`${worker.base}/api/sites/demo`, { method: "PATCH", headers, body: JSON.stringify({ retention_days: 30 }) });
    assert.equal(patch.status, 200, await patch.text());
    await worker.cron("45 0 * * *");
    const kept = await eventually(async () => {
      const s = await storage();
      const n = s.shards.reduce((sum, sh) => sum + sh.events, 0);
      return n < DAYS * perDay ? { n } : null;
    }, 60_000, "retention in the shards");
    t.diagnostic(`after retention: ${kept.n} events in shards`);
    // Sessions that started before the cutoff (UTC midnight 30 days ago) are gone, the rest stay.
    const cutoffDay = Math.floor((Date.now() - 30 * DAY) / DAY) * DAY;
    const keptDays = [0, 1, 2].filter((d) => old + d * DAY >= cutoffDay).length;
    assert.equal(kept.n, keptDays * perDay);
    const compliance = await (await fetch(`${worker.base}/api/sites/demo/compliance?format=csv`, { headers })).text();
    assert.match(compliance, new RegExp(`${kept.n}`), "the compliance report counts the shards' events");

    // Deleting the site empties its shards; a new site under the same id sees nothing of them.
    const del = await fetch(`${worker.base}/api/sites/demo`, { method: "DELETE", headers });
    assert.equal(del.status, 200, await del.text());
    const created = await fetch(`${worker.base}/api/sites`, { method: "POST", headers, body: JSON.stringify({ id: "demo", name: "Again", hostnames: ["127.0.0.1"] }) });
    assert.equal(created.status, 201, await created.text());
    const again = await storage();
    assert.deepEqual(again.shards, []);
    const csv = await (await fetch(`${worker.base}/api/export/events?site=demo&period=custom&from=${iso(old - DAY)}&to=${iso(today)}`, { headers })).text();
    assert.equal(csv.trim().split("\n").length, 1, "only the header: no old event is visible");
  } finally {
    await worker.stop();
  }
});

test("Vigia's own export brings history to another site once, marked imported", { timeout: 300_000 }, async (t) => {
  const worker = await startWorker();
  try {
    await createAdmin(worker.base);
    await worker.d1(seed(first));
    const cookie = await login(worker.base);
    const headers = { Cookie: cookie, Origin: worker.base, "Content-Type": "application/json" };
    const created = await fetch(`${worker.base}/api/sites`, { method: "POST", headers, body: JSON.stringify({ id: "copy", name: "Copy", hostnames: ["copy.example"] }) });
    assert.equal(created.status, 201, await created.text());
    const csv = await (await fetch(`${worker.base}/api/export/events?${range}`, { headers })).text();
    const total = DAYS * SESSIONS_PER_DAY * EVENTS_PER_SESSION;
    assert.equal(csv.trim().split("\n").length - 1, total);
    const load = async () => {
      const r = await fetch(`${worker.base}/api/sites/copy/import?format=vigia`, {
        method: "POST", headers: { ...headers, "Content-Type": "text/csv" }, body: csv,
      });
      const text = await r.text();
      assert.equal(r.status, 200, text);
      return JSON.parse(text);
    };
    const first_ = await load();
    t.diagnostic(JSON.stringify(first_));
    assert.equal(first_.rows_imported, total);
    assert.equal(first_.days, DAYS + 1, "three UTC days and the midnight crossings of the last");
    await load(); // the same file again
    for (let round = 0; round < 5; round++) if (!(await seal(worker.base, cookie)).more) break;
    const storage = await (await fetch(`${worker.base}/api/admin/storage`, { headers })).json();
    const copy = storage.sites.find((s) => s.site === "copy");
    assert.equal(copy.shards.reduce((n, s) => n + s.events, 0), total, "stored once");
    // The unfiltered overview reads the imported daily rollups; the filtered one the raw events.
    const copyRange = range.replace("site=demo", "site=copy");
    const overview = await (await fetch(`${worker.base}/api/stats/overview?${copyRange}`, { headers })).json();
    const pageviews = total - DAYS * (SESSIONS_PER_DAY / 5); // every fifth session's last event is custom
    assert.equal(overview.totals.pageviews, pageviews, JSON.stringify(overview.totals));
    assert.equal(overview.totals.visits, DAYS * SESSIONS_PER_DAY);
    assert.ok(overview.imported_days >= DAYS, `imported_days ${overview.imported_days}`);
    const pt = async (site) => (await (await fetch(`${worker.base}/api/stats/overview?${range.replace("site=demo", `site=${site}`)}&f=country:PT`, { headers })).json()).totals;
    const [a, b] = [await pt("demo"), await pt("copy")];
    assert.deepEqual([b.pageviews, b.visits, b.bounces], [a.pageviews, a.visits, a.bounces]);
  } finally {
    await worker.stop();
  }
});
