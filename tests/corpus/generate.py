#!/usr/bin/env python3
"""Writes the hostile-ingest corpus: tests/corpus/ingest/NNN-name.body plus manifest.json with
the status and error code the Worker must answer for each. The files are committed; rerun this
only to change the corpus. Site "demo" has hostnames 127.0.0.1 and localhost."""
import json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "ingest")
PAGE = "http://127.0.0.1/"
cases = []

def add(name, body, status, error=None):
    if isinstance(body, (dict, list)) or body is None or isinstance(body, (int, float, bool)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    cases.append((name, body, status, error))

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
# 2. wrong types
for v in [1, None, [], {}, True]:
    add(f"site-{type(v).__name__}", {"site": v, "events": [pv()]}, 400, "bad_json")
for v in [{}, "x", 1, None]:
    add(f"events-{type(v).__name__}", {"site": "demo", "events": v}, 400, "bad_json")
for v in ["x", 1, [], None]:
    add(f"event-{type(v).__name__}", {"site": "demo", "events": [v]}, 400, "bad_json")
add("kind-number", batch({"kind": 1, "url": PAGE}), 400, "bad_json")
add("url-number", batch({"kind": "pageview", "url": 5}), 400, "bad_json")
add("url-null", batch({"kind": "pageview", "url": None}), 400, "bad_json")
add("url-array", batch({"kind": "pageview", "url": [PAGE]}), 400, "bad_json")
add("screen-width-string", batch(pv(screen_width="1280")), 400, "bad_json")
add("screen-width-negative", batch(pv(screen_width=-1)), 400, "bad_json")
add("screen-width-float", batch(pv(screen_width=12.5)), 400, "bad_json")
add("screen-width-overflow", batch(pv(screen_width=2**32)), 400, "bad_json")
add("engaged-negative", batch(pv(kind="engagement", engaged_ms=-5)), 400, "bad_json")
add("engaged-string", batch(pv(kind="engagement", engaged_ms="5")), 400, "bad_json")
add("engaged-absurd", batch(pv(kind="engagement", engaged_ms=10**12)), 400, "out_of_range")
add("engaged-1e309", '{"site":"demo","events":[{"kind":"engagement","url":"http://127.0.0.1/","engaged_ms":1e309}]}', 400, "bad_json")
add("scroll-101", batch(pv(kind="engagement", scroll=101)), 400, "out_of_range")
add("scroll-negative", batch(pv(kind="engagement", scroll=-1)), 400, "bad_json")
add("scroll-string", batch(pv(kind="engagement", scroll="50")), 400, "bad_json")
add("props-array", batch(pv(kind="custom", name="x", props=[1, 2])), 400, "bad_json")
add("props-string", batch(pv(kind="custom", name="x", props="a=1")), 400, "bad_json")
add("props-number", batch(pv(kind="custom", name="x", props=7)), 400, "bad_json")
add("name-number", batch(pv(kind="custom", name=5)), 400, "bad_json")
add("referrer-object", batch(pv(referrer={"a": 1})), 400, "bad_json")
# 3. missing fields and odd bodies
add("no-site", {"events": [pv()]}, 400, "bad_json")
add("no-events", {"site": "demo"}, 400, "bad_json")
add("no-kind", batch({"url": PAGE}), 400, "bad_json")
add("no-url", batch({"kind": "pageview"}), 400, "bad_json")
add("empty-events", batch(), 400, "no_events")
add("empty-site", batch(pv(), site=""), 400, "missing_site")
add("empty-body", b"", 400, "empty_body")
add("whitespace-body", b"   \n\t ", 400, "bad_json")
for lit in ["null", "[]", "{}", "true", '"demo"', "0"]:
    add(f"literal-{lit.strip(chr(34)) or 'string'}", lit, 400, "bad_json")
add("custom-without-name", batch({"kind": "custom", "url": PAGE}), 400, "missing_name")
add("custom-blank-name", batch(pv(kind="custom", name="   ")), 400, "missing_name")
# 4. huge strings and too many things
add("url-3000-bytes", batch(pv(url=PAGE + "a" * 3000)), 400, "field_too_long")
add("referrer-3000-bytes", batch(pv(referrer="https://x.example/" + "r" * 3000)), 400, "field_too_long")
add("name-200-bytes", batch(pv(kind="custom", name="n" * 200)), 400, "field_too_long")
add("site-100-bytes", batch(pv(), site="s" * 100), 400, "field_too_long")
add("prop-key-100-bytes", batch(pv(kind="custom", name="x", props={"k" * 100: 1})), 400, "field_too_long")
add("prop-value-300-bytes", batch(pv(kind="custom", name="x", props={"k": "v" * 300})), 400, "field_too_long")
add("31-props", batch(pv(kind="custom", name="x", props={f"k{i}": i for i in range(31)})), 400, "too_many_props")
add("51-events", batch(*[pv() for _ in range(51)]), 413, "too_many_events")
add("10000-events", batch(*[pv() for _ in range(10000)]), 413, "payload_too_large")
add("body-over-32k", batch(pv(kind="custom", name="x", props={"k": "v" * 200}), *[pv(referrer="https://e.example/" + "p" * 1900) for _ in range(17)]), 413, "payload_too_large")
add("multibyte-url-over-limit", batch(pv(url=PAGE + "é" * 1100)), 400, "field_too_long")
# 5. unknown sites
for site in ["nope", "DEMO", "demo ", "../../etc/passwd", "demo' OR '1'='1", "demo\"; DROP TABLE sites; --", "*", "%"]:
    add(f"unknown-site-{len(cases)}", batch(pv(), site=site), 404, "not_found")
# 6. wrong hostnames
for url in ["https://evil.example/", "http://127.0.0.1.evil.example/", "http://sub.127.0.0.1.nip.io/",
            "http://127.0.0.1@evil.example/", "http://xn--80ak6aa92e.com/", "http://127.0.0.2/", "http://[::1]/"]:
    add(f"foreign-host-{len(cases)}", batch(pv(url=url)), 403, "forbidden")
add("one-foreign-event-rejects-the-batch", batch(pv(), pv(url="https://evil.example/")), 403, "forbidden")
# 7. NUL bytes
add("nul-escaped-in-site", batch(pv(), site="de\u0000mo"), 400, "invalid_string")
add("nul-escaped-in-name", batch(pv(kind="custom", name="a\u0000b")), 400, "invalid_string")
add("nul-escaped-in-prop", batch(pv(kind="custom", name="x", props={"k": "a\u0000b"})), 400, "invalid_string")
add("nul-escaped-in-prop-key", batch(pv(kind="custom", name="x", props={"a\u0000": "b"})), 400, "invalid_string")
add("nul-raw-in-string", b'{"site":"de\x00mo","events":[{"kind":"pageview","url":"http://127.0.0.1/"}]}', 400, "bad_json")
add("nul-raw-after-body", valid.encode() + b"\x00", 400, "bad_json")
# 8. URLs that are not pages
for i, url in enumerate(["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
                         "ftp://127.0.0.1/", "//127.0.0.1/", "/relative", "http://", "not a url", ""]):
    add(f"bad-url-{i}", batch(pv(url=url)), 400, "bad_url")
# 9. odd kinds
for i, kind in enumerate(["PAGEVIEW", "", "<script>", "pageview ", "custom\u0000"]):
    add(f"unknown-kind-{i}", batch({"kind": kind, "url": PAGE}), 400, "unknown_kind")
# 10. deep nesting
def nest(depth):
    v = 1
    for _ in range(depth):
        v = {"a": v}
    return v
add("props-nested-2", batch(pv(kind="custom", name="x", props=nest(2))), 400, "bad_prop")
add("props-nested-10", batch(pv(kind="custom", name="x", props=nest(10))), 400, "bad_prop")
add("props-nested-200", '{"site":"demo","events":[{"kind":"custom","url":"http://127.0.0.1/","name":"x","props":' + "{\"a\":" * 200 + "1" + "}" * 200 + "}]}", 400, "bad_json")
add("props-array-value", batch(pv(kind="custom", name="x", props={"k": [1, 2]})), 400, "bad_prop")
add("props-null-value", batch(pv(kind="custom", name="x", props={"k": None})), 400, "bad_prop")
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
add("sql-in-path", batch(pv(url=PAGE + "x'%20OR%201=1;--")), 202)
add("sql-in-name", batch(pv(kind="custom", name="'; DROP TABLE events; --")), 202)
add("sql-in-prop", batch(pv(kind="custom", name="x", props={"q": "1); DELETE FROM users; --"})), 202)
add("script-in-path", batch(pv(url=PAGE + "<script>alert(1)</script>")), 202)
add("script-in-name", batch(pv(kind="custom", name="<script>alert('name')</script>")), 202)
add("script-in-prop", batch(pv(kind="custom", name="x", props={"html": "<img src=x onerror=alert(1)>"})), 202)
add("script-in-prop-key", batch(pv(kind="custom", name="x", props={"<b>k</b>": "v"})), 202)
add("javascript-referrer", batch(pv(referrer="javascript:alert(1)")), 202)
add("script-referrer", batch(pv(referrer="https://evil.example/<script>")), 202)
add("emoji-and-rtl", batch(pv(kind="custom", name="sign-up \U0001F680 \u202e\u202d")), 202)
add("unknown-extra-fields", {"site": "demo", "v": 2, "events": [pv(extra={"a": 1}, title="t")]}, 202)
add("exactly-50-events", batch(*[pv() for _ in range(50)]), 202)
add("exactly-30-props", batch(pv(kind="custom", name="x", props={f"k{i}": i for i in range(30)})), 202)
add("limits-exactly", batch(pv(kind="custom", name="n" * 120, props={"k" * 64: "v" * 256})), 202)
add("outbound-long-url-name", batch(pv(kind="outbound", name="https://partner.example/" + "p" * 1500)), 202)
add("localhost-host", batch(pv(url="http://localhost:8080/path")), 202)
add("all-kinds", batch(pv(), pv(kind="engagement", engaged_ms=1500, scroll=70), pv(kind="outbound", name="https://x.example/"),
                       pv(kind="download", name="http://127.0.0.1/a.pdf"), pv(kind="custom", name="signup", props={"plan": "pro"}),
                       pv(kind="404")), 202)

shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
manifest = []
for i, (name, body, status, error) in enumerate(cases):
    file = f"{i:03d}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in name)[:48]}.body"
    with open(os.path.join(OUT, file), "wb") as f:
        f.write(body)
    manifest.append({"file": file, "status": status, "error": error})
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"{len(cases)} cases written to {OUT}")
