#!/usr/bin/env python3
"""Writes the hostile-ingest corpus: tests/corpus/ingest/NNN-name.body plus manifest.json with
the answer the Worker must give each: a 4xx status and error code for a body that cannot be a
batch, or 202 with how many events were accepted and dropped and the problems listed
([event, field, error], at most 20; `problems_omitted` counts the rest). One bad field never
costs a batch (see analytics-core/src/wire.rs). The files are committed; rerun this only to
change the corpus. Site "demo" has hostnames 127.0.0.1 and localhost."""
import json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "ingest")
PAGE = "http://127.0.0.1/"
cases = []

def add(name, body, status, error=None, expect=None):
    if isinstance(body, (dict, list)) or body is None or isinstance(body, (int, float, bool)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    cases.append((name, body, status, error, expect))

def ok(name, body, accepted, dropped=0, problems=(), omitted=0):
    """A batch the Worker takes (202): `accepted` events stored, `dropped` dropped whole, and
    the problems it lists, each (event index, field, error)."""
    add(name, body, 202, None, {"accepted": accepted, "dropped": dropped,
                                "problems": [list(p) for p in problems], "problems_omitted": omitted})

def dropped(name, body, field, error):
    """A one-event batch whose event is dropped: 202, nothing stored."""
    ok(name, body, 0, 1, [(0, field, error)])

def field(name, body, field, error):
    """A one-event batch that loses one field: 202, the event stored."""
    ok(name, body, 1, 0, [(0, field, error)])

def batch(*events, site="demo"):
    return {"site": site, "events": list(events)}

def pv(**extra):
    e = {"kind": "pageview", "url": PAGE}
    e.update(extra)
    return e

valid = json.dumps(batch(pv(referrer="https://duckduckgo.com/", screen_width=1280)))
# 1. truncated JSON
for cut in [1, 5, 10, 20, 30, 45, 60, len(valid) - 2, len(valid) - 1]:
    add(f"truncated-at-{cut}", valid[:cut], 400, "bad_json")
add("truncated-string", '{"site":"demo","events":[{"kind":"pagev', 400, "bad_json")
# 2. wrong types: the batch's own fields refuse the body; an event's only cost it or a field
for v in [1, None, [], {}, True]:
    add(f"site-{type(v).__name__}", {"site": v, "events": [pv()]}, 400, "bad_json")
for v in [{}, "x", 1, None]:
    add(f"events-{type(v).__name__}", {"site": "demo", "events": v}, 400, "bad_json")
for v in ["x", 1, [], None]:
    dropped(f"event-{type(v).__name__}", {"site": "demo", "events": [v]}, "event", "not_an_object")
dropped("kind-number", batch({"kind": 1, "url": PAGE}), "kind", "wrong_type")
dropped("url-number", batch({"kind": "pageview", "url": 5}), "url", "wrong_type")
dropped("url-null", batch({"kind": "pageview", "url": None}), "url", "missing")
dropped("url-array", batch({"kind": "pageview", "url": [PAGE]}), "url", "wrong_type")
field("screen-width-string", batch(pv(screen_width="1280")), "screen_width", "wrong_type")
field("screen-width-negative", batch(pv(screen_width=-1)), "screen_width", "out_of_range")
field("screen-width-float", batch(pv(screen_width=12.5)), "screen_width", "wrong_type")
field("screen-width-overflow", batch(pv(screen_width=2**32)), "screen_width", "out_of_range")
field("engaged-negative", batch(pv(kind="engagement", engaged_ms=-5)), "engaged_ms", "out_of_range")
field("engaged-string", batch(pv(kind="engagement", engaged_ms="5")), "engaged_ms", "wrong_type")
field("engaged-absurd", batch(pv(kind="engagement", engaged_ms=10**12)), "engaged_ms", "out_of_range")
# A number beyond a double is not JSON serde_json can read: the body is not a document.
add("engaged-1e309", '{"site":"demo","events":[{"kind":"engagement","url":"http://127.0.0.1/","engaged_ms":1e309}]}', 400, "bad_json")
field("scroll-101", batch(pv(kind="engagement", scroll=101)), "scroll", "out_of_range")
field("scroll-negative", batch(pv(kind="engagement", scroll=-1)), "scroll", "out_of_range")
field("scroll-string", batch(pv(kind="engagement", scroll="50")), "scroll", "wrong_type")
field("props-array", batch(pv(kind="custom", name="x", props=[1, 2])), "props", "wrong_type")
field("props-string", batch(pv(kind="custom", name="x", props="a=1")), "props", "wrong_type")
field("props-number", batch(pv(kind="custom", name="x", props=7)), "props", "wrong_type")
dropped("name-number", batch(pv(kind="custom", name=5)), "name", "wrong_type")
field("referrer-object", batch(pv(referrer={"a": 1})), "referrer", "wrong_type")
# 3. missing fields and odd bodies
add("no-site", {"events": [pv()]}, 400, "bad_json")
add("no-events", {"site": "demo"}, 400, "bad_json")
dropped("no-kind", batch({"url": PAGE}), "kind", "missing")
dropped("no-url", batch({"kind": "pageview"}), "url", "missing")
ok("empty-events", batch(), 0)
add("empty-site", batch(pv(), site=""), 400, "missing_site")
add("empty-body", b"", 400, "empty_body")
add("whitespace-body", b"   \n\t ", 400, "bad_json")
for lit in ["null", "[]", "{}", "true", '"demo"', "0"]:
    add(f"literal-{lit.strip(chr(34)) or 'string'}", lit, 400, "bad_json")
dropped("custom-without-name", batch({"kind": "custom", "url": PAGE}), "name", "missing_name")
dropped("custom-blank-name", batch(pv(kind="custom", name="   ")), "name", "missing_name")
# 4. huge strings and too many things
dropped("url-3000-bytes", batch(pv(url=PAGE + "a" * 3000)), "url", "field_too_long")
field("referrer-3000-bytes", batch(pv(referrer="https://x.example/" + "r" * 3000)), "referrer", "field_too_long")
field("name-200-bytes", batch(pv(kind="custom", name="n" * 200)), "name", "truncated")
add("site-100-bytes", batch(pv(), site="s" * 100), 400, "field_too_long")
field("prop-key-100-bytes", batch(pv(kind="custom", name="x", props={"k" * 100: 1})), "props." + "k" * 64, "field_too_long")
field("prop-value-300-bytes", batch(pv(kind="custom", name="x", props={"k": "v" * 300})), "props.k", "truncated")
field("31-props", batch(pv(kind="custom", name="x", props={f"k{i}": i for i in range(31)})), "props", "too_many_props")
add("51-events", batch(*[pv() for _ in range(51)]), 413, "too_many_events")
add("10000-events", batch(*[pv() for _ in range(10000)]), 413, "payload_too_large")
add("body-over-32k", batch(pv(kind="custom", name="x", props={"k": "v" * 200}), *[pv(referrer="https://e.example/" + "p" * 1900) for _ in range(17)]), 413, "payload_too_large")
dropped("multibyte-url-over-limit", batch(pv(url=PAGE + "é" * 1100)), "url", "field_too_long")
# 5. unknown sites
for site in ["nope", "DEMO", "demo ", "../../etc/passwd", "demo' OR '1'='1", "demo\"; DROP TABLE sites; --", "*", "%"]:
    add(f"unknown-site-{len(cases)}", batch(pv(), site=site), 404, "not_found")
# 6. wrong hostnames: the site's origin is the batch's, so these still refuse it
for url in ["https://evil.example/", "http://127.0.0.1.evil.example/", "http://sub.127.0.0.1.nip.io/",
            "http://127.0.0.1@evil.example/", "http://xn--80ak6aa92e.com/", "http://127.0.0.2/", "http://[::1]/"]:
    add(f"foreign-host-{len(cases)}", batch(pv(url=url)), 403, "forbidden")
add("one-foreign-event-rejects-the-batch", batch(pv(), pv(url="https://evil.example/")), 403, "forbidden")
# 7. NUL bytes
add("nul-escaped-in-site", batch(pv(), site="de\u0000mo"), 400, "invalid_string")
dropped("nul-escaped-in-name", batch(pv(kind="custom", name="a\u0000b")), "name", "invalid_string")
field("nul-escaped-in-prop", batch(pv(kind="custom", name="x", props={"k": "a\u0000b"})), "props.k", "invalid_string")
field("nul-escaped-in-prop-key", batch(pv(kind="custom", name="x", props={"a\u0000": "b"})), "props.a\u0000", "invalid_string")
add("nul-raw-in-string", b'{"site":"de\x00mo","events":[{"kind":"pageview","url":"http://127.0.0.1/"}]}', 400, "bad_json")
add("nul-raw-after-body", valid.encode() + b"\x00", 400, "bad_json")
# 8. URLs that are not pages
for i, url in enumerate(["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
                         "ftp://127.0.0.1/", "//127.0.0.1/", "/relative", "http://", "not a url", ""]):
    dropped(f"bad-url-{i}", batch(pv(url=url)), "url", "bad_url")
# 9. odd kinds
for i, kind in enumerate(["PAGEVIEW", "", "<script>", "pageview ", "custom\u0000"]):
    dropped(f"unknown-kind-{i}", batch({"kind": kind, "url": PAGE}), "kind", "unknown_kind")
# 10. deep nesting
def nest(depth):
    v = 1
    for _ in range(depth):
        v = {"a": v}
    return v
field("props-nested-2", batch(pv(kind="custom", name="x", props=nest(2))), "props.a", "bad_prop")
field("props-nested-10", batch(pv(kind="custom", name="x", props=nest(10))), "props.a", "bad_prop")
# Deeper than serde_json's 128 levels: the body is not a document it reads.
add("props-nested-200", '{"site":"demo","events":[{"kind":"custom","url":"http://127.0.0.1/","name":"x","props":' + "{\"a\":" * 200 + "1" + "}" * 200 + "}]}", 400, "bad_json")
field("props-array-value", batch(pv(kind="custom", name="x", props={"k": [1, 2]})), "props.k", "bad_prop")
field("props-null-value", batch(pv(kind="custom", name="x", props={"k": None})), "props.k", "bad_prop")
add("array-nested-5000", "[" * 5000 + "]" * 5000, 400, "bad_json")
# 11. encodings
add("invalid-utf8", b'{"site":"demo","events":[{"kind":"custom","name":"\xff\xfe","url":"http://127.0.0.1/"}]}', 400, "bad_json")
add("utf8-bom", b"\xef\xbb\xbf" + valid.encode(), 400, "bad_json")
add("utf16-body", valid.encode("utf-16"), 400, "bad_json")
add("lone-surrogate", '{"site":"demo","events":[{"kind":"custom","name":"\\ud800","url":"http://127.0.0.1/"}]}', 400, "bad_json")
add("duplicate-site-key", '{"site":"demo","site":"demo","events":[{"kind":"pageview","url":"http://127.0.0.1/"}]}', 400, "bad_json")
add("trailing-garbage", valid + "garbage", 400, "bad_json")
add("two-documents", valid + valid, 400, "bad_json")
# 12. hostile but valid: stored as data, escaped when shown
ok("sql-in-path", batch(pv(url=PAGE + "x'%20OR%201=1;--")), 1)
ok("sql-in-name", batch(pv(kind="custom", name="'; DROP TABLE events; --")), 1)
ok("sql-in-prop", batch(pv(kind="custom", name="x", props={"q": "1); DELETE FROM users; --"})), 1)
ok("script-in-path", batch(pv(url=PAGE + "<script>alert(1)</script>")), 1)
ok("script-in-name", batch(pv(kind="custom", name="<script>alert('name')</script>")), 1)
ok("script-in-prop", batch(pv(kind="custom", name="x", props={"html": "<img src=x onerror=alert(1)>"})), 1)
ok("script-in-prop-key", batch(pv(kind="custom", name="x", props={"<b>k</b>": "v"})), 1)
ok("javascript-referrer", batch(pv(referrer="javascript:alert(1)")), 1)
ok("script-referrer", batch(pv(referrer="https://evil.example/<script>")), 1)
ok("emoji-and-rtl", batch(pv(kind="custom", name="sign-up \U0001F680 \u202e\u202d")), 1)
ok("unknown-extra-fields", {"site": "demo", "v": 2, "events": [pv(extra={"a": 1}, title="t")]}, 1)
ok("exactly-50-events", batch(*[pv() for _ in range(50)]), 50)
ok("exactly-30-props", batch(pv(kind="custom", name="x", props={f"k{i}": i for i in range(30)})), 1)
ok("limits-exactly", batch(pv(kind="custom", name="n" * 120, props={"k" * 64: "v" * 256})), 1)
ok("outbound-long-url-name", batch(pv(kind="outbound", name="https://partner.example/" + "p" * 1500)), 1)
ok("localhost-host", batch(pv(url="http://localhost:8080/path")), 1)
ok("all-kinds", batch(pv(), pv(kind="engagement", engaged_ms=1500, scroll=70), pv(kind="outbound", name="https://x.example/"),
                      pv(kind="download", name="http://127.0.0.1/a.pdf"), pv(kind="custom", name="signup", props={"plan": "pro"}),
                      pv(kind="404")), 6)
# 13. one bad event or field among good ones: only it goes
ok("bad-events-among-good", batch(pv(), {"kind": "nope", "url": PAGE}, pv(kind="custom"), pv(screen_width="wide"), "x", pv(kind="custom", name="ok")),
   3, 3, [(1, "kind", "unknown_kind"), (2, "name", "missing_name"), (3, "screen_width", "wrong_type"), (4, "event", "not_an_object")])
ok("bad-props-among-good", batch(pv(kind="custom", name="x", props={"a": 1, "b": None, "c": {"d": 1}, "e": "f" * 300, "g": True})),
   1, 0, [(0, "props.b", "bad_prop"), (0, "props.c", "bad_prop"), (0, "props.e", "truncated")])
ok("31-props-first-sent-kept", batch(pv(kind="custom", name="x", props={f"k{30 - i:02}": i for i in range(31)})),
   1, 0, [(0, "props", "too_many_props")])
ok("repeated-event-field", '{"site":"demo","events":[{"kind":"pageview","url":"http://127.0.0.1/a","url":"http://127.0.0.1/b"}]}',
   1, 0, [(0, "url", "duplicate_key")])
ok("problems-past-the-list", batch(*[{"kind": "nope", "url": PAGE} for _ in range(30)]),
   0, 30, [(i, "kind", "unknown_kind") for i in range(20)], 10)
# 14. page-view properties and revenue
ok("pageview-props", batch(pv(props={"section": "docs", "logged_in": True})), 1)
ok("revenue-decimal-string", batch(pv(kind="custom", name="purchase", revenue={"amount": "12.50", "currency": "eur"})), 1)
ok("revenue-number", batch(pv(kind="custom", name="purchase", revenue={"amount": 19.99, "currency": "USD"})), 1)
ok("revenue-refund", batch(pv(kind="custom", name="refund", revenue={"amount": "-5.00", "currency": "EUR"})), 1)
field("revenue-bad-currency", batch(pv(kind="custom", name="purchase", revenue={"amount": "1", "currency": "EURO"})), "revenue.currency", "bad_currency")
field("revenue-comma-amount", batch(pv(kind="custom", name="purchase", revenue={"amount": "12,50", "currency": "EUR"})), "revenue.amount", "bad_amount")
field("revenue-too-large", batch(pv(kind="custom", name="purchase", revenue={"amount": "10000000.01", "currency": "EUR"})), "revenue.amount", "out_of_range")
field("revenue-on-pageview", batch(pv(revenue={"amount": 1, "currency": "EUR"})), "revenue", "not_allowed")
field("revenue-not-object", batch(pv(kind="custom", name="purchase", revenue="12.50 EUR")), "revenue", "wrong_type")

shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
manifest = []
for i, (name, body, status, error, expect) in enumerate(cases):
    file = f"{i:03d}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in name)[:48]}.body"
    with open(os.path.join(OUT, file), "wb") as f:
        f.write(body)
    manifest.append({"file": file, "status": status, "error": error, **(expect or {})})
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"{len(cases)} cases written to {OUT}")
