// Server-side activity end to end: a site's backend reports with its secret key; auditors
// search it, follow an entity's trail, see active sessions and a summary; an admin deletes one
// user id's records. The reported address and secrets in details are never stored.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { FIREFOX_UA, callApi, sessionCookie, startStack, stopStack } from "./harness.mjs";

let worker, cookie, key;
const USER_IP = "192.0.2.44";

before(async () => ({ worker, cookie } = await startStack({ cookie: true })));
after(() => stopStack({ worker }));

const api = (method, path, body, headers = { Cookie: cookie }) => callApi(worker.base, method, path, body, headers);
const report = (body, k = key) => api("POST", "/api/activity", body, { Authorization: `Bearer ${k}` });

test("a backend reports activity with its site's key; bad keys and bad records get clear errors", async () => {
  const made = await api("POST", "/api/sites/demo/activity-key");
  assert.equal(made.status, 201);
  key = made.json.key;
  assert.match(key, /^vsk_[0-9a-f]{64}$/);
  assert.equal((await report({ type: "login" }, "vsk_wrong")).status, 401);
  assert.equal((await api("POST", "/api/activity", { type: "login" }, {})).status, 401);
  const bad = await report({ type: "teleport" });
  assert.deepEqual([bad.status, bad.json.error], [400, "bad_activity"]);
  assert.equal((await report({ records: Array.from({ length: 101 }, () => ({ type: "login" })) })).status, 400);

  const stored = await report({ records: [
    { type: "login", user_id: "u1", session_id: "s1", ip: USER_IP, user_agent: FIREFOX_UA, details: { method: "password", password: "hunter2" } },
    { type: "data_view", user_id: "u1", session_id: "s1", entity_type: "invoice", entity_id: "42", status_code: 200, duration_ms: 35 },
    { type: "data_update", user_id: "u1", session_id: "s1", entity_type: "invoice", entity_id: "42", details: { amount: 5, auth: { token: "abc123" } } },
    { type: "file_download", user_id: "u1", session_id: "s1", entity_type: "report", entity_id: "q3.pdf" },
    { type: "login_failed", user_id: "u2", ip: USER_IP, status_code: 401 },
    { type: "login", user_id: "u3", session_id: "s3" },
    { type: "logout", user_id: "u3", session_id: "s3" },
    { type: "error", user_id: "u1", session_id: "s1", action: "GET /invoices", status_code: 500 },
  ] });
  assert.deepEqual([stored.status, stored.json.stored], [202, 8], stored.text);
  // A rotated key stops working.
  const old = key;
  key = (await api("POST", "/api/sites/demo/activity-key")).json.key;
  assert.equal((await report({ type: "login" }, old)).status, 401);
  assert.equal((await report({ type: "page_view", user_id: "u1", session_id: "s1", action: "/home" })).status, 202);
});

test("auditors search activity, follow an entity's trail, see active sessions and a summary", async () => {
  const search = async (q) => (await api("GET", `/api/sites/demo/activity?period=today&${q}`)).json;
  const u1 = await search("user_id=u1");
  assert.equal(u1.records.length, 6);
  const trail = await search("entity_type=invoice&entity_id=42");
  assert.deepEqual(trail.records.map((r) => r.type), ["data_update", "data_view"], "newest first");
  const failures = await search("outcome=failure");
  assert.deepEqual(failures.records.map((r) => [r.type, r.user_id, r.status_code]), [["login_failed", "u2", 401]]);
  const errors = await search("outcome=error");
  assert.deepEqual(errors.records.map((r) => r.action), ["GET /invoices"]);
  const login = (await search("type=login&user_id=u1")).records[0];
  assert.equal(login.browser, "Firefox");
  assert.match(login.ip_hash, /^[0-9a-f]{16}$/);
  assert.equal(JSON.parse(login.details).password, "[redacted]");
  // Paging: two rows at a time, no row twice.
  const first = await search("user_id=u1&limit=2");
  const second = await search(`user_id=u1&limit=2&before=${encodeURIComponent(first.next_before)}`);
  const ids = [...first.records, ...second.records].map((r) => r.id);
  assert.equal(new Set(ids).size, 4);

  const sessions = (await api("GET", "/api/sites/demo/activity/sessions")).json.sessions;
  assert.deepEqual(sessions.map((s) => s.session_id), ["s1"], "s3 logged out");
  const summary = (await api("GET", "/api/sites/demo/activity/summary?period=today")).json.rows;
  const count = (kind, outcome) => summary.find((r) => r.type === kind && r.outcome === outcome)?.records;
  assert.equal(count("login", "success"), 2);
  assert.equal(count("login_failed", "failure"), 1);

  // Neither the address nor secrets in details are stored anywhere.
  const dump = JSON.stringify(await worker.d1("SELECT * FROM activity"));
  for (const secret of [USER_IP, "hunter2", "abc123", "Win64; x64"]) assert.ok(!dump.includes(secret), `${secret} stored`);

  // Viewers cannot read activity; each search is in the audit log.
  await api("POST", "/api/users", { email: "v@example.com", password: "viewer password 1" });
  await api("PUT", "/api/sites/demo/members", { email: "v@example.com", role: "viewer" });
  const viewer = await sessionCookie(worker.base, { email: "v@example.com", password: "viewer password 1" });
  assert.equal((await api("GET", "/api/sites/demo/activity", undefined, { Cookie: viewer })).status, 403);
  const audit = (await api("GET", "/api/sites/demo/audit?limit=200")).json.entries;
  assert.ok(audit.filter((e) => e.action === "activity_search").length >= 6);
});

test("all activity of one user id can be deleted, and the deletion is on record", async () => {
  const gone = await api("DELETE", "/api/sites/demo/activity/users/u1");
  assert.deepEqual([gone.status, gone.json.deleted], [200, 6]);
  assert.equal((await api("GET", "/api/sites/demo/activity?period=today&user_id=u1")).json.records.length, 0);
  assert.equal((await api("GET", "/api/sites/demo/activity?period=today&user_id=u2")).json.records.length, 1);
  const audit = (await api("GET", "/api/sites/demo/audit")).json.entries;
  const entry = audit.find((e) => e.action === "user_data_delete");
  // The erased id is on record only as its keyed hash.
  assert.match(entry.target, /^user #[0-9a-f]{16}$/);
  const csv = await fetch(`${worker.base}/api/sites/demo/compliance?format=csv`, { headers: { Cookie: cookie } });
  assert.match(await csv.text(), new RegExp(`user_data_delete \\(${entry.target}\\)`));
});
