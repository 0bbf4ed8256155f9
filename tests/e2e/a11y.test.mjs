// Accessibility end to end: axe-core (no rule disabled) on every dashboard screen with seeded
// data, with a filter applied and with each form or state a screen can open, at desktop and
// phone widths and in dark mode; nothing wider than a 360 px phone; a keyboard-only walk
// through login, a period change, a filter and a breakdown tab with a visible focus indicator
// at every step; and screenshots of every screen
// (test-output/screens/<screen>-{desktop,phone,dark}.png). No screen does anything the
// dashboard's Content-Security-Policy refuses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIREFOX_UA as FIREFOX, DESKTOP_CHROME_UA as CHROME, ROOT, OUTPUT, startWorker, createAdmin, sessionCookie, launchBrowser, eventually, browserHeaders } from "./harness.mjs";

const AXE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
const SCREENS = join(OUTPUT, "screens");
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const HOURLY = "15 * * * *";
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 360, height: 740 } };
/** Each walk of every screen: its name (the screenshots' suffix), viewport and colour scheme. */
const PASSES = [["desktop", VIEWPORTS.desktop, "light"], ["phone", VIEWPORTS.phone, "light"], ["dark", VIEWPORTS.desktop, "dark"]];

let worker, browser, admin, cookie, share;

before(async () => {
  worker = await startWorker({
    vars: {
      VIGIA_TRUST_GEO_HEADERS: "true",
      // Low thresholds, so the Alerts screen has rows.
      VIGIA_ALERT_RULES: JSON.stringify({ failed_logins_per_ip: { count: 3, minutes: 15 }, bulk_downloads: { count: 3, minutes: 60 } }),
    },
  });
  admin = await createAdmin(worker.base);
  cookie = await sessionCookie(worker.base, admin);
  browser = await launchBrowser();
  mkdirSync(SCREENS, { recursive: true });
  await seed();
});

after(async () => {
  await browser?.close();
  await worker?.stop();
});

async function api(method, path, body, headers = { Cookie: cookie }) {
  const r = await fetch(`${worker.base}${path}`, {
    method, headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
  return json;
}

/** One visit through the real ingest API: `events` from one address and browser, with edge geo. */
async function visit({ ip, ua = FIREFOX, country, region = "", city = "", events }) {
  const r = await fetch(`${worker.base}/api/event`, {
    method: "POST",
    headers: { ...browserHeaders(), "CF-Connecting-IP": ip, "User-Agent": ua, "X-Vigia-Geo-Country": country, "X-Vigia-Geo-Region": region, "X-Vigia-Geo-City": city },
    body: JSON.stringify({ site: "demo", events }),
  });
  assert.equal(r.status, 202, await r.text());
}

const page = (path, extra = {}) => ({ kind: "pageview", url: `http://127.0.0.1${path}`, ...extra });

/** Page views from several countries, browsers and sources; custom events with properties and
 * revenue, an outbound link and a download; goals, a funnel, a member, activity, alerts, an
 * API token and the public link. */
async function seed() {
  // A crawler: stored as a bot, shown only on the Bots screen.
  await visit({ ip: "198.51.100.77", country: "US", ua: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", events: [page("/")] });
  await visit({ ip: "203.0.113.1", country: "PT", region: "Lisbon", city: "Lisbon", events: [
    page("/", { referrer: "https://www.google.com/search?q=vigia" }),
    page("/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=launch"),
    { kind: "custom", url: "http://127.0.0.1/pricing", name: "Signup", props: { plan: "pro" } },
  ] });
  await visit({ ip: "203.0.113.2", country: "PT", region: "Porto", city: "Porto", ua: IPHONE, events: [
    page("/", { referrer: "https://news.ycombinator.com/item?id=1" }),
    page("/pricing"),
    { kind: "outbound", url: "http://127.0.0.1/pricing", name: "https://github.com/vigia" },
  ] });
  await visit({ ip: "203.0.113.3", country: "DE", region: "Berlin", city: "Berlin", ua: CHROME, events: [
    page("/", { referrer: "https://t.co/abc" }),
    { kind: "download", url: "http://127.0.0.1/", name: "http://127.0.0.1/files/brochure.pdf" },
  ] });
  await visit({ ip: "203.0.113.4", country: "US", region: "Texas", city: "Austin", ua: IPHONE, events: [page("/docs/getting-started/installation-on-a-very-long-path")] });
  await visit({ ip: "203.0.113.5", country: "BR", region: "SP", city: "Campinas", ua: CHROME, events: [
    page("/docs", { props: { section: "guides" } }),
    { kind: "custom", url: "http://127.0.0.1/docs", name: "Purchase", revenue: { amount: "49.90", currency: "EUR" } },
    { kind: "custom", url: "http://127.0.0.1/docs", name: "Purchase", revenue: { amount: 1000, currency: "JPY" } },
  ] });
  await eventually(async () => (await worker.d1("SELECT COUNT(*) AS n FROM events WHERE site_id = 'demo'"))[0].n >= 12, 30_000, "seeded events in D1");

  for (const goal of [{ kind: "event", value: "Signup" }, { kind: "page", value: "/pricing" }, { kind: "event", value: "Purchase" }]) {
    await api("POST", "/api/sites/demo/goals", goal);
  }
  await api("POST", "/api/sites/demo/funnels", {
    name: "Signup flow", steps: [{ kind: "page", value: "/" }, { kind: "page", value: "/pricing" }, { kind: "event", value: "Signup" }],
  });
  await api("POST", "/api/users", { email: "viewer@example.com", password: "viewer password 1" });
  await api("PUT", "/api/sites/demo/members", { email: "viewer@example.com", role: "viewer" });
  await api("POST", "/api/tokens", { name: "Reporting script" });
  share = (await api("POST", "/api/sites/demo/share", { enabled: true })).url;

  const key = (await api("POST", "/api/sites/demo/activity-key")).key;
  const failed = { type: "login_failed", ip: "198.51.100.9", status_code: 401 };
  await api("POST", "/api/activity", { records: [
    { type: "login", user_id: "ana", session_id: "sa", ip: "192.0.2.8", user_agent: FIREFOX },
    { type: "data_update", user_id: "ana", session_id: "sa", entity_type: "invoice", entity_id: "77" },
    { type: "data_view", user_id: "bo", session_id: "sb", entity_type: "invoice", entity_id: "77", status_code: 200 },
    { type: "error", user_id: "bo", session_id: "sb", action: "GET /invoices", status_code: 500 },
    ...["a", "b", "c"].map((user_id) => ({ ...failed, user_id })),
    ...[0, 1, 2].map((i) => ({ type: "file_download", user_id: "eve", entity_type: "file", entity_id: `f${i}` })),
  ] }, { Authorization: `Bearer ${key}` });
  await worker.cron(HOURLY, Date.now());
  await eventually(async () => (await api("GET", "/api/sites/demo/alerts")).alerts.length > 0, 30_000, "alerts");
  await seedApp();
}

/** An app (named to sort after the demo site, which the screens without `site=` open) with
 * two installs' sessions, features, errors and dropped records, uploaded as the agent does. */
async function seedApp() {
  await api("POST", "/api/sites", { id: "zettel", name: "Zettel notes", kind: "app", timezone: "UTC" });
  const key = (await api("GET", "/api/sites/zettel")).app_key;
  const installs = [["linux", "2.1.0", 3, [9, 2, 0]], ["windows", "2.0.4", 0, [15, 1]]];
  for (const [n, [os, version, dropped, days]] of installs.entries()) {
    const records = [];
    for (const [j, ago] of days.entries()) {
      const ts = Date.now() - ago * 86_400_000 - 3_600_000;
      const session = `s${n}${j}`;
      records.push({ kind: "session_start", ts, session });
      records.push({ kind: "feature", name: j % 2 ? "search" : "open_note", ts: ts + 1000, session });
      if (n === 1) records.push({ kind: "error", name: "sync_failed", ts: ts + 2000, session });
      records.push({ kind: "session_end", ts: ts + 600_000, session, active_ms: 240_000 + 60_000 * j });
    }
    await api("POST", "/api/app/batch", {
      batch_id: `a11y-batch-${n}`, install_id: String(n + 1).repeat(32), app_version: version, os, os_version: "1",
      dropped, records: records.map((r, seq) => ({ seq: seq + 1, ...r })),
    }, { Authorization: `Bearer ${key}` });
  }
}

/** axe-core on the whole document; the serious and critical violations, one line per node. */
async function axe(tab) {
  // Evaluated through DevTools, not added as an inline <script>: the dashboard's policy refuses those.
  if (!(await tab.evaluate(() => !!window.axe))) await tab.evaluate(AXE);
  const violations = await tab.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations);
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`));
}

async function logIn(tab, path = "/") {
  await tab.goto(`${worker.base}${path}`);
  await tab.fill("input[name=email]", admin.email);
  await tab.fill("input[name=password]", admin.password);
  await tab.click("button[type=submit]");
  await tab.waitForSelector("nav.toolbar");
}

/** Opens a dashboard address and waits for what it must show. */
const open = (path, ...selectors) => async (tab) => {
  await tab.goto(`${worker.base}${path}`);
  for (const s of selectors) await tab.waitForSelector(s, { state: "attached" });
};

/** Every screen, and each form or state a screen can open, in order (some build on the one before). */
function screens(pass) {
  let invite;
  return [
    ["login", async (tab) => {
      await tab.context().clearCookies();
      await open("/", "#login-form")(tab);
    }],
    ["login-error", async (tab) => {
      await tab.fill("input[name=email]", admin.email);
      await tab.fill("input[name=password]", "not the password");
      await tab.click("button[type=submit]");
      await tab.waitForSelector("#login-form .error");
      await tab.fill("input[name=password]", admin.password);
      await tab.click("button[type=submit]");
      await tab.waitForSelector("nav.toolbar");
    }],
    ["overview", open("/?period=today", "[data-kpi=visitors] .value", "[data-panel=Locations] .row-filter", "[data-panel=Events] .row-filter",
      "#goals .conversion", "#funnel .funnel-step", "#realtime", ".chart svg")],
    ["overview-filtered", async (tab) => {
      await tab.click("[data-panel=Locations] .row-filter:text-is('PT')");
      await tab.waitForSelector(".chip");
      await tab.click("[data-panel=Devices] [data-dimension=os]");
      await tab.waitForSelector("[data-panel=Devices] table[data-dimension=os]");
      await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "2");
    }],
    ["overview-custom-range", async (tab) => {
      await tab.selectOption("#period", "custom");
      await tab.waitForSelector(".custom-range");
      const today = new Date().toISOString().slice(0, 10);
      const before = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
      await tab.fill(".custom-range input >> nth=0", before);
      await tab.fill(".custom-range input >> nth=1", today);
      await tab.click(".custom-range button[type=submit]");
      await tab.waitForURL(/period=custom.*from=/);
      await tab.waitForSelector("[data-kpi=visitors] .value");
    }],
    ["overview-chart-tooltip", async (tab) => {
      await tab.goto(`${worker.base}/?period=7d`);
      await tab.waitForSelector(".chart svg");
      await tab.hover(".chart rect.hover >> nth=-1");
      await tab.waitForSelector(".chart .tooltip");
    }],
    ["settings", open("/?tab=settings", "#snippet pre", "#edit-site", "#goals-editor li", "#funnels-editor li", "#members tr", "#public-link .share-url", "#delete-site")],
    ["settings-saved", async (tab) => {
      await tab.click("#edit-site button[type=submit]");
      await tab.waitForSelector("#edit-site .ok");
      await tab.fill("#goals-editor input", "Signup");
      await tab.click("#goals-editor button[type=submit]");
      await tab.waitForSelector("#goals-editor .error");
    }],
    ["settings-delete-confirm", async (tab) => {
      await tab.fill("#delete-site input", "demo");
      await tab.waitForSelector("#delete-site button.danger:not([disabled])");
    }],
    ["new-site", open("/?tab=new-site", "#new-site")],
    ["reports", open("/?tab=reports", "#reports input[name=weekly]", "#reports-sent")],
    ["activity", open("/?tab=activity&period=7d", "#activity-records tr[data-action=data_update]", "#activity-sessions tbody tr", "#activity-summary tbody tr")],
    ["activity-trail", async (tab) => {
      await tab.click('#activity-records button.trail:has-text("invoice 77")');
      await tab.waitForFunction(() => document.querySelector("#activity input[name=entity_id]").value === "77");
    }],
    ["alerts", open("/?tab=alerts", "#alert-list tbody tr")],
    ["bots", open("/?tab=bots", "#bot-reasons tbody tr", "#bot-user-agents tbody tr")],
    ["audit", open("/?tab=audit", "#audit-entries tbody tr")],
    ["audit-instance", async (tab) => {
      await tab.check("#audit-log input[type=checkbox]");
      await tab.waitForSelector("#audit-entries tr[data-action=login]");
    }],
    ["account", open("/?tab=account", "#change-password", "#api-tokens tbody tr")],
    ["account-new-token", async (tab) => {
      await tab.fill("#api-tokens input", `Script ${pass}`);
      await tab.click("#api-tokens button[type=submit]");
      await tab.waitForSelector("#new-token");
    }],
    ["users", open("/?tab=users", "#users tbody tr", "#new-user")],
    ["users-password", async (tab) => {
      await tab.uncheck("#new-user input[type=checkbox] >> nth=0");
      await tab.waitForSelector("#new-user input[type=password]");
      await tab.check("#new-user input[type=checkbox] >> nth=0");
    }],
    ["users-invited", async (tab) => {
      await tab.fill("#new-user input[type=email]", `invitee-${pass}@example.com`);
      await tab.click("#new-user button[type=submit]");
      invite = await tab.textContent("#invite-url");
    }],
    ["app-usage", open("/?site=zettel&period=30d", "[data-kpi=installs] .value", "#app-daily rect", "#app-features tbody tr", "#app-cohorts tbody tr")],
    ["app-settings", open("/?site=zettel&tab=settings", "#app-key-value", "#app-snippet", "#edit-site")],
    ["new-site-app", async (tab) => {
      await open("/?tab=new-site", "#new-site")(tab);
      await tab.selectOption("#new-site-kind", "app");
      await tab.waitForFunction(() => document.querySelector("#new-site-id").textContent.startsWith("App id"));
    }],
    ["screen-failed", async (tab) => {
      await tab.route(/split_reports\.wasm/, (r) => r.abort());
      await open("/?tab=reports", "#screen-failed")(tab);
      await tab.unroute(/split_reports\.wasm/);
    }],
    ["share", async (tab) => {
      await tab.context().clearCookies();
      await open(`${share.replace(/^https?:\/\/[^/]+/, "")}&period=today`, "[data-kpi=visitors] .value", "[data-panel=Locations] .row-filter", ".notice")(tab);
    }],
    ["invite-accept", async (tab) => {
      await tab.goto(invite);
      await tab.waitForSelector("#accept-invite");
    }],
    ["no-sites", async (tab) => {
      await tab.fill("#accept-invite input", "my own password 9");
      await tab.click("#accept-invite button[type=submit]");
      await tab.waitForSelector("text=No sites yet");
    }],
  ];
}

/** What sticks out past the right edge of the screen (the outermost such elements). */
const sticksOut = (tab) => tab.evaluate(() => {
  const right = (el) => el.getBoundingClientRect().right;
  return [...document.querySelectorAll("body *")]
    .filter((el) => right(el) > innerWidth + 0.5 && !(el.parentElement !== document.body && right(el.parentElement) > innerWidth + 0.5))
    .filter((el) => !el.closest("pre, .table-scroll, .chart"))
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${[...el.classList].map((c) => `.${c}`).join("")} (${Math.round(right(el))}px)`);
});

test("axe-core finds no serious or critical violation on any screen, form or state, at desktop and phone widths, light and dark; nothing is wider than a 360 px phone", async () => {
  const problems = [];
  for (const [pass, viewport, colorScheme] of PASSES) {
    const context = await browser.newContext({ viewport, colorScheme, deviceScaleFactor: 1, locale: "en-US" });
    const tab = await context.newPage();
    const errors = [];
    let current = "";
    tab.on("pageerror", (e) => errors.push(`${current}: ${e.message}`));
    // Every screen works under the dashboard's Content-Security-Policy: nothing it does is refused.
    await tab.exposeFunction("reportViolation", (v) => problems.push(`${current} (${pass}): CSP refused ${v}`));
    await tab.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(`${e.violatedDirective} ${e.blockedURI}`)));
    for (const [name, show] of screens(pass)) {
      current = name;
      try {
        await show(tab);
      } catch (e) {
        throw new Error(`${name} (${pass}): ${e.message}`);
      }
      // Let late answers (realtime, a panel) land before judging.
      await tab.waitForTimeout(300);
      for (const v of await axe(tab)) problems.push(`${name} (${pass}): ${v}`);
      if (pass === "phone") {
        const wider = await tab.evaluate(() => document.documentElement.scrollWidth);
        if (wider > viewport.width) problems.push(`${name} (phone): the page is ${wider}px wide on a ${viewport.width}px screen: ${(await sticksOut(tab)).join(", ")}`);
      }
      await tab.screenshot({ path: join(SCREENS, `${name}-${pass}.png`), fullPage: true });
    }
    // Only the screen whose chunk is refused may see an error.
    assert.deepEqual(errors.filter((m) => !m.startsWith("screen-failed: ")), [], `${pass}: page errors`);
    await context.close();
  }
  assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
});

/** What has focus, and whether a focus indicator is drawn around it. */
const focused = (tab) => tab.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { tag: "body", visible: false };
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow !== "none";
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.textContent || el.getAttribute("aria-label") || el.name || "").trim().slice(0, 60),
    name: el.name || "",
    panel: el.closest("[data-panel]")?.dataset.panel ?? null,
    dimension: el.dataset.dimension ?? null,
    classes: el.className,
    visible: outline || shadow,
  };
});

/** Presses Tab (or Shift+Tab) until `wanted(focus)` holds; every stop on the way must show its focus. */
async function tabTo(tab, wanted, what, { back = false, max = 120 } = {}) {
  for (let i = 0; i < max; i++) {
    await tab.keyboard.press(back ? "Shift+Tab" : "Tab");
    const f = await focused(tab);
    if (f.tag !== "body") assert.ok(f.visible, `no visible focus indicator on ${JSON.stringify(f)} (on the way to ${what})`);
    if (wanted(f)) return f;
  }
  throw new Error(`${what} not reached with ${max} presses of ${back ? "Shift+Tab" : "Tab"}`);
}

test("keyboard only: log in, change the period, filter from a breakdown row, switch a breakdown tab, with visible focus at each step", async () => {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop, deviceScaleFactor: 1 });
  const tab = await context.newPage();
  await tab.goto(`${worker.base}/`);
  await tab.waitForSelector("#login-form");

  // Log in.
  await tabTo(tab, (f) => f.name === "email", "the email field");
  await tab.keyboard.type(admin.email);
  await tabTo(tab, (f) => f.name === "password", "the password field");
  await tab.keyboard.type(admin.password);
  await tab.keyboard.press("Enter");
  await tab.waitForSelector("[data-panel=Locations] .row-filter");

  // The period: from the default (last 30 days) up to Today with the arrow keys.
  await tabTo(tab, (f) => f.tag === "select" && f.text.includes("Today") && f.panel === null && f.name === "", "the period picker", { max: 40 });
  assert.equal(await tab.evaluate(() => document.activeElement.id), "period");
  for (let i = 0; i < 3; i++) await tab.keyboard.press("ArrowUp");
  await tab.waitForURL(/period=today/);
  assert.equal(await tab.inputValue("#period"), "today");
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "5");
  assert.ok((await focused(tab)).visible, "the period picker keeps a visible focus");

  // A filter: the Portuguese row of the Locations panel.
  await tabTo(tab, (f) => f.panel === "Locations" && f.text === "PT", "the PT row");
  await tab.keyboard.press("Enter");
  await tab.waitForURL(/f=country%3APT/);
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "2");
  assert.equal(await tab.textContent(".chip"), "Country is PT×");

  // A breakdown tab: Devices → Operating systems, with Space.
  await tabTo(tab, (f) => f.panel === "Devices" && f.dimension === "os", "the Operating systems tab");
  await tab.keyboard.press("Space");
  await tab.waitForSelector("[data-panel=Devices] table[data-dimension=os]");
  assert.equal(await tab.getAttribute("[data-panel=Devices] [data-dimension=os]", "aria-selected"), "true");
  assert.equal(await tab.getAttribute("[data-panel=Devices] [data-dimension=browser]", "aria-selected"), "false");
  assert.ok((await focused(tab)).visible, "the tab keeps a visible focus");

  // And back up (Shift+Tab) to the filter chip, to take the filter off with Enter.
  await tabTo(tab, (f) => f.classes.includes("chip-x"), "the filter chip's remove button", { back: true });
  await tab.keyboard.press("Enter");
  await tab.waitForFunction(() => !location.search.includes("f="));
  await tab.waitForFunction(() => document.querySelector("[data-kpi=visitors] .value")?.textContent === "5");

  // A tab of the dashboard's navigation, by keyboard: Site settings.
  await tabTo(tab, (f) => f.text === "Site settings", "the Site settings tab", { back: true });
  await tab.keyboard.press("Enter");
  await tab.waitForURL(/tab=settings/);
  await tab.waitForSelector("#snippet");
  assert.equal(await tab.getAttribute("nav button:has-text('Site settings')", "aria-current"), "page");
  await context.close();
});
