// Vigia loader: <script defer src="https://HOST/v.js" data-site="SITE_ID"></script>
// It instantiates the collector module without blocking the page and tells it what happens
// (page shown, hidden, focused, scrolled, navigated, clicked); the module decides what is an
// event and what is sent. It never throws into the page, and calls to vigia() made before the
// module is ready are queued and replayed.
(function (w, d, n, h) {
  try {
    // Calls made before this script ran (the optional inline stub) are kept and replayed.
    var s = d.currentScript, q = (w.vigia && w.vigia.q) || [], m, enc, A;
    w.vigia = function () { q.push(arguments) };
    if (!s || typeof WebAssembly != "object" || !h) return;
    A = function (k) { return s.getAttribute("data-" + k) };
    var base = s.src.replace(/\/v\.js(\?.*)?$/, ""), api = A("api") || base + "/api/event";
    // Writes texts one after another into the module's input buffer; returns their lengths.
    var put = function () {
      var at = 0, out = [], i = 0, buf = new Uint8Array(m.memory.buffer, m.input_ptr(), m.input_len());
      for (; i < arguments.length; i++) {
        var r = enc.encodeInto(arguments[i] == null ? "" : "" + arguments[i], buf.subarray(at));
        out.push(r.written); at += r.written;
      }
      return out;
    };
    var now = function () { return performance.now() };
    var send = function (closing) {
      var len = m.flush(now(), closing ? 1 : 0), body, fail;
      if (!len) return;
      body = new Uint8Array(m.memory.buffer, m.output_ptr(), len).slice();
      fail = function () { m.failed() };
      if (!n.sendBeacon(api, body))
        fetch(api, { method: "POST", body: body, keepalive: true }).then(function (r) { r.ok || fail() }, fail);
    };
    var active = function () { m.active(d.visibilityState == "visible" && d.hasFocus() ? 1 : 0, now()) };
    var page = function () {
      var l = put(location.href, d.referrer);
      if (m.page(l[0], l[1], w.innerWidth, now())) send();
    };
    var scroll = function () {
      var e = d.documentElement;
      m.scrolled(w.scrollY, w.innerHeight, Math.max(e.scrollHeight, d.body ? d.body.scrollHeight : 0));
    };
    var custom = function (e, o) {
      var p = o && o.props, l;
      try { p = p ? JSON.stringify(p) : "" } catch (x) { p = "" }
      l = put(e, p);
      if (m.custom(l[0], l[1])) send();
    };
    var click = function (e) {
      var t = e.target, el = t && t.closest && t.closest("[data-vigia-event]"), p = {}, i, a;
      if (el) {
        for (i = 0; i < el.attributes.length; i++) {
          a = el.attributes[i];
          if (a.name.indexOf("data-vigia-prop-") == 0) p[a.name.slice(16)] = a.value;
        }
        custom(el.getAttribute("data-vigia-event"), { props: p });
      }
      el = t && t.closest && t.closest("a[href]");
      if (el && m.link(put(el.href)[0])) send();
    };
    var on = function (t, e, f) { t.addEventListener(e, f, true) }, ls;
    try { ls = w.localStorage.vigia_ignore == "true" } catch (x) {}
    fetch(base + "/collector/collector.wasm")
      .then(function (r) { return r.arrayBuffer() })
      .then(function (b) { return WebAssembly.instantiate(b) })
      .then(function (i) {
        m = i.instance.exports; enc = new TextEncoder();
        var f = (n.doNotTrack == "1" || w.doNotTrack == "1" ? 1 : 0) | (n.globalPrivacyControl === true ? 2 : 0)
          | (A("respect-dnt") != "false" ? 4 : 0) | (A("allow-localhost") != null ? 8 : 0) | (ls ? 16 : 0)
          | (A("hash") != null ? 32 : 0) | (A("404") != null ? 64 : 0);
        var l = put(A("site"), A("query-params"), A("downloads"), location.href);
        if (!m.configure(f, l[0], l[1], l[2], l[3])) return;
        active(); page(); scroll();
        w.vigia = function (e, o) { try { custom(e, o) } catch (x) {} };
        w.vigia.ready = true;
        q.forEach(function (c) { w.vigia(c[0], c[1]) });
        ["pushState", "replaceState"].forEach(function (k) {
          var o = h[k];
          h[k] = function () { var r = o.apply(this, arguments); try { page() } catch (x) {} return r };
        });
        on(w, "popstate", page);
        on(w, "hashchange", page);
        on(w, "scroll", scroll);
        on(w, "focus", active);
        on(w, "blur", active);
        on(d, "click", click);
        on(d, "auxclick", click);
        on(d, "visibilitychange", function () { active(); if (d.visibilityState == "hidden") send(1) });
        on(w, "pagehide", function () { active(); send(1) });
        setInterval(send, 5000);
      })
      .catch(function () {});
  } catch (x) {}
})(window, document, navigator, history);
