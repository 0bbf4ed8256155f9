// ./vigia migrate-storage — moves an existing deployment's raw events out of D1 into the cold
// shards (docs/storage.md): logs in as an instance admin and calls POST /api/admin/seal until
// no site has days left to seal, printing what moved. Safe to stop and run again: each day
// moves whole or not at all. (API tokens are read-only, so this logs in.)
//
//   ./vigia migrate-storage [--url http://127.0.0.1:8787] [--email admin@vigia.local]
//   password: VIGIA_ADMIN_PASSWORD, else the file .vigia/admin-password (`./vigia run` writes it)
import { existsSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const url = (flag("url", process.env.VIGIA_URL) ?? `http://127.0.0.1:${process.env.VIGIA_PORT || 8787}`).replace(/\/$/, "");
process.on("unhandledRejection", (e) => {
  console.error(`migrate-storage: could not reach ${url} (${e?.cause?.code ?? e?.message ?? e}); is Vigia running there?`);
  process.exit(1);
});
const email = flag("email", process.env.VIGIA_ADMIN_EMAIL ?? "admin@vigia.local");
const passwordFile = join(dirname(fileURLToPath(import.meta.url)), "..", ".vigia", "admin-password");
const password = process.env.VIGIA_ADMIN_PASSWORD ?? (existsSync(passwordFile) ? readFileSync(passwordFile, "utf8").trim() : "");
if (!password) {
  console.error("usage: VIGIA_ADMIN_PASSWORD=… ./vigia migrate-storage [--url URL] [--email EMAIL]  (an instance admin)");
  process.exit(2);
}
const login = await fetch(`${url}/api/login`, {
  method: "POST",
  headers: { "Content-Type": "application/json", Origin: url },
  body: JSON.stringify({ email, password }),
});
if (login.status !== 200) {
  console.error(`login as ${email} answered ${login.status}: ${await login.text()}`);
  process.exit(1);
}
const cookie = login.headers.get("set-cookie").split(";")[0];
const iso = (ms) => (ms > 0 ? new Date(ms).toISOString().slice(0, 10) : "-");
let round = 0, days = 0, events = 0;
for (;;) {
  round++;
  const r = await fetch(`${url}/api/admin/seal`, { method: "POST", headers: { Cookie: cookie, Origin: url } });
  const text = await r.text();
  if (r.status !== 200) {
    console.error(`POST /api/admin/seal answered ${r.status}: ${text}`);
    process.exit(1);
  }
  const report = JSON.parse(text);
  for (const s of report.sites) {
    if (s.days > 0) console.log(`  ${s.site}: ${s.days} days, ${s.events} events moved; sealed until ${iso(s.sealed_until)}`);
    days += s.days;
    events += s.events;
  }
  if (!report.more) break;
}
console.log(`migrate-storage: ${days} days and ${events} events moved in ${round} calls; every site is sealed up to the start of yesterday (UTC).`);
