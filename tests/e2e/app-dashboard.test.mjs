// The vendor's App screen end to end (issue #17, part 3): an app is created in the dashboard
// (kind app: no hostnames; its public key, a rotate button and the agent's snippet in Site
// settings), installs upload their records through `POST /api/app/batch` (raw HTTP, as the
// agent does), and the dashboard opens the App screen instead of the web overview, showing
// exactly the numbers of `GET /api/sites/{site}/app/stats`. axe-core runs on each new screen;
// screenshots go to test-output/screens/app-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ROOT, OUTPUT, startWorker, createAdmin, sessionCookie, launchBrowser, callApi } from "./harness.mjs";

const AXE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
const SCREENS = join(OUTPUT, "screens");
const DAY = 86_400_000;

let worker, admin, cookie, browser, context, tab;

before(async () => {
  worker = await startWorker();
  admin = await createAdmin(worker.base);
  cookie = await sessionCookie(worker.base, admin);
  browser = await launchBrowser();
  mkdirSync(SCREENS, { recursive: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, locale: "en-US" });
  await context.addCookies([{ name: cookie.split("=")[0], value: cookie.split("=").slice(1).join("="), url: worker.base }]);
  tab = await context.newPage();
});

after(async () => {
  await browser?.close();
  await worker?.stop();
});

const api = (method, path, body) => callApi(worker.base, method, path, body, { Cookie: cookie });

/** axe-core's serious and critical violations on the page, one line per node. */
async function axe() {
  if (!(await tab.evaluate(() => !!window.axe))) await tab.evaluate(AXE);
  const violations = await tab.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations);
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`));
}

/** axe-core finds nothing serious, and the screen is saved for a person to look at. */
async function checkScreen(name) {
  await tab.waitForTimeout(300);
  assert.deepEqual(await axe(), [], `${name}: axe-core`);
  await tab.screenshot({ path: join(SCREENS, `${name}-desktop.png`), fullPage: true });
  await tab.setViewportSize({ width: 360, height: 740 });
  const wide = await tab.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 360, `${name}: ${wide}px wide on a 360px phone`);
  await tab.screenshot({ path: join(SCREENS, `${name}-phone.png`), fullPage: true });
  await tab.setViewportSize({ width: 1280, height: 900 });
}

// The dashboard's formatting (dashboard-leptos/src/format.rs), written again to compare.
const number = (n) => Math.abs(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",").replace(/^/, n < 0 ? "-" : "");
const fixed1 = (x) => { const n = Math.round(x * 10); return `${Math.trunc(n / 10)}.${Math.abs(n % 10)}`; };
const duration = (seconds) => {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};
const OS = { linux: "Linux", macos: "macOS", windows: "Windows", other: "Other", "": "Unknown" };

let app, key;

test("an app is created in the dashboard: no hostnames field, then its key and the agent's snippet in Site settings", async () => {
  await tab.goto(`${worker.base}/?tab=new-site`);
  await tab.waitForSelector("#new-site");
  await tab.selectOption("#new-site-kind", "app");
  // An app has no hostnames (its key identifies its uploads): the form asks for its id instead.
  await tab.waitForFunction(() => document.querySelector("#new-site-id").textContent.startsWith("App id"));
  await tab.fill("#new-site input[required] >> nth=0", "Notes desktop");
  await tab.fill("#new-site-id input", "notes-desktop");
  await checkScreen("app-new");
  await tab.click("#new-site button[type=submit]");
  await tab.waitForURL(/tab=settings/);
  await tab.waitForSelector("#app-key #app-key-value");
  app = new URL(tab.url()).searchParams.get("site");
  assert.equal(app, "notes-desktop", "the new app is selected");

  const detail = await api("GET", `/api/sites/${app}`);
  assert.equal(detail.status, 200, detail.text);
  assert.equal(detail.json.kind, "app");
  assert.deepEqual(detail.json.hostnames, []);
  key = detail.json.app_key;
  assert.match(key, /^vpk_[0-9a-f]{32}$/);
  assert.equal((await tab.textContent("#app-key-value")).trim(), key, "the key shown is the app's");
  assert.equal((await tab.textContent("#app-snippet")).trim(), detail.json.snippet.trim(), "the agent's snippet, not a script tag");
  assert.ok(!(await tab.textContent("#app-snippet")).includes("<script"), "no script tag for an app");
  // Web-only settings are not offered for an app.
  assert.equal(await tab.locator("#snippet").count(), 0, "no script-tag snippet");
  assert.equal(await tab.locator("#hash-routing").count(), 0, "no hash routing");
  assert.equal(await tab.locator("#goals-editor").count(), 0, "no goals");
  assert.equal(await tab.locator("#public-link").count(), 0, "no public link");
  await checkScreen("app-settings");
});

test("rotating the key in Site settings shows the new key; the old one stops working", async () => {
  const before = await tab.textContent("#app-snippet");
  await tab.click("#app-key button:has-text('Rotate key')");
  await tab.click("#rotate-key");
  await tab.waitForSelector("#app-key .ok[role=status]");
  const rotated = (await api("GET", `/api/sites/${app}`)).json.app_key;
  assert.notEqual(rotated, key);
  assert.equal((await tab.textContent("#app-key-value")).trim(), rotated);
  const after = await tab.textContent("#app-snippet");
  assert.ok(!after.includes(key), "the snippet no longer carries the old key");
  if (before.includes(key)) assert.ok(after.includes(rotated), "the snippet carries the new key");
  const old = await upload(key, "0".repeat(32), []);
  assert.equal(old.status, 401, old.text);
  key = rotated;
});

test("an app with no upload yet opens the App screen with how to embed the agent", async () => {
  await tab.goto(`${worker.base}/?site=${app}`);
  await tab.waitForSelector("#app-empty");
  assert.equal(await tab.locator("[data-panel]").count(), 0, "not the web overview");
  await checkScreen("app-empty");
});

/** One batch through the upload route, with the app key, as the agent sends it. */
function upload(appKey, install, records, extra = {}) {
  return callApi(worker.base, "POST", "/api/app/batch", {
    batch_id: randomBytes(8).toString("hex"), install_id: install, app_version: "1.0.0", os: "linux", os_version: "6.1",
    dropped: 0, records, ...extra,
  }, { Authorization: `Bearer ${appKey}` });
}

/** A session `days` ago: start, features, errors, end with its active time. */
function session(seq, days, features, errors, activeMs) {
  const start = Date.now() - days * DAY - 3_600_000;
  const id = randomBytes(8).toString("hex");
  const records = [{ seq: seq++, ts: start, kind: "session_start", session: id }];
  for (const name of features) records.push({ seq: seq++, ts: start + 1000 * records.length, kind: "feature", name, session: id });
  for (const name of errors) records.push({ seq: seq++, ts: start + 1000 * records.length, kind: "error", name, session: id });
  records.push({ seq: seq++, ts: start + 600_000, kind: "session_end", session: id, active_ms: activeMs });
  return records;
}

test("the App screen shows exactly the numbers of the app stats API", async () => {
  const installs = [
    { id: randomBytes(16).toString("hex"), app_version: "1.2.0", os: "linux", os_version: "6.1", dropped: 4, days: [20, 12, 3, 0] },
    { id: randomBytes(16).toString("hex"), app_version: "1.3.0", os: "windows", os_version: "10.0.19045", dropped: 0, days: [9, 2, 1] },
    { id: randomBytes(16).toString("hex"), app_version: "1.3.0", os: "macos", os_version: "14.5", dropped: 0, days: [1] },
  ];
  for (const [i, inst] of installs.entries()) {
    let seq = 1;
    const records = [];
    for (const [j, days] of inst.days.entries()) {
      const features = ["open_note", ...(j % 2 ? ["search"] : []), ...(i === 0 ? ["export_pdf"] : [])];
      const errors = i === 1 && j === 0 ? ["sync_failed", "sync_failed"] : i === 0 && j === 1 ? ["disk_full"] : [];
      const s = session(seq, days, features, errors, 60_000 * (5 + i + j));
      seq += s.length;
      records.push(...s);
    }
    const r = await upload(key, inst.id, records, { app_version: inst.app_version, os: inst.os, os_version: inst.os_version, dropped: inst.dropped });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.stored, records.length, r.text);
  }

  const stats = await api("GET", `/api/sites/${app}/app/stats?period=30d`);
  assert.equal(stats.status, 200, stats.text);
  const s = stats.json;
  assert.equal(s.active_installs, 3, "the three installs are active in the last 30 days");

  await tab.goto(`${worker.base}/?site=${app}&period=30d`);
  await tab.waitForSelector("[data-kpi=installs] .value");
  assert.equal(await tab.locator("[data-panel]").count(), 0, "an app opens the App screen, not the web overview");
  const kpi = (id) => tab.textContent(`[data-kpi=${id}] .value`);
  assert.equal(await kpi("installs"), number(s.installs_total));
  assert.equal(await kpi("new-installs"), number(s.installs_new));
  assert.equal(await kpi("active-installs"), number(s.active_installs));
  assert.equal(await kpi("dau"), fixed1(s.dau));
  assert.equal(await kpi("mau"), number(s.mau));
  assert.equal(await kpi("sessions"), number(s.sessions));
  assert.equal(await kpi("active-time"), duration(s.active_ms / 1000));
  assert.equal(await kpi("users"), number(s.confirmed_users));
  assert.equal(s.sessions, 8, "eight sessions were uploaded");

  // The daily chart: one bar per day of the answer, with its active installs.
  const bars = await tab.$$eval("#app-daily rect[data-day]", (r) => r.map((b) => [b.dataset.day, Number(b.dataset.installs)]));
  assert.deepEqual(bars, s.daily.map((d) => [d.day, d.installs]));

  // Versions, OS, features, errors: the rows of the answer, in its order.
  const table = (id) => tab.$$eval(`#${id} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)));
  assert.deepEqual(await table("app-versions"), s.versions.map((r) => [r.value, number(r.installs)]));
  assert.deepEqual(await table("app-os"), s.os.map((r) => [OS[r.value] ?? r.value, number(r.installs)]));
  assert.deepEqual(await table("app-features"), s.features.map((r) => [r.value, number(r.installs), number(r.count)]));
  assert.deepEqual(await table("app-errors"), s.errors.map((r) => [r.value, number(r.installs), number(r.count)]));
  assert.ok(s.features.length >= 3 && s.errors.length >= 2, "features and errors were counted");

  // Dropped records are said, with the answer's count (nothing is said when none were).
  if (s.dropped > 0) assert.match(await tab.textContent("#app-dropped"), new RegExp(`dropped ${number(s.dropped)} records? `));
  else assert.equal(await tab.locator("#app-dropped").count(), 0);

  // Retention: a row per cohort week, the installs, and a cell per week with its count.
  const cohorts = await tab.$$eval("#app-cohorts tbody tr", (rows) => rows.map((r) => ({
    week: r.dataset.week,
    installs: r.querySelector("[data-key=installs]").textContent,
    active: [...r.querySelectorAll("td[data-active]")].map((c) => Number(c.dataset.active)),
    shown: [...r.querySelectorAll("td[data-active]")].map((c) => c.textContent),
  })));
  assert.deepEqual(cohorts.map(({ week, installs, active }) => ({ week, installs, active })),
    s.cohorts.map((c) => ({ week: c.week, installs: number(c.installs), active: c.active })));
  for (const [i, c] of s.cohorts.entries()) {
    assert.deepEqual(cohorts[i].shown, c.active.map((a) => (c.installs ? `${Math.round((a * 100) / c.installs)}%` : "–")), `cohort ${c.week}`);
  }
  assert.ok(s.cohorts.length >= 1);
  await checkScreen("app-usage");

  // Another period: the screen follows the picker, with the API's numbers for it.
  await tab.selectOption("#period", "7d");
  await tab.waitForURL(/period=7d/);
  const week = (await api("GET", `/api/sites/${app}/app/stats?period=7d`)).json;
  await tab.waitForFunction((n) => document.querySelector("[data-kpi=sessions] .value")?.textContent === n, number(week.sessions));
  assert.equal(await kpi("active-installs"), number(week.active_installs));
  assert.equal(await kpi("active-time"), duration(week.active_ms / 1000));
});

test("records an agent dropped from its full log are told on the App screen", async () => {
  // The first install's batch said it dropped 4 records.
  const s = (await api("GET", `/api/sites/${app}/app/stats?period=30d`)).json;
  assert.equal(s.dropped, 4, "the batch's dropped count reaches the stats");
  await tab.goto(`${worker.base}/?site=${app}&period=30d`);
  assert.match(await tab.textContent("#app-dropped"), /dropped 4 records /);
});

test("a web site still opens the web overview", async () => {
  await tab.goto(`${worker.base}/?site=demo`);
  await tab.waitForSelector("[data-panel=Pages]");
  assert.equal(await tab.locator("#app-usage").count(), 0);
});
