// Benchmark: the cost of one login. Times N successful and N failed logins (each failure from
// its own address, so the throttle does not answer them) against the real Worker under
// wrangler dev, whose KDF is WebCrypto's PBKDF2 (native in workerd), next to a trivial route
// and to the same PBKDF2 in Node's WebCrypto (native). The pure-Rust PBKDF2 the Worker used
// before is timed natively by `cargo bench --bench kdf`. Wall time on this machine, not
// Cloudflare's CPU time: read it as an upper bound. Prints; asserts nothing.
import { webcrypto } from "node:crypto";
import { startWorker, createAdmin } from "../tests/e2e/harness.mjs";

const N = Number(process.env.BENCH_LOGINS ?? 20);
const ITERATIONS = 100_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function nodeWebCrypto() {
  const key = await webcrypto.subtle.importKey("raw", new TextEncoder().encode("a long test password"), "PBKDF2", false, ["deriveBits"]);
  const times = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await webcrypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(16), iterations: ITERATIONS }, key, 256);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const worker = await startWorker();
try {
  const admin = await createAdmin(worker.base);
  const time = async (body, ip) => {
    const t0 = performance.now();
    const r = await fetch(`${worker.base}/api/login`, { method: "POST", headers: { "CF-Connecting-IP": ip }, body: JSON.stringify(body) });
    await r.arrayBuffer();
    return { ms: performance.now() - t0, status: r.status };
  };
  // Warm the isolate.
  await time(admin, "192.0.2.1");
  const trivial = [], ok = [], failed = [], unknown = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await (await fetch(`${worker.base}/api/nothing`)).arrayBuffer();
    trivial.push(performance.now() - t0);
    ok.push((await time(admin, "192.0.2.1")).ms);
    failed.push((await time({ email: admin.email, password: `wrong ${i}` }, `198.51.100.${i + 1}`)).ms);
    unknown.push((await time({ email: `nobody${i}@example.com`, password: "wrong" }, `203.0.113.${i + 1}`)).ms);
  }
  const node = await nodeWebCrypto();
  const row = (name, ms) => console.log(`${name.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms`);
  console.log(`login cost, median of ${N} (wall time, wrangler dev on this machine):`);
  row("trivial route (GET /api/nothing, a 404)", median(trivial));
  row("POST /api/login, right password", median(ok));
  row("POST /api/login, wrong password (known email)", median(failed));
  row("POST /api/login, unknown email", median(unknown));
  row(`PBKDF2-SHA256 ${ITERATIONS} iterations, Node WebCrypto (native)`, node);
  console.log("A login is about one KDF over the trivial route; the Free plan allows 10 ms of CPU per request.");
} finally {
  await worker.stop();
}
