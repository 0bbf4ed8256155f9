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
mod referrers;
mod useragents;

use serde_json::{json, Value};
use std::io::{BufRead, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let answer = match case["kind"].as_str() {
            Some("ua") => useragents::predict(&case),
            Some("bot") => bots::predict(&case),
            Some("referrer") => referrers::predict(&case),
            _ => json!({"error": "unknown case kind"}),
        };
        writeln!(out, "{answer}").expect("stdout");
    }
}

/// A string field of a case, empty when absent.
pub fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().unwrap_or("")
}
