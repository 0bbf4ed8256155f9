// Issue #13: what a second pair of eyes found by attacking the first round of fixes from the
// README alone — a request that froze the Worker, ids erasure cannot reach, an erased id left
// in clear through other search fields, header injection through a site's name, and emails
// that look like another account's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, createAdmin, sessionCookie } from "./harness.mjs";

let worker, cookie;

before(async () => {
  worker = await startWorker();
  const admin = await createAdmin(worker.base);
  cookie = await sessionCookie(worker.base, admin);
});

after(async () => {
  await worker?.stop();
});

async function api(method, path, body, headers = { Cookie: cookie }) {
  const r = await fetch(`${worker.base}${path}`, {
    method, headers: { ...headers, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text };
}

test("a report preview for a far-off month is a 400, not a hung Worker", async () => {
  for (const [query, code] of [["month=9999-12", "bad_month"], ["kind=weekly&date=9999-12-27", "bad_date"], ["month=0001-01", "bad_month"]]) {
    const r = await api("GET", `/api/sites/demo/reports/preview?${query}&format=json`);
    assert.equal(r.status, 400, `${query}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal(r.json?.error, code, query);
  }
  // The Worker still answers at once afterwards, and a real month still previews.
  const month = new Date().toISOString().slice(0, 7);
  assert.equal((await api("GET", `/api/sites/demo/reports/preview?month=${month}&format=json`)).status, 200);
});

test("activity user ids that a URL path cannot carry (. and ..) are refused, so every stored id can be erased", async () => {
  const key = (await api("POST", "/api/sites/demo/activity-key")).json.key;
  const sent = await api("POST", "/api/activity", { records: [
    { type: "login", user_id: ".." },
    { type: "login", user_id: "." },
    { type: "login", user_id: "dots-ok..." },
  ] }, { Authorization: `Bearer ${key}` });
  assert.ok(sent.status === 202 || sent.status === 400, sent.text);
  const stored = await worker.d1("SELECT user_id FROM activity WHERE site_id = 'demo' ORDER BY id");
  assert.deepEqual(stored.map((r) => r.user_id).filter((u) => u === "." || u === ".."), [], "no id that erasure cannot name is stored");
  if (sent.status === 202) assert.ok(stored.some((r) => r.user_id === "dots-ok..."), "the good record beside them is kept");
});

test("an erased id is not left in clear in the audit log through the activity search's other fields", async () => {
  const key = (await api("POST", "/api/sites/demo/activity-key")).json.key;
  const id = "ana.erased@example.com";
  await api("POST", "/api/activity", { type: "data_view", user_id: id, session_id: `sess-${id}`, entity_type: "user", entity_id: id }, { Authorization: `Bearer ${key}` });
  const q = new URLSearchParams({ entity_type: "user", entity_id: id, session_id: `sess-${id}`, user_id: id });
  assert.equal((await api("GET", `/api/sites/demo/activity?${q}`)).status, 200);
  assert.equal((await api("DELETE", `/api/sites/demo/activity/users/${encodeURIComponent(id)}`)).status, 200);
  const log = await worker.d1("SELECT action, target, details FROM audit_log");
  const leaks = log.filter((e) => `${e.target} ${e.details}`.includes(id));
  assert.deepEqual(leaks, [], "the erased id appears in the audit log");
});

test("a site name cannot inject mail headers through the report subject", async () => {
  const r = await api("PATCH", "/api/sites/demo", { name: "Shop\r\nBcc: spam@evil.example\r\nX-Injected: 1" });
  assert.ok(r.status === 200 || r.status === 400, r.text);
  const preview = await api("GET", `/api/sites/demo/reports/preview?month=${new Date().toISOString().slice(0, 7)}&format=json`);
  assert.equal(preview.status, 200, preview.text);
  assert.doesNotMatch(preview.json.subject, /[\r\n]/, `subject: ${JSON.stringify(preview.json.subject)}`);
});

test("an email with invisible characters (looking like another account's) is refused", async () => {
  for (const email of ["owner@example.com\u200b", "ow\u200dner@example.com", "\ufeffowner@example.com", "owner@exa\u00admple.com", "owner@example.com\u202e"]) {
    const r = await api("POST", "/api/users", { email, password: "a long enough password" });
    assert.equal(r.status, 400, `${JSON.stringify(email)}: ${r.status} ${r.text}`);
    assert.equal(r.json?.error, "bad_email", JSON.stringify(email));
  }
});
