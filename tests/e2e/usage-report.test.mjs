// The monthly usage report end to end (docs/app-reports.md): an app with two confirmed users and
// one pending, their installs' records uploaded through POST /api/app/batch across two months,
// the hourly cron (wrangler dev --test-scheduled) at the monthly due time, mails delivered to a
// local receiver through the HTTP provider. Each mail's numbers are checked against
// GET /api/sites/{site}/app/stats?period=custom&from&to&email= for the month and the month before.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, startReceiver, createAdmin, eventually, sessionCookie } from "./harness.mjs";

const HOURLY = "15 * * * *";
const APP = "editor";
const APP_NAME = "Editor <Pro>";
let worker, receiver, owner, appKey;
const received = [];

before(async () => {
  receiver = await startReceiver((req, body, res) => {
    received.push(JSON.parse(body));
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ id: `msg-${received.length}` }));
  });
  worker = await startWorker({
    vars: (base) => ({
      VIGIA_EMAIL_PROVIDER: "http",
      VIGIA_EMAIL_API_URL: `http://127.0.0.1:${receiver.port}/emails`,
      VIGIA_EMAIL_API_KEY: "re_test_usage",
      VIGIA_EMAIL_FROM: "Vigia <reports@vigia.test>",
      VIGIA_PUBLIC_URL: base,
    }),
  });
  owner = await createAdmin(worker.base);
  owner.cookie = await sessionCookie(worker.base, owner);
});

after(async () => {
  await worker?.stop();
  await receiver?.stop();
});

const api = async (method, path, body, headers = { Cookie: owner.cookie }) => {
  const r = await fetch(`${worker.base}${path}`, {
    method, headers: { "Content-Type": "application/json", ...headers }, body: body && JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text, headers: r.headers };
};
const app = (method, path, body) => api(method, path, body, { Authorization: `Bearer ${appKey}` });

// Months in UTC (the app's zone, Europe/Lisbon, is UTC+0 from November to March and UTC+1 in
// summer; every record below is at least an hour from a local midnight).
const now = new Date();
const y = now.getUTCFullYear(), m = now.getUTCMonth();
const pad = (n) => String(n).padStart(2, "0");
const day = (t) => new Date(t).toISOString().slice(0, 10);
const monthRange = (k) => [day(Date.UTC(y, m + k, 1)), day(Date.UTC(y, m + k + 1, 0))];
const [THIS_FROM, THIS_TO] = monthRange(0);
const [LAST_FROM, LAST_TO] = monthRange(-1);
const [BEFORE_FROM, BEFORE_TO] = monthRange(-2);
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const label = (from) => `${MONTHS[Number(from.slice(5, 7)) - 1]} ${from.slice(0, 4)}`;
/** The monthly report of last month is due on the 1st of this month, this month's on the next 1st. */
const DUE_LAST = Date.UTC(y, m, 1, 7, 30);
const DUE_THIS = Date.UTC(y, m + 1, 1, 7, 30);
/** Last month's records: its last days (always within the upload's 60-day age limit). */
const lastMonth = (dayBack, hour) => Date.UTC(y, m, 1 - dayBack, hour);
/** This month's: the 1st (never more than the upload's one-day skew ahead). */
const thisMonth = (hour, minute = 0) => Date.UTC(y, m, 1, hour, minute);

const installId = () => randomBytes(16).toString("hex");
const installs = { ana1: installId(), ana2: installId(), bo: installId(), cy: installId(), anon: installId() };
const seqs = {};
let batchNo = 0;

/** One batch of an install's records: `[ts, kind, name, active_ms]`. */
async function upload(install, records) {
  const batch = {
    batch_id: `batch-${++batchNo}-${randomBytes(4).toString("hex")}`,
    install_id: installs[install],
    app_version: install === "bo" ? "2.0.0" : "1.4.2",
    os: install === "ana2" ? "macos" : "linux",
    os_version: install,
    dropped: 0,
    records: records.map(([ts, kind, name = "", active_ms = 0]) => ({
      seq: (seqs[install] = (seqs[install] ?? 0) + 1), ts, kind, name, session: `s-${install}`, active_ms,
    })),
  };
  const r = await app("POST", "/api/app/batch", batch);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.duplicate, r.json.stored, r.json.refused], [false, records.length, 0], r.text);
}

/** A session of `minutes` active minutes with some features and errors, at `start`. */
const session = (start, minutes, features = [], errors = []) => [
  [start, "session_start"],
  ...features.map((f, i) => [start + (i + 1) * 1000, "feature", f]),
  ...errors.map((e, i) => [start + 30_000 + i * 1000, "error", e]),
  [start + minutes * 60_000, "session_end", "", minutes * 60_000],
];

const mailsTo = (email) => received.filter((r) => r.to[0] === email);
const usageMails = () => received.filter((r) => / your use in /.test(r.subject));

/** `Label: now (Month: before, change)` lines of the text part. */
const line = (text, name) =>
  text.match(new RegExp(`^\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: (.+) \\((\\w+ \\d{4}): (.+), (.+)\\)$`, "m"))?.slice(1);
const count = (n) => n.toLocaleString("en-US");
const activeTime = (ms) => {
  const minutes = Math.floor(ms / 60_000);
  if (minutes >= 60) return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${pad(s % 60)}s` : `${s}s`;
};

const stats = async (from, to, email) => {
  const r = await api("GET", `/api/sites/${APP}/app/stats?period=custom&from=${from}&to=${to}&email=${encodeURIComponent(email)}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

/** The mail's figures equal the API's for the user's month and the month before. */
async function checkMail(mail, email, [from, to], [pfrom, pto]) {
  const nowStats = await stats(from, to, email);
  const beforeStats = await stats(pfrom, pto, email);
  const { text, html, subject, headers } = mail;
  const prev = label(pfrom);
  assert.equal(subject, `${APP_NAME}: your use in ${label(from)} (${count(nowStats.sessions)} ${nowStats.sessions === 1 ? "session" : "sessions"}, ${activeTime(nowStats.active_ms)} active)`);
  assert.deepEqual(line(text, "Sessions").slice(0, 3), [count(nowStats.sessions), prev, count(beforeStats.sessions)], text);
  assert.deepEqual(line(text, "Active time").slice(0, 3), [activeTime(nowStats.active_ms), prev, activeTime(beforeStats.active_ms)], text);
  assert.ok(nowStats.features.length > 0 && nowStats.errors.length > 0, "the data has both lists");
  for (const [list, title] of [[nowStats.features, "Top features"], [nowStats.errors, "Errors"]]) {
    const section = text.split(`\n${title}\n`)[1].split("\n\n")[0];
    const listed = section.split("\n").filter(Boolean);
    assert.equal(listed.length, Math.min(list.length, 5), section);
    for (const v of list.slice(0, 5)) {
      const was = (title === "Errors" ? beforeStats.errors : beforeStats.features).find((b) => b.value === v.value)?.count ?? 0;
      assert.deepEqual(line(section, v.value).slice(0, 3), [count(v.count), prev, count(was)], section);
    }
  }
  // HTML for mail clients: no script, no image, the app's name escaped, the same figures.
  assert.doesNotMatch(html, /<script|<img|src=|url\(|<Pro>/i);
  assert.match(html, /Your use of Editor &lt;Pro&gt;/);
  assert.ok(html.includes(`>${count(nowStats.sessions)}</td>`));
  const link = headers["List-Unsubscribe"].slice(1, -1);
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/api\/app\/unsubscribe\?user=\d+&sig=[0-9a-f]{32}$/);
  assert.equal(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
  assert.ok(text.includes(`Stop these reports: ${link}`));
  return { nowStats, beforeStats, link };
}

test("an app's confirmed users get one monthly mail each with the stats API's numbers; the pending user none; unsubscribing stops the next", async () => {
  // The app, with its key.
  const created = await api("POST", "/api/sites", { id: APP, name: APP_NAME, kind: "app", timezone: "Europe/Lisbon" });
  assert.equal(created.status, 201, created.text);
  appKey = (await api("GET", `/api/sites/${APP}`)).json.app_key;
  assert.match(appKey, /^vpk_[0-9a-f]{32}$/);

  // Ana (two installs) and Bo confirm their address; Cy never does.
  for (const [install, email] of [["ana1", "ana@example.com"], ["ana2", "ana@example.com"], ["bo", "bo@example.com"], ["cy", "cy@example.com"]]) {
    const r = await app("POST", "/api/app/email", { install_id: installs[install], email, consent: "Send me a monthly report of my use" });
    assert.equal(r.status, 202, r.text);
  }
  await eventually(() => received.length === 4, 15_000, "four confirmation mails");
  const confirmations = received.splice(0);
  for (const mail of confirmations.filter((c) => c.to[0] !== "cy@example.com")) {
    const link = mail.text.match(/http:\/\/\S+\/api\/app\/confirm\?token=[^\s>"]+/)?.[0];
    assert.ok(link, mail.text);
    const r = await fetch(link, { method: "POST" });
    assert.equal(r.status, 200, await r.text());
  }

  // Two months of use: last month (the report's first, with no month before it) and this one.
  await upload("ana1", [
    ...session(lastMonth(3, 9), 30, ["export"]),
    ...session(lastMonth(2, 9), 45, ["export", "print"], ["disk_full"]),
  ]);
  await upload("ana2", session(lastMonth(2, 14), 10, ["export"]));
  await upload("ana1", [
    ...session(thisMonth(2), 20, ["export", "export", "share"], ["disk_full", "timeout"]),
    ...session(thisMonth(4), 65, ["print"]),
  ]);
  await upload("bo", [...session(lastMonth(4, 10), 5, ["import"], ["crash"]), ...session(thisMonth(3), 15, ["import", "import"], ["crash"])]);
  await upload("cy", session(thisMonth(5), 50, ["export"], ["crash"]));
  await upload("anon", session(lastMonth(1, 11), 12, ["export"], ["crash"]));

  // The stats route: an app's vendor view, only for apps, only for confirmed users.
  const all = await api("GET", `/api/sites/${APP}/app/stats?period=custom&from=${LAST_FROM}&to=${LAST_TO}`);
  assert.equal(all.status, 200, all.text);
  assert.deepEqual([all.json.active_installs, all.json.sessions, all.json.confirmed_users], [4, 5, 2]);
  assert.equal(all.json.daily.length, Number(LAST_TO.slice(8)));
  assert.deepEqual((await api("GET", `/api/sites/demo/app/stats?period=30d`)).json.error, "not_an_app");
  assert.equal((await api("GET", `/api/sites/${APP}/app/stats?period=30d&email=cy%40example.com`)).status, 404, "pending");
  assert.equal((await api("GET", `/api/sites/${APP}/app/stats?period=nope`)).status, 400);

  // Mid-month nothing is due; on the 1st the month before is.
  await worker.cron(HOURLY, Date.UTC(y, m, 15, 12));
  assert.deepEqual(usageMails(), []);
  await worker.cron(HOURLY, DUE_LAST);
  await eventually(() => usageMails().length === 2, 15_000, "two usage mails");
  assert.deepEqual(usageMails().map((r) => r.to[0]).sort(), ["ana@example.com", "bo@example.com"]);
  assert.equal(mailsTo("cy@example.com").length, 0, "the pending user gets none");
  // The app's owner gets no web visitor report for it (a vendor reads the App screen); the
  // owner's web site (demo) still has its own.
  const visitorReports = received.filter((r) => r.subject.startsWith("Monthly report for"));
  assert.ok(visitorReports.some((r) => r.subject.includes("Demo site")), "the web site's report is sent");
  assert.deepEqual(visitorReports.filter((r) => r.subject.includes(APP_NAME)).map((r) => r.subject), []);
  const first = {};
  for (const email of ["ana@example.com", "bo@example.com"]) {
    const [mail] = mailsTo(email);
    first[email] = await checkMail(mail, email, [LAST_FROM, LAST_TO], [BEFORE_FROM, BEFORE_TO]);
    // The month before had no use: nothing to compare with, every figure new.
    assert.match(mail.text, new RegExp(`in ${label(BEFORE_FROM)}, so there is nothing to compare with`));
    assert.equal(line(mail.text, "Sessions")[3], "new");
  }
  assert.deepEqual(
    [first["ana@example.com"].nowStats.sessions, first["ana@example.com"].nowStats.active_ms],
    [3, 85 * 60_000],
    "Ana's two installs, not Bo's or the anonymous one",
  );
  received.splice(0);

  // The cron again (twice at once, and an hour later) sends nothing.
  await Promise.all([worker.cron(HOURLY, DUE_LAST), worker.cron(HOURLY, DUE_LAST + 3_600_000)]);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(usageMails(), [], "sent once");

  // Ana unsubscribes without logging in: the page only asks, the POST does it.
  const link = first["ana@example.com"].link;
  const tampered = await fetch(link.replace(/user=(\d+)/, (_, id) => `user=${Number(id) + 1}`));
  assert.deepEqual([tampered.status, (await tampered.json()).error], [400, "bad_link"]);
  const ask = await fetch(link);
  assert.equal(ask.status, 200);
  assert.match(await ask.text(), /You will no longer receive the monthly report of your use of Editor &lt;Pro&gt;\./);
  const done = await fetch(link, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
  assert.equal(done.status, 200);
  assert.match(await done.text(), /id="done"/);
  const audit = (await api("GET", `/api/sites/${APP}/audit`)).json.entries;
  assert.ok(audit.some((e) => e.action === "app_usage_unsubscribe" && e.outcome === 200), JSON.stringify(audit.slice(0, 3)));
  assert.equal((await api("GET", `/api/sites/${APP}/app/stats?period=30d&email=ana%40example.com`)).status, 404, "no longer a confirmed recipient");

  // Next month: Bo's report compares with the month before; Ana gets nothing.
  await worker.cron(HOURLY, DUE_THIS);
  await eventually(() => usageMails().length === 1, 15_000, "Bo's second mail");
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(usageMails().map((r) => r.to[0]), ["bo@example.com"]);
  const [bo] = mailsTo("bo@example.com");
  const second = await checkMail(bo, "bo@example.com", [THIS_FROM, THIS_TO], [LAST_FROM, LAST_TO]);
  assert.deepEqual(line(bo.text, "Sessions"), ["1", label(LAST_FROM), "1", "no change"]);
  assert.deepEqual(line(bo.text, "Active time").slice(2), ["5m 00s", "+200%"]);
  assert.deepEqual(line(bo.text, "import"), ["2", label(LAST_FROM), "1", "+100%"]);
  assert.equal(second.nowStats.errors[0].value, "crash");
  assert.doesNotMatch(bo.text, /nothing to compare/);
  received.splice(0);
  await worker.cron(HOURLY, DUE_THIS + 2 * 3_600_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(usageMails(), [], "sent once");
});
