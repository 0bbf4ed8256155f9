// Vigia loader: <script defer src="https://HOST/v.js" data-site="SITE_ID"></script>
// It instantiates the collector module without blocking the page and tells it what happens
// (page shown, hidden, focused, scrolled, navigated, clicked, submitted); the module decides
// what is an event and what is sent. It never throws into the page; calls to vigia() made
// before the module is ready are queued and replayed, and every `callback` is called once,
// also when nothing is collected.
// The opt-in features (manual page views, exclusions, page-view properties from the tag,
// form submissions, revenue) live in extras.js, fetched only when the tag asks for one of them.
// Set when scripts/publish-collector.mjs builds it: WASM_FILE and EXTRAS_FILE, the
// content-hashed names of the module and of extras.js.
((w, d, n, h) => {
  var s = d.currentScript, q = (w.vigia && w.vigia.q) || [], m, enc, A, off, x = {};
  // One collector per page: a snippet pasted twice (by hand and by a tag manager) runs once.
  if (w.vigia && w.vigia.l) return;
  // Calls are answered through their callback, once: `queued` says whether the event was kept.
  var answer = (o, queued) => { try { o && o.callback && o.callback({ queued: queued }) } catch (x) {} };
  // Tracking is off (no WebAssembly, DNT, opt-out, the module failed): answer every call.
  off = () => {
    w.vigia = (e, o) => answer(o, !1);
    w.vigia.l = 1;
    q.forEach((c) => w.vigia(c[0], c[1]));
  };
  try {
    w.vigia = function () { q.push(arguments) };
    w.vigia.l = 1;
    if (!s || typeof WebAssembly != "object" || !h) return off();
    A = (k) => s.getAttribute("data-" + k);
    // data-vigia-prop-* attributes of an element, as properties.
    var props = (el) => {
      var p = {};
      for (var a of el.attributes) a.name.indexOf("data-vigia-prop-") || (p[a.name.slice(16)] = a.value);
      return p;
    };
    var base = s.src.replace(/\/v\.js(\?.*)?$/, ""), api = A("api") || base + "/api/event";
    // Writes texts one after another into the module's input buffer; returns their lengths.
    var put = (...texts) => {
      var at = 0, buf = new Uint8Array(m.memory.buffer, m.input_ptr(), m.input_len());
      return texts.map((t) => {
        var r = enc.encodeInto(t == null ? "" : "" + t, buf.subarray(at));
        at += r.written;
        return r.written;
      });
    };
    var now = () => performance.now();
    // Where the viewport's bottom edge is, and how tall the page is now.
    var geometry = () => [w.scrollY + w.innerHeight, Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0)];
    // Sends what is queued; the module hands out one body per call until none is left.
    // A body the browser would not queue as a beacon goes by fetch, retried once after 5 s
    // when it fails (a 4xx is an answer, not a failure).
    var post = (body, retry) => fetch(api, { method: "POST", body: body, keepalive: !0 })
      .then((r) => { if (r.status > 499) throw 0 })
      .catch(() => retry && setTimeout(() => post(body), 5000));
    var send = (closing) => {
      var len, body;
      m.viewed(...geometry());
      while ((len = m.flush(now(), closing ? 1 : 0))) {
        closing = 0;
        body = new Uint8Array(m.memory.buffer, m.output_ptr(), len).slice();
        n.sendBeacon(api, body) || post(body, 1);
      }
    };
    // An event's properties and revenue as the `,"props":{…},"revenue":{…}` the module puts on
    // it, within the Worker's limits (MAX_PROPS, MAX_PROP_KEY_BYTES, MAX_PROP_VALUE_BYTES are
    // set from ingest-limits when the loader is built): values are strings (cut at a character
    // boundary), finite numbers or booleans; other values, long or NUL-bearing keys and
    // properties past the limit are dropped, as the Worker would drop them.
    var fields = (p, revenue) => {
      var o = {}, count = 0, k, v, t, b, i;
      for (k of Object.keys(p || {})) {
        v = p[k]; t = typeof v;
        if (t == "string" && (b = enc.encode(v)).length > MAX_PROP_VALUE_BYTES) {
          for (i = MAX_PROP_VALUE_BYTES; (b[i] & 192) == 128; i--);
          v = new TextDecoder().decode(b.subarray(0, i));
        }
        if ((t == "string" || t == "boolean" || t == "number" && isFinite(v)) && count < MAX_PROPS
          && k && enc.encode(k).length <= MAX_PROP_KEY_BYTES && !/\0/.test(k + v)) o[k] = v, count++;
      }
      return (count ? ',"props":' + JSON.stringify(o) : "") + (revenue ? ',"revenue":' + revenue : "");
    };
    // Sends when the module says so; tells the callback whether the event was queued.
    var done = (r, o) => { r & 2 && send(); answer(o, !!(r & 1)) };
    var active = () => m.active(d.visibilityState == "visible" && d.hasFocus() ? 1 : 0, now());
    var page = (o, forced) => {
      var u = new URL(o && o.url || location.href, location.href), g = geometry();
      // The page being left is measured now: its engagement is sent before the new one starts.
      m.viewed(...g);
      done(m.page(...put(fields(Object.assign({}, x.props, o && o.props)), u.href, d.referrer), w.innerWidth, now(), ...g,
        (forced ? 1 : 0) | (x.excluded && x.excluded(u.pathname) ? 2 : 0)), o);
    };
    var auto = () => x.manual || page();
    var custom = (e, o = {}) => e == "pageview" ? page(o, 1)
      : done(m.custom(...put(fields(o.props, x.revenue && x.revenue(o.revenue)), e)), o);
    // A tagged element (data-vigia-event) sends its own event and nothing else, at once (a
    // click may leave the page); an http(s) link it is or is inside becomes its `url` property,
    // without the query string (never a mailto: or tel: address).
    var tagged = (el, a) => {
      var p = props(el);
      a && /^http/.test(a.protocol) && (p.url = p.url || a.origin + a.pathname);
      custom(el.getAttribute("data-vigia-event"), { props: p });
      send();
    };
    // A link sends an outbound or download event. Right clicks are not clicks; middle and
    // modifier clicks on links are. A tagged form counts when it is submitted, not clicked.
    var click = (e) => {
      var t = e.target, el;
      if (!t || !t.closest || e.type == "auxclick" && (e.button != 1 || !t.closest("a[href]"))) return;
      el = t.closest("[data-vigia-event]");
      if (el && el.tagName != "FORM") return tagged(el, el.closest("a[href]"));
      el = t.closest("a[href]");
      el && done(m.link(put(el.href)[0]));
    };
    // Forms added after load count too: the listener is on the document. Only the submitted
    // form's own tag counts here (a tagged container counted its click already).
    var submit = (e) => {
      var f = e.target;
      f.hasAttribute && f.hasAttribute("data-vigia-event") ? tagged(f) : x.forms && (custom("Form: Submission"), send());
    };
    var on = (t, e, f) => t.addEventListener(e, f, !0), ls;
    try { ls = w.localStorage.vigia_ignore == "true" } catch (x) {}
    fetch(base + "/collector/" + WASM_FILE)
      .then((r) => r.arrayBuffer())
      .then((b) => WebAssembly.instantiate(b))
      .then((i) => {
        m = i.instance.exports; enc = new TextEncoder();
        var dl = A("downloads");
        var f = (n.doNotTrack == "1" || w.doNotTrack == "1" ? 1 : 0) | (n.globalPrivacyControl === !0 ? 2 : 0)
          | (A("respect-dnt") != "false" ? 4 : 0) | (A("allow-localhost") != null ? 8 : 0) | (ls ? 16 : 0)
          | (A("hash") != null ? 32 : 0) | (A("404") != null ? 64 : 0)
          | (A("outbound") == "false" ? 128 : 0) | (dl == "false" ? 256 : 0);
        if (!m.configure(f, ...put(A("site"), A("query-params"), dl, location.href))) throw 0;
        // A tag that asks for an opt-in feature waits for extras.js; if it cannot load, nothing
        // is collected (an exclusion that failed to load must not count the excluded page).
        return s.getAttributeNames().some((k) => /^data-(manual|exclude|forms|revenue|vigia-prop-)/.test(k))
          && import(base + "/collector/" + EXTRAS_FILE).then((e) => x = e.default(s, props));
      })
      .then(() => {
        active();
        // A prerendered page is counted when the visitor actually opens it.
        d.prerendering ? on(d, "prerenderingchange", auto) : auto();
        w.vigia = (e, o) => { try { custom(e, o) } catch (x) { answer(o, !1) } };
        w.vigia.l = w.vigia.ready = !0;
        q.forEach((c) => w.vigia(c[0], c[1]));
        x.manual || ["pushState", "replaceState"].forEach((k) => {
          var o = h[k];
          h[k] = function () { var r = o.apply(this, arguments); try { auto() } catch (x) {} return r };
        });
        on(w, "popstate", auto);
        on(w, "hashchange", auto);
        on(w, "scroll", () => m.viewed(...geometry()));
        on(w, "focus", active);
        on(w, "blur", active);
        on(d, "click", click);
        on(d, "auxclick", click);
        on(d, "submit", submit);
        on(d, "visibilitychange", () => { active(); d.visibilityState == "hidden" && send(1) });
        on(w, "pagehide", () => { active(); send(1) });
        setInterval(send, 5000);
      })
      .catch(off);
  } catch (x) { off() }
})(window, document, navigator, history);
