//! `enrich-predict`: one JSON case per input line, one JSON answer per output line, in order.
//! The same protocol is spoken by `legacy/` (built against the commit before the enrichment
//! change), so `scripts/bench-accuracy.mjs` can score both on the same cases in one run.
//!
//! Cases (`kind` picks the step):
//! - `{"kind":"ua","user_agent":"…","client_hints":{"sec-ch-ua":"…","sec-ch-ua-mobile":"?0","sec-ch-ua-platform":"\"Windows\""}}`
//!   → `{"browser":"…","browser_version":"…","os":"…","device":"…"}`
//! - `{"kind":"bot","user_agent":"…"}` (the other request signals as a real browser's beacon
//!   carries them, so only what the user agent says is scored) → `{"bot":true,"reason":"…"}`
//! - `{"kind":"referrer","referrer":"…","page":"https://www.example.com/","utm_medium":""}`
//!   → `{"channel":"…","source":"…"}`

mod bots;
mod protocol;
mod referrers;
mod useragents;

pub use protocol::field;

fn main() {
    protocol::serve(protocol::Predictors {
        ua: useragents::predict,
        bot: bots::predict,
        referrer: referrers::predict,
    });
}
