//! `enrich-predict-legacy`: the protocol of `enrich-score/src/main.rs`, answered by the
//! enrichment as it was at the commit before the enrichment change (its API is frozen here).
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
