// Importing history (issue #16, "Must show" 2) through the real Worker under wrangler dev and
// the real CLI (`./vigia import`): Plausible's own sample export files (tests/fixtures/plausible,
// see its README) land in rollups_daily marked imported, in the site's time zone; a second run
// (from a zip this time) leaves exactly the same rows; the overview counts the imported days;
// a viewer, a token of another site and a stranger cannot import; a malformed file is refused
// with a clear JSON error and writes nothing.
//
// Until the daily-rollups reader is merged, the rows are checked in D1 directly; the overview's
// `imported_days` is the API's view of them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { ROOT, OUTPUT, startStack, stopStack, sessionCookie, launchBrowser } from "./harness.mjs";

const FIXTURES = join(ROOT, "tests", "fixtures", "plausible");
const ZONE = "America/New_York";
const HOUR = 3_600_000;
let stack, base, work;

/** Calls the API with a session cookie or a bearer token. */
async function call(method, path, { cookie, token, body, type = "application/json" } = {}) {
  const headers = { "Content-Type": type };
  if (cookie) headers.Cookie = cookie;
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${base}${path}`, {
    method, headers, body: body === undefined ? undefined : typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text };
}

/** `./vigia import …`: { code, stdout, stderr }. */
function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile("bash", [join(ROOT, "vigia"), "import", ...args], { cwd: ROOT, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

/** A zip of the files (stored entries, as Plausible's own export writes them). */
function zip(files) {
  const locals = [], centrals = [];
  let offset = 0;
  for (const { name, data } of files) {
    const n = Buffer.from(name);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0); head.writeUInt16LE(20, 4);
    head.writeUInt32LE(crc32(data), 14); head.writeUInt32LE(data.length, 18); head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc32(data), 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(head, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

const imported = () => stack.worker.d1(
  "SELECT day, dimension, value, visitors, pageviews, visits, bounces, duration_ms, engaged_ms, events " +
  "FROM rollups_daily WHERE site_id = 'demo' AND imported = 1 ORDER BY dimension, day, value");

let adminToken;

before(async () => {
  stack = await startStack({ cookie: true });
  base = stack.worker.base;
  work = mkdtempSync(join(tmpdir(), "vigia-import-"));
  const zone = await call("PATCH", "/api/sites/demo", { cookie: stack.cookie, body: { timezone: ZONE } });
  assert.equal(zone.status, 200, zone.text);
  const t = await call("POST", "/api/tokens", { cookie: stack.cookie, body: { name: "import", site: "demo" } });
  assert.equal(t.status, 201, t.text);
  adminToken = t.json.token;
});

after(async () => {
  await stopStack(stack);
  rmSync(work, { recursive: true, force: true });
});

test("./vigia import loads Plausible's export into daily rollups in the site's zone, and again gives the same rows", async () => {
  const first = await cli(["--site", "demo", "--url", base, "--token", adminToken, FIXTURES]);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.match(first.stdout, /10 of 10 files imported/);
  assert.match(first.stdout, /imported_visitors_20111225_20111230\.csv: 6 rows imported into imported_visitors, 6 days 2011-12-25\.\.2011-12-30/);
  const rows = await imported();
  const sum = (dimension, field) => rows.filter((r) => r.dimension === dimension).reduce((s, r) => s + r[field], 0);
  // Plausible's own test of these files counts 99 page views.
  assert.equal(sum("total", "pageviews"), 99);
  assert.equal(sum("total", "visitors"), 22);
  // Every table reached its dimension(s); cities are not imported (GeoNames ids).
  const dims = [...new Set(rows.map((r) => r.dimension))].sort();
  assert.deepEqual(dims, ["browser", "country", "device", "entry_page", "event", "exit_page", "os", "page",
    "region", "source", "total", "utm_medium", "utm_term"]);
  const find = (dimension, value, date) =>
    rows.find((r) => r.dimension === dimension && r.value === value && r.day === Date.parse(`${date}T00:00:00Z`) + 5 * HOUR);
  // Days are New York's midnights (UTC-5 in December).
  assert.deepEqual(
    [find("total", "", "2011-12-25")].map((r) => [r.visitors, r.pageviews, r.bounces, r.visits, r.duration_ms]),
    [[5, 50, 2, 7, 8_640_000]]);
  assert.equal(find("browser", "Mobile App", "2021-12-30").visitors, 7, "split rows of one value are summed");
  assert.equal(find("os", "macOS", "2021-12-30").visitors, 13);
  assert.equal(find("source", "Direct", "2021-12-30").visitors, 25);
  assert.equal(find("event", "Signup", "2021-12-30").events, 82);
  assert.equal(find("country", "US", "2021-12-30").visits, 9);

  // The overview names the days whose figures come from the import.
  const overview = await call("GET", "/api/stats/overview?site=demo&period=custom&from=2011-12-20&to=2011-12-31",
    { cookie: stack.cookie });
  assert.equal(overview.status, 200, overview.text);
  assert.equal(overview.json.imported_days, 6);

  // Again, from the zip Plausible's "Export data" gives: the same rows, nothing added.
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".csv")).map((name) => ({ name, data: readFileSync(join(FIXTURES, name)) }));
  const archive = join(work, "plausible_export.zip");
  writeFileSync(archive, zip(files));
  const second = await cli(["--site", "demo", "--url", base, archive], { VIGIA_TOKEN: adminToken });
  assert.equal(second.code, 0, second.stderr + second.stdout);
  assert.match(second.stdout, /10 of 10 files imported/);
  assert.deepEqual(await imported(), rows);

  // Recorded in the site's audit log, with the table named.
  const entries = await stack.worker.d1("SELECT action, site_id, outcome, details FROM audit_log WHERE action = 'import'");
  assert.equal(entries.length, 20);
  assert.ok(entries.every((e) => e.site_id === "demo" && e.outcome === 200), JSON.stringify(entries[0]));
  assert.match(entries[0].details, /imported_/);
});

test("the dashboard says next to the range that it includes imported data", async () => {
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tab = await context.newPage();
    await tab.goto(`${base}/?site=demo&period=custom&from=2011-12-20&to=2011-12-31`);
    await tab.fill("input[name=email]", stack.admin.email);
    await tab.fill("input[name=password]", stack.admin.password);
    await tab.click("button[type=submit]");
    const range = tab.locator("p.range");
    await range.waitFor();
    assert.match(await range.textContent(), /includes imported data on 6 of these days/);
    mkdirSync(OUTPUT, { recursive: true });
    await tab.screenshot({ path: join(OUTPUT, "import-marker.png") });
    // A range without imported days says nothing about imports.
    await tab.goto(`${base}/?site=demo&period=custom&from=2012-01-01&to=2012-01-31`);
    await tab.locator("p.range").waitFor();
    assert.doesNotMatch(await tab.locator("p.range").textContent(), /imported/);
    await context.close();
  } finally {
    await browser.close();
  }
});

test("a viewer, a token of another site and a stranger cannot import into the site", async () => {
  const before = await imported();
  const visitors = readFileSync(join(FIXTURES, "imported_visitors_20111225_20111230.csv"));
  const path = "/api/sites/demo/import?format=plausible&table=imported_visitors_20111225_20111230.csv";
  const user = async (email) => {
    const password = `${email} password`;
    const made = await call("POST", "/api/users", { cookie: stack.cookie, body: { email, password } });
    assert.ok([200, 201].includes(made.status), made.text);
    return sessionCookie(base, { email, password });
  };
  const tokenOf = async (cookie, site) => {
    const t = await call("POST", "/api/tokens", { cookie, body: { name: "t", ...(site ? { site } : {}) } });
    assert.equal(t.status, 201, t.text);
    return t.json.token;
  };
  // A viewer of demo.
  const vera = await user("vera.viewer@example.com");
  // The instance admin adds an existing user directly.
  const added = await call("PUT", "/api/sites/demo/members", { cookie: stack.cookie, body: { email: "vera.viewer@example.com", role: "viewer" } });
  assert.equal(added.status, 200, added.text);
  const asViewer = await call("POST", path, { token: await tokenOf(vera, "demo"), body: visitors, type: "text/csv" });
  assert.equal(asViewer.status, 403, asViewer.text);
  const viewerCookie = await call("POST", path, { cookie: vera, body: visitors, type: "text/csv" });
  assert.equal(viewerCookie.status, 403, viewerCookie.text);
  // The owner of another site, with a token scoped to it, and with an unscoped one.
  const olga = await user("olga.other@example.com");
  assert.equal((await call("POST", "/api/sites", { cookie: olga, body: { id: "other", hostnames: ["other.example"] } })).status, 201);
  const scoped = await call("POST", path, { token: await tokenOf(olga, "other"), body: visitors, type: "text/csv" });
  assert.equal(scoped.status, 403, scoped.text);
  const unscoped = await call("POST", path, { token: await tokenOf(olga, null), body: visitors, type: "text/csv" });
  assert.equal(unscoped.status, 404, unscoped.text);
  // The real CLI with a viewer's token says no and exits 1.
  const refused = await cli(["--site", "demo", "--url", base, "--token", await tokenOf(vera, "demo"),
    join(FIXTURES, "imported_visitors_20111225_20111230.csv")]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refused \(403\)/);
  // Nobody's attempt wrote anything; another site's owner imports into their own site only.
  assert.deepEqual(await imported(), before);
  const own = await call("POST", path.replace("/demo/", "/other/"), { token: await tokenOf(olga, "other"), body: visitors, type: "text/csv" });
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(await imported(), before);
});

test("a malformed file is refused with a clear JSON error and writes nothing", async () => {
  const before = await imported();
  const post = (table, body, format = "plausible") =>
    call("POST", `/api/sites/demo/import?format=${format}&table=${encodeURIComponent(table)}`, { token: adminToken, body, type: "text/csv" });
  // Plausible's own invalid sample: no row can be read.
  const invalid = readFileSync(join(FIXTURES, "invalid", "imported_devices_20211230_20211231.csv"));
  const bad = await post("imported_devices_20211230_20211231.csv", invalid);
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.json.error, "no_valid_rows");
  assert.match(bad.json.message, /wrong_cell_count/);
  const missing = await post("imported_pages.csv", "date,visitors\n2021-12-30,3\n");
  assert.equal(missing.status, 400);
  assert.equal(missing.json.error, "missing_columns");
  assert.match(missing.json.message, /page/);
  const unknown = await post("imported_scroll_depth.csv", "date\n");
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.error, "unknown_table");
  const format = await post("x.csv", "a\n", "matomo");
  assert.equal(format.status, 400);
  assert.equal(format.json.error, "bad_format");
  const binary = await post("imported_pages.csv", Buffer.from([0xff, 0xfe, 0x00, 0x41]));
  assert.equal(binary.status, 400);
  assert.equal(binary.json.error, "not_utf8");
  const big = await post("imported_pages.csv", Buffer.alloc(8 * 1024 * 1024 + 1, 0x41));
  assert.equal(big.status, 413);
  assert.equal(big.json.error, "payload_too_large");
  // The devices imported before are untouched by the refused file of the same table and days.
  assert.deepEqual(await imported(), before);
  // Through the CLI: exit 1 and the reason.
  const cliBad = await cli(["--site", "demo", "--url", base, "--token", adminToken, join(FIXTURES, "invalid")]);
  assert.equal(cliBad.code, 1);
  assert.match(cliBad.stderr, /refused \(422\) no_valid_rows/);

  // Vigia's own export of today: live ingest's days, not history — read, counted, not stored
  // (tests/e2e/seal.test.mjs moves older history between sites).
  const exported = await fetch(`${base}/api/export/events?site=demo&period=today`, { headers: { Authorization: `Bearer ${adminToken}` } });
  assert.equal(exported.status, 200);
  const exportedText = await exported.text();
  const own = await post("events.csv", exportedText, "vigia");
  const lines = exportedText.trim().split("\n").length - 1;
  if (lines > 0) {
    assert.equal(own.status, 200, own.text);
    assert.equal(own.json.rows_imported, 0);
    assert.equal(own.json.rows_skipped, lines);
  } else {
    assert.equal(own.status, 422, own.text);
  }
  const notExport = await post("events.csv", "time,kind\n2024-01-01T00:00:00Z,pageview\n", "vigia");
  assert.equal(notExport.status, 400);
  assert.equal(notExport.json.error, "missing_columns");

  // A file with some bad rows keeps the good ones and counts the rest.
  const mixed = await post("imported_devices_20220110_20220111.csv",
    "date,device,visitors,visits\n2022-01-10,Desktop,4,5\n2022-01-10,Mobile,many,1\n2022-01-32,Tablet,1,1\n");
  assert.equal(mixed.status, 200, mixed.text);
  assert.deepEqual([mixed.json.rows_imported, mixed.json.rows_skipped, mixed.json.skipped_reasons],
    [1, 2, { bad_date: 1, bad_number: 1 }]);
  assert.deepEqual(mixed.json.skipped, [{ line: 3, reason: "bad_number" }, { line: 4, reason: "bad_date" }]);
});
