//! Prints the storage bench's generated events (benches/support/generate.rs, the generator
//! `benches/storage.rs` loads natively) as NDJSON lines of `EnrichedEvent`, the body of
//! `POST /api/sites/{site}/import/events`, for scripts/bench-overview.mjs.
//!
//! `cargo run --release -p analytics-core --example bench_events -- EVENTS FIRST_DAY [SITE]`
//! (FIRST_DAY as YYYY-MM-DD, UTC; the events cover 60 days from it; SITE defaults to "demo").

#[path = "../benches/support/generate.rs"]
mod generate;

use analytics_core::stats::DAY_MS;
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_events EVENTS FIRST_DAY(YYYY-MM-DD) [SITE]";
    let total: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{usage}"));
    let first: jiff::civil::Date = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{usage}"));
    let site = args.get(2).map(String::as_str).unwrap_or("demo");
    let start = first
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(start % DAY_MS, 0);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut generator = generate::Generator::new(site, start, total);
    while let Some((_, events, _)) = generator.next_day() {
        for e in &events {
            // A closed pipe (the reader stopped) ends the run quietly.
            if serde_json::to_writer(&mut out, e).is_err() || out.write_all(b"\n").is_err() {
                return;
            }
        }
    }
    let _ = out.flush();
}
