// Browsers, OS and devices end to end: a real Chromium on a second origin sends its own client
// hints (Sec-CH-UA …) with the collector's beacon and is stored as Chrome, a person; posts that
// carry another brand's hints behind Chrome's frozen user agent are stored as that brand.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, stopStack, eventually, snippet, browserHeaders, DESKTOP_CHROME_UA } from "./harness.mjs";

let worker, site, browser;

before(async () => ({ worker, site, browser } = await startStack({ site: true, browser: true })));
after(() => stopStack({ worker, site, browser }));

const storedAt = (path) => eventually(async () => {
  const rows = await worker.d1(`SELECT browser, browser_version, os, os_version, device, bot FROM events WHERE path = '${path}'`);
  return rows.length ? rows[0] : null;
}, 30_000, `the event for ${path}`);

test("a page view from Chromium on another origin arrives as Chrome, with its client hints read", async (t) => {
  site.page("/ua/chromium", `<!doctype html><html><head><meta charset="utf-8"><title>ua</title>
${snippet(worker)}</head><body><h1>ua</h1></body></html>`);
  const context = await browser.newContext();
  const page = await context.newPage();
  const sent = [];
  page.on("request", async (r) => {
    if (r.url().includes("/api/event")) sent.push(await r.allHeaders());
  });
  await page.goto(site.url("/ua/chromium"));
  assert.notEqual(new URL(page.url()).origin, worker.base);
  const row = await storedAt("/ua/chromium");
  // What the browser says of itself to scripts is what its hint headers carry.
  const brands = await page.evaluate(() => navigator.userAgentData?.brands?.map((b) => b.brand) ?? []);
  await context.close();
  assert.ok(brands.length > 0, "Chromium exposes its brands on a secure (localhost) page");
  const beacon = sent.find((h) => h["sec-ch-ua"]);
  assert.ok(beacon, `the beacon carried Sec-CH-UA (saw ${JSON.stringify(sent.map((h) => Object.keys(h)))})`);
  t.diagnostic(`Chromium sent Sec-CH-UA: ${beacon["sec-ch-ua"]}`);
  assert.match(beacon["sec-ch-ua"], /Chromium/);
  assert.equal(beacon["sec-ch-ua-platform"], '"Linux"');
  assert.equal(beacon["sec-ch-ua-mobile"], "?0");
  assert.deepEqual(
    [row.browser, row.browser_version, row.os, row.device, row.bot],
    ["Chrome", "131", "Linux", "desktop", 0],
    "the --user-agent Chrome 131 on Linux, counted as a person",
  );
});

const post = (path, headers) => fetch(`${worker.base}/api/event`, {
  method: "POST",
  headers,
  body: JSON.stringify({ site: "demo", events: [{ kind: "pageview", url: `http://127.0.0.1${path}` }] }),
});

test("a Chrome user agent with Brave's, Edge's or Samsung's hints is stored as that browser", async () => {
  const chromeHeaders = browserHeaders("http://127.0.0.1");
  const withHints = (ua, mobile, platform) => ({
    ...chromeHeaders,
    "Sec-CH-UA": ua,
    "Sec-CH-UA-Mobile": mobile,
    "Sec-CH-UA-Platform": platform,
  });
  const reducedAndroid = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
  const sends = [
    ["/ua/chrome", chromeHeaders],
    ["/ua/brave", withHints('"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"', "?0", '"Linux"')],
    ["/ua/edge", withHints('"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"', "?0", '"Windows"')],
    ["/ua/samsung", {
      ...withHints('"Samsung Internet";v="27.0", "Chromium";v="125", "Not.A/Brand";v="24"', "?1", '"Android"'),
      "User-Agent": reducedAndroid,
    }],
  ];
  for (const [path, headers] of sends) assert.equal((await post(path, headers)).status, 202, path);
  const summary = async (path) => {
    const r = await storedAt(path);
    return `${r.browser} ${r.browser_version} / ${r.os} ${r.os_version} / ${r.device} / bot=${r.bot}`;
  };
  assert.equal(chromeHeaders["User-Agent"], DESKTOP_CHROME_UA);
  assert.equal(await summary("/ua/chrome"), "Chrome 131 / Linux  / desktop / bot=0");
  assert.equal(await summary("/ua/brave"), "Brave 131 / Linux  / desktop / bot=0");
  // The platform hint names the OS the user agent does not (it says Linux here).
  assert.equal(await summary("/ua/edge"), "Edge 131 / Windows  / desktop / bot=0");
  // Reduced Android ("Android 10; K"): the frozen version is not stored.
  assert.equal(await summary("/ua/samsung"), "Samsung Internet 27 / Android  / mobile / bot=0");
});
