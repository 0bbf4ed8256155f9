// The usage agent (vigia-agent's CLI, the same library an app embeds) against the real Worker:
// an offline period then a reconnect, a server that answers 500s and a 429 with Retry-After,
// the agent killed while the answer to a stored batch is held back then restarted, and the
// local log's size bound. Every record must be stored once (rows counted in D1).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT, callApi, freePort, startReceiver, startStack, stopStack } from "./harness.mjs";

const run = promisify(execFile);
const BIN = join(ROOT, "target", "debug", "vigia-agent");
const NOTES = join(ROOT, "target", "debug", "examples", "notes");
// Short backoff so the test's retries happen in seconds (the defaults are 2 s and 15 min).
const FAST = ["--backoff-base-ms", "50", "--backoff-cap-ms", "400"];

let stack, key, receiver;
const dirs = [];
const mails = [];

before(async () => {
  // The CLI is the crate's binary: build it (a no-op when ./vigia test has built it).
  await run("cargo", ["build", "--quiet", "-p", "vigia-agent", "--bins", "--examples"], { cwd: ROOT, maxBuffer: 64 << 20 });
  // A local mail API receives the confirmation mail of an email registration.
  receiver = await startReceiver((req, body, res) => {
    mails.push(body);
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ id: `m${mails.length}` }));
  });
  stack = await startStack({
    cookie: true,
    vars: { VIGIA_EMAIL_PROVIDER: "http", VIGIA_EMAIL_API_URL: `http://127.0.0.1:${receiver.port}/emails`, VIGIA_EMAIL_API_KEY: "test-key" },
  });
  const api = (method, path, body) => callApi(stack.worker.base, method, path, body, { Cookie: stack.cookie });
  const made = await api("POST", "/api/sites", { id: "notes", name: "Notes", kind: "app", hostnames: [] });
  assert.equal(made.status, 201, made.text);
  // An app gets its public key when it is made; its admins read it in the site's settings.
  const detail = await api("GET", "/api/sites/notes");
  assert.equal(detail.status, 200, detail.text);
  key = detail.json.app_key;
  assert.match(key, /^vpk_/);
});

after(async () => {
  await stopStack(stack ?? {});
  await receiver?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "vigia-agent-"));
  dirs.push(d);
  return d;
};

/** Runs the CLI to its end: `{code, out, err}` (a non-zero exit is a result, not a throw). */
async function agent(dir, endpoint, ...args) {
  return agentWithKey(key, dir, endpoint, ...args);
}

async function agentWithKey(appKey, dir, endpoint, ...args) {
  try {
    // The timeout only ends a hung run (the test then fails); nothing is measured by it.
    const { stdout, stderr } = await run(BIN, ["--dir", dir, "--endpoint", endpoint, "--app-key", appKey, ...FAST, ...args], { timeout: 120_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    if (typeof e.code !== "number") throw e;
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

const status = async (dir) => JSON.parse((await agent(dir, "http://127.0.0.1:1", "status")).out);
const rows = async (sql) => (await stack.worker.d1(sql))[0];
const storedNamed = async (prefix) =>
  rows(`SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS seqs, MIN(seq) AS lo, MAX(seq) AS hi FROM app_records WHERE name LIKE '${prefix}%'`);

/** `promise`, or a failure after `ms` (a guard against a hang, not a measure of speed). */
const within = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref())]);

/** A closed port on loopback: connections are refused, as with no network. */
const closedEndpoint = async () => `http://127.0.0.1:${await freePort()}`;

test("offline: records pile up in the log; after the reconnect each is stored once", async () => {
  const dir = newDir();
  const down = await closedEndpoint();
  await agent(dir, down, "record", "feature", "offline_open", "--count", "40");
  await agent(dir, down, "record", "error", "offline_crash", "--count", "5", "--prop", "screen=main");
  const failed = await agent(dir, down, "upload");
  assert.equal(failed.code, 3, `an upload while offline stops and says so: ${failed.out}${failed.err}`);
  assert.ok(JSON.parse(failed.out).stopped);
  // A day later, still offline: more records, the same pending batch.
  const before = await status(dir);
  assert.equal(before.records, 45);
  assert.ok(before.pending_batch, "the batch was cut and kept before the first send");
  await agent(dir, down, "record", "feature", "offline_save", "--count", "10");
  assert.equal((await agent(dir, down, "upload")).code, 3);
  assert.equal((await status(dir)).pending_batch, before.pending_batch, "resent with the same batch id");

  const back = await agent(dir, stack.worker.base, "run", "--until-empty");
  assert.equal(back.code, 0, back.err);
  const report = JSON.parse(back.out);
  assert.equal(report.stored, 55);
  assert.equal(report.duplicates, 0);
  const st = await status(dir);
  assert.deepEqual([st.records, st.pending_batch, st.dropped], [0, null, 0], "acknowledged records left the log");
  const stored = await storedNamed("offline_");
  assert.deepEqual([stored.n, stored.seqs, stored.lo, stored.hi], [55, 55, 1, 55]);
  const errors = await rows(`SELECT COUNT(*) AS n, MIN(props) AS props FROM app_records WHERE kind = 'error' AND name = 'offline_crash'`);
  assert.equal(errors.n, 5);
  assert.deepEqual(JSON.parse(errors.props), { screen: "main" });
  // Nothing left to send: a second run sends nothing and stores nothing more.
  assert.equal(JSON.parse((await agent(dir, stack.worker.base, "upload")).out).batches, 0);
  assert.equal((await storedNamed("offline_")).n, 55);
});

/** A proxy in front of the Worker that misbehaves on cue. `plan` is consumed one step per
 * batch request: "500", "429" (with Retry-After), "hold" (forward to the Worker, keep its
 * answer and answer nothing); after it, requests pass through. */
async function startProxy(plan, retryAfterSeconds) {
  const port = await freePort();
  const seen = [];
  let held = null;
  let heldNotice;
  const heldAnswer = new Promise((r) => (heldNotice = r));
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const step = plan.shift() ?? "pass";
      seen.push({ at: Date.now(), step, batch_id: req.url === "/api/app/batch" ? JSON.parse(body).batch_id : null });
      if (step === "500") return res.writeHead(500, { "Content-Type": "application/json" }).end('{"error":"internal"}');
      if (step === "429") {
        return res.writeHead(429, { "Content-Type": "application/json", "Retry-After": String(retryAfterSeconds) }).end('{"error":"rate_limited"}');
      }
      const answer = await fetch(`${stack.worker.base}${req.url}`, {
        method: req.method,
        headers: { Authorization: req.headers.authorization, "Content-Type": "application/json" },
        body,
      });
      const text = await answer.text();
      if (step === "hold") {
        // The Worker stored the batch and answered; the agent never gets that answer.
        held = res;
        return heldNotice({ status: answer.status, text });
      }
      res.writeHead(answer.status, { "Content-Type": "application/json" }).end(text);
    });
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    heldAnswer,
    stop: () => {
      held?.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

test("500s, a 429 with Retry-After, and a kill while the stored batch's answer is held: stored once", async () => {
  const dir = newDir();
  const RETRY_AFTER = 2;
  const proxy = await startProxy(["500", "500", "429", "hold"], RETRY_AFTER);
  let child;
  try {
    await agent(dir, proxy.endpoint, "record", "feature", "flaky_export", "--count", "30");
    const batchId = async () => (await status(dir)).pending_batch;
    // The uploader loop, as an app's background thread runs it.
    child = spawn(BIN, ["--dir", dir, "--endpoint", proxy.endpoint, "--app-key", key, ...FAST, "run", "--until-empty"], { stdio: "ignore" });
    const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    const held = await within(proxy.heldAnswer, 60_000, "the batch to reach the held step");
    assert.equal(held.status, 200, held.text);
    const first = JSON.parse(held.text);
    assert.deepEqual([first.duplicate, first.stored], [false, 30]);
    // Stored, but the agent never heard: kill it now, as a crash or a power cut would.
    child.kill("SIGKILL");
    assert.equal((await exited).signal, "SIGKILL");
    const pending = await batchId();
    assert.equal(pending, first.batch_id, "the batch is still pending on disk");
    assert.equal((await storedNamed("flaky_")).n, 30);

    // Restarted: the same batch goes again, the Worker knows it, nothing is stored twice.
    const again = await agent(dir, proxy.endpoint, "run", "--until-empty");
    assert.equal(again.code, 0, again.err);
    const report = JSON.parse(again.out);
    assert.deepEqual([report.batches, report.duplicates], [1, 1]);
    assert.equal(report.stored, 30, "a duplicate answers what was stored the first time");

    const ids = proxy.seen.filter((s) => s.batch_id).map((s) => s.batch_id);
    assert.deepEqual(ids, Array(5).fill(first.batch_id), "every try, before and after the kill, carried the same batch id");
    assert.deepEqual(proxy.seen.map((s) => s.step), ["500", "500", "429", "hold", "pass"]);
    // The try after the 429 came no sooner than its Retry-After (a lower bound only).
    const [r429, next] = [proxy.seen[2], proxy.seen[3]];
    assert.ok(next.at - r429.at >= RETRY_AFTER * 1000 - 100, `retried ${next.at - r429.at} ms after a 429 with Retry-After: ${RETRY_AFTER}`);

    const stored = await storedNamed("flaky_");
    assert.deepEqual([stored.n, stored.seqs], [30, 30]);
    const batches = await rows(`SELECT COUNT(*) AS n, SUM(stored) AS stored FROM app_batches WHERE batch_id = '${first.batch_id}'`);
    assert.deepEqual([batches.n, batches.stored], [1, 30], "the batch is recorded once");
    const st = await status(dir);
    assert.deepEqual([st.records, st.pending_batch], [0, null]);
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await proxy.stop();
  }
});

test("the log never grows past its bound offline; what was dropped is reported with the next batch", async () => {
  const dir = newDir();
  const down = await closedEndpoint();
  const BOUND = 16 * 1024;
  const RECORDED = 2000;
  const bound = ["--max-log-bytes", String(BOUND)];
  for (let i = 0; i < 4; i++) {
    await agent(dir, down, ...bound, "record", "feature", "bounded_click", "--count", String(RECORDED / 4));
    assert.ok(statSync(join(dir, "log.bin")).size <= BOUND, "the log file stays under its bound");
  }
  const st = await status(dir);
  assert.ok(st.log_bytes <= BOUND, `log ${st.log_bytes} B over ${BOUND}`);
  assert.ok(st.dropped > 0 && st.records > 0);
  assert.equal(st.records + st.dropped, RECORDED, "every record is either kept or counted as dropped");

  const droppedBefore = (await rows("SELECT COALESCE(SUM(dropped), 0) AS n FROM app_installs")).n;
  const back = await agent(dir, stack.worker.base, ...bound, "run", "--until-empty");
  assert.equal(back.code, 0, back.err);
  const stored = await storedNamed("bounded_");
  assert.equal(stored.n, st.records);
  // The newest records were kept: the oldest seqs were the ones dropped.
  assert.deepEqual([stored.lo, stored.hi], [st.dropped + 1, RECORDED]);
  const droppedAfter = (await rows("SELECT COALESCE(SUM(dropped), 0) AS n FROM app_installs")).n;
  assert.equal(droppedAfter - droppedBefore, st.dropped, "the dropped count reached the server");
  assert.equal((await status(dir)).dropped, 0, "reported, so no longer counted locally");
});

test("the example app embeds the agent: its sessions, features and error reach Vigia at exit; opted out, nothing does", async () => {
  const dir = newDir();
  const notes = async (...args) => {
    try {
      await run(NOTES, args, { timeout: 60_000, env: { ...process.env, NOTES_DIR: dir, VIGIA_ENDPOINT: stack.worker.base, VIGIA_APP_KEY: key } });
      return 0;
    } catch (e) {
      if (typeof e.code !== "number") throw e;
      return e.code;
    }
  };
  const kinds = () => stack.worker.d1(
    "SELECT kind, name, COUNT(*) AS n FROM app_records WHERE session IN (SELECT session FROM app_records WHERE name IN ('add_note', 'list_notes', 'delete_note')) GROUP BY kind, name ORDER BY kind, name");
  assert.equal(await notes("add", "buy", "milk"), 0);
  assert.equal(await notes("delete", "7"), 1, "no note 7: the app fails, and records an error");
  assert.equal(await notes("list"), 0);
  // Each run is a session, ended at exit, and its records were uploaded by shutdown.
  assert.deepEqual((await kinds()).map((r) => [r.kind, r.name, r.n]), [
    ["error", "note_not_found", 1],
    ["feature", "add_note", 1],
    ["feature", "delete_note", 1],
    ["feature", "list_notes", 1],
    ["session_end", "", 3],
    ["session_start", "", 3],
  ]);
  const before = (await rows("SELECT COUNT(*) AS n FROM app_records")).n;
  assert.equal(await notes("--no-usage-stats", "add", "secret"), 0);
  assert.equal(await notes("list"), 0, "the choice is remembered");
  assert.equal((await rows("SELECT COUNT(*) AS n FROM app_records")).n, before, "nothing sent while opted out");
  assert.equal((await status(join(dir, "vigia"))).records, 0, "nothing kept either");
});

test("the user's email is registered with its consent, and erase --remote deletes the install's records", async () => {
  const dir = newDir();
  await agent(dir, stack.worker.base, "record", "feature", "erase_me", "--count", "3");
  assert.equal((await agent(dir, stack.worker.base, "run", "--until-empty")).code, 0);
  assert.equal((await storedNamed("erase_me")).n, 3);

  const CONSENT = "Send me a monthly report of how I use Notes";
  const registered = await agent(dir, stack.worker.base, "register-email", "user@example.com", "--consent", CONSENT);
  assert.equal(registered.code, 0, registered.err);
  const user = await rows("SELECT status, consent FROM app_users WHERE email = 'user@example.com'");
  assert.deepEqual([user.status, user.consent], ["pending", CONSENT], "kept with the consent, unconfirmed until the mailed link is followed");
  assert.ok(mails.some((m) => m.includes("user@example.com")), "a confirmation mail went to the address");
  const wrongKey = await agentWithKey("vpk_00000000000000000000000000000000", dir, stack.worker.base, "register-email", "user@example.com", "--consent", CONSENT);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.err, /401/);

  const erased = await agent(dir, stack.worker.base, "erase", "--remote");
  assert.equal(erased.code, 0, erased.err);
  const said = JSON.parse(erased.out);
  assert.equal(said.installs, 1, "the CLI says what Vigia erased");
  assert.ok(said.records >= 3, `at least the three erase_me records: ${erased.out}`);
  assert.equal((await storedNamed("erase_me")).n, 0, "the install's records are gone from Vigia");
  assert.equal((await status(dir)).records, 0);
  // The other installs' records are untouched.
  assert.equal((await storedNamed("offline_")).n, 55);
});
