// Issue #13 point 7 (tokens and accounts) and point 8 (mail on password change and token
// creation; rate-limited public links): each test performs an attack through the real Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startReceiver, createAdmin, eventually, launchBrowser, sessionCookie } from "./harness.mjs";

/** The public-link limit this Worker runs with (the default is higher; see docs/security-accounts.md). */
const SHARE_LIMIT = 20;
let worker, receiver, admin;
const received = [];

before(async () => {
  receiver = await startReceiver((req, body, res) => {
    received.push(JSON.parse(body));
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ id: `msg-${received.length}` }));
  });
  const port = receiver.port;
  worker = await startWorker({
    vars: (base) => ({
      VIGIA_EMAIL_PROVIDER: "http",
      VIGIA_EMAIL_API_URL: `http://127.0.0.1:${port}/emails`,
      VIGIA_EMAIL_API_KEY: "re_test_key",
      VIGIA_EMAIL_FROM: "Vigia <security@vigia.test>",
      VIGIA_PUBLIC_URL: base,
      VIGIA_SHARE_REQUESTS_PER_MINUTE: String(SHARE_LIMIT),
    }),
  });
  admin = await createAdmin(worker.base);
  admin.cookie = await sessionCookie(worker.base, admin);
});

after(async () => {
  await worker?.stop();
  await receiver?.stop();
});

async function call(method, path, { cookie, body, headers = {} } = {}) {
  const r = await fetch(`${worker.base}${path}`, {
    method,
    headers: { ...(cookie ? { Cookie: cookie } : {}), ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text, headers: r.headers };
}

/** A plain (non-admin) user with a session. */
async function user(name) {
  const email = `${name}@example.com`;
  const password = `${name} password 123`;
  const made = await call("POST", "/api/users", { cookie: admin.cookie, body: { email, password } });
  assert.equal(made.status, 201, made.text);
  return { email, password, id: made.json.id, cookie: await sessionCookie(worker.base, { email, password }) };
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const statsOf = (site, token) => call("GET", `/api/stats/totals?site=${site}&period=today`, { headers: bearer(token) });

test("an API token stops working when its owner changes the password", async () => {
  const ann = await user("ann");
  assert.equal((await call("PUT", "/api/sites/demo/members", { cookie: admin.cookie, body: { email: ann.email, role: "viewer" } })).status, 200);
  const made = await call("POST", "/api/tokens", { cookie: ann.cookie, body: { name: "script" } });
  assert.equal(made.status, 201, made.text);
  assert.equal((await statsOf("demo", made.json.token)).status, 200);
  const changed = await call("POST", "/api/me/password", { cookie: ann.cookie, body: { current: ann.password, new: "ann's new password 456" } });
  assert.equal(changed.status, 200, changed.text);
  const after = await statsOf("demo", made.json.token);
  assert.equal(after.status, 401, "the token of the old password still reads stats");
  assert.deepEqual((await call("GET", "/api/tokens", { cookie: ann.cookie })).json.tokens, [], "revoked tokens are gone from the list");
  // The session that changed the password goes on; it is the one the owner is using.
  assert.equal((await call("GET", "/api/me", { cookie: ann.cookie })).status, 200);
});

test("logout ends the session: its cookie is refused afterwards", async () => {
  const lea = await user("lea");
  assert.equal((await call("POST", "/api/logout", { cookie: lea.cookie })).status, 200);
  assert.equal((await call("GET", "/api/me", { cookie: lea.cookie })).status, 401);
});

test("API tokens expire: a token past its expiry is refused, and no token lives longer than the maximum", async () => {
  const eva = await user("eva");
  assert.equal((await call("PUT", "/api/sites/demo/members", { cookie: admin.cookie, body: { email: eva.email, role: "viewer" } })).status, 200);
  const made = await call("POST", "/api/tokens", { cookie: eva.cookie, body: { name: "short", expires_in_days: 7 } });
  assert.equal(made.status, 201, made.text);
  const week = 7 * 86_400_000;
  assert.ok(Math.abs(made.json.expires_at - (Date.now() + week)) < 60_000, `expires_at ${made.json.expires_at}`);
  const listed = (await call("GET", "/api/tokens", { cookie: eva.cookie })).json.tokens;
  assert.equal(listed[0].expires_at, made.json.expires_at);
  const plain = await call("POST", "/api/tokens", { cookie: eva.cookie, body: { name: "default" } });
  assert.equal(plain.status, 201);
  assert.ok(plain.json.expires_at > Date.now() && plain.json.expires_at < Date.now() + 400 * 86_400_000, "a token without a chosen expiry still expires");
  const forever = await call("POST", "/api/tokens", { cookie: eva.cookie, body: { name: "forever", expires_in_days: 100_000 } });
  assert.deepEqual([forever.status, forever.json.error], [400, "bad_expiry"]);

  assert.equal((await statsOf("demo", made.json.token)).status, 200);
  // Time passes: the token's expiry is reached.
  await worker.d1(`UPDATE api_tokens SET expires_at = ${Date.now() - 1000} WHERE id = ${made.json.id}`);
  const expired = await statsOf("demo", made.json.token);
  assert.equal(expired.status, 401, "an expired token still reads stats");
  assert.equal(expired.json.error, "unauthorized");
  assert.equal((await statsOf("demo", plain.json.token)).status, 200);
});

test("a token scoped to one site cannot read another site the same user can read", async () => {
  const sam = await user("sam");
  assert.equal((await call("PUT", "/api/sites/demo/members", { cookie: admin.cookie, body: { email: sam.email, role: "admin" } })).status, 200);
  assert.equal((await call("POST", "/api/sites", { cookie: sam.cookie, body: { id: "sam-shop", hostnames: ["sam.example"] } })).status, 201);
  const scoped = await call("POST", "/api/tokens", { cookie: sam.cookie, body: { name: "shop only", site: "sam-shop" } });
  assert.equal(scoped.status, 201, scoped.text);
  assert.equal(scoped.json.site, "sam-shop");
  assert.equal((await statsOf("sam-shop", scoped.json.token)).status, 200);
  const other = await statsOf("demo", scoped.json.token);
  assert.ok([403, 404].includes(other.status), `a token scoped to sam-shop read demo: ${other.status} ${other.text}`);
  const exported = await call("GET", "/api/export/events?site=demo&period=today", { headers: bearer(scoped.json.token) });
  assert.ok([403, 404].includes(exported.status), `export of demo: ${exported.status}`);
  // A scope on a site the user cannot read is refused like an unknown site.
  const foreign = await call("POST", "/api/tokens", { cookie: sam.cookie, body: { name: "x", site: "nobodys-site" } });
  assert.deepEqual([foreign.status, foreign.json.error], [404, "site_not_found"]);
});

test("adding an existing account to one's site is an invitation, answered the same as for an unknown email", async () => {
  const amy = await user("amy");
  const bob = await user("bob");
  assert.equal((await call("POST", "/api/sites", { cookie: amy.cookie, body: { id: "amy-shop", hostnames: ["amy.example"] } })).status, 201);
  const known = await call("PUT", "/api/sites/amy-shop/members", { cookie: amy.cookie, body: { email: bob.email, role: "owner" } });
  const unknown = await call("PUT", "/api/sites/amy-shop/members", { cookie: amy.cookie, body: { email: "nobody-here@example.com", role: "owner" } });
  assert.ok(known.status < 300, known.text);
  assert.equal(known.status, unknown.status, "known and unknown emails get the same status");
  assert.deepEqual(known.json, JSON.parse(unknown.text.replaceAll("nobody-here@example.com", bob.email)), "and the same body");
  assert.ok(!("user_id" in known.json), "the answer names no account");

  // Bob is not a member until he accepts.
  const bobSites = async () => (await call("GET", "/api/sites", { cookie: bob.cookie })).json.sites.map((s) => [s.id, s.role]);
  assert.deepEqual(await bobSites(), []);
  assert.equal((await call("GET", "/api/sites/amy-shop", { cookie: bob.cookie })).status, 404);
  const members = (await call("GET", "/api/sites/amy-shop/members", { cookie: amy.cookie })).json;
  assert.deepEqual(members.members.map((m) => m.email), [amy.email]);
  assert.deepEqual(members.invitations.map((i) => [i.email, i.role]).sort(), [[bob.email, "owner"], ["nobody-here@example.com", "owner"]]);
  assert.equal((await call("GET", "/api/sites/amy-shop/reports/subscription", { cookie: bob.cookie })).status, 404);

  // He sees the invitation and accepts it; someone else cannot accept it for him.
  const mine = (await call("GET", "/api/me/invitations", { cookie: bob.cookie })).json.invitations;
  assert.deepEqual(mine.map((i) => [i.site, i.role, i.invited_by]), [["amy-shop", "owner", amy.email]]);
  const eve = await user("eve2");
  assert.equal((await call("POST", `/api/me/invitations/${mine[0].id}/accept`, { cookie: eve.cookie })).status, 404);
  assert.equal((await call("POST", `/api/me/invitations/${mine[0].id}/accept`, { cookie: amy.cookie })).status, 404);
  const accepted = await call("POST", `/api/me/invitations/${mine[0].id}/accept`, { cookie: bob.cookie });
  assert.equal(accepted.status, 200, accepted.text);
  assert.deepEqual(await bobSites(), [["amy-shop", "owner"]]);
  assert.deepEqual((await call("GET", "/api/me/invitations", { cookie: bob.cookie })).json.invitations, []);
  const log = (await call("GET", "/api/audit", { cookie: admin.cookie })).json.entries;
  assert.ok(log.some((e) => e.action === "site_invite_accept" && e.actor_email === bob.email && e.outcome === 200), "the acceptance is in the audit log");

  // Declining: the invitation goes, no membership comes.
  assert.ok((await call("PUT", "/api/sites/amy-shop/members", { cookie: amy.cookie, body: { email: eve.email, role: "viewer" } })).status < 300);
  const [eveInvite] = (await call("GET", "/api/me/invitations", { cookie: eve.cookie })).json.invitations;
  assert.equal((await call("DELETE", `/api/me/invitations/${eveInvite.id}`, { cookie: eve.cookie })).status, 200);
  assert.deepEqual((await call("GET", "/api/sites", { cookie: eve.cookie })).json.sites, []);
});

test("the dashboard shows an invitation under Account, and accepting it there gives access", async () => {
  const dan = await user("dan");
  assert.equal((await call("PUT", "/api/sites/amy-shop/members", { cookie: admin.cookie, body: { email: "amy@example.com", role: "owner" } })).status, 200);
  const amy = { cookie: await sessionCookie(worker.base, { email: "amy@example.com", password: "amy password 123" }) };
  assert.equal((await call("PUT", "/api/sites/amy-shop/members", { cookie: amy.cookie, body: { email: dan.email, role: "viewer" } })).status, 202);
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    const [name, value] = dan.cookie.split("=");
    await context.addCookies([{ name, value, url: worker.base }]);
    const tab = await context.newPage();
    await tab.goto(`${worker.base}/?tab=account`);
    await tab.waitForSelector("#invitations button");
    assert.match(await tab.textContent("#invitations"), /amy-shop as viewer, from amy@example\.com/);
    await tab.click("#invitations button:has-text('Accept')");
    await tab.waitForSelector("#invitations >> text=Accepted");
    assert.deepEqual((await call("GET", "/api/sites", { cookie: dan.cookie })).json.sites.map((s) => [s.id, s.role]), [["amy-shop", "viewer"]]);
    // The token form offers an expiry and a site.
    await tab.fill("#api-tokens input >> nth=0", "from the dashboard");
    await tab.selectOption("#api-tokens select", "30");
    await tab.fill("#api-tokens input >> nth=1", "amy-shop");
    await tab.click("#api-tokens button[type=submit]");
    await tab.waitForSelector("#new-token");
    const [token] = (await call("GET", "/api/tokens", { cookie: dan.cookie })).json.tokens;
    assert.equal(token.site, "amy-shop");
    assert.ok(Math.abs(token.expires_at - (Date.now() + 30 * 86_400_000)) < 120_000);
    assert.match(await tab.textContent("#api-tokens"), /amy-shop only/);
  } finally {
    await browser.close();
  }
});

test("emails with CR/LF and mail headers are refused wherever an email is stored", async () => {
  const payloads = [
    "victim@example.com\r\nBcc: spam-list@evil.example",
    "victim@example.com\nBcc: spam-list@evil.example",
    "victim@example.com%0d%0aBcc:x@evil.example",
    "Victim <victim@example.com>",
    "a@b.c,spam@evil.example",
  ];
  for (const email of payloads) {
    const made = await call("POST", "/api/users", { cookie: admin.cookie, body: { email, password: "some password 123" } });
    assert.deepEqual([made.status, made.json?.error], [400, "bad_email"], `POST /api/users ${JSON.stringify(email)}: ${made.text}`);
    const invited = await call("PUT", "/api/sites/demo/members", { cookie: admin.cookie, body: { email, role: "viewer" } });
    assert.deepEqual([invited.status, invited.json?.error], [400, "bad_email"], `PUT members ${JSON.stringify(email)}: ${invited.text}`);
  }
  const users = (await call("GET", "/api/users", { cookie: admin.cookie })).json.users;
  assert.ok(!users.some((u) => /[\r\n<>,%]/.test(u.email)), JSON.stringify(users));
});

test("a plain user can create only a bounded number of sites; instance admins are not bounded", async () => {
  const cam = await user("cam");
  let created = 0;
  let refused = null;
  for (let i = 0; i < 40 && !refused; i++) {
    const r = await call("POST", "/api/sites", { cookie: cam.cookie, body: { id: `cam-${i}`, hostnames: [`cam${i}.example`] } });
    if (r.status === 201) created++;
    else refused = r;
  }
  assert.ok(refused, `a plain user created ${created} sites without a limit`);
  assert.deepEqual([refused.status, refused.json.error], [403, "too_many_sites"]);
  assert.equal(created, 10, "the limit is MAX_SITES_PER_USER (10)");
  // Deleting one frees a place.
  assert.equal((await call("DELETE", "/api/sites/cam-0", { cookie: cam.cookie })).status, 200);
  assert.equal((await call("POST", "/api/sites", { cookie: cam.cookie, body: { id: "cam-again", hostnames: ["cam.example"] } })).status, 201);
  for (let i = 0; i < 11; i++) {
    const r = await call("POST", "/api/sites", { cookie: admin.cookie, body: { id: `root-${i}`, hostnames: [`root${i}.example`] } });
    assert.equal(r.status, 201, r.text);
  }
});

test("the account owner gets a mail when a token is created and when the password changes", async () => {
  const mo = await user("mo");
  received.splice(0);
  const made = await call("POST", "/api/tokens", { cookie: mo.cookie, body: { name: "nightly export" } });
  assert.equal(made.status, 201);
  const tokenMail = await eventually(() => received.find((m) => m.to[0] === mo.email), 10_000, "the token mail");
  assert.match(tokenMail.subject, /API token/i);
  assert.match(tokenMail.text, /nightly export/);
  assert.ok(!tokenMail.text.includes(made.json.token) && !tokenMail.html.includes(made.json.token), "the mail never carries the token");
  received.splice(0);
  assert.equal((await call("POST", "/api/me/password", { cookie: mo.cookie, body: { current: mo.password, new: "mo's new password 789" } })).status, 200);
  const passwordMail = await eventually(() => received.find((m) => m.to[0] === mo.email), 10_000, "the password mail");
  assert.match(passwordMail.subject, /password/i);
  assert.ok(!JSON.stringify(passwordMail).includes("mo's new password"), "the mail never carries the password");
});

test("public links are rate-limited per address: 429 with Retry-After, other addresses unaffected", async () => {
  const on = await call("POST", "/api/sites/demo/share", { cookie: admin.cookie, body: { enabled: true } });
  const token = new URL(on.json.url).searchParams.get("share");
  const from = (ip) => ({ "CF-Connecting-IP": ip });
  const statuses = [];
  for (let i = 0; i < SHARE_LIMIT; i++) {
    const r = i % 2
      ? await call("GET", `/api/share/${token}`, { headers: from("198.51.100.20") })
      : await call("GET", "/api/stats/totals?site=demo&period=today", { headers: { ...from("198.51.100.20"), "X-Vigia-Share": token } });
    statuses.push(r.status);
  }
  assert.deepEqual(statuses, Array(SHARE_LIMIT).fill(200));
  const limited = await call("GET", `/api/share/${token}`, { headers: from("198.51.100.20") });
  assert.equal(limited.status, 429, "the public link is not rate-limited");
  assert.equal(limited.json.error, "rate_limited");
  const retry = Number(limited.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${limited.headers.get("retry-after")}`);
  const stats = await call("GET", "/api/stats/totals?site=demo&period=today", { headers: { ...from("198.51.100.20"), "X-Vigia-Share": token } });
  assert.equal(stats.status, 429, "stats through the link are limited too");
  // Guessing tokens from the same address is limited the same way.
  assert.equal((await call("GET", `/api/share/${"0".repeat(32)}`, { headers: from("198.51.100.20") })).status, 429);
  // Another address, and the logged-in owner, are not affected.
  assert.equal((await call("GET", `/api/share/${token}`, { headers: from("198.51.100.21") })).status, 200);
  assert.equal((await call("GET", "/api/stats/totals?site=demo&period=today", { cookie: admin.cookie, headers: from("198.51.100.20") })).status, 200);
});

test("site ids and hostnames made only of dots are refused (the URL parser would make such a site unmanageable)", async () => {
  const dot = await user("dot");
  for (const id of [".", "..", "..."]) {
    const r = await call("POST", "/api/sites", { cookie: dot.cookie, body: { id, hostnames: ["dot.example"] } });
    assert.deepEqual([r.status, r.json?.error], [400, "bad_site_id"], `site id ${JSON.stringify(id)}: ${r.text}`);
  }
  assert.equal((await call("POST", "/api/sites", { cookie: dot.cookie, body: { id: "dot-site", hostnames: ["dot.example"] } })).status, 201);
  for (const host of [".", "..", "a..b", ".example.com", "-a.example"]) {
    const r = await call("PATCH", "/api/sites/dot-site", { cookie: dot.cookie, body: { hostnames: [host] } });
    assert.deepEqual([r.status, r.json?.error], [400, "bad_hostnames"], `hostname ${JSON.stringify(host)}: ${r.text}`);
    const c = await call("POST", "/api/sites", { cookie: dot.cookie, body: { hostnames: [host] } });
    assert.equal(c.status, 400, `create with hostname ${JSON.stringify(host)}: ${c.text}`);
  }
  assert.equal((await call("DELETE", "/api/sites/dot-site", { cookie: dot.cookie })).status, 200);
});

test("the last owner of a site cannot remove or demote themselves", async () => {
  const eve = await user("eve-last");
  assert.equal((await call("POST", "/api/sites", { cookie: eve.cookie, body: { id: "eve-last", hostnames: ["evelast.example"] } })).status, 201);
  const removed = await call("DELETE", `/api/sites/eve-last/members/${eve.id}`, { cookie: eve.cookie });
  assert.deepEqual([removed.status, removed.json?.error], [409, "last_owner"], removed.text);
  const demoted = await call("PUT", "/api/sites/eve-last/members", { cookie: eve.cookie, body: { email: eve.email, role: "viewer" } });
  assert.deepEqual([demoted.status, demoted.json?.error], [409, "last_owner"], demoted.text);
  const members = await call("GET", "/api/sites/eve-last/members", { cookie: eve.cookie });
  assert.deepEqual(members.json.members.map((m) => [m.user_id, m.role]), [[eve.id, "owner"]]);
  // With a second owner, one of them may leave.
  const fay = await user("fay-last");
  assert.equal((await call("PUT", "/api/sites/eve-last/members", { cookie: admin.cookie, body: { email: fay.email, role: "owner" } })).status, 200);
  assert.equal((await call("DELETE", `/api/sites/eve-last/members/${eve.id}`, { cookie: eve.cookie })).status, 200);
});

test("the per-user site limit holds against concurrent creates", async () => {
  const gil = await user("gil-race");
  const answers = await Promise.all(Array.from({ length: 25 }, (_, i) =>
    call("POST", "/api/sites", { cookie: gil.cookie, body: { id: `gil-${i}`, hostnames: [`gil${i}.example`] } })));
  const created = answers.filter((r) => r.status === 201).length;
  assert.ok(created <= 10, `${created} sites created concurrently, the limit is 10`);
  for (const r of answers.filter((r) => r.status !== 201)) {
    assert.deepEqual([r.status, r.json?.error], [403, "too_many_sites"], r.text);
    assert.match(r.json.message, /10 sites/);
  }
  const mine = await call("GET", "/api/sites", { cookie: gil.cookie });
  assert.ok(mine.json.sites.length <= 10, `gil owns ${mine.json.sites.length} sites`);
  // No site was left behind without its owner.
  const all = await call("GET", "/api/sites", { cookie: admin.cookie });
  const gils = all.json.sites.filter((s) => s.id.startsWith("gil-")).length;
  assert.equal(gils, mine.json.sites.length, "a refused create left a site behind");
});

test("the pending-invitation limit holds against concurrent invitations", async () => {
  const hal = await user("hal-race");
  assert.equal((await call("POST", "/api/sites", { cookie: hal.cookie, body: { id: "hal-race", hostnames: ["halrace.example"] } })).status, 201);
  const answers = await Promise.all(Array.from({ length: 65 }, (_, i) =>
    call("PUT", "/api/sites/hal-race/members", { cookie: hal.cookie, body: { email: `guest${i}@hal.example`, role: "viewer" } })));
  for (const r of answers.filter((r) => r.status !== 202)) assert.deepEqual([r.status, r.json?.error], [409, "too_many_invitations"], r.text);
  const pending = (await call("GET", "/api/sites/hal-race/members", { cookie: hal.cookie })).json.invitations.length;
  assert.ok(pending <= 50, `${pending} invitations pending, the limit is 50`);
  assert.equal(answers.filter((r) => r.status === 202).length, pending);
});
