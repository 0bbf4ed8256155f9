// Security (issue #13, points 3, 4 and 6), attacked end to end through the Worker:
// - a deleted site stays deleted: whoever re-creates its id reads nothing of the old tenant;
// - the audit log records truth only: entries go under sites the caller may act on, anonymous
//   requests are anonymous (no actor or body taken from the request), bodies are size-checked
//   before anything is read, entries are capped, and an anonymous flood folds into counted rows;
// - erasure erases: percent-encoded user ids are decoded, and an erased id stays nowhere in
//   clear (audit targets and details, alert subjects).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { FIREFOX_UA, startWorker, createAdmin, sessionCookie, eventually } from "./harness.mjs";

const HOURLY = "15 * * * *";
let worker, admin, root;

before(async () => {
  worker = await startWorker();
  admin = await createAdmin(worker.base);
  root = await as(await sessionCookie(worker.base, admin));
});

after(async () => {
  await worker?.stop();
});

/** Calls the API with a session cookie (or none); answers { status, json, text }. */
async function as(cookie) {
  const call = async (method, path, body, headers = {}) => {
    const r = await fetch(`${worker.base}${path}`, {
      method,
      headers: { ...(cookie ? { Cookie: cookie } : {}), "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: r.status, json, text };
  };
  return { cookie, call };
}

/** A plain (non-admin) user, created by the instance admin, logged in. */
async function plainUser(email) {
  const password = `${email} password`;
  const made = await root.call("POST", "/api/users", { email, password });
  assert.ok([200, 201].includes(made.status), made.text);
  return as(await sessionCookie(worker.base, { email, password }));
}

const anonymous = await as(null);
const audit = () => worker.d1("SELECT * FROM audit_log ORDER BY id");

test("a site re-created under a deleted site's id shows nothing of the deleted site", async () => {
  const X = "reused-shop";
  const olga = await plainUser("olga.oldtenant@example.com");
  const mia = await plainUser("mia.oldmember@example.com");
  assert.equal((await olga.call("POST", "/api/sites", { id: X, name: "Old Tenant Inc", hostnames: ["reused-shop.example"] })).status, 201);
  const member = await olga.call("PUT", `/api/sites/${X}/members`, { email: "mia.oldmember@example.com", role: "viewer" });
  assert.ok(member.status < 300, member.text);
  assert.equal((await olga.call("PATCH", `/api/sites/${X}`, { name: "Old Tenant Confidential" })).status, 200);
  const goal = await olga.call("POST", `/api/sites/${X}/goals`, { kind: "event", value: "old-tenant-goal" });
  assert.equal(goal.status, 201, goal.text);
  assert.equal((await olga.call("POST", `/api/sites/${X}/goals`, { kind: "event", value: "old-tenant-goal-2" })).status, 201);
  assert.equal((await olga.call("DELETE", `/api/sites/${X}/goals/${goal.json.id}`)).status, 200);
  const funnel = await olga.call("POST", `/api/sites/${X}/funnels`, {
    name: "old tenant funnel", steps: [{ kind: "page", value: "/old-a" }, { kind: "page", value: "/old-b" }],
  });
  assert.equal(funnel.status, 201, funnel.text);
  // Page views, flushed into raw events and rollups.
  const view = await fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { "CF-Connecting-IP": "192.0.2.31", "User-Agent": FIREFOX_UA, Origin: "https://reused-shop.example",
      "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty" },
    body: JSON.stringify({ site: X, events: [{ kind: "pageview", url: "https://reused-shop.example/old-tenant-page" }] }),
  });
  assert.equal(view.status, 202);
  await eventually(async () => (await worker.d1(`SELECT COUNT(*) AS n FROM rollups_hourly WHERE site_id = '${X}'`))[0].n > 0, 30_000, "rollups");
  // Backend activity, a compliance erasure, and alerts from failed logins.
  const key = (await olga.call("POST", `/api/sites/${X}/activity-key`)).json.key;
  const failed = Array.from({ length: 6 }, () => ({ type: "login_failed", user_id: "old-tenant-user", ip: "203.0.113.77", status_code: 401 }));
  assert.equal((await anonymous.call("POST", "/api/activity", { records: [...failed, { type: "login", user_id: "gone-user" }] }, { Authorization: `Bearer ${key}` })).status, 202);
  assert.equal((await olga.call("DELETE", `/api/sites/${X}/activity/users/gone-user`)).status, 200);
  await worker.cron(HOURLY, Date.now());
  assert.ok((await olga.call("GET", `/api/sites/${X}/alerts`)).json.alerts.length > 0, "alerts fired");
  await worker.cron(); // the daily job: retention records a purge
  // A report sent for the site (the mail cron needs a provider; the row is what it leaves).
  await worker.d1(`INSERT INTO report_sends (site_id, user_id, kind, period_from, status, attempts, at) SELECT '${X}', id, 'monthly', '2026-11-01', 'sent', 1, 1 FROM users WHERE email = 'olga.oldtenant@example.com'`);
  assert.ok((await olga.call("GET", `/api/sites/${X}/audit`)).json.entries.length > 0);

  assert.equal((await olga.call("DELETE", `/api/sites/${X}`)).status, 200);
  // Nothing but the immutable audit log keeps rows of the deleted site.
  const tables = (await worker.d1("SELECT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'site_id'")).map((r) => r.t);
  assert.ok(tables.length >= 10, tables.join());
  for (const t of tables.filter((t) => t !== "audit_log")) {
    const [{ n }] = await worker.d1(`SELECT COUNT(*) AS n FROM ${t} WHERE site_id = '${X}'`);
    assert.equal(n, 0, `${t} still holds ${n} rows of the deleted site`);
  }

  // A plain user takes the id.
  const pete = await plainUser("pete.newtenant@example.com");
  const recreated = Date.now();
  assert.equal((await pete.call("POST", "/api/sites", { id: X, name: "New Tenant", hostnames: ["reused-shop.example"] })).status, 201);
  const reads = {};
  for (const path of [
    `/api/sites/${X}`, `/api/sites/${X}/audit?limit=200`, `/api/sites/${X}/alerts`, `/api/sites/${X}/members`,
    `/api/sites/${X}/goals`, `/api/sites/${X}/funnels`, `/api/sites/${X}/reports/sent`,
    `/api/sites/${X}/compliance?format=csv`, `/api/sites/${X}/activity?period=today`,
    `/api/stats/totals?site=${X}&period=today`, `/api/stats/pages?site=${X}&period=today`,
    `/api/stats/goals?site=${X}&period=today`, `/api/export/events?site=${X}&period=today`,
  ]) {
    const r = await pete.call("GET", path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    reads[path] = r;
    for (const old of ["Old Tenant", "old-tenant", "olga.oldtenant", "mia.oldmember", "gone-user", "old tenant funnel"]) {
      assert.ok(!r.text.includes(old), `${path} shows ${old}: ${r.text.slice(0, 600)}`);
    }
  }
  const entries = reads[`/api/sites/${X}/audit?limit=200`].json.entries;
  assert.ok(entries.every((e) => e.at >= recreated - 1000), `old entries: ${JSON.stringify(entries)}`);
  assert.deepEqual(reads[`/api/sites/${X}/alerts`].json.alerts, []);
  assert.deepEqual(reads[`/api/sites/${X}/members`].json.members.map((m) => m.email), ["pete.newtenant@example.com"]);
  assert.deepEqual(reads[`/api/sites/${X}/goals`].json.goals, []);
  assert.deepEqual(reads[`/api/sites/${X}/funnels`].json.funnels, []);
  assert.deepEqual(reads[`/api/sites/${X}/reports/sent`].json.sent, []);
  const csv = reads[`/api/sites/${X}/compliance?format=csv`].text;
  assert.ok(!/^deletions,/m.test(csv), csv);
  assert.match(csv, /events deleted by retention in total,0/);
  // The instance's own log still has the old tenant's history (it is immutable).
  const all = (await root.call("GET", "/api/audit?limit=200")).json.entries;
  assert.ok(all.some((e) => e.action === "site_delete" && e.site_id === X));
});

test("the audit log files entries only under sites the caller may act on, never with an actor from the body", async () => {
  const demoLog = async () => (await root.call("GET", "/api/sites/demo/audit?limit=200")).json.entries;
  const before = (await demoLog()).length;
  // Anonymous: a failed login naming the victim site, and a forged actor in a body.
  assert.equal((await anonymous.call("POST", "/api/login?site=demo", { email: admin.email, password: "wrong" })).status, 401);
  assert.equal((await anonymous.call("POST", "/api/sites?site=demo", { email: admin.email, id: "forged" })).status, 401);
  // Logged in, but not a member of demo.
  const eve = await plainUser("eve.intruder@example.com");
  assert.equal((await eve.call("PATCH", "/api/sites/demo", { name: "Eve was here" })).status, 404);
  assert.equal((await eve.call("POST", "/api/tokens?site=demo", { name: "eve token" })).status, 201);
  const after = await demoLog();
  assert.equal(after.length, before, `new entries in demo's log: ${JSON.stringify(after.slice(0, after.length - before))}`);

  const rows = await audit();
  assert.ok(!rows.some((e) => e.actor_email === admin.email && e.outcome === 401), "an anonymous request took the admin as its actor");
  const failed = rows.filter((e) => e.action === "login_failed").at(-1);
  assert.equal(failed.actor_email, "", "a failed login is anonymous");
  assert.equal(failed.site_id, null);
  assert.ok(failed.target.length > 0 && failed.target.length < admin.email.length, `attempted email truncated: ${failed.target}`);
  assert.ok(!JSON.stringify(rows).includes("Eve was here"), "a refused request's body was kept");
  const token = rows.filter((e) => e.action === "token_create").at(-1);
  assert.equal(token.site_id, null, "a token is instance-wide whatever ?site= says");
  assert.equal(token.actor_email, "eve.intruder@example.com");
});

test("bodies are size-checked before anything is read, unauthenticated bodies are never kept, entries are capped", async () => {
  const huge = (marker) => JSON.stringify({ email: `${marker}@example.com`, password: "x", name: marker + "x".repeat(300_000) });
  const anon = await anonymous.call("POST", "/api/login", huge("hugeanonmarker"));
  assert.equal(anon.status, 413, anon.text);
  const authed = await root.call("PATCH", "/api/sites/demo", huge("hugeauthedmarker"));
  assert.equal(authed.status, 413, authed.text);
  // Chunked (no Content-Length): refused by size as it streams.
  const chunks = new ReadableStream({
    start(c) { for (let i = 0; i < 64; i++) c.enqueue(new TextEncoder().encode(i === 0 ? '{"name":"chunkedmarker' : "x".repeat(8192))); c.close(); },
  });
  const streamed = await fetch(`${worker.base}/api/sites/demo`, { method: "PATCH", headers: { Cookie: root.cookie }, body: chunks, duplex: "half" });
  assert.equal(streamed.status, 413);
  // Unauthenticated bodies within the limit are not kept either.
  assert.equal((await anonymous.call("POST", "/api/setup", { email: "late@example.com", password: "setupbodymarker password", site: { id: "s", name: "setupbodymarker", hostnames: [] } })).status >= 400, true);
  assert.equal((await anonymous.call("POST", "/api/login", { email: "someone.with.a.long.address@example.com", password: "nope nope" })).status, 401);
  // A target is capped however long the path segment.
  assert.equal((await root.call("DELETE", `/api/sites/demo/goals/${"9".repeat(3000)}`)).status, 404);
  const dump = JSON.stringify(await audit());
  for (const marker of ["hugeanonmarker", "hugeauthedmarker", "chunkedmarker", "setupbodymarker", "someone.with.a.long.address@example.com"]) {
    assert.ok(!dump.includes(marker), `${marker} is in the audit log`);
  }
  for (const e of await audit()) {
    assert.ok(e.target.length <= 200, `target of ${e.target.length} characters`);
    assert.ok(e.details.length <= 4096);
  }
  const tooBig = (await audit()).filter((e) => e.outcome === 413);
  assert.ok(tooBig.length >= 2, "refusals are on record");
  assert.ok(tooBig.every((e) => e.details === "{}"));
});

test("an anonymous flood folds into a bounded number of counted rows", async () => {
  const [{ n: rowsBefore }] = await worker.d1("SELECT COUNT(*) AS n FROM audit_log");
  const from = { "CF-Connecting-IP": "198.51.100.200" };
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(Array.from({ length: 10 }, (_, i) => i % 2
      ? anonymous.call("POST", "/api/login", { email: `flood${batch}-${i}@example.com`, password: "wrong password" }, from)
      : anonymous.call("DELETE", "/api/sites/demo/goals/1", undefined, from)));
  }
  const [{ n: rowsAfter }] = await worker.d1("SELECT COUNT(*) AS n FROM audit_log");
  assert.ok(rowsAfter - rowsBefore <= 8, `200 anonymous failures added ${rowsAfter - rowsBefore} rows`);
  const entries = (await root.call("GET", "/api/audit?limit=50")).json.entries;
  const counted = entries.filter((e) => e.actor_email === "" && e.count > 1);
  assert.ok(counted.reduce((s, e) => s + e.count, 0) >= 200, JSON.stringify(entries.slice(0, 6)));
});

test("erasing a user id decodes it, and the erased id stays nowhere in clear", async () => {
  const ids = ["ana maria", "dept/ana", "ana.erased@example.com", "Zoë Ærø", "日本の利用者"];
  const key = (await root.call("POST", "/api/sites/demo/activity-key")).json.key;
  const records = ids.flatMap((user_id) => [
    { type: "login", user_id, session_id: `s-${ids.indexOf(user_id)}` },
    { type: "data_view", user_id, entity_type: "invoice", entity_id: "7" },
    ...Array.from({ length: 5 }, () => ({ type: "login_failed", user_id, ip: "203.0.113.5", status_code: 401 })),
  ]);
  assert.equal((await anonymous.call("POST", "/api/activity", { records }, { Authorization: `Bearer ${key}` })).status, 202);
  await worker.cron(HOURLY, Date.now());
  const alerts = (await root.call("GET", "/api/sites/demo/alerts")).json.alerts;
  assert.ok(alerts.some((a) => a.subject === "Zoë Ærø"), "an alert names the user before erasure");
  for (const id of ids) {
    const search = await root.call("GET", `/api/sites/demo/activity?period=today&user_id=${encodeURIComponent(id)}`);
    assert.equal(search.json.records.length, 7, id);
  }
  for (const id of ids) {
    const gone = await root.call("DELETE", `/api/sites/demo/activity/users/${encodeURIComponent(id)}`);
    assert.deepEqual([gone.status, gone.json?.deleted], [200, 7], `${id}: ${gone.text}`);
  }
  const [{ n }] = await worker.d1("SELECT COUNT(*) AS n FROM activity WHERE user_id IN ('ana maria', 'dept/ana', 'ana.erased@example.com', 'Zoë Ærø', '日本の利用者')");
  assert.equal(n, 0);
  const dump = JSON.stringify({ audit: await audit(), alerts: await worker.d1("SELECT * FROM alerts") });
  for (const id of ids) {
    for (const form of new Set([id, encodeURIComponent(id), encodeURIComponent(id).replaceAll("%20", "+")])) {
      assert.ok(!dump.includes(form), `${form} is still stored`);
    }
  }
  // The erasure is on record under a keyed hash: the same id, the same hash.
  const erasures = (await root.call("GET", "/api/sites/demo/audit?limit=200")).json.entries.filter((e) => e.action === "user_data_delete");
  assert.equal(erasures.length, ids.length);
  for (const e of erasures) assert.match(e.target, /^user #[0-9a-f]{16}$/);
  assert.equal(new Set(erasures.map((e) => e.target)).size, ids.length);
  assert.equal((await root.call("DELETE", `/api/sites/demo/activity/users/${encodeURIComponent(ids[1])}`)).status, 200);
  const again = (await root.call("GET", "/api/sites/demo/audit?limit=1")).json.entries[0];
  assert.ok(erasures.some((e) => e.target === again.target), "the same id hashes the same");
  // A bad encoding is a clear 400.
  const bad = await root.call("DELETE", "/api/sites/demo/activity/users/%FF%FE");
  assert.deepEqual([bad.status, bad.json?.error], [400, "bad_user_id"]);
});

test("migration 0010 scopes old entries by site key, finishes old erasures and leaves no erased id in clear", async () => {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const { mkdtempSync, readdirSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { ROOT } = await import("./harness.mjs");
  const run = promisify(execFile);
  const state = mkdtempSync(join(tmpdir(), "vigia-mig-"));
  const wrangler = (...args) => run(process.execPath, [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "d1", "execute", "DB", "--local", "--persist-to", state, ...args],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 64 * 1024 * 1024 });
  const sql = async (command) => JSON.parse((await wrangler("--json", "--command", command)).stdout)[0].results;
  try {
    const files = readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort();
    for (const f of files.filter((f) => f < "0010")) await wrangler("--file", join(ROOT, "migrations", f));
    // As the old code left it: a deleted site re-created under its id, an erasure compared
    // still encoded (so nothing was erased), ids in clear in targets, details and alerts.
    await sql("INSERT INTO sites (id, name, created_at) VALUES ('shop', 'Shop', 1), ('gone', 'New Gone', 2)");
    await sql(`INSERT INTO audit_log (at, site_id, actor_email, action, target, outcome, details) VALUES
      (1, 'gone', 'old@x', 'site_update', '', 200, '{"name":"old tenant"}'), (2, 'gone', 'old@x', 'site_delete', '', 200, '{}'),
      (3, 'gone', 'new@x', 'site_update', '', 200, '{"name":"new tenant"}'),
      (4, 'shop', 'a@x', 'user_data_delete', 'user ana%20maria', 200, '{}'), (5, 'shop', 'a@x', 'user_data_delete', 'user Zo%C3%AB', 200, '{}'),
      (6, 'shop', 'a@x', 'activity_search', '', 200, '{"user_id":"ana maria","period":"today"}')`);
    await sql(`INSERT INTO activity (id, site_id, ts, day, type, user_id, outcome) VALUES
      ('1', 'shop', 1, 'd', 'login', 'ana maria', 'success'), ('2', 'shop', 1, 'd', 'login', 'Zoë', 'success'), ('3', 'shop', 1, 'd', 'login', 'kept', 'success')`);
    await sql(`INSERT INTO alerts (site_id, rule, subject, window_start, window_ms, count, threshold, detail, first_ts, last_ts, created_at) VALUES
      ('shop', 'failed_logins_per_user', 'Zoë', 0, 1, 5, 5, '', 0, 0, 0), ('shop', 'outside_hours', 'user ana maria', 0, 1, 1, 1, '', 0, 0, 0)`);
    await wrangler("--file", join(ROOT, "migrations", files.find((f) => f.startsWith("0010"))));

    const rows = await sql("SELECT id, site_key, target, details FROM audit_log ORDER BY id");
    const [gone] = await sql("SELECT site_key FROM sites WHERE id = 'gone'");
    assert.deepEqual(rows.filter((r) => r.site_key === gone.site_key).map((r) => r.id), [3], "only the new tenant's entry is the new site's");
    assert.deepEqual((await sql("SELECT user_id FROM activity")).map((r) => r.user_id), ["kept"], "old erasures are finished");
    const dump = JSON.stringify({ rows, alerts: await sql("SELECT subject FROM alerts") });
    for (const id of ["ana maria", "ana%20maria", "Zoë", "Zo%C3%AB"]) assert.ok(!dump.includes(id), `${id} in ${dump}`);
    const ana = rows.find((r) => r.id === 4).target.slice(5);
    assert.match(ana, /^~[0-9a-f]{16}$/);
    assert.equal(JSON.parse(rows.find((r) => r.id === 6).details).user_id, ana, "one id, one pseudonym");
    // The append-only guard is back.
    const refused = (e) => /append-only/.test(`${e.message}${e.stdout ?? ""}${e.stderr ?? ""}`);
    await assert.rejects(sql("UPDATE audit_log SET target = 'x' WHERE id = 1"), refused);
    await assert.rejects(sql("DELETE FROM audit_log WHERE id = 1"), refused);
    // New sites get new keys, never a deleted site's.
    await sql("DELETE FROM sites WHERE id = 'gone'");
    await sql("INSERT INTO sites (id, name, created_at) VALUES ('gone', 'Third', 3)");
    const [third] = await sql("SELECT site_key FROM sites WHERE id = 'gone'");
    assert.ok(third.site_key > gone.site_key);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
