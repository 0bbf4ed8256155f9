// Writes the hostile-ingest corpus: tests/corpus/ingest/NNN-name.body plus manifest.json with
// the answer the Worker must give each: a 4xx status and error code for a body that cannot be a
// batch, or 202 with how many events were accepted and dropped and the problems listed
// ([event, field, error], at most 20; `problems_omitted` counts the rest). One bad field never
// costs a batch (see analytics-core/src/ingest/wire.rs). The files are committed; rerun this
// (`node tests/corpus/generate.mjs`) only to change the corpus. Site "demo" has hostnames
// 127.0.0.1 and localhost.
//
// Bodies are written as Python's `json.dumps` wrote them when this generator was Python
// (`", "`/`": "` separators, non-ASCII as `\uXXXX`), so the committed files did not change.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "ingest");
const PAGE = "http://127.0.0.1/";
const cases = [];

/** JSON text the way the corpus has always been written (see above). */
function dumps(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") {
    let out = '"';
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      const ch = v[i];
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (ch === "\b") out += "\\b";
      else if (ch === "\f") out += "\\f";
      else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
      else out += ch;
    }
    return out + '"';
  }
  if (Array.isArray(v)) return "[" + v.map(dumps).join(", ") + "]";
  return "{" + Object.entries(v).map(([k, x]) => dumps(k) + ": " + dumps(x)).join(", ") + "}";
}

function add(name, body, status, error = null, expect = null) {
  if (!(body instanceof Uint8Array) && typeof body !== "string") body = dumps(body);
  if (typeof body === "string") body = Buffer.from(body, "utf8");
  cases.push([name, Buffer.from(body), status, error, expect]);
}
/** A batch the Worker takes (202): `accepted` events stored, `dropped` dropped whole, and the
 * problems it lists, each [event index, field, error]. */
function ok(name, body, accepted, dropped = 0, problems = [], omitted = 0) {
  add(name, body, 202, null, { accepted, dropped, problems: problems.map((p) => [...p]), problems_omitted: omitted });
}
/** A one-event batch whose event is dropped: 202, nothing stored. */
const dropped = (name, body, field, error) => ok(name, body, 0, 1, [[0, field, error]]);
/** A one-event batch that loses one field: 202, the event stored. */
const field = (name, body, f, error) => ok(name, body, 1, 0, [[0, f, error]]);
const batch = (events, site = "demo") => ({ site, events });
const pv = (extra = {}) => ({ kind: "pageview", url: PAGE, ...extra });
const range = (n) => Array.from({ length: n }, (_, i) => i);
const fromEntries = (n, f) => Object.fromEntries(range(n).map(f));
/** Python's type names, which name the cases. */
const pyType = (v) => (v === null ? "NoneType" : Array.isArray(v) ? "list" : typeof v === "object" ? "dict" : typeof v === "boolean" ? "bool" : typeof v === "number" ? "int" : "str");

const valid = dumps(batch([pv({ referrer: "https://duckduckgo.com/", screen_width: 1280 })]));
// 1. truncated JSON
for (const cut of [1, 5, 10, 20, 30, 45, 60, valid.length - 2, valid.length - 1]) add(`truncated-at-${cut}`, valid.slice(0, cut), 400, "bad_json");
add("truncated-string", '{"site":"demo","events":[{"kind":"pagev', 400, "bad_json");
// 2. wrong types: the batch's own fields refuse the body; an event's only cost it or a field
for (const v of [1, null, [], {}, true]) add(`site-${pyType(v)}`, { site: v, events: [pv()] }, 400, "bad_json");
for (const v of [{}, "x", 1, null]) add(`events-${pyType(v)}`, { site: "demo", events: v }, 400, "bad_json");
for (const v of ["x", 1, [], null]) dropped(`event-${pyType(v)}`, { site: "demo", events: [v] }, "event", "not_an_object");
dropped("kind-number", batch([{ kind: 1, url: PAGE }]), "kind", "wrong_type");
dropped("url-number", batch([{ kind: "pageview", url: 5 }]), "url", "wrong_type");
dropped("url-null", batch([{ kind: "pageview", url: null }]), "url", "missing");
dropped("url-array", batch([{ kind: "pageview", url: [PAGE] }]), "url", "wrong_type");
field("screen-width-string", batch([pv({ screen_width: "1280" })]), "screen_width", "wrong_type");
field("screen-width-negative", batch([pv({ screen_width: -1 })]), "screen_width", "out_of_range");
field("screen-width-float", batch([pv({ screen_width: 12.5 })]), "screen_width", "wrong_type");
field("screen-width-overflow", batch([pv({ screen_width: 2 ** 32 })]), "screen_width", "out_of_range");
field("engaged-negative", batch([pv({ kind: "engagement", engaged_ms: -5 })]), "engaged_ms", "out_of_range");
field("engaged-string", batch([pv({ kind: "engagement", engaged_ms: "5" })]), "engaged_ms", "wrong_type");
field("engaged-absurd", batch([pv({ kind: "engagement", engaged_ms: 10 ** 12 })]), "engaged_ms", "out_of_range");
// A number beyond a double is not JSON serde_json can read: the body is not a document.
add("engaged-1e309", '{"site":"demo","events":[{"kind":"engagement","url":"http://127.0.0.1/","engaged_ms":1e309}]}', 400, "bad_json");
field("scroll-101", batch([pv({ kind: "engagement", scroll: 101 })]), "scroll", "out_of_range");
field("scroll-negative", batch([pv({ kind: "engagement", scroll: -1 })]), "scroll", "out_of_range");
field("scroll-string", batch([pv({ kind: "engagement", scroll: "50" })]), "scroll", "wrong_type");
field("props-array", batch([pv({ kind: "custom", name: "x", props: [1, 2] })]), "props", "wrong_type");
field("props-string", batch([pv({ kind: "custom", name: "x", props: "a=1" })]), "props", "wrong_type");
field("props-number", batch([pv({ kind: "custom", name: "x", props: 7 })]), "props", "wrong_type");
dropped("name-number", batch([pv({ kind: "custom", name: 5 })]), "name", "wrong_type");
field("referrer-object", batch([pv({ referrer: { a: 1 } })]), "referrer", "wrong_type");
// 3. missing fields and odd bodies
add("no-site", { events: [pv()] }, 400, "bad_json");
add("no-events", { site: "demo" }, 400, "bad_json");
dropped("no-kind", batch([{ url: PAGE }]), "kind", "missing");
dropped("no-url", batch([{ kind: "pageview" }]), "url", "missing");
ok("empty-events", batch([]), 0);
add("empty-site", batch([pv()], ""), 400, "missing_site");
add("empty-body", Buffer.alloc(0), 400, "empty_body");
add("whitespace-body", Buffer.from("   \n\t "), 400, "bad_json");
for (const lit of ["null", "[]", "{}", "true", '"demo"', "0"]) add(`literal-${lit.replaceAll('"', "") || "string"}`, lit, 400, "bad_json");
dropped("custom-without-name", batch([{ kind: "custom", url: PAGE }]), "name", "missing_name");
dropped("custom-blank-name", batch([pv({ kind: "custom", name: "   " })]), "name", "missing_name");
// 4. huge strings and too many things
dropped("url-3000-bytes", batch([pv({ url: PAGE + "a".repeat(3000) })]), "url", "field_too_long");
field("referrer-3000-bytes", batch([pv({ referrer: "https://x.example/" + "r".repeat(3000) })]), "referrer", "field_too_long");
field("name-200-bytes", batch([pv({ kind: "custom", name: "n".repeat(200) })]), "name", "truncated");
add("site-100-bytes", batch([pv()], "s".repeat(100)), 400, "field_too_long");
field("prop-key-100-bytes", batch([pv({ kind: "custom", name: "x", props: { ["k".repeat(100)]: 1 } })]), "props." + "k".repeat(64), "field_too_long");
field("prop-value-300-bytes", batch([pv({ kind: "custom", name: "x", props: { k: "v".repeat(300) } })]), "props.k", "truncated");
field("31-props", batch([pv({ kind: "custom", name: "x", props: fromEntries(31, (i) => [`k${i}`, i]) })]), "props", "too_many_props");
add("51-events", batch(range(51).map(() => pv())), 413, "too_many_events");
add("10000-events", batch(range(10000).map(() => pv())), 413, "payload_too_large");
add("body-over-32k", batch([pv({ kind: "custom", name: "x", props: { k: "v".repeat(200) } }), ...range(17).map(() => pv({ referrer: "https://e.example/" + "p".repeat(1900) }))]), 413, "payload_too_large");
dropped("multibyte-url-over-limit", batch([pv({ url: PAGE + "é".repeat(1100) })]), "url", "field_too_long");
// 5. unknown sites
for (const site of ["nope", "DEMO", "demo ", "../../etc/passwd", "demo' OR '1'='1", 'demo"; DROP TABLE sites; --', "*", "%"]) add(`unknown-site-${cases.length}`, batch([pv()], site), 404, "not_found");
// 6. wrong hostnames: the site's origin is the batch's, so these still refuse it
for (const url of ["https://evil.example/", "http://127.0.0.1.evil.example/", "http://sub.127.0.0.1.nip.io/", "http://127.0.0.1@evil.example/", "http://xn--80ak6aa92e.com/", "http://127.0.0.2/", "http://[::1]/"]) {
  add(`foreign-host-${cases.length}`, batch([pv({ url })]), 403, "forbidden");
}
add("one-foreign-event-rejects-the-batch", batch([pv(), pv({ url: "https://evil.example/" })]), 403, "forbidden");
// 7. NUL bytes
add("nul-escaped-in-site", batch([pv()], "de\u0000mo"), 400, "invalid_string");
dropped("nul-escaped-in-name", batch([pv({ kind: "custom", name: "a\u0000b" })]), "name", "invalid_string");
field("nul-escaped-in-prop", batch([pv({ kind: "custom", name: "x", props: { k: "a\u0000b" } })]), "props.k", "invalid_string");
field("nul-escaped-in-prop-key", batch([pv({ kind: "custom", name: "x", props: { "a\u0000": "b" } })]), "props.a\u0000", "invalid_string");
add("nul-raw-in-string", Buffer.from('{"site":"de\x00mo","events":[{"kind":"pageview","url":"http://127.0.0.1/"}]}', "latin1"), 400, "bad_json");
add("nul-raw-after-body", Buffer.concat([Buffer.from(valid), Buffer.from([0])]), 400, "bad_json");
// 8. URLs that are not pages
["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "ftp://127.0.0.1/", "//127.0.0.1/", "/relative", "http://", "not a url", ""].forEach((url, i) =>
  dropped(`bad-url-${i}`, batch([pv({ url })]), "url", "bad_url"),
);
// 9. odd kinds
["PAGEVIEW", "", "<script>", "pageview ", "custom\u0000"].forEach((kind, i) => dropped(`unknown-kind-${i}`, batch([{ kind, url: PAGE }]), "kind", "unknown_kind"));
// 10. deep nesting
const nest = (depth) => range(depth).reduce((v) => ({ a: v }), 1);
field("props-nested-2", batch([pv({ kind: "custom", name: "x", props: nest(2) })]), "props.a", "bad_prop");
field("props-nested-10", batch([pv({ kind: "custom", name: "x", props: nest(10) })]), "props.a", "bad_prop");
// Deeper than serde_json's 128 levels: the body is not a document it reads.
add("props-nested-200", '{"site":"demo","events":[{"kind":"custom","url":"http://127.0.0.1/","name":"x","props":' + '{"a":'.repeat(200) + "1" + "}".repeat(200) + "}]}", 400, "bad_json");
field("props-array-value", batch([pv({ kind: "custom", name: "x", props: { k: [1, 2] } })]), "props.k", "bad_prop");
field("props-null-value", batch([pv({ kind: "custom", name: "x", props: { k: null } })]), "props.k", "bad_prop");
add("array-nested-5000", "[".repeat(5000) + "]".repeat(5000), 400, "bad_json");
// 11. encodings
add("invalid-utf8", Buffer.concat([Buffer.from('{"site":"demo","events":[{"kind":"custom","name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","url":"http://127.0.0.1/"}]}')]), 400, "bad_json");
add("utf8-bom", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]), 400, "bad_json");
add("utf16-body", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(valid, "utf16le")]), 400, "bad_json");
add("lone-surrogate", '{"site":"demo","events":[{"kind":"custom","name":"\\ud800","url":"http://127.0.0.1/"}]}', 400, "bad_json");
add("duplicate-site-key", '{"site":"demo","site":"demo","events":[{"kind":"pageview","url":"http://127.0.0.1/"}]}', 400, "bad_json");
add("trailing-garbage", valid + "garbage", 400, "bad_json");
add("two-documents", valid + valid, 400, "bad_json");
// 12. hostile but valid: stored as data, escaped when shown
ok("sql-in-path", batch([pv({ url: PAGE + "x'%20OR%201=1;--" })]), 1);
ok("sql-in-name", batch([pv({ kind: "custom", name: "'; DROP TABLE events; --" })]), 1);
ok("sql-in-prop", batch([pv({ kind: "custom", name: "x", props: { q: "1); DELETE FROM users; --" } })]), 1);
ok("script-in-path", batch([pv({ url: PAGE + "<script>alert(1)</script>" })]), 1);
ok("script-in-name", batch([pv({ kind: "custom", name: "<script>alert('name')</script>" })]), 1);
ok("script-in-prop", batch([pv({ kind: "custom", name: "x", props: { html: "<img src=x onerror=alert(1)>" } })]), 1);
ok("script-in-prop-key", batch([pv({ kind: "custom", name: "x", props: { "<b>k</b>": "v" } })]), 1);
ok("javascript-referrer", batch([pv({ referrer: "javascript:alert(1)" })]), 1);
ok("script-referrer", batch([pv({ referrer: "https://evil.example/<script>" })]), 1);
ok("emoji-and-rtl", batch([pv({ kind: "custom", name: "sign-up \u{1F680} \u202e\u202d" })]), 1);
ok("unknown-extra-fields", { site: "demo", v: 2, events: [pv({ extra: { a: 1 }, title: "t" })] }, 1);
ok("exactly-50-events", batch(range(50).map(() => pv())), 50);
ok("exactly-30-props", batch([pv({ kind: "custom", name: "x", props: fromEntries(30, (i) => [`k${i}`, i]) })]), 1);
ok("limits-exactly", batch([pv({ kind: "custom", name: "n".repeat(120), props: { ["k".repeat(64)]: "v".repeat(256) } })]), 1);
ok("outbound-long-url-name", batch([pv({ kind: "outbound", name: "https://partner.example/" + "p".repeat(1500) })]), 1);
ok("localhost-host", batch([pv({ url: "http://localhost:8080/path" })]), 1);
ok("all-kinds", batch([pv(), pv({ kind: "engagement", engaged_ms: 1500, scroll: 70 }), pv({ kind: "outbound", name: "https://x.example/" }),
  pv({ kind: "download", name: "http://127.0.0.1/a.pdf" }), pv({ kind: "custom", name: "signup", props: { plan: "pro" } }), pv({ kind: "404" })]), 6);
// 13. one bad event or field among good ones: only it goes
ok("bad-events-among-good", batch([pv(), { kind: "nope", url: PAGE }, pv({ kind: "custom" }), pv({ screen_width: "wide" }), "x", pv({ kind: "custom", name: "ok" })]),
  3, 3, [[1, "kind", "unknown_kind"], [2, "name", "missing_name"], [3, "screen_width", "wrong_type"], [4, "event", "not_an_object"]]);
ok("bad-props-among-good", batch([pv({ kind: "custom", name: "x", props: { a: 1, b: null, c: { d: 1 }, e: "f".repeat(300), g: true } })]),
  1, 0, [[0, "props.b", "bad_prop"], [0, "props.c", "bad_prop"], [0, "props.e", "truncated"]]);
ok("31-props-first-sent-kept", batch([pv({ kind: "custom", name: "x", props: fromEntries(31, (i) => [`k${String(30 - i).padStart(2, "0")}`, i]) })]),
  1, 0, [[0, "props", "too_many_props"]]);
ok("repeated-event-field", '{"site":"demo","events":[{"kind":"pageview","url":"http://127.0.0.1/a","url":"http://127.0.0.1/b"}]}', 1, 0, [[0, "url", "duplicate_key"]]);
ok("problems-past-the-list", batch(range(30).map(() => ({ kind: "nope", url: PAGE }))), 0, 30, range(20).map((i) => [i, "kind", "unknown_kind"]), 10);
// 14. page-view properties and revenue
ok("pageview-props", batch([pv({ props: { section: "docs", logged_in: true } })]), 1);
ok("revenue-decimal-string", batch([pv({ kind: "custom", name: "purchase", revenue: { amount: "12.50", currency: "eur" } })]), 1);
ok("revenue-number", batch([pv({ kind: "custom", name: "purchase", revenue: { amount: 19.99, currency: "USD" } })]), 1);
ok("revenue-refund", batch([pv({ kind: "custom", name: "refund", revenue: { amount: "-5.00", currency: "EUR" } })]), 1);
field("revenue-bad-currency", batch([pv({ kind: "custom", name: "purchase", revenue: { amount: "1", currency: "EURO" } })]), "revenue.currency", "bad_currency");
field("revenue-comma-amount", batch([pv({ kind: "custom", name: "purchase", revenue: { amount: "12,50", currency: "EUR" } })]), "revenue.amount", "bad_amount");
field("revenue-too-large", batch([pv({ kind: "custom", name: "purchase", revenue: { amount: "10000000.01", currency: "EUR" } })]), "revenue.amount", "out_of_range");
field("revenue-on-pageview", batch([pv({ revenue: { amount: 1, currency: "EUR" } })]), "revenue", "not_allowed");
field("revenue-not-object", batch([pv({ kind: "custom", name: "purchase", revenue: "12.50 EUR" })]), "revenue", "wrong_type");

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const manifest = cases.map(([name, body, status, error, expect], i) => {
  const file = `${String(i).padStart(3, "0")}-${[...name].map((c) => (/[A-Za-z0-9_-]/.test(c) ? c : "_")).join("").slice(0, 48)}.body`;
  writeFileSync(join(OUT, file), body);
  return { file, status, error, ...(expect ?? {}) };
});
writeFileSync(join(OUT, "manifest.json"), pyIndent(manifest));
console.log(`${cases.length} cases written to ${OUT}`);

/** The manifest as Python's json.dump(indent=1) wrote it. */
function pyIndent(v, depth = 0) {
  const pad = (d) => "\n" + " ".repeat(d);
  if (Array.isArray(v)) return v.length ? "[" + v.map((x) => pad(depth + 1) + pyIndent(x, depth + 1)).join(",") + pad(depth) + "]" : "[]";
  if (v && typeof v === "object") {
    const entries = Object.entries(v);
    return entries.length ? "{" + entries.map(([k, x]) => pad(depth + 1) + dumps(k) + ": " + pyIndent(x, depth + 1)).join(",") + pad(depth) + "}" : "{}";
  }
  return dumps(v);
}
