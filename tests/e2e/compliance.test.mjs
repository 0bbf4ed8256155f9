// Retention and the compliance report end to end: the daily job (run with wrangler dev
// --test-scheduled) deletes raw events past each site's retention and records it; the report
// states what is collected, kept and deleted, as HTML and CSV.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, createAdmin, eventually, sessionCookie } from "./harness.mjs";

let worker, cookie;
const DAY = 86_400_000;

before(async () => {
  worker = await startWorker();
  cookie = await sessionCookie(worker.base, await createAdmin(worker.base));
});

after(async () => {
  await worker?.stop();
});

const api = (method, path, body) => fetch(`${worker.base}${path}`, {
  method, headers: { Cookie: cookie, "Content-Type": "application/json" }, body: body && JSON.stringify(body),
});

/** Raw events `daysAgo` old, written straight to D1 the way a flush writes them. */
async function oldEvents(site, daysAgo, n) {
  const ts = Date.now() - daysAgo * DAY;
  const day = new Date(ts).toISOString().slice(0, 10);
  const rows = Array.from({ length: n }, (_, i) =>
    `('old-${site}-${daysAgo}-${i}', '${site}', ${ts + i}, '${day}', 'v${i}', 's${i}', 'pageview', '/old')`);
  await worker.d1(`INSERT INTO events (id, site_id, ts, day, visitor, session, kind, path) VALUES ${rows.join(", ")}`);
}

const count = async (site, where = "1 = 1") =>
  (await worker.d1(`SELECT COUNT(*) AS n FROM events WHERE site_id = '${site}' AND ${where}`))[0].n;

test("the daily job deletes raw events past the site's retention (395 days by default) and keeps the rest", async () => {
  const detail = await (await api("GET", "/api/sites/demo")).json();
  assert.equal(detail.retention_days, 395);
  await oldEvents("demo", 500, 7);
  await oldEvents("demo", 100, 5);
  await oldEvents("demo", 2, 3);
  await worker.cron();
  assert.equal(await count("demo", "path = '/old'"), 8, "only the 500-day-old events go");
  const [purge] = await worker.d1("SELECT * FROM purges WHERE site_id = 'demo' ORDER BY id DESC LIMIT 1");
  assert.equal(purge.events_deleted, 7);
  assert.ok(Math.abs(purge.cutoff - (Date.now() - 395 * DAY)) < 10 * 60_000);

  // A shorter retention, set through the API (and audited), applies at the next run.
  const bad = await api("PATCH", "/api/sites/demo", { retention_days: 5 });
  assert.deepEqual([bad.status, (await bad.json()).error], [400, "bad_retention"]);
  assert.equal((await api("PATCH", "/api/sites/demo", { retention_days: 30 })).status, 200);
  await worker.cron();
  assert.equal(await count("demo", "path = '/old'"), 3);
  const [again] = await worker.d1("SELECT events_deleted FROM purges WHERE site_id = 'demo' ORDER BY id DESC LIMIT 1");
  assert.equal(again.events_deleted, 5);
  const audit = await (await api("GET", "/api/sites/demo/audit")).json();
  const change = audit.entries.find((e) => e.action === "site_update");
  assert.equal(JSON.parse(change.details).retention_days, 30);
});

test("the compliance report states what is collected, kept and deleted, as HTML and CSV", async () => {
  // A deletion the report lists, recorded in the audit log.
  const goal = await (await api("POST", "/api/sites/demo/goals", { kind: "event", value: "Signup" })).json();
  assert.equal((await api("DELETE", `/api/sites/demo/goals/${goal.id}`)).status, 200);
  await api("PATCH", "/api/sites/demo", { name: "Demo <script>alert(1)</script>" });

  const csv = await api("GET", "/api/sites/demo/compliance?format=csv");
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type"), /^text\/csv/);
  const lines = (await csv.text()).trim().split("\r\n");
  const value = (section, item) => lines.find((l) => l.startsWith(`${section},${item},`))?.slice(section.length + item.length + 2);
  assert.equal(value("retention", "raw events kept for (days)"), "30");
  assert.equal(value("stored", "raw events"), String(await count("demo")));
  assert.equal(value("purges", "events deleted by retention in total"), "12");
  assert.equal(value("purges", "events deleted by the last purge"), "5");
  assert.ok(lines.some((l) => l.startsWith("never stored,IP addresses")));
  assert.ok(lines.some((l) => l.startsWith("deletions,") && l.includes("goal_delete")), lines.join("\n"));

  const html = await api("GET", "/api/sites/demo/compliance");
  assert.equal(html.status, 200);
  assert.match(html.headers.get("content-type"), /^text\/html/);
  assert.match(html.headers.get("content-security-policy"), /default-src 'none'/);
  const page = await html.text();
  assert.ok(page.includes("Demo &lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(!page.includes("<script>"));
  assert.match(page, /Raw events kept for \(days\)|raw events kept for \(days\)/);

  // Viewers cannot read it; auditors can.
  await api("POST", "/api/users", { email: "v@example.com", password: "viewer password 1" });
  await api("PUT", "/api/sites/demo/members", { email: "v@example.com", role: "viewer" });
  const viewer = await sessionCookie(worker.base, { email: "v@example.com", password: "viewer password 1" });
  assert.equal((await fetch(`${worker.base}/api/sites/demo/compliance`, { headers: { Cookie: viewer } })).status, 403);
});

test("deleting a site removes its data; the report of another site is unaffected", async () => {
  assert.equal((await api("POST", "/api/sites", { id: "temp", hostnames: ["temp.example"] })).status, 201);
  await oldEvents("temp", 1, 4);
  assert.equal(await count("temp"), 4);
  assert.equal((await api("DELETE", "/api/sites/temp")).status, 200);
  await eventually(async () => (await count("temp")) === 0, 10_000, "temp's events gone");
  assert.equal((await api("GET", "/api/sites/temp/compliance")).status, 404);
  assert.equal((await api("GET", "/api/sites/demo/compliance?format=csv")).status, 200);
});
