// The collector end to end, as real sites have it: every page is served by a second origin
// (http://site.localhost:PORT, another port and host name than the Worker), the snippet points
// at the Worker's origin (or at the site's own first-party proxy), and the browser sends an
// ordinary desktop Chrome user agent. Each test checks what was stored in D1 (and, where it
// matters, what the page sent), counts included: no doubles.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  startWorker, startSite, startStack, stopStack, createAdmin, sessionCookie, launchBrowser, eventually, snippet, ROOT,
} from "./harness.mjs";
import { publish } from "../../scripts/publish-collector.mjs";

let worker, site, browser, admin;

before(async () => ({ worker, admin, site, browser } = await startStack({ site: true, browser: true })));
after(() => stopStack({ worker, site, browser }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ready = (page) => page.waitForFunction(() => window.vigia && window.vigia.ready === true);

/** A test page on the site: `body` under the snippet with `attributes`. */
function sitePage(path, { attributes = "", body = "", head = "", headers = {}, src } = {}) {
  site.page(path, `<!doctype html><html><head><meta charset="utf-8"><title>${path}</title>
${snippet(worker, attributes, src)}${head}</head><body><h1>${path}</h1>${body}</body></html>`, headers);
  return site.url(path);
}

/** Stored events whose path starts with `prefix`, once `done(rows)` holds (the buffer flushes
 * within ~5 s). */
async function stored(prefix, done = (rows) => rows.length > 0, what = `events under ${prefix}`) {
  return eventually(async () => {
    const rows = await worker.d1(`SELECT kind, name, path, props, engaged_ms, scroll, bot, revenue_micros, revenue_currency
      FROM events WHERE path LIKE '${prefix}%' ORDER BY ts, id`);
    return done(rows) ? rows : null;
  }, 30_000, what);
}

/** Waits past a flush, so that "nothing more was stored" means something. */
const settle = () => sleep(6500);

/** Wraps sendBeacon and fetch in the page so a test can read the bodies it sent. */
const recordSent = (context) => context.addInitScript(() => {
  window.__sent = [];
  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, body) => {
    if (String(url).includes("/api/event")) window.__sent.push(JSON.parse(new TextDecoder().decode(body)));
    return beacon(url, body);
  };
});
const sentEvents = async (page) => (await page.evaluate(() => window.__sent)).flatMap((b) => b.events);

test("page views, SPA routes, custom and attribute events, downloads, outbound links, scroll and engaged time — from another origin", async (t) => {
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
  await page.goto(site.url("/demo/?utm_source=newsletter&email=someone%40example.com"));
  assert.notEqual(new URL(page.url()).origin, worker.base, "the page is on another origin than Vigia");
  await ready(page);
  const activeSince = await page.evaluate(() => performance.now());

  await page.waitForTimeout(1500);
  await page.click("#spa-link");
  await page.click("#signup");
  await page.click("#newsletter");
  const download = page.waitForEvent("download");
  await page.click("#download-link");
  await download;
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForTimeout(2000);
  const hiddenAt = await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
    return performance.now();
  });
  const visibleMs = hiddenAt - activeSince;
  await page.waitForTimeout(1500); // hidden: does not count
  const popup = context.waitForEvent("page");
  await page.click("#outbound-link");
  await popup;

  const events = await stored("/demo/", (rows) => rows.some((r) => r.kind === "outbound"), "the outbound click");
  const of = (kind) => events.filter((e) => e.kind === kind);
  assert.deepEqual(of("pageview").map((e) => e.path), ["/demo/", "/demo/pricing"]);
  assert.ok(!JSON.stringify(events).includes("someone"), "the query string's email never left the browser");
  assert.deepEqual(of("custom").map((e) => [e.name, JSON.parse(e.props)]).sort(), [
    ["early", { when: "before-load" }], ["newsletter", { position: "footer" }], ["signup", { plan: "pro" }],
  ]);
  assert.deepEqual(of("download").map((e) => e.name), [site.url("/demo/files/brochure.pdf")]);
  assert.deepEqual(of("outbound").map((e) => e.name), ["https://partner.example/offer"]);
  assert.ok(events.every((e) => e.bot === 0), "an ordinary browser is a person");
  const engaged = of("engagement").reduce((sum, e) => sum + e.engaged_ms, 0);
  t.diagnostic(`engaged time stored ${engaged} ms; measured visible and focused ${Math.round(visibleMs)} ms`);
  assert.ok(Math.abs(engaged - visibleMs) <= visibleMs * 0.2, `stored ${engaged} ms vs ${Math.round(visibleMs)} ms`);
  assert.equal(Math.max(...of("engagement").map((e) => e.scroll)), 100, "scrolled to the bottom");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the loader and its module are served for other origins: CORS, CORP, content type, caching", async () => {
  const loader = await fetch(`${worker.base}/v.js`, { headers: { Origin: site.origin } });
  assert.equal(loader.status, 200);
  assert.equal(loader.headers.get("cross-origin-resource-policy"), "cross-origin");
  assert.match(loader.headers.get("cache-control"), /max-age=\d+.*stale-while-revalidate=\d+/);
  const wasmName = (await loader.text()).match(/collector\.[0-9a-f]{16}\.wasm/)[0];
  const wasm = await fetch(`${worker.base}/collector/${wasmName}`, { headers: { Origin: site.origin } });
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get("access-control-allow-origin"), "*");
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assert.equal(wasm.headers.get("cross-origin-resource-policy"), "cross-origin");
  assert.match(wasm.headers.get("cache-control"), /max-age=31536000.*immutable/);
  assert.equal((await fetch(`${worker.base}/collector-builds.json`)).status, 404, "the build manifest is not served");
});

test("a second page view fetches neither the loader nor the module again", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const first = worker.log().length;
  await page.goto(site.url("/demo/"));
  await ready(page);
  // wrangler logs a request once it has answered it: wait for both lines.
  await eventually(() => worker.served(/GET \/(v\.js|collector\/collector\.[0-9a-f]+\.wasm) 200/, first).length === 2,
    10_000, "the first view loading the loader and the module");
  const second = worker.log().length;
  await page.goto(site.url("/demo/about/"));
  await ready(page);
  await page.goto(site.url("/demo/"));
  await ready(page);
  await sleep(500);
  assert.deepEqual(worker.served(/GET \/(v\.js|collector\/)/, second), [], "served from the browser's cache");
  await stored("/demo/about/", (rows) => rows.some((r) => r.kind === "pageview"), "the cached collector still counts");
  await context.close();
});

test("a loader cached before a deploy still finds its module; a new visitor gets the new one", async () => {
  // Its own Worker, serving a copy of dist/ that this test deploys into.
  const assets = mkdtempSync(join(tmpdir(), "vigia-assets-"));
  cpSync(join(ROOT, "dist"), assets, { recursive: true });
  let deployed = await startWorker({ assets });
  await createAdmin(deployed.base);
  // The site proxies nothing here; it only needs the Worker's base, which the restart keeps.
  const deploySite = await startSite(deployed);
  const page = (context, path) => context.newPage().then(async (p) => { await p.goto(deploySite.url(path)); await ready(p); return p; });
  try {
    const before = await browser.newContext();
    const first = await page(before, "/demo/");
    // Its page view is stored before the deploy: one sent while the Worker restarts has nowhere
    // to go here (wrangler dev is down for a moment; a Cloudflare deploy is not).
    await first.goto("about:blank");
    const pageviews = async () => (await deployed.d1("SELECT path FROM events WHERE kind = 'pageview'")).map((r) => r.path);
    await eventually(async () => (await pageviews()).includes("/demo/"), 30_000, "the page view before the deploy");
    const oldLoader = readFileSync(join(assets, "v.js"), "utf8");
    // The deploy: a module with other content (a custom section appended) gets a new name.
    const built = JSON.parse(readFileSync(join(assets, "collector-builds.json"), "utf8")).at(-1);
    const next = join(assets, "next.wasm");
    const section = Buffer.from([0, 8, 4, 0x6e, 0x65, 0x78, 0x74, 1, 2, 3]); // custom section "next"
    writeFileSync(next, Buffer.concat([readFileSync(join(assets, "collector", built.wasm)), section]));
    const now = publish(next, join(ROOT, "collector-wasm", "loader", "v.js"), assets);
    rmSync(next);
    assert.notEqual(now.wasm, built.wasm);
    assert.notEqual(readFileSync(join(assets, "v.js"), "utf8"), oldLoader);
    // Deployed: the Worker restarts on the same port and state with the new assets.
    await deployed.kill();
    deployed = await startWorker({ assets, port: deployed.port, state: deployed.state, migrate: false });
    assert.ok((await (await fetch(`${deployed.base}/v.js`)).text()).includes(now.wasm), "the new loader is served");
    assert.equal((await fetch(`${deployed.base}/collector/${built.wasm}`)).status, 200, "the old module is still served");

    const mark = deployed.log().length;
    const cached = await page(before, "/demo/about/");
    assert.deepEqual(deployed.served(/GET \/v\.js/, mark), [], "the old loader came from the cache");
    assert.equal(await cached.evaluate((old) => performance.getEntriesByType("resource").some((r) => r.name.endsWith(old)), built.wasm), true,
      "the cached loader runs its own module");
    const fresh = await browser.newContext();
    const freshPage = await page(fresh, "/demo/");
    // wrangler dev may print its request line a moment after the answer (seen on a loaded machine).
    await eventually(() => deployed.served(new RegExp(`GET /collector/${now.wasm} 200`), mark).length >= 1, 10_000,
      "a new visitor loads the new module");
    // Leaving each page sends what it has (pagehide), as a visitor's next click would.
    await cached.goto("about:blank");
    await freshPage.goto("about:blank");
    await before.close();
    await fresh.close();
    let paths = [];
    await eventually(async () => {
      paths = await pageviews();
      return paths.filter((p) => p === "/demo/").length >= 2 && paths.includes("/demo/about/");
    }, 30_000, "page views through the old and the new loader").catch((e) => {
      throw new Error(`${e.message}; stored page views: ${JSON.stringify(paths)}`);
    });
  } finally {
    await deploySite.stop();
    await deployed.stop();
    rmSync(assets, { recursive: true, force: true });
  }
});

test("works on a page with Cross-Origin-Embedder-Policy: require-corp", async () => {
  const url = sitePage("/coep/", { headers: { "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Opener-Policy": "same-origin" } });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  assert.equal(await page.evaluate(() => window.crossOriginIsolated), true, "the page is cross-origin isolated");
  await ready(page);
  await page.goto("about:blank");
  const rows = await stored("/coep/");
  assert.deepEqual(rows.filter((r) => r.kind === "pageview").map((r) => r.path), ["/coep/"]);
  await context.close();
});

test("first-party proxy: the site's own paths forward the loader, the module and the ingest call", async () => {
  const url = sitePage("/proxied/", { src: "/stats/v.js", body: `<button id="b" onclick="vigia('proxied-click')">b</button>` });
  const context = await browser.newContext();
  const page = await context.newPage();
  const hosts = new Set();
  page.on("request", (r) => hosts.add(new URL(r.url()).host));
  await page.goto(url);
  await ready(page);
  await page.click("#b");
  await page.goto("about:blank");
  const rows = await stored("/proxied/", (r) => r.some((e) => e.kind === "engagement"));
  assert.deepEqual(rows.map((r) => r.kind).sort(), ["custom", "engagement", "pageview"]);
  assert.deepEqual([...hosts].filter((h) => h && h !== new URL(site.origin).host), [], "nothing went to Vigia's own host");
  for (const path of ["GET /stats/v.js", "POST /stats/api/event"]) assert.ok(site.proxied.includes(path), `${path} in ${site.proxied}`);
  assert.ok(site.proxied.some((p) => /^GET \/stats\/collector\/collector\.[0-9a-f]+\.wasm$/.test(p)));
  await context.close();
});

test("headless Chromium's own user agent is stored as a bot", async () => {
  const headless = await launchBrowser({ userAgent: null });
  try {
    const page = await headless.newPage();
    assert.match(await page.evaluate(() => navigator.userAgent), /HeadlessChrome/);
    await page.goto(sitePage("/headless/"));
    await ready(page);
    await page.goto("about:blank");
    const rows = await stored("/headless/");
    assert.ok(rows.every((r) => r.bot === 1), JSON.stringify(rows));
  } finally {
    await headless.close();
  }
});

test("a snippet included twice runs one collector", async () => {
  const url = sitePage("/twice/", { head: snippet(worker, "data-tag-manager"), body: `<button id="b" onclick="vigia('once')">b</button>` });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await ready(page);
  await page.click("#b");
  await page.goto("about:blank");
  await stored("/twice/", (r) => r.length >= 3);
  await settle();
  const rows = await stored("/twice/");
  assert.deepEqual(rows.map((r) => r.kind).sort(), ["custom", "engagement", "pageview"], "one page view, one event, one engagement");
  await context.close();
});

test("click rules: tagged elements send only their event, right clicks are not clicks, middle clicks are, tagged forms count once on submit", async () => {
  const url = sitePage("/clicks/", {
    attributes: "data-forms",
    body: `
      <a id="tagged-link" href="https://partner.example/deal?token=secret" data-vigia-event="Partner CTA" data-vigia-prop-slot="hero">deal</a>
      <a id="wrapped" href="https://partner.example/wrapped"><span data-vigia-event="Wrapped CTA">inside</span></a>
      <a id="plain" href="https://partner.example/plain">plain</a>
      <a id="pdf" href="https://cdn.partner.example/sheet.pdf">sheet</a>
      <a id="mail" href="mailto:ana@example.com" data-vigia-event="Mail us">mail</a>
      <button id="tbtn" data-vigia-event="Button">button</button>
      <section data-vigia-event="Newsletter box"><form id="nl" onsubmit="event.preventDefault()">
        <button id="nl-go" type="submit">subscribe</button></form></section>
      <form id="signup" data-vigia-event="Signup form" data-vigia-prop-plan="pro" action="/clicks/done" method="get">
        <input name="email" value="a@b.c"><button id="signup-submit" type="submit">go</button></form>`,
  });
  site.page("/clicks/done", "<!doctype html><p>thanks</p>");
  const context = await browser.newContext();
  await context.route("https://*.partner.example/**", (r) => r.fulfill({ body: "partner", contentType: "text/html" }));
  await context.route("https://partner.example/**", (r) => r.fulfill({ body: "partner", contentType: "text/html" }));
  const page = await context.newPage();
  await page.goto(url);
  await ready(page);
  await page.click("#tagged-link", { modifiers: ["Control"] }); // a new tab: still a click
  await page.click("#wrapped span", { modifiers: ["Control"] });
  await page.click("#plain", { button: "right" }); // context menu: not a click
  await page.click("#plain", { button: "middle" });
  await page.click("#pdf", { modifiers: ["Control"] });
  await page.click("#mail"); // tagged mailto: its address is never sent
  await page.click("#tbtn", { button: "middle" }); // a middle click opens nothing here: not a click
  await page.click("#nl-go"); // the tagged container counts the click; its form's submission is a form, not a second tag
  await page.click("#signup input"); // inside the tagged form: not counted
  await Promise.all([page.waitForURL("**/clicks/done**"), page.click("#signup-submit")]);
  await stored("/clicks/", (r) => r.some((e) => e.name === "Signup form"), "the form submission");
  await settle();
  const all = await stored("/clicks/");
  const events = all.filter((r) => r.kind !== "pageview" && r.kind !== "engagement").map((r) => [r.kind, r.name, JSON.parse(r.props)]);
  assert.deepEqual(events.sort(), [
    ["custom", "Form: Submission", {}],
    ["custom", "Mail us", {}],
    ["custom", "Newsletter box", {}],
    ["custom", "Partner CTA", { slot: "hero", url: "https://partner.example/deal" }],
    ["custom", "Signup form", { plan: "pro" }],
    ["custom", "Wrapped CTA", { url: "https://partner.example/wrapped" }],
    ["download", "https://cdn.partner.example/sheet.pdf", {}], // a file on another host is a download
    ["outbound", "https://partner.example/plain", {}], // the middle click; the right click is not here
  ].sort(), JSON.stringify(events));
  assert.ok(!JSON.stringify(all).includes("ana@example.com"), "no address from a mailto: link");
  await context.close();
});

test("form submissions (data-forms): counted once on submit, also for forms added after load; not without the attribute", async () => {
  const body = `<div id="slot"></div><script>
    function addForm() { document.getElementById("slot").innerHTML = '<form id="late" onsubmit="event.preventDefault()"><button id="send">send</button></form>'; }
  </script>`;
  const withForms = sitePage("/forms-on/", { attributes: "data-forms", body });
  const without = sitePage("/forms-off/", { body });
  const context = await browser.newContext();
  for (const url of [withForms, without]) {
    const page = await context.newPage();
    await page.goto(url);
    await ready(page);
    await page.evaluate(() => addForm());
    await page.click("#send");
    await page.click("#send");
    await page.goto("about:blank");
  }
  await stored("/forms-on/", (r) => r.filter((e) => e.name === "Form: Submission").length >= 2);
  await settle();
  const on = await stored("/forms-on/");
  assert.equal(on.filter((e) => e.name === "Form: Submission").length, 2, "two submissions, two events");
  const off = await stored("/forms-off/");
  assert.equal(off.filter((e) => e.kind === "custom").length, 0);
  await context.close();
});

test("scroll depth is measured against the page's height when sent; a page never scrolled reports what was on screen, SPA routes too", async () => {
  const body = `<div id="content" style="height:1600px">top</div><script>
    function more() { const d = document.createElement("div"); d.style.height = "4800px"; document.body.appendChild(d); }
    function route() { history.pushState({}, "", "/scroll/next"); document.getElementById("content").style.height = "3200px"; window.scrollTo(0, 0); }
  </script>`;
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  await page.goto(sitePage("/scroll/", { body }));
  await ready(page);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight)); // the bottom of the first screenful
  await page.waitForTimeout(1200);
  await page.evaluate(() => more()); // infinite scroll adds three more screens
  await page.waitForTimeout(300);
  await page.evaluate(() => route()); // an SPA route: the old page's engagement goes first
  await page.waitForTimeout(1200);
  await page.goto("about:blank");
  const rows = await stored("/scroll/", (r) => r.filter((e) => e.kind === "engagement").length >= 2);
  const depth = Object.fromEntries(rows.filter((r) => r.kind === "engagement").map((r) => [r.path, r.scroll]));
  // First page: 800 px seen of 1,600 + 8 px body margins, then the page grew to ~6,400 px.
  assert.ok(depth["/scroll/"] > 15 && depth["/scroll/"] < 40, `late content does not read 100%: ${depth["/scroll/"]}`);
  // SPA route, never scrolled: 800 px of ~3,200 on screen.
  assert.ok(depth["/scroll/next"] > 15 && depth["/scroll/next"] < 35, `the share on screen: ${depth["/scroll/next"]}`);
  await context.close();
});

test("a page left quickly still reports scroll depth and engaged time; a page never shown sends no engagement", async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const quick = await context.newPage();
  await quick.goto(sitePage("/bounce/", { body: `<div style="height:3000px"></div>` }));
  await ready(quick);
  await quick.waitForTimeout(300);
  await quick.goto("about:blank");
  const rows = await stored("/bounce/", (r) => r.some((e) => e.kind === "engagement"), "the bounce's engagement");
  const [engagement] = rows.filter((r) => r.kind === "engagement");
  assert.ok(engagement.engaged_ms > 100 && engagement.engaged_ms < 1000, `engaged ${engagement.engaged_ms} ms`);
  assert.ok(engagement.scroll > 15 && engagement.scroll < 40, `scroll ${engagement.scroll}`);

  // Opened in a background tab and closed unseen: hidden and unfocused from the start.
  const unseen = await context.newPage();
  await unseen.addInitScript(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.hasFocus = () => false;
  });
  await unseen.goto(sitePage("/unseen/"));
  await ready(unseen);
  await unseen.waitForTimeout(1500);
  await unseen.close({ runBeforeUnload: true });
  await stored("/unseen/", (r) => r.some((e) => e.kind === "pageview"));
  await settle();
  assert.deepEqual((await stored("/unseen/")).map((r) => r.kind), ["pageview"]);
  await context.close();
});

test("manual page views (data-manual): none by themselves, vigia('pageview', {url}) counts the URL given", async () => {
  const url = sitePage("/manual/user/8812/", {
    attributes: "data-manual",
    body: `<script>window.addEventListener("load", () => vigia("pageview", { url: "/manual/user/:id/", callback: (r) => (window.__manual = r) }));
      function go() { history.pushState({}, "", "/manual/user/9000/"); }</script>`,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__manual);
  assert.deepEqual(await page.evaluate(() => window.__manual), { queued: true });
  await page.evaluate(() => go()); // a route change the app reports itself (or not)
  await page.goto("about:blank");
  await stored("/manual/", (r) => r.some((e) => e.kind === "pageview"));
  await settle();
  const rows = await stored("/manual/");
  assert.deepEqual(rows.filter((r) => r.kind === "pageview").map((r) => r.path), ["/manual/user/:id/"], "no id in any stored URL");
  assert.ok(!JSON.stringify(rows).includes("8812"));
  await context.close();
});

test("page exclusions (data-exclude): excluded pages send nothing, the rest counts", async () => {
  const attributes = `data-exclude="/excl/admin/*, /excl/preview/**"`;
  const body = `<button id="b" onclick="vigia('clicked', {callback: (r) => (window.__cb = r)})">b</button>`;
  const context = await browser.newContext();
  for (const path of ["/excl/admin/users", "/excl/admin/users/7", "/excl/preview/a/b", "/excl/blog"]) {
    const page = await context.newPage();
    await page.goto(sitePage(path, { attributes, body }));
    await ready(page);
    await page.click("#b");
    await page.waitForFunction(() => window.__cb);
    const answer = await page.evaluate(() => window.__cb);
    assert.equal(answer.queued, !/admin\/users$|preview/.test(path), `${path}: ${JSON.stringify(answer)}`);
    await page.close({ runBeforeUnload: true });
  }
  await stored("/excl/", (r) => r.filter((e) => e.kind === "pageview").length >= 2);
  await settle();
  const paths = [...new Set((await stored("/excl/")).map((r) => r.path))].sort();
  assert.deepEqual(paths, ["/excl/admin/users/7", "/excl/blog"], "* stays within a segment, ** crosses them");
  await context.close();
});

test("page-view properties from the tag and from vigia('pageview', {props}); filterable like event properties", async () => {
  const url = sitePage("/pvprops/", {
    attributes: `data-vigia-prop-author="Ana" data-vigia-prop-section="docs"`,
    body: `<script>function spa() { history.pushState({}, "", "/pvprops/two"); } function extra() { vigia("pageview", { props: { author: "Bea" } }); }</script>`,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await ready(page);
  await page.evaluate(() => spa());
  await page.evaluate(() => extra());
  await page.goto("about:blank");
  const rows = await stored("/pvprops/", (r) => r.filter((e) => e.kind === "pageview").length >= 3);
  // Each page view is its own request: two may share a millisecond, so compare them in path and
  // author order rather than in stored order.
  const views = rows.filter((r) => r.kind === "pageview").map((r) => [r.path, JSON.parse(r.props)]);
  views.sort((a, b) => (a[0] + a[1].author).localeCompare(b[0] + b[1].author));
  assert.deepEqual(views, [
    ["/pvprops/", { author: "Ana", section: "docs" }],
    ["/pvprops/two", { author: "Ana", section: "docs" }],
    ["/pvprops/two", { author: "Bea", section: "docs" }],
  ]);
  // Broken down and filtered like event properties (the label: event, key, value).
  const cookie = await sessionCookie(worker.base, admin);
  const get = async (path) => (await fetch(`${worker.base}${path}`, { headers: { Cookie: cookie } })).json();
  const labels = (await get("/api/stats/breakdown?site=demo&period=today&dimension=prop")).rows.map((r) => r.value);
  for (const label of ["pageview\u001fauthor\u001fAna", "pageview\u001fauthor\u001fBea", "pageview\u001fsection\u001fdocs"]) {
    assert.ok(labels.includes(label), `${JSON.stringify(label)} in ${JSON.stringify(labels)}`);
  }
  const filtered = (value) => get(`/api/stats/overview?site=demo&period=today&f=${encodeURIComponent(`prop:pageview\u001fauthor\u001f${value}`)}`);
  assert.ok((await filtered("Bea")).totals.pageviews >= 3, "the visit with Bea's page view, all its page views");
  assert.equal((await filtered("Nobody")).totals.visitors, 0);
  await context.close();
});

test("callbacks are called once: queued, tracking off (DNT, opt-out), no WebAssembly, the module failing to load", async () => {
  const body = `<script>window.__answers = []; vigia("cb-early", { callback: (r) => __answers.push(["early", r]) });
    function later() { vigia("cb-later", { callback: (r) => __answers.push(["later", r]) }); }</script>`;
  const url = sitePage("/callback/", { body });
  // Calls made before the loader ran need the stub the README shows.
  const stub = () => { window.vigia = window.vigia || function () { (window.vigia.q = window.vigia.q || []).push(arguments); }; };
  const cases = [
    ["collecting", null, true],
    ["Do Not Track", () => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" }), false],
    ["opted out", () => localStorage.setItem("vigia_ignore", "true"), false],
    ["no WebAssembly", () => { delete window.WebAssembly; }, false],
    ["module fails", "block", false],
  ];
  for (const [what, init, queued] of cases) {
    const context = await browser.newContext();
    await context.addInitScript(stub);
    if (typeof init === "function") await context.addInitScript(init);
    if (init === "block") await context.route(/\/collector\/.*\.wasm$/, (r) => r.abort());
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.vigia && window.vigia.l);
    await page.evaluate(() => later());
    await page.waitForFunction(() => window.__answers.length >= 2, null, { timeout: 10_000 }).catch(() => {});
    await page.waitForTimeout(300);
    const answers = await page.evaluate(() => window.__answers);
    assert.deepEqual(answers.map(([n]) => n).sort(), ["early", "later"], `${what}: each callback once: ${JSON.stringify(answers)}`);
    assert.ok(answers.every(([, r]) => r.queued === queued), `${what}: ${JSON.stringify(answers)}`);
    await context.close();
  }
});

test("revenue (data-revenue): kept exactly per currency and summed per goal", async () => {
  const url = sitePage("/shop/", {
    attributes: "data-revenue",
    body: `<script>function buy() {
      vigia("Purchase", { revenue: { amount: 19.99, currency: "eur" } });
      vigia("Purchase", { revenue: { amount: "5.01", currency: "EUR" } });
      vigia("Purchase", { revenue: { amount: "12.50", currency: "USD" } });
      vigia("Purchase", { revenue: { amount: "12,50", currency: "USD" } }); // not a decimal: the event stays, without revenue
    }</script>`,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await ready(page);
  await page.evaluate(() => buy());
  await page.goto("about:blank");
  const rows = await stored("/shop/", (r) => r.filter((e) => e.name === "Purchase").length >= 4);
  assert.deepEqual(rows.filter((r) => r.name === "Purchase").map((r) => [r.revenue_micros, r.revenue_currency]),
    [[19990000, "EUR"], [5010000, "EUR"], [12500000, "USD"], [0, ""]]);
  const cookie = await sessionCookie(worker.base, admin);
  const call = (method, path, body) => fetch(`${worker.base}${path}`, {
    method, headers: { Cookie: cookie, "Content-Type": "application/json" }, body: body && JSON.stringify(body),
  });
  assert.equal((await call("POST", "/api/sites/demo/goals", { kind: "event", value: "Purchase" })).status, 201);
  const goals = await eventually(async () => {
    const g = await (await call("GET", "/api/stats/goals?site=demo&period=today")).json();
    const purchase = g.goals.find((x) => x.value === "Purchase");
    return purchase && purchase.conversions >= 4 ? purchase : null;
  }, 20_000, "the goal with its revenue");
  assert.deepEqual(goals.revenue.map((r) => [r.currency, r.amount]).sort(), [["EUR", "25.00"], ["USD", "12.50"]]);
  await context.close();
});

test("outbound and download tracking can be switched off", async () => {
  const body = `<a id="out" href="https://partner.example/x">out</a><a id="file" href="/files/a.zip">file</a>`;
  const context = await browser.newContext();
  await context.route("https://partner.example/**", (r) => r.fulfill({ body: "partner", contentType: "text/html" }));
  await context.route(/\/files\/a\.zip$/, (r) => r.fulfill({ body: "zip", contentType: "text/html" }));
  for (const [path, attributes] of [["/switch-out/", `data-outbound="false"`], ["/switch-dl/", `data-downloads="false"`]]) {
    const page = await context.newPage();
    await page.goto(sitePage(path, { attributes, body }));
    await ready(page);
    await page.click("#out", { modifiers: ["Control"] });
    await page.click("#file", { modifiers: ["Control"] });
    await page.goto("about:blank");
  }
  await stored("/switch-", (r) => r.filter((e) => e.kind === "pageview").length >= 2);
  await settle();
  const rows = await stored("/switch-");
  const clicks = rows.filter((r) => r.kind === "outbound" || r.kind === "download").map((r) => [r.path, r.kind]);
  assert.deepEqual(clicks.sort(), [["/switch-dl/", "outbound"], ["/switch-out/", "download"]]);
  await context.close();
});

test("hash routing: with the site setting on and data-hash, each fragment is a page, stored with it", async () => {
  const cookie = await sessionCookie(worker.base, admin);
  const patch = await fetch(`${worker.base}/api/sites/demo`, {
    method: "PATCH", headers: { Cookie: cookie, "Content-Type": "application/json" },
    body: JSON.stringify({ hash_routing: true }),
  });
  assert.equal(patch.status, 200, await patch.text());
  try {
    const url = sitePage("/hashapp/", { attributes: "data-hash", body: `<a id="settings" href="#/settings">settings</a>` });
    const context = await browser.newContext();
    const page = await context.newPage();
    // The Worker caches a site's settings for a short while (README); a fresh page after it.
    await eventually(async () => {
      await page.goto(url + "#/home");
      await ready(page);
      await page.click("#settings");
      await page.goto("about:blank");
      const rows = await worker.d1("SELECT path FROM events WHERE kind = 'pageview' AND path LIKE '/hashapp/#%'");
      return rows.length >= 2;
    }, 90_000, "fragments stored");
    const rows = await worker.d1("SELECT DISTINCT path FROM events WHERE kind = 'pageview' AND path LIKE '/hashapp/%' ORDER BY path");
    assert.deepEqual(rows.map((r) => r.path).filter((p) => p.includes("#")), ["/hashapp/#/home", "/hashapp/#/settings"]);
    await context.close();
  } finally {
    await fetch(`${worker.base}/api/sites/demo`, {
      method: "PATCH", headers: { Cookie: cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ hash_routing: false }),
    });
  }
});

test("Do Not Track, Global Privacy Control and the opt-out flag send nothing", async () => {
  // Beacons of earlier tests (engagement sent as their pages closed) may still be on their way.
  await settle();
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
    await page.goto(site.url("/demo/"));
    await page.waitForLoadState("networkidle");
    assert.equal(await page.evaluate(() => window.vigia && window.vigia.ready === true), false, `${what}: collector stays off`);
    await page.click("#signup");
    await page.goto(site.url("/demo/about/"));
    assert.equal(posted, 0, `${what}: no request`);
    await context.close();
  }
  await settle();
  assert.equal((await worker.d1("SELECT COUNT(*) AS n FROM events"))[0].n, before);
});

test("works pasted in the body under a strict Content-Security-Policy", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.goto(site.url("/demo/csp/"));
  await ready(page);
  await page.goto("about:blank");
  await stored("/demo/csp/", (r) => r.some((e) => e.kind === "pageview"), "the CSP page's page view");
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
  await page.goto(site.url("/demo/"));
  await page.waitForLoadState("networkidle");
  await page.click("#signup");
  assert.equal(await page.evaluate(() => { vigia("direct-call", { props: { a: 1 } }); return typeof vigia; }), "function");
  assert.deepEqual(errors, []);
  assert.equal(posted, 0);
  await context.close();
});

test("a cookie-free, storage-free visit; what is sent is what the Worker keeps", async () => {
  const context = await browser.newContext();
  await recordSent(context);
  const page = await context.newPage();
  await page.goto(sitePage("/limits/", { body: `<script>function props() {
    const p = { ok: "yes", nested: { a: 1 }, list: [1], nothing: null, long: "é".repeat(200), ["k".repeat(65)]: "long key" };
    for (let i = 0; i < 40; i++) p["p" + i] = i;
    vigia("limits", { props: p });
  }</script>` }));
  await ready(page);
  await page.evaluate(() => props());
  assert.deepEqual(await context.cookies(), []);
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
  await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange"))); // no-op while visible
  await page.evaluate(() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" }); document.dispatchEvent(new Event("visibilitychange")); });
  const [sent] = (await sentEvents(page)).filter((e) => e.name === "limits");
  const rows = await stored("/limits/", (r) => r.some((e) => e.name === "limits"));
  const storedProps = JSON.parse(rows.find((r) => r.name === "limits").props);
  assert.deepEqual(storedProps, sent.props, "the Worker kept every property the collector sent");
  assert.equal(Object.keys(sent.props).length, 30, "at most MAX_PROPS");
  assert.equal(new TextEncoder().encode(sent.props.long).length, 256, "cut at a character boundary");
  assert.ok(!("nested" in sent.props || "list" in sent.props || "nothing" in sent.props));
  await context.close();
});
