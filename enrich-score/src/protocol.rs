//! The predictor protocol both `enrich-predict` builds speak (see `main.rs`): one JSON case per
//! input line, one JSON answer per output line, in order. Shared by the legacy build through
//! `#[path]`, so the two can only differ in what they answer.

use serde_json::{json, Value};
use std::io::{BufRead, Write};

/// What a build answers for each kind of case.
pub struct Predictors {
    pub ua: fn(&Value) -> Value,
    pub bot: fn(&Value) -> Value,
    pub referrer: fn(&Value) -> Value,
}

/// Answers every case on stdin, in order.
pub fn serve(p: Predictors) {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let answer = match case["kind"].as_str() {
            Some("ua") => (p.ua)(&case),
            Some("bot") => (p.bot)(&case),
            Some("referrer") => (p.referrer)(&case),
            _ => json!({"error": "unknown case kind"}),
        };
        writeln!(out, "{answer}").expect("stdout");
    }
}

/// A string field of a case, empty when absent.
pub fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().unwrap_or("")
}
