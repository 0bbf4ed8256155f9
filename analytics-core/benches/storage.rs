//! Benchmarks (c) and (d): bytes per stored event including indexes, and a 30-day overview
//! read from rollups versus a raw scan — latency and rows read — after loading 1 M and 10 M
//! generated events into SQLite (D1's engine) with the real migrations. Prints figures only.
//!
//! `cargo bench -p analytics-core --bench storage` (BENCH_EVENTS=1000000,10000000 by default).

use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::stats::rollup::{self, OpenSession, SeenSet, BREAKDOWN_SQL, TOTALS_SQL};
use analytics_core::stats::{DAY_MS, HOUR_MS};
use rusqlite::{params, Connection};

#[path = "../tests/support/sqlite.rs"]
mod sqlite;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

const SITE: &str = "bench";
const DAYS: i64 = 60;
const START: i64 = 20_000 * DAY_MS;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
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

/// One day's events in time order: sessions of 1–8 events from a pool of visitors.
fn day_events(rng: &mut Rng, day: i64, count: usize, next_id: &mut u64) -> Vec<EnrichedEvent> {
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
        let mut t = START + day * DAY_MS + rng.below((DAY_MS - HOUR_MS) as u64) as i64;
        for step in 0..1 + rng.below(8) {
            *next_id += 1;
            let kind = if step > 0 && rng.below(6) == 0 {
                "custom"
            } else {
                "pageview"
            };
            events.push(EnrichedEvent {
                id: format!("{:016x}", *next_id),
                site_id: SITE.into(),
                ts: t,
                visitor: format!("{:032x}", visitor * 2_654_435_761 + day as u64),
                kind: analytics_core::ingest::event::EventKind::parse(kind).unwrap_or_default(),
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
    events.sort_by_key(|e| e.ts);
    events
}

/// Loads `total` generated events (and their rollups) into the SQLite file at `path`: a new
/// file with the migrations applied, or (`fresh == false`) an existing, migrated database such
/// as `wrangler dev`'s local D1 for scripts/bench-overview.mjs.
fn load(path: &str, total: usize, fresh: bool) -> Connection {
    if fresh {
        let _ = std::fs::remove_file(path);
    }
    let db = Connection::open(path).unwrap();
    if fresh {
        db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .unwrap();
        sqlite::apply_migrations(&db);
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut next_id = 0;
    let mut open: HashMap<String, OpenSession> = HashMap::new();
    let per_day = total / DAYS as usize;
    let started = Instant::now();
    for day in 0..DAYS {
        let mut events = day_events(&mut rng, day, per_day, &mut next_id);
        let mut seen = DaySeen(HashSet::new());
        let mut deltas = Vec::new();
        for e in events.iter_mut() {
            let (state, d) = rollup::apply(e, open.get(&e.visitor), &mut seen);
            open.insert(e.visitor.clone(), state);
            deltas.extend(d);
        }
        let tx = db.unchecked_transaction().unwrap();
        sqlite::store(&tx, SITE, &events, &rollup::merge(deltas));
        tx.commit().unwrap();
        open.retain(|_, s| s.last_ms > START + (day + 1) * DAY_MS - 30 * 60_000);
    }
    eprintln!(
        "  loaded {total} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    db
}

fn size_of(db: &Connection, table_like: &str) -> i64 {
    // dbstat is compiled into rusqlite's bundled SQLite: bytes per table and index.
    db.query_row(
        "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?1)",
        params![table_like],
        |r| r.get(0),
    )
    .unwrap_or(-1)
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    runs[2]
}

/// The dashboard's 30-day overview: totals, the daily series, top pages, sources, countries.
fn overview_from_rollups(db: &Connection, from: i64, to: i64) {
    db.query_row(TOTALS_SQL, params![SITE, from, to], |r| r.get::<_, i64>(0))
        .unwrap();
    sqlite::hour_rows(db, SITE, from, to);
    let mut b = db.prepare_cached(BREAKDOWN_SQL).unwrap();
    for dim in ["page", "source", "country"] {
        b.query_map(params![SITE, from, to, dim, 10], |r| r.get::<_, String>(0))
            .unwrap()
            .for_each(drop);
    }
}

const RAW_TOTALS: &str = "SELECT COUNT(DISTINCT visitor || day), SUM(kind = 'pageview'), COUNT(DISTINCT session) FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 0";
const RAW_SERIES: &str = "SELECT day, SUM(kind = 'pageview'), COUNT(DISTINCT visitor) FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 0 GROUP BY day";
const RAW_BREAKDOWN: [&str; 3] = [
    "SELECT path, COUNT(DISTINCT visitor || day) v FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 0 AND kind = 'pageview' GROUP BY path ORDER BY v DESC LIMIT 10",
    "SELECT referrer_source, COUNT(DISTINCT visitor || day) v FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 0 GROUP BY referrer_source ORDER BY v DESC LIMIT 10",
    "SELECT country, COUNT(DISTINCT visitor || day) v FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 0 GROUP BY country ORDER BY v DESC LIMIT 10",
];

fn overview_from_raw(db: &Connection, from: i64, to: i64) {
    db.query_row(RAW_TOTALS, params![SITE, from, to], |r| r.get::<_, i64>(0))
        .unwrap();
    let mut s = db.prepare_cached(RAW_SERIES).unwrap();
    s.query_map(params![SITE, from, to], |r| r.get::<_, i64>(1))
        .unwrap()
        .for_each(drop);
    for q in RAW_BREAKDOWN {
        let mut b = db.prepare_cached(q).unwrap();
        b.query_map(params![SITE, from, to], |r| r.get::<_, String>(0))
            .unwrap()
            .for_each(drop);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes; the figures need `cargo bench`
    }
    let sizes: Vec<usize> = std::env::var("BENCH_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if let Ok(d1_file) = std::env::var("BENCH_INTO_D1") {
        let total = sizes.first().copied().unwrap_or(1_000_000);
        let db = load(&d1_file, total, false);
        db.execute(
            "INSERT OR IGNORE INTO sites (id, name, timezone, created_at) VALUES (?1, 'Bench', 'UTC', 0)",
            params![SITE],
        )
        .unwrap();
        println!(
            "storage bench: loaded {total} events for site {SITE} into {d1_file}, days {} to {}",
            analytics_core::stats::format_day(START / DAY_MS),
            analytics_core::stats::format_day(START / DAY_MS + DAYS - 1)
        );
        return;
    }
    let dir = std::env::var("CARGO_TARGET_TMPDIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    for total in sizes {
        println!("storage bench: {total} generated events over {DAYS} days");
        let path = format!("{dir}/vigia-storage-bench-{total}.sqlite");
        let db = load(&path, total, true);
        let events: i64 = db
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        let rollup_rows: i64 = db
            .query_row("SELECT COUNT(*) FROM rollups_hourly", [], |r| r.get(0))
            .unwrap();
        let event_bytes = size_of(&db, "events");
        let rollup_bytes = size_of(&db, "rollups_hourly");
        println!(
            "  (c) events: {events} rows, {event_bytes} B with indexes = {:.0} B/event",
            event_bytes as f64 / events as f64
        );
        println!(
            "      rollups_hourly: {rollup_rows} rows, {rollup_bytes} B = {:.1} B/event",
            rollup_bytes as f64 / events as f64
        );
        let (from, to) = (START + (DAYS - 30) * DAY_MS, START + DAYS * DAY_MS);
        let rollup_rows_read: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM rollups_hourly WHERE site_id = ?1 AND hour >= ?2 AND hour < ?3 AND dimension IN ('total', 'total', 'page', 'source', 'country')",
                params![SITE, from, to],
                |r| r.get(0),
            )
            .unwrap();
        let total_rows: i64 = db
            .query_row("SELECT COUNT(*) FROM rollups_hourly WHERE site_id = ?1 AND hour >= ?2 AND hour < ?3 AND dimension = 'total'", params![SITE, from, to], |r| r.get(0))
            .unwrap();
        let raw_rows: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3",
                params![SITE, from, to],
                |r| r.get(0),
            )
            .unwrap();
        let rollup_ms = median_ms(|| overview_from_rollups(&db, from, to));
        let raw_ms = median_ms(|| overview_from_raw(&db, from, to));
        // Rows read as D1 bills them: every index entry a query visits. Totals and series read
        // the `total` rows (twice), the three breakdowns their dimension's rows.
        println!(
            "  (d) 30-day overview (totals, daily series, top pages/sources/countries), median of 5:\n      rollups: {rollup_ms:.1} ms, ~{} rows read\n      raw scan: {raw_ms:.1} ms, ~{} rows read",
            rollup_rows_read + total_rows,
            raw_rows * 5
        );
        daily_rollups(&db, events, event_bytes);
        drop(db);
        let _ = std::fs::remove_file(&path);
    }
}

// ---------------------------------------------------------------------------------------------
// Daily rollups (issue #16, store::rollups_daily): the same database after building every
// complete day, side by side with the hourly-only figures above.

/// The 30-day overview as the Worker asks for it without filters (query.rs): totals of the
/// period and of the previous one, the series, six top-10 panels. Returns the answers.
fn overview_now(
    db: &Connection,
    from: i64,
    to: i64,
) -> Vec<Vec<analytics_core::stats::query::MetricsRow>> {
    use analytics_core::stats::query::{self, MetricsRow, Scope};
    use analytics_core::store::sqlite::all;
    let scope = |from_ms, to_ms| Scope {
        site: SITE,
        from_ms,
        to_ms,
        filters: &[],
    };
    let now = scope(from, to);
    let mut out: Vec<Vec<MetricsRow>> = vec![
        all(db, &query::totals(&now)),
        all(db, &query::totals(&scope(2 * from - to, from))),
    ];
    let series: Vec<analytics_core::stats::period::HourRow> = all(db, &query::hourly(&now));
    out.push(
        series
            .into_iter()
            .map(|h| MetricsRow {
                value: h.t.to_string(),
                visitors: h.visitors,
                pageviews: h.pageviews,
                ..Default::default()
            })
            .collect(),
    );
    for dim in OVERVIEW_PANELS {
        out.push(all(db, &query::breakdown(&now, dim, 10)));
    }
    out
}

const OVERVIEW_PANELS: [rollup::Dimension; 6] = [
    rollup::Dimension::Page,
    rollup::Dimension::Source,
    rollup::Dimension::Country,
    rollup::Dimension::Browser,
    rollup::Dimension::Os,
    rollup::Dimension::Device,
];

/// Where the range's daily rows end and its hourly rows begin (`daily_until` within the range).
fn cut_of(db: &Connection, from: i64, to: i64) -> i64 {
    db.query_row(
        "SELECT MAX(?2, MIN(?3, COALESCE((SELECT daily_until FROM rollup_state WHERE site_id = ?1), 0)))",
        params![SITE, from, to],
        |r| r.get(0),
    )
    .unwrap()
}

/// Rows the overview's statements visit (the rows of their key ranges, as D1 counts rows read):
/// `total` rows three times (totals, previous totals, series), each panel's dimension once.
/// Daily rows and hourly rows apart.
fn overview_rows_read(db: &Connection, from: i64, to: i64) -> (i64, i64) {
    let cut = cut_of(db, from, to);
    let rows = |dim: &str, from: i64, to: i64| -> (i64, i64) {
        let cut = cut.clamp(from, to);
        db.query_row(
            "SELECT (SELECT COUNT(*) FROM rollups_daily WHERE site_id = ?1 AND dimension = ?2 AND day >= ?3 AND day < ?5), \
             (SELECT COUNT(*) FROM rollups_hourly WHERE site_id = ?1 AND dimension = ?2 AND hour >= ?5 AND hour < ?4)",
            params![SITE, dim, from, to, cut],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let mut n = (0, 0);
    let mut add = |(d, h): (i64, i64), times: i64| {
        n.0 += d * times;
        n.1 += h * times;
    };
    add(rows("total", from, to), 2);
    add(rows("total", 2 * from - to, from), 1);
    for dim in OVERVIEW_PANELS {
        add(rows(dim.as_str(), from, to), 1);
    }
    n
}

fn daily_rollups(db: &Connection, events: i64, event_bytes: i64) {
    use analytics_core::store::rollups_daily::{
        build_day, build_state, days_to_build, DAILY_ROLLUP_TOP,
    };
    use analytics_core::store::sqlite::{first, run};
    let (from, to) = (START + (DAYS - 30) * DAY_MS, START + DAYS * DAY_MS);
    let hourly_rows: i64 = db
        .query_row("SELECT COUNT(*) FROM rollups_hourly", [], |r| r.get(0))
        .unwrap();
    let hourly_bytes = size_of(db, "rollups_hourly");
    let before_rows_read = overview_rows_read(db, from, to);
    let before = overview_now(db, from, to);
    let before_ms = median_ms(|| drop(overview_now(db, from, to)));
    // Build every complete day as the cron does (the site's zone: UTC), at noon of the day
    // after the data: all days but the last are built, the last stays hourly.
    let now = START + DAYS * DAY_MS + 12 * HOUR_MS;
    let started = Instant::now();
    let mut built = 0;
    loop {
        let state = first(db, &build_state(SITE)).unwrap();
        let days = days_to_build(&state, &jiff::tz::TimeZone::UTC, now);
        if days.is_empty() {
            break;
        }
        for d in days {
            let tx = db.unchecked_transaction().unwrap();
            for sql in build_day(SITE, d.start_ms, d.end_ms) {
                run(&tx, &sql);
            }
            tx.commit().unwrap();
            built += 1;
        }
    }
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let unvacuumed = size_of(db, "rollups_hourly") + size_of(db, "rollups_daily");
    db.execute_batch("VACUUM").unwrap();
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let (hourly_after, daily_after) = (count("rollups_hourly"), count("rollups_daily"));
    let bytes_after =
        size_of(db, "rollups_hourly") + size_of(db, "rollups_daily") + size_of(db, "rollup_state");
    let after_rows_read = overview_rows_read(db, from, to);
    let after = overview_now(db, from, to);
    let after_ms = median_ms(|| drop(overview_now(db, from, to)));
    // What the bound changes: the same values in each top-10 panel, and how far their
    // visitors moved.
    let (mut same, mut panels_values, mut worst) = (0, 0, 0.0f64);
    for (b, a) in before[3..].iter().zip(&after[3..]) {
        for row in b {
            panels_values += 1;
            if let Some(x) = a.iter().find(|x| x.value == row.value) {
                same += 1;
                let err = (row.visitors - x.visitors).abs() as f64 / row.visitors.max(1) as f64;
                worst = worst.max(err);
            }
        }
    }
    // The series by day (hourly rows before, daily rows after; the chart buckets them so).
    let by_day = |rows: &[analytics_core::stats::query::MetricsRow]| {
        let mut days = std::collections::BTreeMap::new();
        for r in rows {
            let t: i64 = r.value.parse().unwrap_or(0);
            let d: &mut (i64, i64) = days.entry(t.div_euclid(DAY_MS)).or_default();
            d.0 += r.pageviews;
            d.1 += r.visitors;
        }
        days
    };
    let exact = before[..2] == after[..2] && by_day(&before[2]) == by_day(&after[2]);
    println!(
        "  (daily) rollups_daily, top {DAILY_ROLLUP_TOP} values + (other) per day and dimension; {built} days built in {build_ms:.0} ms ({:.0} ms/day)",
        build_ms / built.max(1) as f64
    );
    println!(
        "      rollup rows: hourly only {hourly_rows} ({:.2}/event, {:.1} B/event) -> hourly {hourly_after} + daily {daily_after} ({:.3}/event, {:.1} B/event)",
        hourly_rows as f64 / events as f64,
        hourly_bytes as f64 / events as f64,
        (hourly_after + daily_after) as f64 / events as f64,
        bytes_after as f64 / events as f64
    );
    println!(
        "      (before VACUUM the deleted hourly rows' pages still count: {:.1} B/event)",
        unvacuumed as f64 / events as f64
    );
    println!(
        "      all in with raw events: {:.0} B/event -> {:.0} B/event",
        (event_bytes + hourly_bytes) as f64 / events as f64,
        (event_bytes + bytes_after) as f64 / events as f64
    );
    println!(
        "      30-day overview (totals, previous totals, series, six top-10 panels), median of 5:\n      hourly rows only: {before_ms:.1} ms, ~{} rows read\n      daily + hourly:   {after_ms:.1} ms, ~{} rows read ({} daily rows for {} built days, {} hourly rows for the day not built yet)",
        before_rows_read.0 + before_rows_read.1,
        after_rows_read.0 + after_rows_read.1,
        after_rows_read.0,
        (cut_of(db, from, to) - from) / DAY_MS,
        after_rows_read.1,
    );
    println!(
        "      totals, previous totals and series identical: {exact}; top-10 values kept: {same}/{panels_values}, worst visitor difference of a kept value: {:.1} %",
        worst * 100.0
    );
}
