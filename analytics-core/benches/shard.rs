//! The cold shard (`store::shard`) at scale: loads a month of events from the storage bench's
//! generator (`support/generate.rs`, `day_events`) into one shard file, day by day in pages as sealing
//! does, then prints bytes per event by table and index (SQLite's dbstat) and the time of the
//! filtered 30-day overview (totals, hourly series, six breakdowns) through the `events` view.
//! Prints figures only.
//!
//! `cargo bench -p analytics-core --bench shard` (BENCH_SHARD_EVENTS=1000000 by default).

#[allow(dead_code)]
#[path = "support/generate.rs"]
mod storage;

use analytics_core::stats::filter::Filter;
use analytics_core::stats::merge::SHARD_BREAKDOWN_ROWS;
use analytics_core::stats::query::{self, Scope};
use analytics_core::stats::rollup::{self, Dimension, OpenSession, SeenSet};
use analytics_core::stats::DAY_MS;
use analytics_core::store::shard;
use analytics_core::store::sqlite::value;
use analytics_core::store::Sql;
use rusqlite::{params_from_iter, Connection};
use std::collections::HashMap;
use std::time::Instant;

const SITE: &str = "bench";
const DAYS: i64 = 30;
const START: i64 = 20_000 * DAY_MS;

struct Nobody;
impl SeenSet for Nobody {
    fn first(&mut self, _: &str) -> bool {
        false
    }
}

fn run(db: &Connection, sql: &Sql) -> usize {
    let mut stmt = db.prepare_cached(&sql.text).unwrap();
    let mut rows = stmt
        .query(params_from_iter(sql.binds.iter().map(value)))
        .unwrap();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    n
}

fn load(path: &str, total: usize) -> Connection {
    let _ = std::fs::remove_file(path);
    let db = Connection::open(path).unwrap();
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .unwrap();
    for m in shard::MIGRATIONS {
        db.execute_batch(m).unwrap();
    }
    let mut rng = storage::Rng(0x2545_f491_4f6c_dd1d);
    let mut next_id = 0;
    let mut open: HashMap<String, OpenSession> = HashMap::new();
    let per_day = total / DAYS as usize;
    let started = Instant::now();
    let mut statements = 0;
    for day in 0..DAYS {
        let mut events =
            storage::day_events(&mut rng, SITE, START, day + 40, per_day, &mut next_id);
        for e in events.iter_mut() {
            // The storage bench's days start at its own START; move them into this month.
            e.ts -= 40 * DAY_MS;
            let (state, _) = rollup::apply(e, open.get(&e.visitor), &mut Nobody);
            open.insert(e.visitor.clone(), state);
        }
        let day_start = START + day * DAY_MS;
        let tx = db.unchecked_transaction().unwrap();
        for s in shard::clear_from(day_start) {
            run(&tx, &s);
        }
        for page in shard::pages(&events) {
            for s in shard::append(SITE, day_start, page, false) {
                assert!(s.binds.len() <= shard::MAX_BOUND_PARAMETERS);
                tx.execute(&s.text, params_from_iter(s.binds.iter().map(value)))
                    .unwrap();
                statements += 1;
            }
        }
        tx.commit().unwrap();
    }
    let visible = shard::set_visible_until(START + DAYS * DAY_MS);
    db.execute(
        &visible.text,
        params_from_iter(visible.binds.iter().map(value)),
    )
    .unwrap();
    eprintln!(
        "  appended {total} events ({statements} statements) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    db
}

/// CPU time this thread has had (Linux: /proc/thread-self/schedstat, ns), so figures stay
/// meaningful on a machine busy with other work; wall time where that is unavailable.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Median of `runs` runs of `f`: (wall ms, CPU ms).
fn median_ms(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut times: Vec<(f64, f64)> = (0..runs)
        .map(|_| {
            let (t, c) = (Instant::now(), cpu_ns());
            f();
            let wall = t.elapsed().as_secs_f64() * 1000.0;
            let cpu = match (c, cpu_ns()) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e6,
                _ => wall,
            };
            (wall, cpu)
        })
        .collect();
    times.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
    times[runs / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes; the figures need `cargo bench`
    }
    let total: usize = std::env::var("BENCH_SHARD_EVENTS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::var("CARGO_TARGET_TMPDIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let path = format!("{dir}/vigia-shard-bench-{total}.sqlite");
    println!("shard bench: {total} generated events over {DAYS} days in one shard");
    let db = load(&path, total);
    db.execute_batch("VACUUM").unwrap();
    let events: i64 = db
        .query_row("SELECT COUNT(*) FROM ev", [], |r| r.get(0))
        .unwrap();
    let mut stmt = db
        .prepare(
            "SELECT name, SUM(pgsize), COUNT(*) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC",
        )
        .unwrap();
    let sizes: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(stmt);
    let file = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "  file {file} B = {:.1} B/event ({events} events)",
        file as f64 / events as f64
    );
    for (name, bytes, pages) in &sizes {
        println!(
            "    {name:<28} {bytes:>11} B {pages:>7} pages {:>6.2} B/event",
            *bytes as f64 / events as f64
        );
    }
    for (table, what) in [
        ("dict", "strings"),
        ("ctx", "context tuples"),
        ("days", "day ranges"),
    ] {
        let n: i64 = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        println!("    {table}: {n} {what}");
    }

    let (from, to) = (START, START + DAYS * DAY_MS);
    // Unfiltered views read D1's daily rollups, never a shard.
    let filter_sets: [(&str, &str); 3] = [
        ("country", "country:US"),
        ("page", "page:/section-1/page-1"),
        ("source", "source:Google"),
    ];
    let panels = [
        Dimension::Page,
        Dimension::Source,
        Dimension::Country,
        Dimension::Browser,
        Dimension::Os,
        Dimension::Device,
    ];
    // The view form decodes every column of every row: seconds at a million events.
    let skip_view = std::env::var("BENCH_SHARD_VIEW").is_err();
    println!("  30-day overview, ms per query (median of 3); `view`: the D1 SQL through the events view (BENCH_SHARD_VIEW=1), `fast`: store::shard::fast:");
    for (label, f) in filter_sets {
        let filters: Vec<Filter> = if f.is_empty() {
            vec![]
        } else {
            vec![Filter::parse(f).unwrap()]
        };
        let scope = Scope {
            site: SITE,
            from_ms: from,
            to_ms: to,
            filters: &filters,
        };
        for (form, fast) in [("view", false), ("fast", true)] {
            if !fast && skip_view {
                continue;
            }
            let mut parts: Vec<(&str, Sql)> = vec![(
                "totals",
                if fast {
                    shard::fast::totals(&scope)
                } else {
                    query::totals_raw(&scope)
                },
            )];
            if !filters.is_empty() {
                parts.push((
                    "hourly",
                    if fast {
                        shard::fast::hourly(&scope)
                    } else {
                        query::hourly(&scope)
                    },
                ));
            }
            for d in panels {
                parts.push((
                    d.as_str(),
                    if fast {
                        shard::fast::breakdown(&scope, d, SHARD_BREAKDOWN_ROWS)
                    } else {
                        query::breakdown_part(&scope, d, SHARD_BREAKDOWN_ROWS)
                    },
                ));
            }
            let mut line = String::new();
            let (mut wall, mut cpu) = (0.0, 0.0);
            for (name, sql) in &parts {
                let (w, c) = median_ms(3, || {
                    run(&db, sql);
                });
                wall += w;
                cpu += c;
                line.push_str(&format!(" {name} {c:.0}"));
            }
            println!("    {label:<10} {form:<8} CPU {cpu:>6.0} ms (wall {wall:>6.0}):{line}");
        }
    }
    drop(db);
    if std::env::var("BENCH_SHARD_KEEP").is_err() {
        let _ = std::fs::remove_file(&path);
    }
}
