//! SQLite (D1's engine) for the equivalence test and the storage bench: the real migrations,
//! the Worker's own INSERT/UPSERT and series SQL. Included with `#[path]` by both.

use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::stats::period::HourRow;
use analytics_core::stats::query::{hourly, Scope};
use analytics_core::stats::rollup::{self, Delta, UPSERT_SQL};
use analytics_core::store::events::{event_values, insert_event_sql};
use rusqlite::{params_from_iter, Connection};

pub use analytics_core::store::sqlite::{apply_migrations, value as to_sql};

/// Stores raw events and rollup deltas the way a flush does (the caller owns the transaction).
pub fn store(db: &Connection, site: &str, events: &[EnrichedEvent], deltas: &[Delta]) {
    let mut insert = db.prepare_cached(&insert_event_sql()).unwrap();
    for e in events {
        insert
            .execute(params_from_iter(event_values(e).iter().map(to_sql)))
            .unwrap();
    }
    let mut upsert = db.prepare_cached(UPSERT_SQL).unwrap();
    for d in deltas {
        upsert
            .execute(params_from_iter(
                rollup::upsert_values(site, d).iter().map(to_sql),
            ))
            .unwrap();
    }
}

/// The time series' hourly rows, with the SQL the Worker runs.
pub fn hour_rows(db: &Connection, site: &str, from: i64, to: i64) -> Vec<HourRow> {
    let sql = hourly(&Scope {
        site,
        from_ms: from,
        to_ms: to,
        filters: &[],
    });
    let mut stmt = db.prepare_cached(&sql.text).unwrap();
    stmt.query_map(params_from_iter(sql.binds.iter().map(to_sql)), |r| {
        Ok(HourRow {
            t: r.get("t")?,
            pageviews: r.get("pageviews")?,
            visitors: r.get("visitors")?,
            hour_visitors: r.get("hour_visitors")?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}
