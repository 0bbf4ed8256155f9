//! What the daily job deletes — raw rows past each site's retention, old salts, rate counts and
//! failed logins — and what the compliance report reads about it. The purge statements
//! themselves are `crate::governance::compliance::purge_sql`, bound here.

use crate::binds;
use crate::governance::compliance::{purge_sql, Purged, PURGE_CHUNK_ROWS};
use crate::store::Sql;
use serde::Deserialize;

/// Every site's retention (rows: [`SiteRetention`]).
pub fn site_retentions() -> Sql {
    Sql::new("SELECT id, retention_days FROM sites", [])
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteRetention {
    pub id: String,
    pub retention_days: i64,
}

/// One chunk (`PURGE_CHUNK_ROWS`) of the purge of `what` for a site, of rows before `cutoff_ms`.
pub fn purge_chunk(what: Purged, site: &str, cutoff_ms: i64) -> Sql {
    Sql::new(
        purge_sql(what),
        binds![site, what.cutoff(cutoff_ms), PURGE_CHUNK_ROWS],
    )
}

/// Counts of dropped events of days before `first_day_kept` (`YYYY-MM-DD`, UTC).
pub fn purge_dropped_events(site: &str, first_day_kept: &str) -> Sql {
    Sql::new(
        crate::ingest::dropped::PURGE_DROPPED_EVENTS_SQL,
        binds![site, first_day_kept],
    )
}

/// Records one retention run for a site (the compliance report states the last one).
pub fn record_purge(site: &str, at_ms: i64, cutoff_ms: i64, events_deleted: i64) -> Sql {
    Sql::new(
        "INSERT INTO purges (site_id, at, cutoff, events_deleted) VALUES (?1, ?2, ?3, ?4)",
        binds![site, at_ms, cutoff_ms, events_deleted],
    )
}

/// The per-minute rate counts the limits and the alert rules read.
pub const RATE_COUNT_TABLES: [&str; 3] = ["activity_rate", "rate_limited", "share_rate"];

/// Deletes the rate counts of `table` (one of `RATE_COUNT_TABLES`) of windows before `cutoff_ms`.
pub fn prune_rate_counts(table: &str, cutoff_ms: i64) -> Sql {
    Sql::new(
        format!("DELETE FROM {table} WHERE win < ?1"),
        binds![cutoff_ms],
    )
}

/// Deletes every salt of days before `keep_from` (`YYYY-MM-DD`).
pub fn rotate_salts(keep_from: &str) -> Sql {
    Sql::new("DELETE FROM salts WHERE day < ?1", binds![keep_from])
}

/// Deletes the failed logins before `cutoff_ms`.
pub fn prune_login_failures(cutoff_ms: i64) -> Sql {
    Sql::new(crate::accounts::login::PRUNE_SQL, binds![cutoff_ms])
}

/// What the compliance report counts for a site (row: [`Figures`](crate::governance::compliance::Figures), to be completed; none for
/// no such site).
pub fn compliance_counts(site: &str) -> Sql {
    Sql::new(
        "SELECT name, retention_days, \
         (SELECT COUNT(*) FROM events WHERE site_id = ?1) + \
         (SELECT COALESCE(SUM(events), 0) FROM shards WHERE site_key = sites.site_key) AS raw_events, \
         (SELECT MIN(ts) FROM events WHERE site_id = ?1) AS oldest_event_at, \
         (SELECT COUNT(*) FROM rollups_hourly WHERE site_id = ?1) AS rollup_rows, \
         (SELECT COUNT(*) FROM audit_log WHERE site_key = sites.site_key) AS audit_entries, \
         (SELECT COUNT(*) FROM activity WHERE site_id = ?1) AS activity_records, \
         (SELECT at FROM purges WHERE site_id = ?1 ORDER BY id DESC LIMIT 1) AS last_purge_at, \
         (SELECT events_deleted FROM purges WHERE site_id = ?1 ORDER BY id DESC LIMIT 1) AS last_purge_deleted, \
         (SELECT COALESCE(SUM(events_deleted), 0) FROM purges WHERE site_id = ?1) AS purged_total \
         FROM sites WHERE id = ?1",
        binds![site],
    )
}

/// The successful deletions, removals and revocations the site's audit log holds, newest
/// first, at most 500 (rows: [`Deletion`]).
pub fn deletions(site: &str) -> Sql {
    Sql::new(
        "SELECT at, actor_email, action, target FROM audit_log \
         WHERE site_key = (SELECT site_key FROM sites WHERE id = ?1) \
         AND (action LIKE '%delete%' OR action LIKE '%remove%' OR action LIKE '%revoke%') \
         AND outcome BETWEEN 200 AND 299 ORDER BY id DESC LIMIT 500",
        binds![site],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Deletion {
    pub at: i64,
    pub actor_email: String,
    pub action: String,
    pub target: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::compliance::{Figures, PURGED_TABLES};
    use crate::store::sqlite::{all, first, migrated, run};

    fn count(db: &rusqlite::Connection, table: &str) -> i64 {
        #[derive(Deserialize)]
        struct N {
            n: i64,
        }
        first::<N>(
            db,
            &Sql::new(format!("SELECT COUNT(*) AS n FROM {table}"), []),
        )
        .unwrap()
        .n
    }

    #[test]
    fn rows_past_retention_go_and_the_report_counts_what_is_left() {
        let db = migrated();
        for sql in [
            "INSERT INTO sites (id, name, created_at, retention_days) VALUES ('shop', 'Shop', 0, 30)",
            "INSERT INTO activity (id, site_id, ts, day, type, outcome) VALUES \
             ('old', 'shop', 100, '1970-01-01', 'login', 'success'), ('new', 'shop', 5000, '1970-01-01', 'login', 'success')",
            "INSERT INTO salts (day, salt) VALUES ('2026-11-30', 'aa'), ('2026-12-01', 'bb')",
            "INSERT INTO activity_rate (site_id, win, records) VALUES ('shop', 0, 1), ('shop', 60000, 1)",
            "INSERT INTO login_failures (account, address, at) VALUES ('a', '', 10), ('a', '', 99999)",
        ] {
            run(&db, &Sql::new(sql, []));
        }
        let sites: Vec<SiteRetention> = all(&db, &site_retentions());
        assert_eq!(
            sites,
            [SiteRetention {
                id: "shop".into(),
                retention_days: 30
            }]
        );
        let mut deleted = 0;
        for what in PURGED_TABLES {
            deleted += run(&db, &purge_chunk(what, "shop", 1000)) as i64;
        }
        assert_eq!(deleted, 1, "the old activity record");
        run(&db, &purge_dropped_events("shop", "1970-01-01"));
        run(&db, &record_purge("shop", 7, 1000, 3));
        run(&db, &record_purge("shop", 8, 1000, 4));
        run(&db, &rotate_salts("2026-12-01"));
        assert_eq!(count(&db, "salts"), 1);
        for table in RATE_COUNT_TABLES {
            run(&db, &prune_rate_counts(table, 60_000));
        }
        assert_eq!(count(&db, "activity_rate"), 1);
        run(&db, &prune_login_failures(1000));
        assert_eq!(count(&db, "login_failures"), 1);

        let counts: Figures = first(&db, &compliance_counts("shop")).unwrap();
        assert_eq!(
            counts,
            Figures {
                site_name: "Shop".into(),
                retention_days: 30,
                activity_records: 1,
                last_purge_at: Some(8),
                last_purge_deleted: Some(4),
                purged_total: 7,
                ..Figures::default()
            }
        );
        assert!(first::<Figures>(&db, &compliance_counts("nope")).is_none());
        assert!(all::<Deletion>(&db, &deletions("shop")).is_empty());
    }
}
