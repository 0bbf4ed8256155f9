// Vigia's own audit log end to end: what the dashboard and API do is recorded (who, when,
// what, from where), readable by auditors and up, and nothing can change it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIREFOX_UA as FIREFOX, startStack, stopStack, OUTPUT } from "./harness.mjs";

let worker, browser, admin;
const IP = "198.51.100.7";

before(async () => ({ worker, admin, browser } = await startStack({ vars: { VIGIA_TRUST_GEO_HEADERS: "true" }, browser: true })));
after(() => stopStack({ worker, browser }));

const from = { "CF-Connecting-IP": IP, "User-Agent": FIREFOX, "X-Vigia-Geo-Country": "PT" };

async function login(email, password) {
  const r = await fetch(`${worker.base}/api/login`, { method: "POST", headers: from, body: JSON.stringify({ email, password }) });
  const cookie = r.headers.get("set-cookie")?.split(";")[0];
  const call = async (method, path, body) => {
    const res = await fetch(`${worker.base}${path}`, {
      method, headers: { ...from, Cookie: cookie, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: res.status, json, text };
  };
  return { status: r.status, cookie, call };
}

test("logins, exports, deletions, settings and role changes are recorded with who, when, what and from where", async () => {
  const started = Date.now();
  assert.equal((await login(admin.email, "not the password")).status, 401);
  const root = await login(admin.email, admin.password);
  assert.equal(root.status, 200);
  assert.equal((await root.call("PATCH", "/api/sites/demo", { name: "Demo (renamed)", timezone: "Europe/Lisbon" })).status, 200);
  assert.equal((await root.call("POST", "/api/users", { email: "aud@example.com", password: "auditor password 1" })).status, 201);
  assert.equal((await root.call("POST", "/api/users", { email: "view@example.com", password: "viewer password 1" })).status, 201);
  assert.equal((await root.call("PUT", "/api/sites/demo/members", { email: "aud@example.com", role: "auditor" })).status, 200);
  assert.equal((await root.call("PUT", "/api/sites/demo/members", { email: "view@example.com", role: "viewer" })).status, 200);
  assert.equal((await root.call("GET", "/api/export/events?site=demo&period=today")).status, 200);
  assert.equal((await root.call("GET", "/api/stats/breakdown?site=demo&period=today&dimension=page&format=csv")).status, 200);
  assert.equal((await root.call("GET", "/api/stats/breakdown?site=demo&period=today&dimension=page")).status, 200);
  assert.equal((await root.call("POST", "/api/me/password", { current: admin.password, new: "a brand new password" })).status, 200);
  assert.equal((await root.call("POST", "/api/sites", { id: "gone", hostnames: ["gone.example"] })).status, 201);
  assert.equal((await root.call("DELETE", "/api/sites/gone")).status, 200);
  admin.password = "a brand new password";

  // The site's log, as its auditor reads it.
  const auditor = await login("aud@example.com", "auditor password 1");
  const site = await auditor.call("GET", "/api/sites/demo/audit?limit=200");
  assert.equal(site.status, 200, site.text);
  const actions = site.json.entries.map((e) => e.action);
  for (const a of ["site_update", "role_change", "export_events", "export_breakdown"]) assert.ok(actions.includes(a), `${a} in ${actions}`);
  assert.equal(actions.filter((a) => a === "export_breakdown").length, 1, "a JSON breakdown is not an export");
  assert.ok(!actions.includes("login"), "logins are instance-wide, not in a site's log");
  const update = site.json.entries.find((e) => e.action === "site_update");
  assert.equal(update.actor_email, admin.email);
  assert.equal(update.outcome, 200);
  assert.equal(update.country, "PT");
  assert.equal(update.client, "Firefox on Windows 10");
  assert.match(update.ip_hash, /^[0-9a-f]{16}$/);
  assert.ok(update.at >= started - 1000 && update.at <= Date.now() + 1000);
  assert.deepEqual(JSON.parse(update.details), { name: "Demo (renamed)", timezone: "Europe/Lisbon" });
  const role = site.json.entries.find((e) => e.action === "role_change" && e.target === "aud@example.com");
  assert.equal(JSON.parse(role.details).role, "auditor");
  // Newest first, and pages by id.
  const ids = site.json.entries.map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
  const first = await auditor.call("GET", "/api/sites/demo/audit?limit=2");
  const second = await auditor.call("GET", `/api/sites/demo/audit?limit=2&before=${first.json.next_before}`);
  assert.ok(second.json.entries[0].id < first.json.entries[1].id);

  // Viewers cannot read it; the whole instance's log is for instance admins.
  const viewer = await login("view@example.com", "viewer password 1");
  const denied = await viewer.call("GET", "/api/sites/demo/audit");
  assert.deepEqual([denied.status, denied.json.error], [403, "insufficient_role"]);
  assert.equal((await auditor.call("GET", "/api/audit")).status, 403);
  const root2 = await login(admin.email, admin.password);
  const all = (await root2.call("GET", "/api/audit?limit=200")).json.entries;
  const failed = all.find((e) => e.action === "login_failed");
  // Anonymous: nobody was authenticated; the attempted email is kept truncated.
  assert.equal(failed.actor_email, "");
  assert.equal(failed.target, "own…@example.com");
  assert.equal(failed.outcome, 401);
  assert.ok(all.some((e) => e.action === "login" && e.outcome === 200));
  assert.ok(all.some((e) => e.action === "password_change"));
  assert.ok(all.some((e) => e.action === "site_delete" && e.site_id === "gone"), "a deleted site's deletion stays on record");
  // The same address gets the same fingerprint within one scope (a site, or the instance) and
  // day, another in another scope; the address itself is nowhere.
  const scopes = new Map();
  for (const e of all.filter((e) => e.country === "PT")) {
    const scope = e.site_id ?? "(instance)";
    scopes.set(scope, new Set([...(scopes.get(scope) ?? []), e.ip_hash]));
  }
  for (const [scope, hashes] of scopes) assert.equal(hashes.size, 1, `one address, one fingerprint in ${scope}`);
  assert.ok(scopes.size >= 2, `entries in one scope only: ${[...scopes.keys()]}`);
  const ours = new Set([...scopes.values()].flatMap((h) => [...h]));
  assert.equal(ours.size, scopes.size, "one address has another fingerprint in each scope");
  const setup = all.find((e) => e.action === "setup"); // made by the harness from 127.0.0.1
  assert.match(setup.ip_hash, /^[0-9a-f]{16}$/);
  assert.ok(!ours.has(setup.ip_hash), "another address, another fingerprint");
  const dump = JSON.stringify(await worker.d1("SELECT * FROM audit_log"));
  for (const secret of [IP, "not the password", "a brand new password", "auditor password 1"]) {
    assert.ok(!dump.includes(secret), `${secret} is in the audit log`);
  }
  assert.ok(dump.includes("[redacted]"));
});

test("nothing can edit or delete the audit log", async () => {
  const doc = await (await fetch(`${worker.base}/api/openapi.json`)).json();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.includes("audit")) assert.deepEqual(Object.keys(item), ["get"], `${path} only reads`);
  }
  const [{ n }] = await worker.d1("SELECT COUNT(*) AS n FROM audit_log");
  assert.ok(n > 0);
  const refused = async (sql) => {
    try {
      await worker.d1(sql);
    } catch (e) {
      return `${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`;
    }
    return "";
  };
  assert.match(await refused("DELETE FROM audit_log"), /append-only/);
  assert.match(await refused("UPDATE audit_log SET actor_email = 'someone else'"), /append-only/);
  const [{ n: after }] = await worker.d1("SELECT COUNT(*) AS n FROM audit_log");
  assert.equal(after, n);
});

test("the dashboard shows the log to an admin, newest first", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  await tab.goto(`${worker.base}/?tab=audit`);
  await tab.fill("input[name=email]", admin.email);
  await tab.fill("input[name=password]", admin.password);
  await tab.click("button[type=submit]");
  await tab.waitForSelector("#audit-log tr[data-action=site_update]");
  assert.match(await tab.textContent("#audit-log tr[data-action=site_update]"), /Site update.*PT · Firefox on Windows 10/);
  await tab.check("#audit-log input[type=checkbox]");
  await tab.waitForSelector("#audit-log tr[data-action=login_failed]");
  assert.match(await tab.textContent("#audit-log tr[data-action=login_failed]"), /401/);
  assert.equal(await tab.textContent("#audit-log tr[data-action=login_failed] td.error"), "401");
  await tab.screenshot({ path: join(OUTPUT, "dashboard-audit-desktop.png"), fullPage: true });
  await context.close();
});
