// The collector end to end: the demo page's real snippet in headless Chromium, every kind of
// interaction, through the real Worker into D1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, createAdmin, launchBrowser, eventually } from "./harness.mjs";

let worker, browser;

before(async () => {
  worker = await startWorker();
  await createAdmin(worker.base);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await worker?.stop();
});

/** Hides the tab the way the browser does when the visitor switches away. */
const hideTab = (page) =>
  page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
    return performance.now();
  });

test("page views, SPA routes, custom and attribute events, downloads, outbound links, scroll and engaged time", async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The partner site is outside this machine; answer for it so the new tab has a page.
  await context.route("https://partner.example/**", (route) => route.fulfill({ body: "partner", contentType: "text/html" }));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  // A call made before the loader ran (the page's inline stub queues it) is replayed.
  await page.addInitScript(() => {
    window.vigia = function () { (window.vigia.q = window.vigia.q || []).push(arguments); };
    window.vigia("early", { props: { when: "before-load" } });
  });
  await page.goto(`${worker.base}/demo/?utm_source=newsletter&email=someone%40example.com`);
  await page.waitForFunction(() => window.vigia && window.vigia.ready === true);
  const activeSince = await page.evaluate(() => performance.now());
  assert.equal(await page.evaluate(() => document.hasFocus() && document.visibilityState), "visible");

  await page.waitForTimeout(1500);
  await page.click("#spa-link");
  await page.click("#signup");
  await page.click("#newsletter");
  const download = page.waitForEvent("download");
  await page.click("#download-link");
  await download;
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForTimeout(2000);
  const hiddenAt = await hideTab(page);
  const visibleMs = hiddenAt - activeSince;

  // Hidden time must not count; the outbound click afterwards goes out with the next flush.
  await page.waitForTimeout(1500);
  const popup = context.waitForEvent("page");
  await page.click("#outbound-link");
  await popup;

  const events = await eventually(async () => {
    const rows = await worker.d1("SELECT kind, name, path, query, props, engaged_ms, scroll, utm_source FROM events ORDER BY ts, id");
    return rows.some((r) => r.kind === "outbound") ? rows : null;
  }, 30_000, "the outbound click in D1");
  const of = (kind) => events.filter((e) => e.kind === kind);

  assert.deepEqual(of("pageview").map((e) => e.path), ["/demo/", "/demo/pricing"]);
  assert.equal(of("pageview")[0].utm_source, "newsletter");
  assert.ok(!JSON.stringify(events).includes("someone"), "the query string's email never left the browser");
  const [signup] = of("custom").filter((e) => e.name === "signup");
  assert.deepEqual(JSON.parse(signup.props), { plan: "pro" });
  const [early] = of("custom").filter((e) => e.name === "early");
  assert.deepEqual(JSON.parse(early.props), { when: "before-load" });
  const [newsletter] = of("custom").filter((e) => e.name === "newsletter");
  assert.deepEqual(JSON.parse(newsletter.props), { position: "footer" });
  assert.deepEqual(of("download").map((e) => e.name), [`${worker.base}/demo/files/brochure.pdf`]);
  assert.deepEqual(of("outbound").map((e) => e.name), ["https://partner.example/offer"]);

  const engaged = of("engagement").reduce((sum, e) => sum + e.engaged_ms, 0);
  t.diagnostic(`engaged time stored ${engaged} ms; measured visible and focused ${Math.round(visibleMs)} ms`);
  assert.ok(Math.abs(engaged - visibleMs) <= visibleMs * 0.2,
    `stored engaged time ${engaged} ms vs ${Math.round(visibleMs)} ms visible and focused`);
  assert.equal(Math.max(...of("engagement").map((e) => e.scroll)), 100, "scrolled to the bottom");
  assert.deepEqual(errors, []);
  await context.close();
});

test("Do Not Track, Global Privacy Control and the opt-out flag send nothing", async () => {
  const before = (await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n;
  const cases = [
    ["DNT", () => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" })],
    ["GPC", () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })],
    ["opt-out", () => localStorage.setItem("vigia_ignore", "true")],
  ];
  for (const [what, init] of cases) {
    const context = await browser.newContext();
    await context.addInitScript(init);
    const page = await context.newPage();
    let posted = 0;
    page.on("request", (r) => { if (r.url().endsWith("/api/event")) posted++; });
    await page.goto(`${worker.base}/demo/`);
    await page.waitForLoadState("networkidle");
    assert.equal(await page.evaluate(() => window.vigia && window.vigia.ready === true), false, `${what}: collector stays off`);
    await page.click("#signup");
    await page.goto(`${worker.base}/demo/about/`);
    assert.equal(posted, 0, `${what}: no request`);
    await context.close();
  }
  await new Promise((r) => setTimeout(r, 6000)); // longer than a flush interval
  assert.equal((await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n, before);
});

test("works pasted in the body under a strict Content-Security-Policy", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.goto(`${worker.base}/demo/csp/`);
  await page.waitForFunction(() => window.vigia && window.vigia.ready === true);
  await page.goto(`${worker.base}/demo/about/`); // leaving flushes the page view
  await eventually(async () => (await worker.d1("SELECT COUNT(*) AS n FROM events WHERE path = '/demo/csp/'"))[0].n === 1,
    30_000, "the CSP page's page view in D1");
  assert.deepEqual(violations, []);
  await context.close();
});

test("without WebAssembly the loader is a silent no-op and vigia() never throws", async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => { delete window.WebAssembly; });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  let posted = 0;
  page.on("request", (r) => { if (r.url().includes("/api/event") || r.url().endsWith(".wasm")) posted++; });
  await page.goto(`${worker.base}/demo/`);
  await page.waitForLoadState("networkidle");
  await page.click("#signup"); // calls vigia(...) from an inline handler
  assert.equal(await page.evaluate(() => { vigia("direct-call", { props: { a: 1 } }); return typeof vigia; }), "function");
  assert.equal(await page.textContent("h1"), "Vigia demo");
  assert.deepEqual(errors, []);
  assert.equal(posted, 0);
  await context.close();
});

test("a cookie-free, storage-free visit", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${worker.base}/demo/`);
  await page.waitForFunction(() => window.vigia && window.vigia.ready === true);
  await page.click("#signup");
  assert.deepEqual(await context.cookies(), []);
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
  await context.close();
});
