// Vigia loader: <script defer src="https://HOST/v.js" data-site="SITE_ID"></script>
// Instantiates the collector wasm without blocking the page, forwards SPA navigations and
// page hides to it, and never throws into the page. Calls to vigia() made before the wasm
// is ready are queued and replayed.
(function (w, d) {
  try {
    var s = d.currentScript, h = w.history;
    if (!s || typeof WebAssembly != "object" || !h) return;
    var base = s.src.replace(/\/v\.js(\?.*)?$/, ""), q = [], api = w.vigia = function (n) { q.push(n) };
    var a = function (n) { return s.getAttribute("data-" + n) };
    import(base + "/collector/collector.js").then(function (m) {
      return m.default(base + "/collector/collector_bg.wasm").then(function () {
        if (!m.start(a("site") || "", a("api") || base + "/api/event", a("allow-localhost") != null, a("respect-dnt") != "false")) return;
        w.vigia = function (n) { try { m.track(String(n)) } catch (e) {} };
        w.vigia.ready = true;
        q.forEach(w.vigia);
        var wrap = function (k) {
          var o = h[k];
          h[k] = function () { var r = o.apply(this, arguments); try { m.nav() } catch (e) {} return r };
        };
        wrap("pushState"); wrap("replaceState");
        w.addEventListener("popstate", function () { m.nav() });
        var f = function () { try { m.flush() } catch (e) {} };
        d.addEventListener("visibilitychange", function () { if (d.visibilityState == "hidden") f() });
        w.addEventListener("pagehide", f);
        setInterval(f, 5000);
      });
    }).catch(function () {});
  } catch (e) {}
})(window, document);
