// Nothing acknowledged is lost: a bounded load against wrangler dev, SIGKILL mid-load, a
// restart on the same local state, and every acknowledged event in D1 exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventId, startWorker, createAdmin, eventually, browserHeaders } from "./harness.mjs";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CLIENTS = 8;
const MAX_REQUESTS_PER_CLIENT = 40;
const EVENTS_PER_REQUEST = 10;

test("SIGKILL mid-load loses no acknowledged event and duplicates none", async (t) => {
  const first = await startWorker();
  await createAdmin(first.base);
  const acked = [];
  let sent = 0, refused = 0;
  const body = (client, n) => JSON.stringify({
    site: "demo",
    events: Array.from({ length: EVENTS_PER_REQUEST }, (_, k) => ({ kind: "pageview", url: `http://127.0.0.1/load/${client}/${n}/${k}` })),
  });
  // Bounded load on 127.0.0.1 only: CLIENTS loops of at most MAX_REQUESTS_PER_CLIENT requests.
  const client = async (c) => {
    for (let n = 0; n < MAX_REQUESTS_PER_CLIENT; n++) {
      try {
        sent++;
        const r = await fetch(`${first.base}/api/event`, {
          method: "POST",
          body: body(c, n),
          // A visitor (and an address) per request, so neither rate limit answers here.
          headers: { ...browserHeaders("http://127.0.0.1", { ip: `198.18.${c}.${n % 250}` }), "User-Agent": `${UA} load-${c}-${n}`, "Accept-Language": "en" },
        });
        if (r.status === 202) acked.push((await r.json()).request_id);
        else refused++;
      } catch {
        return; // the server is gone
      }
    }
  };
  const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  await eventually(() => acked.length >= 40, 60_000, "40 acknowledged requests");
  await first.kill();
  await load;
  t.diagnostic(`requests sent ${sent}, acknowledged ${acked.length}, refused ${refused} before SIGKILL`);
  assert.ok(acked.length >= 40);

  const second = await startWorker({ state: first.state, migrate: false });
  try {
    // Acknowledged events still in the Durable Object's buffer flush by its (persisted) alarm.
    const rows = await eventually(async () => {
      const rows = await second.d1("SELECT id FROM events");
      return rows.length >= acked.length * EVENTS_PER_REQUEST ? rows : null;
    }, 90_000, "every acknowledged event in D1");
    const ids = rows.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, "an event stored twice");
    const present = new Set(ids);
    const missing = [];
    for (const rid of acked) for (let k = 0; k < EVENTS_PER_REQUEST; k++) if (!present.has(eventId(rid, k))) missing.push(eventId(rid, k));
    assert.deepEqual(missing, []);
    // Rollups were added exactly once per event, retried flushes included.
    const [{ n: rolled }] = await eventually(async () => {
      const r = await second.d1("SELECT COALESCE(SUM(pageviews), 0) AS n FROM rollups_hourly WHERE dimension = 'total'");
      return r[0].n === ids.length ? r : null;
    }, 30_000, "rollups matching the events");
    assert.equal(rolled, ids.length);
    // Anything beyond the acknowledged set was accepted just as the kill landed (written, answer lost).
    assert.ok(ids.length - acked.length * EVENTS_PER_REQUEST <= CLIENTS * EVENTS_PER_REQUEST);
  } finally {
    await second.stop();
  }
});
