//! The per-site Durable Object's own SQLite (not D1): its schema and every statement it runs,
//! with the row types it reads. The Durable Object runs these through its `do_sql` helper; the
//! tests below run them in an in-memory SQLite built from the same [`SCHEMA`].
//!
//! The Durable Object's storage takes positional `?` placeholders, bound in order.

use super::Sql;
use crate::binds;
use serde::Deserialize;

/// The Durable Object's tables: the append-only buffer, open sessions, the counted uniques,
/// rate counters, bookkeeping (`meta`) and the day's property sets. Idempotent.
pub const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS buffer (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL, deltas TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS open_sessions (visitor TEXT PRIMARY KEY, state TEXT NOT NULL, last_seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rate_counts (key TEXT PRIMARY KEY, win INTEGER NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS prop_sets (set_name TEXT NOT NULL, item TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (set_name, item));
CREATE INDEX IF NOT EXISTS prop_sets_at ON prop_sets (at);
CREATE TABLE IF NOT EXISTS meter (stage INTEGER NOT NULL, month TEXT NOT NULL, site_id TEXT NOT NULL, received INTEGER NOT NULL, refused INTEGER NOT NULL, PRIMARY KEY (stage, month));";

/// Buffers created before rollups lack the `deltas` column; adding it twice fails harmlessly.
pub const ADD_DELTAS_COLUMN: &str =
    "ALTER TABLE buffer ADD COLUMN deltas TEXT NOT NULL DEFAULT '[]'";

/// How long the set of counted uniques (and the day's property sets) keep a key: longer than a
/// day plus a session, since uniques and the property budget are per day.
pub const SEEN_KEEP_MS: i64 = 2 * 24 * 60 * 60 * 1000;

/// `meta` keys: consecutive failed flushes, and when the last flush succeeded.
pub const FLUSH_FAILURES: &str = "flush_failures";
pub const LAST_FLUSH_MS: &str = "last_flush_ms";
/// `meta` key: the flush D1 may or may not have (0: none). Positive, the last event seq of its
/// batch; negative, a flush of counts alone, numbered by [`COUNT_FLUSHES`]. Either way its
/// `flush_log` row in D1 says whether it landed, and a retry sends exactly the same batch.
pub const IN_FLIGHT: &str = "in_flight";
/// `meta` key: how many flushes of counts alone this buffer has made (their `flush_log` keys).
pub const COUNT_FLUSHES: &str = "count_flushes";

/// `meter.stage`: counts still adding up, and the counts of the flush in flight (frozen, so a
/// retry sends what the first attempt sent while new counts add up beside them).
pub const METER_OPEN: i64 = 0;
pub const METER_IN_FLIGHT: i64 = 1;

/// Adds a request's received and refused events to the open counts of `month`.
pub fn meter_add(site_id: &str, month: &str, received: i64, refused: i64) -> Sql {
    Sql::new(
        "INSERT INTO meter (stage, month, site_id, received, refused) VALUES (0, ?, ?, ?, ?) \
         ON CONFLICT(stage, month) DO UPDATE SET received = received + excluded.received, \
         refused = refused + excluded.refused, site_id = excluded.site_id",
        binds![month, site_id, received, refused],
    )
}

/// Months with open counts, as [`Count`].
pub fn meter_open() -> Sql {
    Sql::new("SELECT COUNT(*) AS n FROM meter WHERE stage = 0", [])
}

/// Freezes the open counts as the flush in flight's (none may be in flight: a flush in flight
/// is retried until it lands, before any other).
pub fn meter_freeze() -> Sql {
    Sql::new("UPDATE meter SET stage = 1 WHERE stage = 0", [])
}

/// A month's counts in flight.
#[derive(Debug, Deserialize, PartialEq)]
pub struct MeterCounts {
    pub site_id: String,
    pub month: String,
    pub received: i64,
    pub refused: i64,
}

pub fn meter_in_flight() -> Sql {
    Sql::new(
        "SELECT site_id, month, received, refused FROM meter WHERE stage = 1 ORDER BY month",
        [],
    )
}

/// The flush in flight landed in D1: its counts are there.
pub fn meter_landed() -> Sql {
    Sql::new("DELETE FROM meter WHERE stage = 1", [])
}

/// A single number (`n`): a count, a `meta` value, a rate counter.
#[derive(Debug, Deserialize)]
pub struct Count {
    pub n: i64,
}

/// Events waiting to be flushed.
pub fn pending() -> Sql {
    Sql::new("SELECT COUNT(*) AS n FROM buffer", [])
}

/// A `meta` value as [`Count`]; no row when it was never set (read as 0).
pub fn meta(key: &str) -> Sql {
    Sql::new("SELECT value AS n FROM meta WHERE key = ?", binds![key])
}

pub fn set_meta(key: &str, value: i64) -> Sql {
    Sql::new(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        binds![key, value],
    )
}

/// Events counted under `key` in rate window `window` as [`Count`]; no row when none.
pub fn rate_count(key: &str, window: i64) -> Sql {
    Sql::new(
        "SELECT count AS n FROM rate_counts WHERE key = ? AND win = ?",
        binds![key, window],
    )
}

/// Adds `n` to `key`'s count in `window`; a count of an earlier window starts over.
pub fn add_rate_count(key: &str, window: i64, n: i64) -> Sql {
    Sql::new(
        "INSERT INTO rate_counts (key, win, count) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET \
         count = CASE WHEN win = excluded.win THEN count + excluded.count ELSE excluded.count END, \
         win = excluded.win",
        binds![key, window, n],
    )
}

/// A visitor's open session: the rollups' state (JSON) and when it was last seen.
#[derive(Debug, Deserialize)]
pub struct OpenSessionRow {
    pub state: String,
    pub last_seen: i64,
}

pub fn open_session(visitor: &str) -> Sql {
    Sql::new(
        "SELECT state, last_seen FROM open_sessions WHERE visitor = ?",
        binds![visitor],
    )
}

pub fn save_open_session(visitor: &str, state_json: &str, last_seen: i64) -> Sql {
    Sql::new(
        "INSERT INTO open_sessions (visitor, state, last_seen) VALUES (?, ?, ?) \
         ON CONFLICT(visitor) DO UPDATE SET state = excluded.state, last_seen = excluded.last_seen",
        binds![visitor, state_json, last_seen],
    )
}

/// Appends an event (JSON) with the rollup deltas it makes (JSON).
pub fn append(event_json: &str, deltas_json: &str) -> Sql {
    Sql::new(
        "INSERT INTO buffer (event, deltas) VALUES (?, ?)",
        binds![event_json, deltas_json],
    )
}

/// A buffered event, as the flush reads it.
#[derive(Debug, Deserialize)]
pub struct BufferedRow {
    pub seq: i64,
    pub event: String,
    pub deltas: String,
}

/// The oldest `limit` buffered events, in order.
pub fn next_batch(limit: i64) -> Sql {
    Sql::new(
        "SELECT seq, event, deltas FROM buffer ORDER BY seq LIMIT ?",
        binds![limit],
    )
}

/// The batch of a flush in flight, retried: exactly the events up to its last seq.
pub fn batch_upto(upto_seq: i64, limit: i64) -> Sql {
    Sql::new(
        "SELECT seq, event, deltas FROM buffer WHERE seq <= ? ORDER BY seq LIMIT ?",
        binds![upto_seq, limit],
    )
}

/// Forgets the events up to `upto_seq` once D1 has them.
pub fn drop_flushed(upto_seq: i64) -> Sql {
    Sql::new("DELETE FROM buffer WHERE seq <= ?", binds![upto_seq])
}

/// The buffer's tables a site deletion empties.
pub const PURGED_TABLES: [&str; 6] = [
    "buffer",
    "open_sessions",
    "seen",
    "meta",
    "prop_sets",
    "meter",
];

/// The site is being deleted: everything buffered, every open session, the counted uniques,
/// the bookkeeping, the property sets and the metering counts not yet in D1 go (the rate
/// counters expire on their own). A site later created under the same id starts from nothing.
pub fn purge() -> [Sql; 6] {
    PURGED_TABLES.map(|table| Sql::new(format!("DELETE FROM {table}"), []))
}

/// After a flush, at `now_ms`: sessions idle past the timeout can never continue, past rate
/// windows never count again, and uniques and the property budget are per day, so two days
/// later no event can need their keys.
pub fn forget_expired(now_ms: i64) -> [Sql; 4] {
    let day_sets = now_ms - SEEN_KEEP_MS;
    [
        Sql::new(
            "DELETE FROM open_sessions WHERE last_seen < ?",
            binds![now_ms - crate::enrich::session::SESSION_TIMEOUT_MS],
        ),
        Sql::new("DELETE FROM seen WHERE at < ?", binds![day_sets]),
        Sql::new("DELETE FROM prop_sets WHERE at < ?", binds![day_sets]),
        Sql::new(
            "DELETE FROM rate_counts WHERE win < ?",
            binds![crate::ingest::rate_limit::window_of(now_ms)],
        ),
    ]
}

/// A row (as [`Count`]) when `item` is already in the property set `set`.
pub fn prop_set_has(set: &str, item: &str) -> Sql {
    Sql::new(
        "SELECT 1 AS n FROM prop_sets WHERE set_name = ? AND item = ?",
        binds![set, item],
    )
}

/// How many items the property set `set` holds, as [`Count`].
pub fn prop_set_size(set: &str) -> Sql {
    Sql::new(
        "SELECT COUNT(*) AS n FROM prop_sets WHERE set_name = ?",
        binds![set],
    )
}

pub fn add_to_prop_set(set: &str, item: &str, at: i64) -> Sql {
    Sql::new(
        "INSERT OR IGNORE INTO prop_sets (set_name, item, at) VALUES (?, ?, ?)",
        binds![set, item, at],
    )
}

/// Marks a unique as counted; it writes a row only the first time (the caller reads the number
/// of rows written).
pub fn mark_seen(key: &str, at: i64) -> Sql {
    Sql::new(
        "INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)",
        binds![key, at],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{all, first, run};
    use rusqlite::Connection;

    /// A fresh Durable Object's storage.
    fn storage() -> Connection {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(SCHEMA).unwrap();
        db
    }

    fn count(db: &Connection, sql: &Sql) -> i64 {
        first::<Count>(db, sql).map_or(0, |c| c.n)
    }

    #[test]
    fn the_schema_is_idempotent_and_an_old_buffer_gains_its_deltas_column() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE buffer (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)",
        )
        .unwrap();
        db.execute_batch(SCHEMA).unwrap();
        db.execute_batch(SCHEMA).unwrap();
        run(&db, &Sql::new(ADD_DELTAS_COLUMN, []));
        assert!(db.execute_batch(ADD_DELTAS_COLUMN).is_err(), "twice fails");
        db.execute("INSERT INTO buffer (event) VALUES ('{}')", [])
            .unwrap();
        let rows: Vec<BufferedRow> = all(&db, &next_batch(10));
        assert_eq!(rows[0].deltas, "[]");
    }

    #[test]
    fn events_flush_in_order_and_leave_only_up_to_the_flushed_seq() {
        let db = storage();
        for i in 0..5 {
            run(&db, &append(&format!("{{\"i\":{i}}}"), "[]"));
        }
        assert_eq!(count(&db, &pending()), 5);
        let batch: Vec<BufferedRow> = all(&db, &next_batch(3));
        let events: Vec<&str> = batch.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, [r#"{"i":0}"#, r#"{"i":1}"#, r#"{"i":2}"#]);
        run(&db, &drop_flushed(batch[2].seq));
        assert_eq!(count(&db, &pending()), 2);
        // Sequence numbers never go back, so a later append sorts after what is left.
        run(&db, &append("{\"i\":5}", "[]"));
        let rest: Vec<BufferedRow> = all(&db, &next_batch(10));
        assert!(rest.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(rest.last().map(|r| r.event.as_str()), Some(r#"{"i":5}"#));
    }

    #[test]
    fn meta_values_read_zero_until_set_and_then_the_last_value() {
        let db = storage();
        assert_eq!(count(&db, &meta(FLUSH_FAILURES)), 0);
        run(&db, &set_meta(FLUSH_FAILURES, 3));
        run(&db, &set_meta(FLUSH_FAILURES, 4));
        run(&db, &set_meta(LAST_FLUSH_MS, 1_700_000_000_000));
        assert_eq!(count(&db, &meta(FLUSH_FAILURES)), 4);
        assert_eq!(count(&db, &meta(LAST_FLUSH_MS)), 1_700_000_000_000);
    }

    #[test]
    fn rate_counts_add_up_in_a_window_and_start_over_in_the_next() {
        let db = storage();
        run(&db, &add_rate_count("site", 7, 10));
        run(&db, &add_rate_count("site", 7, 5));
        run(&db, &add_rate_count("v:abc", 7, 1));
        assert_eq!(count(&db, &rate_count("site", 7)), 15);
        assert_eq!(count(&db, &rate_count("site", 8)), 0);
        run(&db, &add_rate_count("site", 8, 2));
        assert_eq!(count(&db, &rate_count("site", 8)), 2);
        assert_eq!(count(&db, &rate_count("site", 7)), 0);
        assert_eq!(count(&db, &rate_count("v:abc", 7)), 1);
    }

    #[test]
    fn an_open_session_is_saved_over_and_read_back() {
        let db = storage();
        assert!(first::<OpenSessionRow>(&db, &open_session("v1")).is_none());
        run(&db, &save_open_session("v1", r#"{"a":1}"#, 100));
        run(&db, &save_open_session("v1", r#"{"a":2}"#, 200));
        let row: OpenSessionRow = first(&db, &open_session("v1")).unwrap();
        assert_eq!((row.state.as_str(), row.last_seen), (r#"{"a":2}"#, 200));
    }

    #[test]
    fn a_unique_is_marked_once() {
        let db = storage();
        assert_eq!(run(&db, &mark_seen("k", 1)), 1);
        assert_eq!(run(&db, &mark_seen("k", 2)), 0);
        assert_eq!(run(&db, &mark_seen("j", 2)), 1);
    }

    #[test]
    fn property_sets_know_their_items_and_their_size() {
        let db = storage();
        assert!(first::<Count>(&db, &prop_set_has("keys", "plan")).is_none());
        run(&db, &add_to_prop_set("keys", "plan", 1));
        run(&db, &add_to_prop_set("keys", "plan", 2));
        run(&db, &add_to_prop_set("keys", "tier", 2));
        run(&db, &add_to_prop_set("values", "pro", 2));
        assert!(first::<Count>(&db, &prop_set_has("keys", "plan")).is_some());
        assert!(first::<Count>(&db, &prop_set_has("values", "plan")).is_none());
        assert_eq!(count(&db, &prop_set_size("keys")), 2);
    }

    #[test]
    fn expired_sessions_uniques_property_sets_and_rate_windows_are_forgotten() {
        let db = storage();
        let now = 10 * SEEN_KEEP_MS;
        let timeout = crate::enrich::session::SESSION_TIMEOUT_MS;
        let window = crate::ingest::rate_limit::window_of(now);
        run(&db, &save_open_session("idle", "{}", now - timeout - 1));
        run(&db, &save_open_session("open", "{}", now - timeout));
        run(&db, &mark_seen("old", now - SEEN_KEEP_MS - 1));
        run(&db, &mark_seen("new", now - SEEN_KEEP_MS));
        run(&db, &add_to_prop_set("keys", "old", now - SEEN_KEEP_MS - 1));
        run(&db, &add_to_prop_set("keys", "new", now - SEEN_KEEP_MS));
        run(&db, &add_rate_count("past", window - 1, 5));
        run(&db, &add_rate_count("current", window, 5));
        for sql in forget_expired(now) {
            run(&db, &sql);
        }
        let left = |table: &str, column: &str| -> Vec<String> {
            #[derive(Deserialize)]
            struct Key {
                k: String,
            }
            all::<Key>(
                &db,
                &Sql::new(format!("SELECT {column} AS k FROM {table} ORDER BY 1"), []),
            )
            .into_iter()
            .map(|r| r.k)
            .collect()
        };
        assert_eq!(left("open_sessions", "visitor"), ["open"]);
        assert_eq!(left("seen", "key"), ["new"]);
        assert_eq!(left("prop_sets", "item"), ["new"]);
        assert_eq!(left("rate_counts", "key"), ["current"]);
    }

    #[test]
    fn a_purge_forgets_all_but_the_rate_counters() {
        let db = storage();
        run(&db, &append("{}", "[]"));
        run(&db, &save_open_session("v", "{}", 1));
        run(&db, &mark_seen("k", 1));
        run(&db, &set_meta(FLUSH_FAILURES, 2));
        run(&db, &add_to_prop_set("keys", "plan", 1));
        run(&db, &add_rate_count("site", 1, 1));
        for sql in purge() {
            run(&db, &sql);
        }
        run(&db, &meter_add("s", "2026-12", 1, 1));
        for sql in purge() {
            run(&db, &sql);
        }
        // Every table of the schema is purged, but the rate counters (they expire on their own):
        // a table added later without a purge fails here.
        #[derive(Deserialize)]
        struct Name {
            name: String,
        }
        let tables: Vec<Name> = all(
            &db,
            &Sql::new(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> 'rate_counts' ORDER BY name",
                [],
            ),
        );
        let mut purged = PURGED_TABLES.to_vec();
        purged.sort();
        assert_eq!(
            tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            purged
        );
        for table in PURGED_TABLES {
            let sql = Sql::new(format!("SELECT COUNT(*) AS n FROM {table}"), []);
            assert_eq!(count(&db, &sql), 0, "{table}");
        }
        assert_eq!(count(&db, &rate_count("site", 1)), 1);
    }

    #[test]
    fn meter_counts_add_up_per_month_and_freeze_for_a_flush_while_new_ones_add_up() {
        let db = storage();
        run(&db, &meter_add("s", "2026-11", 3, 1));
        run(&db, &meter_add("s", "2026-12", 5, 0));
        run(&db, &meter_add("s", "2026-12", 2, 2));
        assert_eq!(count(&db, &meter_open()), 2);
        run(&db, &meter_freeze());
        assert_eq!(count(&db, &meter_open()), 0);
        // Counts arriving while the flush is in flight add up apart from it.
        run(&db, &meter_add("s", "2026-12", 4, 4));
        let flight: Vec<MeterCounts> = all(&db, &meter_in_flight());
        let c = |month: &str, received, refused| MeterCounts {
            site_id: "s".into(),
            month: month.into(),
            received,
            refused,
        };
        assert_eq!(flight, [c("2026-11", 3, 1), c("2026-12", 7, 2)]);
        run(&db, &meter_landed());
        assert!(all::<MeterCounts>(&db, &meter_in_flight()).is_empty());
        assert_eq!(count(&db, &meter_open()), 1);
        run(&db, &meter_freeze());
        assert_eq!(
            all::<MeterCounts>(&db, &meter_in_flight()),
            [c("2026-12", 4, 4)]
        );
    }

    #[test]
    fn a_retried_batch_is_exactly_the_first_attempts_even_after_more_appends() {
        let db = storage();
        for i in 0..3 {
            run(&db, &append(&format!("{{\"i\":{i}}}"), "[]"));
        }
        let first: Vec<BufferedRow> = all(&db, &next_batch(10));
        let upto = first.last().unwrap().seq;
        run(&db, &append("{\"i\":3}", "[]"));
        let retry: Vec<BufferedRow> = all(&db, &batch_upto(upto, 10));
        assert_eq!(
            retry.iter().map(|r| r.seq).collect::<Vec<_>>(),
            first.iter().map(|r| r.seq).collect::<Vec<_>>()
        );
    }
}
