//! Storage bench (issue #16, "Must show 1"): today's layout and the hot/cold layout side by side
//! in one run, on the same generated events (benches/support/generate.rs; 60 days), natively in
//! SQLite (D1's and the Durable Objects' engine) with the real migrations and the core's SQL:
//!
//! - **old**: every event in D1's `events` and every hour in `rollups_hourly` (today);
//! - **new**: D1 holds the raw events of the last 2 days only (the hot window), hourly rollups
//!   of those days, `total` hourly rows of every day and the bounded `rollups_daily` built per
//!   day (`store::rollups_daily::build_day`); the older days are appended to one SQLite file
//!   per UTC month through `store::shard::append`, in pages, day by day, as sealing does.
//!
//! Printed (nothing asserted): bytes per event all in and per table, the 30-day unfiltered
//! overview (totals, previous period, series, six top-10 panels) — rows read and median time —
//! the filtered overview (country, page, source) on every store with per-store times, and the
//! capacity table (docs/storage.md, "Figures" and "Capacity").
//!
//! `cargo bench -p analytics-core --bench storage` (BENCH_EVENTS=1000000,10000000 by default;
//! BENCH_ROUNDS, default 5, rounds of the unfiltered overview; BENCH_FILTERED_ROUNDS, default 3,
//! of the filtered one).

#[path = "support/generate.rs"]
mod generate;
#[path = "../tests/support/sqlite.rs"]
#[allow(dead_code)] // hour_rows: the equivalence test's
mod sqlite;

use analytics_core::stats::filter::Filter;
use analytics_core::stats::merge::SHARD_BREAKDOWN_ROWS;
use analytics_core::stats::query::{self, MetricsRow, Scope, Sql};
use analytics_core::stats::rollup;
use analytics_core::stats::rollup::Dimension;
use analytics_core::stats::DAY_MS;
use analytics_core::stats::HOUR_MS;
use analytics_core::store::rollups_daily::{
    self, rollup_source, DAILY_ROLLUP_TOP, HOURLY_SERIES_MAX_MS,
};
use analytics_core::store::sqlite::{all, run};
use analytics_core::store::{seal, shard};
use generate::{Generator, DAYS};
use rusqlite::{params, params_from_iter, Connection};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SITE: &str = "bench";
const START: i64 = 20_000 * DAY_MS;
/// Days of raw events D1 keeps in the new layout: yesterday and today (UTC).
const HOT_DAYS: i64 = 2;
/// The six top-10 panels of the overview.
const PANELS: [Dimension; 6] = [
    Dimension::Page,
    Dimension::Source,
    Dimension::Country,
    Dimension::Browser,
    Dimension::Os,
    Dimension::Device,
];
/// Most bytes a D1 database or a Durable Object may hold.
const TEN_GB: f64 = 10e9;

fn fast(db: &Connection) {
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .unwrap();
}

fn open_fresh(path: &str) -> Connection {
    let _ = std::fs::remove_file(path);
    let db = Connection::open(path).unwrap();
    fast(&db);
    db
}

struct Shard {
    path: String,
    db: Connection,
}

/// Both layouts of one generated data set.
struct Loaded {
    old: Connection,
    old_path: String,
    new: Connection,
    new_path: String,
    shards: BTreeMap<String, Shard>,
    events: i64,
    old_load: Duration,
    new_load: Duration,
}

fn run_all(db: &Connection, statements: &[Sql]) {
    for s in statements {
        run(db, s);
    }
}

/// Loads `total` events for `site` into both layouts under `dir` (files named by `tag`).
fn load(dir: &str, tag: &str, site: &str, total: usize) -> Loaded {
    let old_path = format!("{dir}/vigia-bench-{tag}-old-d1.sqlite");
    let new_path = format!("{dir}/vigia-bench-{tag}-new-d1.sqlite");
    let old = open_fresh(&old_path);
    sqlite::apply_migrations(&old);
    let new = open_fresh(&new_path);
    sqlite::apply_migrations(&new);
    let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
    let mut generator = Generator::new(site, START, total);
    let (mut old_load, mut new_load) = (Duration::ZERO, Duration::ZERO);
    let mut events_total = 0i64;
    while let Some((day, events, deltas)) = generator.next_day() {
        events_total += events.len() as i64;
        let t = Instant::now();
        let tx = old.unchecked_transaction().unwrap();
        sqlite::store(&tx, site, &events, &deltas);
        tx.commit().unwrap();
        old_load += t.elapsed();

        let t = Instant::now();
        let (start, end) = (START + day * DAY_MS, START + (day + 1) * DAY_MS);
        let tx = new.unchecked_transaction().unwrap();
        if day >= DAYS - HOT_DAYS {
            sqlite::store(&tx, site, &events, &deltas);
        } else {
            // Ingest wrote the day's events and hourly rows; sealing moved the events to the
            // month's shard and the daily build replaced the hourly rows but `total`.
            sqlite::store(&tx, site, &[], &deltas);
            run_all(&tx, &rollups_daily::build_day(site, start, end));
        }
        tx.commit().unwrap();
        if day < DAYS - HOT_DAYS {
            let period = seal::shard_period(start);
            let shard = shards.entry(period.clone()).or_insert_with(|| {
                let path = format!("{dir}/vigia-bench-{tag}-shard-{period}.sqlite");
                let db = open_fresh(&path);
                for m in shard::MIGRATIONS {
                    db.execute_batch(m).unwrap();
                }
                Shard { path, db }
            });
            let mut first = vec![shard::set_site(site)];
            first.extend(shard::clear_from(start));
            run_all(&shard.db, &first);
            // One transaction per page, as one Durable Object request is.
            for page in shard::pages(&events) {
                let tx = shard.db.unchecked_transaction().unwrap();
                run_all(&tx, &shard::append(site, start, page, false));
                tx.commit().unwrap();
            }
        }
        new_load += t.elapsed();
    }
    let sealed_until = START + (DAYS - HOT_DAYS) * DAY_MS;
    for s in shards.values() {
        run(&s.db, &shard::set_visible_until(sealed_until));
    }
    Loaded {
        old,
        old_path,
        new,
        new_path,
        shards,
        events: events_total,
        old_load,
        new_load,
    }
}

fn file_bytes(path: &str) -> i64 {
    std::fs::metadata(path).map(|m| m.len() as i64).unwrap_or(0)
}

/// Bytes per table, its indexes included (dbstat, compiled into rusqlite's bundled SQLite),
/// and the free pages.
fn table_bytes(db: &Connection) -> BTreeMap<String, i64> {
    let mut stmt = db
        .prepare(
            "SELECT COALESCE(m.tbl_name, s.name), SUM(s.pgsize) FROM dbstat s \
             LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1",
        )
        .unwrap();
    let mut out: BTreeMap<String, i64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let free: i64 = db
        .query_row(
            "SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    out.insert("(free pages)".into(), free);
    out
}

fn count(db: &Connection, sql: &str, binds: &[rusqlite::types::Value]) -> i64 {
    db.query_row(sql, params_from_iter(binds.iter()), |r| r.get(0))
        .unwrap()
}

/// Steps through every row of a statement (the Worker reads them all).
fn exec(db: &Connection, sql: &Sql) -> usize {
    let mut stmt = db.prepare_cached(&sql.text).unwrap();
    let mut rows = stmt
        .query(params_from_iter(sql.binds.iter().map(sqlite::to_sql)))
        .unwrap();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    n
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn scope<'a>(from: i64, to: i64, filters: &'a [Filter]) -> Scope<'a> {
    Scope {
        site: SITE,
        from_ms: from,
        to_ms: to,
        filters,
    }
}

/// The unfiltered overview's statements, with the Worker's SQL: totals now and before, the
/// series, six top-10 panels.
fn overview_statements(from: i64, to: i64) -> Vec<Sql> {
    let now = scope(from, to, &[]);
    let before = scope(2 * from - to, from, &[]);
    let mut out = vec![
        query::totals(&now),
        query::totals(&before),
        query::hourly(&now),
    ];
    out.extend(PANELS.iter().map(|d| query::breakdown(&now, *d, 10)));
    out
}

/// Rollup rows the unfiltered overview reads: for each statement, the rows its rollup source
/// (`rollups_daily::rollup_source`, the subquery every unfiltered statement reads) yields over
/// the same range, counted with `COUNT(*)` over that same source — the index ranges read.
fn overview_rows_read(db: &Connection, from: i64, to: i64) -> (i64, i64, String) {
    let text = |v: &str| rusqlite::types::Value::Text(v.into());
    let int = rusqlite::types::Value::Integer;
    let rows = |condition: &str, hourly_only: bool, f: i64, t: i64, extra: Option<&str>| {
        let mut binds = vec![text(SITE), int(f), int(t)];
        binds.extend(extra.map(text));
        let source = rollup_source(condition, hourly_only);
        // Where the source switches from daily to hourly rows (as `rollup_source` splits).
        let cut = if hourly_only {
            "?2".to_string()
        } else {
            "MAX(?2, MIN(?3, COALESCE((SELECT daily_until FROM rollup_state WHERE site_id = ?1), 0)))"
                .to_string()
        };
        let all = count(db, &format!("SELECT COUNT(*) FROM {source}"), &binds);
        let hourly = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM rollups_hourly WHERE site_id = ?1 AND {condition} \
                 AND hour >= {cut} AND hour < ?3"
            ),
            &binds,
        );
        (all, all - hourly)
    };
    let before = 2 * from - to;
    let parts = [
        rows("dimension = 'total'", false, from, to, None),
        rows("dimension = 'total'", false, before, from, None),
        rows(
            "dimension = 'total'",
            to - from <= HOURLY_SERIES_MAX_MS,
            from,
            to,
            None,
        ),
    ];
    let mut all: Vec<(i64, i64)> = parts.to_vec();
    for d in PANELS {
        all.push(rows("dimension = ?4", false, from, to, Some(d.as_str())));
    }
    let names = ["totals", "previous", "series"]
        .into_iter()
        .chain(PANELS.iter().map(|d| d.as_str()));
    let split: Vec<String> = names
        .zip(&all)
        .map(|(n, (rows, daily))| format!("{n} {rows} ({daily} daily)"))
        .collect();
    (
        all.iter().map(|p| p.0).sum(),
        all.iter().map(|p| p.1).sum(),
        split.join(", "),
    )
}

fn time_overview(db: &Connection, statements: &[Sql], rounds: usize) -> f64 {
    for s in statements {
        exec(db, s); // warm the statement cache and the page cache
    }
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for s in statements {
                    exec(db, s);
                }
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

fn totals_of(db: &Connection, sql: &Sql) -> MetricsRow {
    all::<MetricsRow>(db, sql)
        .into_iter()
        .next()
        .unwrap_or_default()
}

fn sum_totals(parts: &[MetricsRow]) -> MetricsRow {
    let mut t = MetricsRow::default();
    for p in parts {
        t.visitors += p.visitors;
        t.pageviews += p.pageviews;
        t.visits += p.visits;
        t.bounces += p.bounces;
        t.duration_ms += p.duration_ms;
        t.engaged_ms += p.engaged_ms;
        t.events += p.events;
    }
    t
}

/// How shards answer raw reads: `fast` (`store::shard::fast`, default) or `view` (D1's SQL
/// through the decoding view), from BENCH_SHARD_FORM.
fn shard_form() -> String {
    std::env::var("BENCH_SHARD_FORM").unwrap_or_else(|_| "fast".into())
}

/// One store a filtered read goes to.
struct Store<'a> {
    label: String,
    db: &'a Connection,
    shard: bool,
    /// Rows a raw statement scans there: D1 reads its `(site_id, ts)` index over the range
    /// widened by a day each side; a shard has no time index and reads every visible row.
    rows: i64,
}

fn stores<'a>(l: &'a Loaded, from: i64, to: i64, old: bool) -> Vec<Store<'a>> {
    let int = rusqlite::types::Value::Integer;
    let d1_rows = |db: &Connection| {
        count(
            db,
            "SELECT COUNT(*) FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3",
            &[
                rusqlite::types::Value::Text(SITE.into()),
                int(from - DAY_MS),
                int(to + DAY_MS),
            ],
        )
    };
    if old {
        return vec![Store {
            label: "D1".into(),
            db: &l.old,
            shard: false,
            rows: d1_rows(&l.old),
        }];
    }
    let (first, last) = seal::periods_of(from, to);
    let mut out: Vec<Store> = l
        .shards
        .iter()
        .filter(|(p, _)| **p >= first && **p <= last)
        .map(|(p, s)| Store {
            label: format!("shard {p}"),
            db: &s.db,
            shard: true,
            rows: count(
                &s.db,
                "SELECT COUNT(*) FROM meta m JOIN days d ON d.day + 86400000 <= m.visible_until \
                 JOIN ev e ON e.rowid BETWEEN d.first_rowid AND d.last_rowid",
                &[],
            ),
        })
        .collect();
    out.push(Store {
        label: "D1 (hot)".into(),
        db: &l.new,
        shard: false,
        rows: d1_rows(&l.new),
    });
    out
}

struct Filtered {
    /// Per store: label, summed median ms of the statements, rows scanned per statement.
    per_store: Vec<(String, f64, i64)>,
    /// Σ over statements of the slowest store (stores answer each statement in parallel).
    fan_out_ms: f64,
    /// Σ of every statement on every store (one after the other, as under wrangler dev).
    serial_ms: f64,
    totals: MetricsRow,
}

/// The filtered overview (totals now and before, the series) and one filtered breakdown
/// (top pages) on every store of each range; per statement and store the median of `rounds`.
/// D1 runs `stats::query`'s SQL, a shard its view-free form (`store::shard::fast`), as the
/// Worker sends them.
fn filtered(l: &Loaded, filter: &Filter, from: i64, to: i64, old: bool, rounds: usize) -> Filtered {
    let filters = std::slice::from_ref(filter);
    let before = 2 * from - to;
    let (now, then) = (scope(from, to, filters), scope(before, from, filters));
    // (D1's statement, a shard's statement: `store::shard::fast`, the view-free form, range)
    let mut plan: Vec<(Sql, Sql, i64)> = vec![
        (query::totals_raw(&now), shard::fast::totals(&now), from),
        (query::totals_raw(&then), shard::fast::totals(&then), before),
        (query::hourly(&now), shard::fast::hourly(&now), from),
        (
            query::breakdown_raw(&now, Dimension::Page, SHARD_BREAKDOWN_ROWS),
            shard::fast::breakdown(&now, Dimension::Page, SHARD_BREAKDOWN_ROWS),
            from,
        ),
    ];
    if shard_form() == "view" {
        // D1's SQL through the shard's decoding `events` view.
        for p in plan.iter_mut() {
            p.1 = p.0.clone();
        }
    }
    let mut per_store: BTreeMap<String, (f64, i64)> = BTreeMap::new();
    let (mut fan_out_ms, mut serial_ms) = (0.0, 0.0);
    let mut totals = Vec::new();
    let now_stores = stores(l, from, to, old);
    let before_stores = stores(l, before, from, old);
    for (i, (d1_sql, shard_sql, f)) in plan.iter().enumerate() {
        let mut slowest: f64 = 0.0;
        let stores = if *f == before {
            &before_stores
        } else {
            &now_stores
        };
        for store in stores {
            let sql = if store.shard { shard_sql } else { d1_sql };
            if i == 0 {
                totals.push(totals_of(store.db, sql));
            }
            let ms = median(
                (0..rounds)
                    .map(|_| {
                        let started = Instant::now();
                        exec(store.db, sql);
                        started.elapsed().as_secs_f64() * 1000.0
                    })
                    .collect(),
            );
            slowest = slowest.max(ms);
            serial_ms += ms;
            let e = per_store.entry(store.label.clone()).or_default();
            e.0 += ms;
            e.1 = e.1.max(store.rows);
        }
        fan_out_ms += slowest;
    }
    Filtered {
        per_store: per_store
            .into_iter()
            .map(|(k, (ms, rows))| (k, ms, rows))
            .collect(),
        fan_out_ms,
        serial_ms,
        totals: sum_totals(&totals),
    }
}

/// What one size measured, for the capacity table.
#[derive(Default, Clone, Copy)]
struct Measured {
    events: i64,
    /// Shard bytes (files) per event.
    shard_b_per_event: f64,
    /// D1 bytes per hot event: raw event with its indexes plus its hourly rollup rows.
    hot_b_per_event: f64,
    /// D1 bytes per built day: daily rows plus the 24 `total` hourly rows.
    d1_b_per_day: f64,
    daily_rows_per_day: f64,
}

fn mb(b: i64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn bench_size(dir: &str, total: usize, rounds: usize, filtered_rounds: usize) -> Measured {
    println!("\n== storage bench: {total} generated events over {DAYS} days (site {SITE:?}, UTC)");
    let l = load(dir, &total.to_string(), SITE, total);
    let events = l.events;
    println!(
        "  load natively: old layout {:.1} s, new layout {:.1} s (D1 + daily build + shard appends)",
        l.old_load.as_secs_f64(),
        l.new_load.as_secs_f64()
    );

    // --- bytes per event, all in ---
    let old_file = file_bytes(&l.old_path);
    let new_file = file_bytes(&l.new_path);
    let shard_files: i64 = l.shards.values().map(|s| file_bytes(&s.path)).sum();
    let per = |b: i64| b as f64 / events as f64;
    println!("  bytes per event, all in (file sizes ÷ {events} events):");
    println!(
        "    old: D1 {} = {:.1} B/event",
        mb(old_file),
        per(old_file)
    );
    println!(
        "    new: D1 {} + {} shard files {} = {} = {:.1} B/event (D1 {:.1}, shards {:.1})",
        mb(new_file),
        l.shards.len(),
        mb(shard_files),
        mb(new_file + shard_files),
        per(new_file + shard_files),
        per(new_file),
        per(shard_files)
    );
    println!("  per table (dbstat: table + its indexes), B/event:");
    let old_t = table_bytes(&l.old);
    let new_t = table_bytes(&l.new);
    let mut shard_t: BTreeMap<String, i64> = BTreeMap::new();
    for s in l.shards.values() {
        for (k, v) in table_bytes(&s.db) {
            *shard_t.entry(k).or_default() += v;
        }
    }
    let show = |name: &str, t: &BTreeMap<String, i64>| {
        // Tables of less than 0.1 B/event (accounts, settings, the schema…) are summed.
        let small: i64 = t.values().filter(|v| per(**v) < 0.1).sum();
        let mut cells: Vec<String> = t
            .iter()
            .filter(|(_, v)| per(**v) >= 0.1)
            .map(|(k, v)| format!("{k} {:.1}", per(*v)))
            .collect();
        cells.push(format!("other tables {:.2}", per(small)));
        println!("    {name:<10} {}", cells.join(", "));
    };
    show("old D1", &old_t);
    show("new D1", &new_t);
    show("shards", &shard_t);
    for (p, s) in &l.shards {
        let n = count(&s.db, "SELECT COUNT(*) FROM ev", &[]);
        let b = file_bytes(&s.path);
        println!(
            "    shard {p}: {n} events, {} = {:.1} B/event",
            mb(b),
            b as f64 / n.max(1) as f64
        );
    }
    let rows_of =
        |db: &Connection, table: &str| count(db, &format!("SELECT COUNT(*) FROM {table}"), &[]);
    let built_days = (DAYS - HOT_DAYS) as f64;
    let daily_rows = rows_of(&l.new, "rollups_daily");
    println!(
        "  rollup rows: old rollups_hourly {} ({:.2}/event); new rollups_hourly {} (hot days + `total` of every day), rollups_daily {} ({:.0}/day, bound {} per dimension and day)",
        rows_of(&l.old, "rollups_hourly"),
        rows_of(&l.old, "rollups_hourly") as f64 / events as f64,
        rows_of(&l.new, "rollups_hourly"),
        daily_rows,
        daily_rows as f64 / built_days,
        DAILY_ROLLUP_TOP + 1
    );

    // --- 30-day overview, unfiltered ---
    let (from, to) = (START + (DAYS - 30) * DAY_MS, START + DAYS * DAY_MS);
    let statements = overview_statements(from, to);
    let (old_rows, _, old_split) = overview_rows_read(&l.old, from, to);
    let (new_rows, new_daily, new_split) = overview_rows_read(&l.new, from, to);
    let old_ms = time_overview(&l.old, &statements, rounds);
    let new_ms = time_overview(&l.new, &statements, rounds);
    let (old_sum, new_sum) = (
        totals_of(&l.old, &statements[0]),
        totals_of(&l.new, &statements[0]),
    );
    println!(
        "  30-day overview, unfiltered (totals, previous period, series, top 10 of {}), median of {rounds}:",
        PANELS.map(|d| d.as_str()).join("/")
    );
    println!("    old (hourly rollups):          {old_ms:>9.1} ms, {old_rows:>9} rollup rows read");
    println!(
        "    new (daily + hot hourly rows): {new_ms:>9.1} ms, {new_rows:>9} rollup rows read ({new_daily} daily, {} hourly)",
        new_rows - new_daily
    );
    println!("    rows read by statement, old: {old_split}");
    println!("    rows read by statement, new: {new_split}");
    println!(
        "    same answer: visitors {} / {}, page views {} / {}, visits {} / {} (old / new)",
        old_sum.visitors,
        new_sum.visitors,
        old_sum.pageviews,
        new_sum.pageviews,
        old_sum.visits,
        new_sum.visits
    );

    // --- filtered overview ---
    let filters = [
        Filter::parse("country:PT").unwrap(),
        Filter::parse("page:/section-3/page-17").unwrap(),
        Filter::parse("source:Google").unwrap(),
    ];
    println!(
        "  30-day overview filtered (totals now and before, series, top pages), raw events (shards: {} form); per statement and store the median of {filtered_rounds}:",
        shard_form()
    );
    for f in &filters {
        let new = filtered(&l, f, from, to, false, filtered_rounds);
        // Today's filtered read scans D1's raw events: seconds a statement at 10 M, one round.
        let old_rounds = if events > 2_000_000 {
            1
        } else {
            filtered_rounds
        };
        let old = filtered(&l, f, from, to, true, old_rounds);
        let label = format!("{}:{}", f.dimension.as_str(), f.value);
        println!(
            "    {label:<28} old (D1 only, {old_rounds} round(s)) {:>8.0} ms | new fan-out {:>7.0} ms (slowest store per statement), serial {:>7.0} ms",
            old.serial_ms, new.fan_out_ms, new.serial_ms
        );
        let cells: Vec<String> = new
            .per_store
            .iter()
            .map(|(s, ms, rows)| format!("{s}: {ms:.0} ms, {rows} rows/statement"))
            .collect();
        println!("      new per store: {}", cells.join("; "));
        println!(
            "      same answer: visitors {} / {}, page views {} / {}, visits {} / {} (old / new merged)",
            old.totals.visitors, new.totals.visitors, old.totals.pageviews, new.totals.pageviews, old.totals.visits, new.totals.visits
        );
        let _ = old.per_store;
        let _ = old.fan_out_ms;
    }

    let hot_events = count(&l.new, "SELECT COUNT(*) FROM events", &[]);
    let hot_bytes = new_t.get("events").copied().unwrap_or(0);
    let hourly_hot = count(
        &l.new,
        "SELECT COUNT(*) FROM rollups_hourly WHERE dimension != 'total'",
        &[],
    );
    let hourly_rows = rows_of(&l.new, "rollups_hourly");
    let hourly_bytes = new_t.get("rollups_hourly").copied().unwrap_or(0) as f64;
    let hourly_row_b = hourly_bytes / hourly_rows.max(1) as f64;
    let daily_bytes = new_t.get("rollups_daily").copied().unwrap_or(0) as f64;
    // The daily rollups section (s16-rollups) on the old layout's database, built in place.
    daily_rollups(&l.old, events, old_t.get("events").copied().unwrap_or(0));
    let measured = Measured {
        events,
        shard_b_per_event: per(shard_files),
        hot_b_per_event: (hot_bytes as f64 + hourly_hot as f64 * hourly_row_b)
            / hot_events.max(1) as f64,
        d1_b_per_day: daily_bytes / built_days + 24.0 * hourly_row_b,
        daily_rows_per_day: daily_rows as f64 / built_days,
    };
    drop(l.old);
    drop(l.new);
    let _ = std::fs::remove_file(&l.old_path);
    let _ = std::fs::remove_file(&l.new_path);
    for s in l.shards.into_values() {
        drop(s.db);
        let _ = std::fs::remove_file(&s.path);
    }
    measured
}

/// A small site (10,000 events a month): the per-site floor of D1 and of a shard.
fn small_site(dir: &str) -> (Measured, i64) {
    let total = 20_000; // 60 days
    let l = load(dir, "small", SITE, total);
    let built_days = (DAYS - HOT_DAYS) as f64;
    let new_t = table_bytes(&l.new);
    let daily_rows = count(&l.new, "SELECT COUNT(*) FROM rollups_daily", &[]);
    let hourly_rows = count(&l.new, "SELECT COUNT(*) FROM rollups_hourly", &[]);
    let hourly_row_b =
        new_t.get("rollups_hourly").copied().unwrap_or(0) as f64 / hourly_rows.max(1) as f64;
    let hot_events = count(&l.new, "SELECT COUNT(*) FROM events", &[]);
    let hourly_hot = count(
        &l.new,
        "SELECT COUNT(*) FROM rollups_hourly WHERE dimension != 'total'",
        &[],
    );
    let shard_files: i64 = l.shards.values().map(|s| file_bytes(&s.path)).sum();
    let largest_shard = l
        .shards
        .values()
        .map(|s| file_bytes(&s.path))
        .max()
        .unwrap_or(0);
    let m = Measured {
        events: l.events,
        shard_b_per_event: shard_files as f64 / l.events as f64,
        hot_b_per_event: (new_t.get("events").copied().unwrap_or(0) as f64
            + hourly_hot as f64 * hourly_row_b)
            / hot_events.max(1) as f64,
        d1_b_per_day: new_t.get("rollups_daily").copied().unwrap_or(0) as f64 / built_days
            + 24.0 * hourly_row_b,
        daily_rows_per_day: daily_rows as f64 / built_days,
    };
    println!(
        "\n== small site: {} events over {DAYS} days: D1 {:.0} B per built day ({:.0} daily rows/day + 24 `total` hours), hot {:.0} B/event, shards {:.0} B/event ({} files, largest {})",
        l.events,
        m.d1_b_per_day,
        m.daily_rows_per_day,
        m.hot_b_per_event,
        m.shard_b_per_event,
        l.shards.len(),
        mb(largest_shard)
    );
    let _ = std::fs::remove_file(&l.old_path);
    let _ = std::fs::remove_file(&l.new_path);
    for s in l.shards.values() {
        let _ = std::fs::remove_file(&s.path);
    }
    (m, largest_shard)
}

fn gb(b: f64) -> String {
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
}

/// The capacity table, from the measured figures.
fn capacity(big: Measured, small: Measured, small_shard_floor: i64) {
    const MONTHS: f64 = 13.0;
    const DAYS_KEPT: f64 = 13.0 * 30.4;
    const HOT: f64 = HOT_DAYS as f64;
    println!("\n== capacity (from the figures above: shards {:.1} B/event, D1 hot {:.0} B/event, D1 {:.0} B per built day at {} events; small site {:.1} / {:.0} / {:.0}; 10 GB = D1's and a Durable Object's limit)",
        big.shard_b_per_event, big.hot_b_per_event, big.d1_b_per_day, big.events,
        small.shard_b_per_event, small.hot_b_per_event, small.d1_b_per_day);
    println!("  | case | events per shard (month) | shards per site per year | largest object | D1 size | objects |");
    println!("  |---|---|---|---|---|---|");
    // (i) one site, 50 M events a month, 13 months kept.
    let per_month = 50e6;
    let shard = per_month * big.shard_b_per_event;
    let hot = per_month / 30.4 * HOT * big.hot_b_per_event;
    let rollups = DAYS_KEPT * big.d1_b_per_day;
    println!(
        "  | 1 site, 50 M events/month, 13 months | 50 M | 12 | {} | {} (hot window {}, rollups {}) | {} |",
        gb(shard),
        gb(hot + rollups),
        gb(hot),
        gb(rollups),
        MONTHS as i64
    );
    // (i') the worst case of the daily bound: every dimension full every day.
    let dims = Dimension::ALL.len() as f64;
    let bound_day = dims * (DAILY_ROLLUP_TOP + 1) as f64 * 60.0 + 24.0 * 60.0;
    println!(
        "  |   same, daily rollups at their bound ({} dimensions × {} rows/day, ~60 B/row) | | | | {} | |",
        dims as i64,
        DAILY_ROLLUP_TOP + 1,
        gb(per_month / 30.4 * HOT * big.hot_b_per_event + DAYS_KEPT * bound_day)
    );
    // (ii) 10,000 small sites of 10,000 events a month.
    let sites = 10_000.0;
    let small_month = 10_000.0;
    let small_shard = (small_month * small.shard_b_per_event).max(small_shard_floor as f64);
    let hot_small = sites * small_month / 30.4 * HOT * small.hot_b_per_event;
    let rollups_small = sites * DAYS_KEPT * small.d1_b_per_day;
    let d1 = hot_small + rollups_small;
    println!(
        "  | 10,000 sites × 10 k events/month, 13 months | 10 k | 12 each | {} | {} (hot window {}, rollups {}) | {} |",
        gb(small_shard),
        gb(d1),
        gb(hot_small),
        gb(rollups_small),
        (sites * MONTHS) as i64
    );
    for (name, b) in [("1 big site: largest shard", shard), ("10k sites: D1", d1)] {
        if b > 0.5 * TEN_GB {
            println!("  ! {name} is {} — over half of 10 GB", gb(b));
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes; the figures need `cargo bench`
    }
    let env_num = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sizes: Vec<usize> = std::env::var("BENCH_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rounds = env_num("BENCH_ROUNDS", 5);
    let filtered_rounds = env_num("BENCH_FILTERED_ROUNDS", 3);
    let dir = std::env::var("CARGO_TARGET_TMPDIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    // Times are of this machine as it is: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "storage bench, natively (bundled SQLite {}), files in {dir}; load average at start: {}, {} cores",
        rusqlite::version(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut largest = Measured::default();
    for total in sizes {
        largest = bench_size(&dir, total, rounds, filtered_rounds);
    }
    let (small, floor) = small_site(&dir);
    if largest.events > 0 {
        capacity(largest, small, floor);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers of the daily rollups section below (s16-rollups), which runs on the old layout's
// database once its figures are printed: every complete day built in place, one hot day left.

fn size_of(db: &Connection, table: &str) -> i64 {
    db.query_row(
        "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?1)",
        params![table],
        |r| r.get(0),
    )
    .unwrap_or(-1)
}

fn median_ms(f: impl FnMut()) -> f64 {
    let mut f = f;
    median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
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
fn daily_rows_read(db: &Connection, from: i64, to: i64) -> (i64, i64) {
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
    let before_rows_read = daily_rows_read(db, from, to);
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
    let after_rows_read = daily_rows_read(db, from, to);
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
