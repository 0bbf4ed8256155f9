// Ingest against the real Worker: the hostile corpus, rate limits, a bounded buffer, and a D1
// outage that loses nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eventId, startWorker, createAdmin, eventually, ROOT, browserHeaders } from "./harness.mjs";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SITE_LIMIT = 1500;
let worker;

before(async () => {
  worker = await startWorker({ vars: { VIGIA_SITE_EVENTS_PER_MINUTE: String(SITE_LIMIT), VIGIA_TRUST_GEO_HEADERS: "true" } });
  await createAdmin(worker.base);
});
after(async () => { await worker?.stop(); });

const post = (base, body, ua = UA) =>
  fetch(`${base}/api/event`, { method: "POST", body, headers: { ...browserHeaders("http://127.0.0.1"), "User-Agent": ua, "Accept-Language": "en" } });
const pageviews = (n, path = "/") =>
  JSON.stringify({ site: "demo", events: Array.from({ length: n }, () => ({ kind: "pageview", url: `http://127.0.0.1${path}` })) });

/** Rate windows are whole minutes; start a burst early in one so it cannot straddle two. */
async function freshWindow() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((r) => setTimeout(r, left + 200));
}

test("every payload of the hostile corpus gets its expected answer, never a 5xx", async () => {
  const dir = join(ROOT, "tests", "corpus", "ingest");
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  assert.ok(manifest.length >= 100);
  const wrong = [];
  for (const { file, status, error, ...taken } of manifest) {
    const r = await post(worker.base, readFileSync(join(dir, file)), `${UA} corpus/${file}`);
    const body = await r.json().catch(() => null);
    // A 202 says what it kept and dropped, and why (the manifest's [event, field, error]).
    const said = body && status === 202 && {
      accepted: body.accepted, dropped: body.dropped, problems_omitted: body.problems_omitted ?? 0,
      problems: (body.problems ?? []).map((p) => [p.event, p.field, p.error]),
    };
    if (r.status >= 500) wrong.push(`${file}: ${r.status} (a 5xx)`);
    else if (r.status !== status) wrong.push(`${file}: ${r.status} ${JSON.stringify(body)}, expected ${status}`);
    else if (status >= 400 && (body?.error !== error || !body?.message)) wrong.push(`${file}: ${JSON.stringify(body)}`);
    else if (said && JSON.stringify(said) !== JSON.stringify({ accepted: taken.accepted, dropped: taken.dropped, problems_omitted: taken.problems_omitted, problems: taken.problems }))
      wrong.push(`${file}: ${JSON.stringify(body)}, expected ${JSON.stringify(taken)}`);
    else if (!r.headers.get("x-request-id")) wrong.push(`${file}: no X-Request-ID`);
  }
  assert.deepEqual(wrong, []);
  // The hostile-but-valid ones are stored as plain data.
  const stored = await eventually(async () => {
    const rows = await worker.d1("SELECT name, path, props FROM events WHERE kind IN ('custom', 'pageview')");
    return rows.some((r) => r.name === "'; DROP TABLE events; --") ? rows : null;
  }, 30_000, "the corpus's valid events in D1");
  assert.ok(stored.some((r) => r.props.includes("<img src=x onerror=alert(1)>")));
  assert.ok((await worker.d1("SELECT COUNT(*) AS n FROM sites"))[0].n === 1, "tables survived the SQL fragments");
});

test("geo comes from the edge; what the edge does not know is stored as unknown", async () => {
  const send = (path, geo) => fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders("http://127.0.0.1"), "User-Agent": `${UA} geo`, "Accept-Language": "pt", ...geo },
    body: JSON.stringify({ site: "demo", events: [{ kind: "pageview", url: `http://127.0.0.1${path}` }] }),
  });
  assert.equal((await send("/geo-full", { "X-Vigia-Geo-Country": "pt", "X-Vigia-Geo-Region": "Lisbon", "X-Vigia-Geo-City": "Lisbon" })).status, 202);
  assert.equal((await send("/geo-country", { "X-Vigia-Geo-Country": "BR" })).status, 202);
  assert.equal((await send("/geo-tor", { "X-Vigia-Geo-Country": "T1" })).status, 202);
  const rows = await eventually(async () => {
    const r = await worker.d1("SELECT path, country, region, city FROM events WHERE path LIKE '/geo-%' ORDER BY path");
    return r.length === 3 ? r : null;
  }, 30_000, "the geo events");
  assert.deepEqual(rows.map((r) => [r.path, r.country, r.region, r.city]), [
    ["/geo-country", "BR", "unknown", "unknown"],
    ["/geo-full", "PT", "Lisbon", "Lisbon"],
    ["/geo-tor", "unknown", "unknown", "unknown"],
  ]);
});

test("one visitor is limited to its events per minute, with 429 and Retry-After; others go on", async () => {
  await freshWindow();
  const ua = `${UA} rate-visitor`;
  const statuses = [];
  for (let i = 0; i < 7; i++) statuses.push((await post(worker.base, pageviews(50, "/rate"), ua)).status);
  assert.deepEqual(statuses, [202, 202, 202, 202, 202, 202, 429], "300 events a minute per visitor");
  const limited = await post(worker.base, pageviews(1, "/rate"), ua);
  assert.equal(limited.status, 429);
  assert.equal((await limited.json()).error, "rate_limited");
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal((await post(worker.base, pageviews(1, "/rate"), `${UA} another-visitor`)).status, 202);
});

test("a site is limited to its events per minute (VIGIA_SITE_EVENTS_PER_MINUTE)", async () => {
  await freshWindow();
  let accepted = 0, limited = null;
  for (let i = 0; i < 60 && !limited; i++) {
    const r = await post(worker.base, pageviews(50, "/site-rate"), `${UA} site-visitor-${Math.floor(i / 5)}`);
    if (r.status === 202) accepted += 50;
    else limited = r;
  }
  assert.ok(limited, "the site limit answered");
  assert.equal(limited.status, 429);
  assert.ok(limited.headers.get("retry-after"));
  // Visitors change every 250 events, under their own limit: it is the site's that answered.
  assert.match((await limited.json()).message, /this site/);
  assert.ok(accepted <= SITE_LIMIT, `${accepted} accepted before the limit`);
});

test("a D1 outage: acknowledged events wait in the buffer, a full buffer answers 503, nothing is lost", async () => {
  const limited = await startWorker({ vars: { VIGIA_MAX_BUFFERED_EVENTS: "120" } });
  try {
    await createAdmin(limited.base);
    // Take the events table away: every flush now fails and is retried with backoff.
    await limited.d1("ALTER TABLE events RENAME TO events_away");
    const acked = [];
    let full = null;
    for (let i = 0; i < 10 && !full; i++) {
      const r = await post(limited.base, pageviews(20, `/outage-${i}`), `${UA} outage-${i}`);
      if (r.status === 202) acked.push((await r.json()).request_id);
      else full = r;
    }
    assert.ok(full, "the buffer filled");
    assert.equal(full.status, 503);
    assert.equal((await full.json()).error, "buffer_full");
    assert.ok(Number(full.headers.get("retry-after")) > 0);
    assert.equal(acked.length, 6, "120 events fit");
    const status = await (await fetch(`${limited.base}/health`)).json();
    assert.equal(status.ok, true);

    await new Promise((r) => setTimeout(r, 6000)); // at least one failed flush
    await limited.d1("ALTER TABLE events_away RENAME TO events");
    const rows = await eventually(async () => {
      const rows = await limited.d1("SELECT id FROM events");
      return rows.length >= 120 ? rows : null;
    }, 90_000, "the buffered events after D1 came back");
    const ids = rows.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, "no duplicates");
    for (const rid of acked) for (let k = 0; k < 20; k++) assert.ok(ids.includes(eventId(rid, k)), `${eventId(rid, k)} lost`);
    assert.equal(ids.length, 120);
  } finally {
    await limited.stop();
  }
});
