//! The storage bench's event generator, shared by `benches/storage.rs` (native) and
//! `examples/bench_events.rs` (NDJSON for the bulk import route, scripts/bench-overview.mjs),
//! so both load the same data: per UTC day, sessions of 1–8 events from a pool of visitors,
//! 20 × 400 paths, 5 sources, 5 browser/OS/device triples, 9 countries. Sessions are assigned
//! as the site's Durable Object does (`rollup::apply`), which also yields the hourly rollup
//! deltas.

use analytics_core::ingest::event::{EnrichedEvent, EventKind};
use analytics_core::stats::rollup::{self, Delta, OpenSession, SeenSet};
use analytics_core::stats::{DAY_MS, HOUR_MS};
use std::collections::{HashMap, HashSet};

/// Days of generated history.
pub const DAYS: i64 = 60;

pub struct Rng(pub u64);
impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The set of counted uniques for the day being generated (the Durable Object prunes the same way).
struct DaySeen(HashSet<String>);
impl SeenSet for DaySeen {
    fn first(&mut self, key: &str) -> bool {
        self.0.insert(key.to_string())
    }
}

/// A visitor's daily hash as ingest writes it: 32 hex digits, all of them varying (a shard
/// keeps the first 16 as an integer, so a hash with leading zeros would merge visitors).
fn visitor_hash(id: u64) -> String {
    format!("{:016x}{id:016x}", id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// One day's events in time order: sessions of 1–8 events from a pool of visitors.
pub fn day_events(
    rng: &mut Rng,
    site: &str,
    start: i64,
    day: i64,
    count: usize,
    next_id: &mut u64,
) -> Vec<EnrichedEvent> {
    const PAGES: usize = 400;
    let sources = [
        ("Direct", "direct"),
        ("Google", "search"),
        ("Twitter", "social"),
        ("news.example", "referral"),
        ("DuckDuckGo", "search"),
    ];
    let browsers = [
        ("Chrome", "Windows 10", "desktop"),
        ("Safari", "iPhone", "mobile"),
        ("Firefox", "Linux", "desktop"),
        ("Chrome", "Android", "mobile"),
        ("Edge", "Windows 10", "desktop"),
    ];
    let countries = ["US", "DE", "PT", "BR", "IN", "FR", "GB", "JP", "unknown"];
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let visitor = rng.below((count / 3).max(1) as u64);
        let (source, channel) = sources[rng.below(5) as usize];
        let (browser, os, device) = browsers[rng.below(5) as usize];
        let country = countries[rng.below(9) as usize];
        let mut t = start + day * DAY_MS + rng.below((DAY_MS - HOUR_MS) as u64) as i64;
        for step in 0..1 + rng.below(8) {
            *next_id += 1;
            let kind = if step > 0 && rng.below(6) == 0 {
                "custom"
            } else {
                "pageview"
            };
            events.push(EnrichedEvent {
                id: format!("{:016x}", *next_id),
                site_id: site.into(),
                ts: t,
                visitor: visitor_hash(visitor * 2_654_435_761 + day as u64),
                kind: EventKind::parse(kind).unwrap_or_default(),
                name: if kind == "custom" {
                    "signup".into()
                } else {
                    String::new()
                },
                path: format!(
                    "/section-{}/page-{}",
                    rng.below(20),
                    rng.below(PAGES as u64)
                ),
                referrer_source: source.into(),
                channel: channel.into(),
                browser: browser.into(),
                browser_version: "131".into(),
                os: os.into(),
                device: device.into(),
                country: country.into(),
                region: "unknown".into(),
                city: "unknown".into(),
                screen: "laptop".into(),
                props: if kind == "custom" {
                    r#"{"plan":"pro"}"#.into()
                } else {
                    "{}".into()
                },
                ..Default::default()
            });
            t += 5_000 + rng.below(120_000) as i64;
        }
    }
    // Stable: events of one millisecond stay in id order, D1's (ts, id) order.
    events.sort_by_key(|e| e.ts);
    events
}

/// `total` events over [`DAYS`] days from `start` (a UTC midnight), one day at a time, with
/// sessions assigned and the day's merged rollup deltas.
pub struct Generator {
    rng: Rng,
    next_id: u64,
    open: HashMap<String, OpenSession>,
    per_day: usize,
    day: i64,
    site: String,
    pub start: i64,
}

impl Generator {
    pub fn new(site: &str, start: i64, total: usize) -> Generator {
        Generator {
            rng: Rng(0x2545_f491_4f6c_dd1d),
            next_id: 0,
            open: HashMap::new(),
            per_day: total / DAYS as usize,
            day: 0,
            site: site.into(),
            start,
        }
    }

    /// The next day's index (0-based), its events in time order and its rollup deltas.
    pub fn next_day(&mut self) -> Option<(i64, Vec<EnrichedEvent>, Vec<Delta>)> {
        if self.day >= DAYS {
            return None;
        }
        let day = self.day;
        self.day += 1;
        let mut events = day_events(
            &mut self.rng,
            &self.site,
            self.start,
            day,
            self.per_day,
            &mut self.next_id,
        );
        let mut seen = DaySeen(HashSet::new());
        let mut deltas = Vec::new();
        for e in events.iter_mut() {
            let (state, d) = rollup::apply(e, self.open.get(&e.visitor), &mut seen);
            self.open.insert(e.visitor.clone(), state);
            deltas.extend(d);
        }
        let end = self.start + (day + 1) * DAY_MS;
        self.open.retain(|_, s| s.last_ms > end - 30 * 60_000);
        Some((day, events, rollup::merge(deltas)))
    }
}
