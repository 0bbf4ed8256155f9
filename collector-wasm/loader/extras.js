// Vigia's opt-in collector features, fetched by v.js only when the script tag asks for one of
// them (so the default snippet stays small):
//   data-manual                 no automatic page views; the page calls vigia('pageview', {url})
//   data-exclude="/a/*, /b/**"  pages not collected: * is any text within a path segment,
//                               ** any text across segments
//   data-vigia-prop-NAME="v"    a property of every page view
//   data-forms                  every form submission is a "Form: Submission" event
//   data-revenue                vigia(name, {revenue: {amount, currency}}) carries revenue
// It returns what v.js asks it; `props` is v.js's reader of an element's data-vigia-prop-*
// attributes. MAX_REVENUE_AMOUNT_BYTES and MAX_REVENUE_UNITS are set from
// ingest-limits/src/lib.rs when scripts/publish-collector.mjs builds it.
export default (s, props) => {
  var A = (k) => s.getAttribute("data-" + k);
  var patterns = (A("exclude") || "").split(",").map((p) => p.trim()).filter((p) => p)
    .map((p) => RegExp("^" + p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*\*?/g, (x) => x[1] ? ".*" : "[^/]*") + "$"));
  return {
    manual: A("manual") != null,
    forms: A("forms") != null,
    props: props(s),
    excluded: (path) => patterns.some((r) => r.test(path)),
    // Revenue the Worker keeps (a decimal amount within its limits and an ISO 4217 code), as
    // the JSON the module puts on the event; anything else is dropped, the event kept.
    revenue: (r) => {
      var amount = r && "" + r.amount, currency = r && r.currency;
      return A("revenue") != null && /^-?\d+(\.\d+)?$/.test(amount) && amount.length <= MAX_REVENUE_AMOUNT_BYTES
        && Math.abs(amount) <= MAX_REVENUE_UNITS && /^[a-z]{3}$/i.test(currency)
        && JSON.stringify({ amount: amount, currency: currency.toUpperCase() });
    },
  };
};
