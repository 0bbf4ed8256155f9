// The dashboard's split: the overview draws its first chart from its own bundle alone; every
// other screen arrives as a chunk the first time it is opened, by a tab or a deep link; a chunk
// that cannot be fetched says so, and a tab left open over a deploy that removed its build is
// told Vigia was updated and offered a reload. Real Worker, real Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startWorker, createAdmin, launchBrowser, sessionCookie, eventually, browserHeaders } from "./harness.mjs";
import { ENTRY_FILES } from "../../scripts/publish-dashboard.mjs";

let worker, browser, admin, assets;

before(async () => {
  // Its own copy of dist/, which the deploy test changes under the running dashboard.
  assets = mkdtempSync(join(tmpdir(), "vigia-split-"));
  cpSync(join(ROOT, "dist"), assets, { recursive: true });
  worker = await startWorker({ assets });
  admin = await createAdmin(worker.base);
  browser = await launchBrowser();
  const r = await fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders(), "CF-Connecting-IP": "203.0.113.9", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" },
    body: JSON.stringify({ site: "demo", events: [{ kind: "pageview", url: "http://127.0.0.1/" }] }),
  });
  assert.equal(r.status, 202);
  // The overview draws a chart only for a period with visits: wait for the buffer's flush.
  await eventually(async () => (await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n >= 1, 30_000, "the visit in D1");
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  rmSync(assets, { recursive: true, force: true });
});

const build = () => JSON.parse(readFileSync(join(assets, "dashboard-builds.json"), "utf8")).at(-1).id;

/** A logged-in browser tab (the session cookie set directly: the login form is tested elsewhere). */
async function loggedIn(who = admin) {
  const cookie = await sessionCookie(worker.base, who);
  const [name, value] = cookie.split("=");
  const context = await browser.newContext();
  await context.addCookies([{ name, value, url: worker.base }]);
  const tab = await context.newPage();
  const fetched = [];
  tab.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  return { context, tab, fetched };
}

/** Each screen behind its deep link, and what shows it has arrived. */
const SCREENS = [
  ["settings", "#snippet"],
  ["new-site", "#new-site"],
  ["reports", "#reports"],
  ["activity", "#activity"],
  ["alerts", "#alerts"],
  ["audit", "#audit-log"],
  ["account", "#change-password"],
  ["users", "#users"],
];

test("the overview draws its chart from its own bundle: no split-off chunk is fetched before it", async () => {
  const { context, tab, fetched } = await loggedIn();
  await tab.goto(`${worker.base}/`);
  await tab.waitForSelector(".kpis .kpi .value");
  await tab.waitForSelector("svg[role=img]");
  const app = fetched.filter((p) => p.startsWith("/app/"));
  const names = app.map((p) => p.split("/").at(-1));
  assert.deepEqual([...new Set(names)].sort(), [...ENTRY_FILES].sort(), "only the overview's files");
  assert.ok(app.every((p) => p.startsWith(`/app/${build()}/`)), "all from the build index.html names");
  await context.close();
});

test("every screen opens by its deep link (?tab=…) and by its tab, loading its chunk on first use", async () => {
  const { context, tab, fetched } = await loggedIn();
  for (const [screen, shown] of SCREENS) {
    await tab.goto(`${worker.base}/?site=demo&tab=${screen}`);
    await tab.waitForSelector(shown, { timeout: 20_000 });
    assert.ok(!(await tab.isVisible("[role=alert]#screen-failed")), `${screen}: no load error`);
  }
  assert.ok(fetched.some((p) => /\/split_settings\.wasm$/.test(p)), "settings came as its own chunk");
  // By the tab: the overview first, then Reports without a page load.
  await tab.goto(`${worker.base}/?site=demo`);
  await tab.waitForSelector("svg[role=img]");
  await tab.getByRole("button", { name: "Reports", exact: true }).click();
  await tab.waitForSelector("#reports");
  assert.match(tab.url(), /tab=reports/);
  await context.close();
});

test("a chunk that cannot be fetched shows an error with a retry, not a blank page", async () => {
  const { context, tab } = await loggedIn();
  await tab.goto(`${worker.base}/?site=demo`);
  await tab.waitForSelector("svg[role=img]");
  await tab.route(/\/split_audit\.wasm$/, (route) => route.abort("internetdisconnected"));
  await tab.getByRole("button", { name: "Audit log", exact: true }).click();
  const failed = tab.locator("#screen-failed");
  await failed.waitFor({ timeout: 20_000 });
  assert.match(await failed.textContent(), /could not be loaded/);
  await tab.unroute(/\/split_audit\.wasm$/);
  await failed.getByRole("button", { name: "Try again" }).click();
  await tab.waitForSelector("#audit-log", { timeout: 20_000 });
  await context.close();
});

test("a chunk that hangs is reported as slow, with a reload, and the screen still appears when it arrives", async () => {
  const { context, tab } = await loggedIn();
  await tab.goto(`${worker.base}/?site=demo`);
  await tab.waitForSelector("svg[role=img]");
  const held = [];
  await tab.route(/\/split_users\.wasm$/, (route) => held.push(route));
  await tab.getByRole("button", { name: "Users", exact: true }).click();
  const slow = tab.locator("#screen-slow");
  await slow.waitFor({ timeout: 30_000 }); // SLOW_AFTER is 15 s
  assert.match(await slow.textContent(), /Still loading/);
  assert.ok(await slow.getByRole("button", { name: "Reload" }).isVisible());
  for (const route of held) await route.continue();
  await tab.waitForSelector("#users", { timeout: 20_000 });
  await context.close();
});

test("a deep link to a screen the person's role does not get says so, and fetches nothing for it", async () => {
  const cookie = await sessionCookie(worker.base, admin);
  const call = (method, path, body) => fetch(`${worker.base}${path}`, {
    method, headers: { Cookie: cookie, "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const viewer = { email: "split-viewer@example.com", password: "viewer password 1" };
  assert.equal((await call("POST", "/api/users", viewer)).status, 201);
  assert.equal((await call("PUT", "/api/sites/demo/members", { email: viewer.email, role: "viewer" })).status, 200);
  const { context, tab, fetched } = await loggedIn(viewer);
  for (const screen of ["audit", "activity", "alerts", "users"]) {
    await tab.goto(`${worker.base}/?site=demo&tab=${screen}`);
    await tab.waitForSelector("#screen-forbidden");
    assert.ok(!fetched.some((p) => p.endsWith(`/split_${screen}.wasm`)), `${screen}: its chunk is not fetched`);
  }
  await tab.goto(`${worker.base}/?site=demo&tab=settings`);
  await tab.waitForSelector("#snippet");
  await context.close();
});

test("when the overview's own files do not arrive the page says so instead of staying blank", async () => {
  const { context, tab } = await loggedIn();
  await tab.route(/\/dashboard_bg\.wasm$/, (route) => route.abort("internetdisconnected"));
  await tab.goto(`${worker.base}/`);
  const boot = tab.locator("#boot[role=alert]");
  await boot.waitFor({ timeout: 20_000 });
  assert.match(await boot.textContent(), /could not be loaded/);
  await tab.unroute(/\/dashboard_bg\.wasm$/);
  await boot.getByRole("link", { name: "reload" }).click();
  await tab.waitForSelector("svg[role=img]");
  assert.equal(await tab.locator("#boot").count(), 0, "the loading line is gone once the app runs");
  await context.close();
});

test("a tab opened before a deploy that removed its build says Vigia was updated and reloads into the new one", async () => {
  const { context, tab } = await loggedIn();
  await tab.goto(`${worker.base}/?site=demo`);
  await tab.waitForSelector("svg[role=img]");
  // The deploy: the same files under a new build id; the old build is gone, as it is once
  // KEEP_DAYS have passed. Assets are read at start, so the Worker restarts (same port, state).
  const old = build();
  const next = "0123456789abcdef";
  renameSync(join(assets, "app", old), join(assets, "app", next));
  writeFileSync(join(assets, "index.html"), readFileSync(join(assets, "index.html"), "utf8").replaceAll(old, next));
  const manifest = JSON.parse(readFileSync(join(assets, "dashboard-builds.json"), "utf8"));
  manifest.at(-1).id = next;
  writeFileSync(join(assets, "dashboard-builds.json"), JSON.stringify(manifest));
  await worker.kill();
  worker = await startWorker({ assets, port: worker.port, state: worker.state, migrate: false });
  assert.equal((await fetch(`${worker.base}/app/${old}/split_settings.wasm`)).status, 404, "the old build is gone");

  await tab.getByRole("button", { name: "Site settings", exact: true }).click();
  const outdated = tab.locator("#screen-outdated");
  await outdated.waitFor({ timeout: 20_000 });
  assert.match(await outdated.textContent(), /Vigia was updated/);
  await outdated.getByRole("button", { name: "Reload" }).click();
  await tab.waitForSelector("#snippet", { timeout: 30_000 });
  assert.equal(await tab.getAttribute("meta[name=vigia-build]", "content"), next, "now on the new build");
  await context.close();
});

test("dashboard assets: index.html revalidated on every load, a build's files cached as immutable", async () => {
  const index = await fetch(`${worker.base}/`);
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const wasm = await fetch(`${worker.base}/app/${build()}/dashboard_bg.wasm`);
  assert.equal(wasm.status, 200);
  assert.match(wasm.headers.get("cache-control"), /immutable/);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assert.equal((await fetch(`${worker.base}/dashboard-builds.json`)).status, 404, "the manifest is not served");
});
