// Apps end to end (docs/apps.md), against the real Worker: creating an app and its key, an
// install's uploads stored once, bad records refused alone, the limits, keys that must not
// work, the rate limits, email registration confirmed only through the mailed link, erasure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { callApi, eventually, startReceiver, startStack, stopStack } from "./harness.mjs";

// Small limits, so one upload can pass them without a test depending on the clock's minute.
// The lowest limits the settings allow are one full batch (500 records); the app's is a little more.
const APP_LIMIT = 800;
const INSTALL_LIMIT = 500;

let worker, cookie, receiver;
const mails = [];

before(async () => {
  receiver = await startReceiver((req, body, res) => {
    mails.push(JSON.parse(body));
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ id: `m${mails.length}` }));
  });
  ({ worker, cookie } = await startStack({
    cookie: true,
    vars: {
      VIGIA_APP_RECORDS_PER_MINUTE: String(APP_LIMIT),
      VIGIA_APP_INSTALL_RECORDS_PER_MINUTE: String(INSTALL_LIMIT),
      VIGIA_EMAIL_PROVIDER: "http",
      VIGIA_EMAIL_API_URL: `http://127.0.0.1:${receiver.port}/emails`,
      VIGIA_EMAIL_API_KEY: "test-key",
    },
  }));
});
after(async () => {
  await stopStack({ worker });
  await receiver?.stop();
});

const api = (method, path, body, headers = { Cookie: cookie }) => callApi(worker.base, method, path, body, headers);
const upload = (key, body) => api("POST", "/api/app/batch", body, key === null ? {} : { Authorization: `Bearer ${key}` });
const installId = () => randomBytes(16).toString("hex");
const batchId = () => `b-${randomBytes(8).toString("hex")}`;
const now = () => Date.now();
const feature = (seq, name = "export", extra = {}) => ({ seq, ts: now() - 1000, kind: "feature", name, session: "s1", ...extra });
const batch = (install, records, extra = {}) => ({
  batch_id: batchId(), install_id: install, app_version: "1.4.0", os: "linux", os_version: "6.8", dropped: 0, records, ...extra,
});
const count = async (sql) => (await worker.d1(sql))[0].n;

async function createApp(id) {
  const made = await api("POST", "/api/sites", { id, name: `App ${id}`, kind: "app" });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.kind, "app");
  const detail = await api("GET", `/api/sites/${id}`);
  assert.equal(detail.status, 200, detail.text);
  return { id, key: detail.json.app_key, detail: detail.json };
}

let app, other;

test("an app is created without hostnames, with a key its admins see and can rotate", async () => {
  app = await createApp("tool");
  assert.match(app.key, /^vpk_[0-9a-f]{32}$/);
  assert.deepEqual(app.detail.hostnames, []);
  assert.equal(app.detail.kind, "app");
  assert.ok(app.detail.snippet.includes(app.key) && !app.detail.snippet.includes("<script"), app.detail.snippet);
  const withHosts = await api("POST", "/api/sites", { id: "tool2", kind: "app", hostnames: ["x.example"] });
  assert.deepEqual([withHosts.status, withHosts.json.error], [400, "app_hostnames"]);
  const patched = await api("PATCH", "/api/sites/tool", { hostnames: ["x.example"] });
  assert.deepEqual([patched.status, patched.json.error], [400, "app_hostnames"]);
  const kind = await api("PATCH", "/api/sites/tool", { kind: "web" });
  assert.deepEqual([kind.status, kind.json.error], [400, "kind_fixed"]);
  // A web site has no app key and cannot be given one.
  const web = await api("GET", "/api/sites/demo");
  assert.equal(web.json.kind, "web");
  assert.equal(web.json.app_key, null);
  assert.equal((await api("POST", "/api/sites/demo/app-key")).status, 400);
  const list = (await api("GET", "/api/sites")).json.sites;
  assert.deepEqual(list.map((s) => [s.id, s.kind]).sort(), [["demo", "web"], ["tool", "app"]]);
  // Rotation: the old key stops working at once.
  const rotated = await api("POST", "/api/sites/tool/app-key");
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.json.app_key, app.key);
  const old = app.key;
  app.key = rotated.json.app_key;
  const refused = await upload(old, batch(installId(), [feature(1)]));
  assert.deepEqual([refused.status, refused.json.error], [401, "bad_app_key"]);
  assert.equal((await upload(app.key, batch(installId(), []))).status, 200);
  other = await createApp("other-tool");
});

test("an upload is stored and answered; sent again it is a duplicate and changes nothing", async () => {
  const install = installId();
  const body = batch(install, [
    { seq: 1, ts: now() - 60_000, kind: "session_start", session: "s1" },
    feature(2, "export", { props: { format: "pdf" } }),
    { seq: 3, ts: now() - 2_000, kind: "error", name: "disk_full", session: "s1" },
    { seq: 4, ts: now() - 1_000, kind: "session_end", session: "s1", active_ms: 45_000 },
  ], { dropped: 2 });
  const first = await upload(app.key, body);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.json, { batch_id: body.batch_id, duplicate: false, stored: 4, refused: 0, problems: [] });
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'tool'"))[0].site_key;
  const rows = await worker.d1(`SELECT seq, kind, name, active_ms, props, app_version FROM app_records WHERE site_key = ${site} ORDER BY seq`);
  assert.deepEqual(rows.map((r) => [r.seq, r.kind, r.name]), [[1, "session_start", ""], [2, "feature", "export"], [3, "error", "disk_full"], [4, "session_end", ""]]);
  assert.equal(rows[3].active_ms, 45_000);
  assert.equal(JSON.parse(rows[1].props).format, "pdf");
  // The install id itself is stored nowhere; its keyed hash is.
  const dump = JSON.stringify(await worker.d1("SELECT * FROM app_installs")) + JSON.stringify(await worker.d1("SELECT * FROM app_records")) + JSON.stringify(await worker.d1("SELECT * FROM app_batches"));
  assert.ok(!dump.includes(install), "install id stored");
  const installs = await worker.d1(`SELECT app_version, os, os_version, dropped FROM app_installs WHERE site_key = ${site}`);
  assert.deepEqual(installs, [{ app_version: "1.4.0", os: "linux", os_version: "6.8", dropped: 2 }]);
  const metered = async () => (await worker.d1(`SELECT received, stored, refused FROM metering WHERE site_key = ${site} AND source = 'app'`))[0];
  const before = await metered();

  const again = await upload(app.key, body);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json, { batch_id: body.batch_id, duplicate: true, stored: 4, refused: 0, problems: [] });
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site}`), 4);
  assert.equal((await worker.d1(`SELECT dropped FROM app_installs WHERE site_key = ${site}`))[0].dropped, 2);
  assert.deepEqual(await metered(), before, "a duplicate is not metered again");

  // The same seq in another batch is stored once; a new seq is added.
  const overlap = await upload(app.key, batch(install, [feature(4, "ignored"), feature(5, "import")]));
  assert.deepEqual([overlap.status, overlap.json.duplicate, overlap.json.stored], [200, false, 2]);
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site}`), 5);
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site} AND seq = 4 AND kind = 'session_end'`), 1);
  // Metering counts both as received, only the new one as stored.
  const after = await metered();
  assert.deepEqual([after.received - before.received, after.stored - before.stored], [2, 1]);
  // The same batch id from another install is another batch.
  const elsewhere = await upload(app.key, { ...body, install_id: installId() });
  assert.equal(elsewhere.json.duplicate, false);
});

test("one bad record is refused alone; a bad field is dropped alone; limits refuse the upload", async () => {
  const install = installId();
  const r = await upload(app.key, batch(install, [
    feature(1, "kept"),
    { seq: 2, ts: now(), kind: "teleport", name: "x" },
    { seq: 3, ts: now() - 61 * 86_400_000, kind: "feature", name: "ancient" },
    { seq: 4, ts: now() + 2 * 86_400_000, kind: "feature", name: "future" },
    feature(5, "n".repeat(200), { session: "s".repeat(100), props: { ok: "yes", nested: { a: 1 } } }),
  ]));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.stored, r.json.refused], [2, 3]);
  const errors = r.json.problems.map((p) => [p.record, p.field, p.error]);
  for (const want of [[1, "kind", "unknown_kind"], [2, "ts", "too_old"], [3, "ts", "in_the_future"], [4, "name", "truncated"], [4, "session", "field_too_long"], [4, "props.nested", "bad_prop"]]) {
    assert.ok(errors.some((e) => JSON.stringify(e) === JSON.stringify(want)), `${want} in ${JSON.stringify(errors)}`);
  }
  const kept = await worker.d1("SELECT name, session, props FROM app_records WHERE name LIKE 'nnn%'");
  assert.deepEqual(kept.map((k) => [k.name.length, k.session, JSON.parse(k.props)]), [[120, "", { ok: "yes" }]]);

  const tooMany = await upload(app.key, batch(install, Array.from({ length: 501 }, (_, i) => feature(100 + i))));
  assert.deepEqual([tooMany.status, tooMany.json.error], [413, "too_many_records"]);
  const tooBig = await upload(app.key, batch(install, [feature(1000, "big", { props: { a: "x".repeat(300 * 1024) } })]));
  assert.equal(tooBig.status, 413);
  for (const [body, error] of [
    [{ batch_id: "short", install_id: install, records: [] }, "bad_batch_id"],
    [{ batch_id: batchId(), install_id: "not-hex", records: [] }, "bad_install_id"],
    [{ batch_id: batchId(), install_id: install }, "not_a_batch"],
  ]) {
    const bad = await upload(app.key, body);
    assert.deepEqual([bad.status, bad.json.error], [400, error], bad.text);
  }
  const notJson = await fetch(`${worker.base}/api/app/batch`, { method: "POST", headers: { Authorization: `Bearer ${app.key}` }, body: "{nope" });
  assert.equal(notJson.status, 400);
});

test("no key, a wrong key, a web site's id or another app's key reach no install of this app", async () => {
  const install = installId();
  assert.equal((await upload(app.key, batch(install, [feature(1, "mine")]))).json.stored, 1);
  for (const key of [null, "vpk_00000000000000000000000000000000", "demo", "tool", `vsk_${"0".repeat(64)}`]) {
    const r = await upload(key, batch(install, [feature(2, "theirs")]));
    assert.deepEqual([r.status, r.json.error], [401, "bad_app_key"], `${key}`);
  }
  // Another app's key with the same install id writes into that other app only.
  const r = await upload(other.key, batch(install, [feature(1, "theirs"), feature(3, "theirs")]));
  assert.deepEqual([r.status, r.json.stored], [200, 2]);
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'tool'"))[0].site_key;
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site} AND name = 'theirs'`), 0);
  // ... and its erase route cannot erase this app's install.
  const erased = await api("POST", "/api/app/erase", { install_id: install }, { Authorization: `Bearer ${other.key}` });
  assert.equal(erased.status, 200, erased.text);
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site} AND name = 'mine'`), 1);
  const noKey = await api("POST", "/api/app/erase", { install_id: install }, {});
  assert.equal(noKey.status, 401);
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site} AND name = 'mine'`), 1);
  // Nor can a user of the dashboard who is not an admin of the app read or change its key.
  const anon = await api("GET", "/api/sites/tool", undefined, {});
  assert.equal(anon.status, 401);
});

test("past the install's or the app's minute: 429 with Retry-After, metered as refused, nothing stored", async () => {
  const limited = await createApp("limited");
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'limited'"))[0].site_key;
  const records = (n, from = 1) => Array.from({ length: n }, (_, i) => feature(from + i));
  // The limits count per UTC minute: start early in one so the three uploads share it.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 30_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
  const install = installId();
  const full = await upload(limited.key, batch(install, records(INSTALL_LIMIT)));
  assert.equal(full.status, 200, full.text);
  const over = await upload(limited.key, batch(install, records(1, INSTALL_LIMIT + 1)));
  assert.deepEqual([over.status, over.json.error], [429, "rate_limited"], over.text);
  assert.match(over.json.message, /this install/);
  const r = await fetch(`${worker.base}/api/app/batch`, {
    method: "POST",
    headers: { Authorization: `Bearer ${limited.key}`, "Content-Type": "application/json" },
    body: JSON.stringify(batch(installId(), records(APP_LIMIT - INSTALL_LIMIT))),
  });
  assert.equal(r.status, 429);
  const retry = Number(r.headers.get("Retry-After"));
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  assert.match((await r.json()).message, /this app/);
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site}`), INSTALL_LIMIT);
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_batches WHERE site_key = ${site}`), 1);
  const refused = 1 + APP_LIMIT - INSTALL_LIMIT;
  const meter = (await worker.d1(`SELECT received, stored, refused FROM metering WHERE site_key = ${site} AND source = 'app'`))[0];
  assert.deepEqual(meter, { received: INSTALL_LIMIT + refused, stored: INSTALL_LIMIT, refused });
});

const register = (key, install, email, consent = "Send me a monthly report of my use of Tool.") =>
  api("POST", "/api/app/email", { install_id: install, email, consent }, { Authorization: `Bearer ${key}` });
const mailsTo = (address) => mails.filter((m) => m.to[0] === address);
const linkIn = (mail) => mail.text.match(/https?:\/\/\S+\/api\/app\/confirm\?token=[0-9a-f]+/)[0];
const linkedUser = async (siteKey, email) =>
  (await worker.d1(`SELECT i.install, u.status FROM app_installs i JOIN app_users u ON u.id = i.user_id WHERE i.site_key = ${siteKey} AND u.email = '${email}'`));
const userRow = async (email) => (await worker.d1(`SELECT status, consent FROM app_users WHERE email = '${email}'`))[0];

test("email: confirmed only through the mailed link, with its consent; GET changes nothing; a link works once", async () => {
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'tool'"))[0].site_key;
  const install = installId();
  assert.equal((await upload(app.key, batch(install, [feature(1)]))).status, 200);
  const answer = await register(app.key, install, "Ana@Example.com", "Yes, mail me my usage each month.");
  assert.equal(answer.status, 202, answer.text);
  const mail = await eventually(() => mailsTo("ana@example.com")[0], 15_000, "the confirmation mail");
  assert.match(mail.subject, /App tool/);
  // The mail never carries the caller's words (the key is public: they could be anything);
  // the page the link opens shows them.
  assert.ok(!mail.text.includes("Yes, mail me my usage each month.") && !mail.html.includes("Yes, mail me my usage each month."));
  const link = linkIn(mail);
  assert.ok(mail.html.includes(link.replace(/&/g, "&amp;")));
  // Before the link is followed nothing is linked.
  assert.deepEqual(await linkedUser(site, "ana@example.com"), []);
  assert.equal((await userRow("ana@example.com")).status, "pending");
  // Opening the link shows the words and a button, and changes nothing.
  const page = await fetch(link);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes("Yes, mail me my usage each month.") && html.includes("App tool") && html.includes('method="post"'), html);
  assert.deepEqual(await linkedUser(site, "ana@example.com"), []);
  // Pressing the button links the install and confirms the user.
  const done = await fetch(link, { method: "POST" });
  assert.equal(done.status, 200);
  assert.match(await done.text(), /id="done"/);
  const linked = await linkedUser(site, "ana@example.com");
  assert.equal(linked.length, 1);
  assert.equal(linked[0].status, "confirmed");
  assert.equal((await userRow("ana@example.com")).consent, "Yes, mail me my usage each month.");
  // The confirmation is in the app's own audit log (what its owner reads).
  const audit = (await api("GET", "/api/sites/tool/audit")).json.entries;
  assert.ok(audit.some((a) => a.action === "app_email_confirm" && a.outcome === 200), JSON.stringify(audit.slice(0, 3)));
  // Used once: the same link, a forged one and an expired one do nothing.
  const used = await fetch(link, { method: "POST" });
  assert.equal(used.status, 404);
  assert.match(await used.text(), /id="invalid"/, "a person sees a page saying why, not JSON");
  assert.equal((await fetch(link)).status, 404);
  assert.equal((await fetch(link.replace(/token=.*/, `token=${"0".repeat(32)}`), { method: "POST" })).status, 404);
  const later = installId();
  assert.equal((await register(app.key, later, "ana@example.com")).status, 202);
  const second = await eventually(() => mailsTo("ana@example.com")[1], 15_000, "the second mail");
  await worker.d1("UPDATE app_links SET expires = 0");
  assert.equal((await fetch(linkIn(second))).status, 404);
  assert.equal((await fetch(linkIn(second), { method: "POST" })).status, 404);
  assert.equal((await linkedUser(site, "ana@example.com")).length, 1);
});

test("email: a stranger's address registered by someone else is never linked, and the answer says nothing", async () => {
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'tool'"))[0].site_key;
  const eve = installId();
  const known = await register(app.key, eve, "ana@example.com");
  const unknown = await register(app.key, eve, "victim@example.com");
  assert.deepEqual([known.status, unknown.status], [202, 202]);
  assert.deepEqual(known.json, unknown.json, "the same answer for a known and an unknown address");
  await eventually(() => mailsTo("victim@example.com").length === 1, 15_000, "the victim's mail");
  assert.deepEqual(await linkedUser(site, "victim@example.com"), []);
  const ana = await linkedUser(site, "ana@example.com");
  assert.equal(ana.length, 1, "Eve's install is not linked to Ana");
  assert.equal((await userRow("victim@example.com")).status, "pending");
  // Mails to one address are limited per day; the answer stays the same.
  for (let i = 0; i < 4; i++) assert.equal((await register(app.key, installId(), "victim@example.com")).status, 202);
  await eventually(() => mailsTo("victim@example.com").length >= 3, 15_000, "the mails within the limit");
  // (No timed assertion: a fourth mail, had it been sent, would have arrived with the third.)
  const before = mailsTo("victim@example.com").length;
  assert.equal((await register(app.key, installId(), "victim@example.com")).status, 202);
  assert.equal(await count("SELECT COUNT(*) AS n FROM app_users WHERE email = 'victim@example.com'"), 1);
  assert.equal(before, 3);
  // Bad input is refused plainly; no key, no registration.
  const bad = await register(app.key, eve, "not an address");
  assert.deepEqual([bad.status, bad.json.error], [400, "bad_email"]);
  const noConsent = await register(app.key, eve, "x@example.com", "");
  assert.deepEqual([noConsent.status, noConsent.json.error], [400, "missing_consent"]);
  assert.equal((await api("POST", "/api/app/email", { install_id: eve, email: "x@example.com", consent: "y" }, {})).status, 401);
});

test("erase: an install's rows go, and its user with its last install; the vendor erases by address", async () => {
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'tool'"))[0].site_key;
  const install = installId();
  assert.equal((await upload(app.key, batch(install, [feature(1, "bo-1"), feature(2, "bo-2")]))).json.stored, 2);
  assert.equal((await register(app.key, install, "bo@example.com")).status, 202);
  const mail = await eventually(() => mailsTo("bo@example.com")[0], 15_000, "Bo's mail");
  assert.equal((await fetch(linkIn(mail), { method: "POST" })).status, 200);
  assert.equal((await linkedUser(site, "bo@example.com")).length, 1);
  const erased = await api("POST", "/api/app/erase", { install_id: install }, { Authorization: `Bearer ${app.key}` });
  assert.equal(erased.status, 200, erased.text);
  assert.deepEqual(erased.json, { installs: 1, records: 2, users: 1 });
  assert.equal(await count(`SELECT COUNT(*) AS n FROM app_records WHERE site_key = ${site} AND name LIKE 'bo-%'`), 0);
  assert.equal(await count("SELECT COUNT(*) AS n FROM app_users WHERE email = 'bo@example.com'"), 0);
  const siteLog = (await api("GET", "/api/sites/tool/audit")).json.entries;
  assert.ok(siteLog.some((a) => a.action === "app_install_erase" && a.outcome === 200), JSON.stringify(siteLog.slice(0, 3)));
  // Uploading again after an erasure starts a new install from nothing.
  assert.equal((await upload(app.key, batch(install, [feature(1, "bo-again")]))).json.stored, 1);
  assert.equal((await api("POST", "/api/app/erase", { install_id: "nope" }, { Authorization: `Bearer ${app.key}` })).status, 400);

  // The vendor's erasure by address: every install of Ana's, and the address only hashed in the log.
  const anaInstalls = await linkedUser(site, "ana@example.com");
  assert.ok(anaInstalls.length >= 1);
  const gone = await api("DELETE", "/api/sites/tool/app/users/ANA%40example.com");
  assert.equal(gone.status, 200, gone.text);
  assert.equal(gone.json.users, 1);
  assert.equal(gone.json.installs, anaInstalls.length);
  assert.equal(await count("SELECT COUNT(*) AS n FROM app_users WHERE email = 'ana@example.com'"), 0);
  assert.deepEqual(await linkedUser(site, "ana@example.com"), []);
  const entry = (await worker.d1("SELECT target FROM audit_log WHERE action = 'app_user_erase'"))[0];
  assert.ok(entry && !/ana/i.test(entry.target) && /^email #[0-9a-f]+$/.test(entry.target), JSON.stringify(entry));
  assert.equal((await api("DELETE", "/api/sites/tool/app/users/ana%40example.com")).status, 404);
  // A viewer of the app may not erase anyone.
  assert.equal((await api("DELETE", "/api/sites/tool/app/users/victim%40example.com", undefined, {})).status, 401);
});

test("retention deletes an app's old records; deleting the app deletes all its rows but its metering", async () => {
  const kept = await createApp("kept");
  const site = (await worker.d1("SELECT site_key FROM sites WHERE id = 'kept'"))[0].site_key;
  assert.equal((await api("PATCH", "/api/sites/kept", { retention_days: 30 })).status, 200);
  const install = installId();
  const day = 86_400_000;
  const r = await upload(kept.key, batch(install, [
    { seq: 1, ts: now() - 45 * day, kind: "feature", name: "old" },
    { seq: 2, ts: now() - day, kind: "feature", name: "recent" },
  ]));
  assert.equal(r.json.stored, 2, r.text);
  await worker.cron();
  const names = (await worker.d1(`SELECT name FROM app_records WHERE site_key = ${site}`)).map((x) => x.name);
  assert.deepEqual(names, ["recent"]);

  assert.equal((await register(kept.key, install, "carla@example.com")).status, 202);
  await eventually(() => mailsTo("carla@example.com").length === 1, 15_000, "Carla's mail");
  assert.equal((await api("DELETE", "/api/sites/kept")).status, 200);
  for (const table of ["app_records", "app_batches", "app_installs", "app_users", "app_links", "app_rate", "app_mail_rate"]) {
    assert.equal(await count(`SELECT COUNT(*) AS n FROM ${table} WHERE site_key = ${site}`), 0, table);
  }
  assert.equal(await count(`SELECT COUNT(*) AS n FROM metering WHERE site_key = ${site}`), 1);
  // The old key names nothing now.
  assert.equal((await upload(kept.key, batch(install, [feature(3)]))).status, 401);
});
