//! The D1 statements on the event's path: the site and the day's salt ingest looks up, the
//! counts of events dropped on purpose and of refused requests, and what a buffer's flush
//! checks and records beside the events (`store::events`) and rollups. Also the site summaries
//! the cron jobs and reports list.

use super::Sql;
use crate::binds;
use crate::ingest::pipeline::SiteConfig;
use serde::Deserialize;

/// A site as ingest reads it: `hostnames` and `query_allow_list` are comma-separated.
#[derive(Debug, Deserialize)]
pub struct SiteRow {
    pub id: String,
    pub query_allow_list: String,
    #[serde(deserialize_with = "super::int_bool")]
    pub hash_routing: bool,
    pub hostnames: Option<String>,
}

impl SiteRow {
    pub fn into_config(self) -> SiteConfig {
        SiteConfig {
            id: self.id,
            hostnames: split_list(self.hostnames.as_deref().unwrap_or("")),
            query_allow_list: split_list(&self.query_allow_list),
            hash_routing: self.hash_routing,
        }
    }
}

/// The items of a comma-separated list, trimmed, without empty ones.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The site `site_id` with its hostnames, as [`SiteRow`].
pub fn site_config(site_id: &str) -> Sql {
    Sql::new(
        "SELECT s.id, s.query_allow_list, s.hash_routing, \
         (SELECT group_concat(hostname, ',') FROM site_hostnames h WHERE h.site_id = s.id) AS hostnames \
         FROM sites s WHERE s.id = ?1",
        binds![site_id],
    )
}

/// A day's salt (hex), if it has one.
#[derive(Debug, Deserialize)]
pub struct SaltRow {
    pub salt: String,
}

pub fn salt(day: &str) -> Sql {
    Sql::new("SELECT salt FROM salts WHERE day = ?1", binds![day])
}

/// Gives `day` the salt `salt_hex` unless it has one: concurrent first uses (in several
/// isolates) agree on whichever came first.
pub fn add_salt(day: &str, salt_hex: &str) -> Sql {
    Sql::new(
        "INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)",
        binds![day, salt_hex],
    )
}

/// A site as the cron jobs and reports need it.
#[derive(Debug, Deserialize)]
pub struct SiteSummary {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub kind: api_types::apps::SiteKind,
}

/// Every site (by id), or only the one named.
pub fn site_summaries(only: Option<&str>) -> Sql {
    match only {
        Some(id) => Sql::new(
            "SELECT id, name, timezone, kind FROM sites WHERE id = ?1",
            binds![id],
        ),
        None => Sql::new("SELECT id, name, timezone, kind FROM sites ORDER BY id", []),
    }
}

/// Adds a batch's dropped events to the day's count. Binds: site, day (YYYY-MM-DD, UTC),
/// reason, events.
pub const DROPPED_EVENTS_SQL: &str = "INSERT INTO dropped_events (site_id, day, reason, events) \
     VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (site_id, day, reason) DO UPDATE SET events = events + excluded.events";

pub fn count_dropped(
    site_id: &str,
    day: &str,
    reason: crate::ingest::dropped::DropReason,
    events: usize,
) -> Sql {
    Sql::new(
        DROPPED_EVENTS_SQL,
        binds![site_id, day, reason.as_str(), events as i64],
    )
}

/// The retention job deletes counts of days before the site's cutoff day with its raw events.
/// Binds: site, first day kept (YYYY-MM-DD, UTC).
pub const PURGE_DROPPED_EVENTS_SQL: &str =
    "DELETE FROM dropped_events WHERE site_id = ?1 AND day < ?2";

/// Keeps the highest running count reported for a site's window from one source (`ingest`
/// or `activity`). Binds: site, window start (ms), source, count.
pub const RECORD_REFUSALS_SQL: &str = "INSERT INTO rate_limited (site_id, win, source, refused) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (site_id, win, source) DO UPDATE SET \
     refused = MAX(rate_limited.refused, excluded.refused)";

pub fn record_refusals(site_id: &str, window_start_ms: i64, source: &str, refused: i64) -> Sql {
    Sql::new(
        RECORD_REFUSALS_SQL,
        binds![site_id, window_start_ms, source, refused],
    )
}

/// Before a buffer writes a batch to D1: whether D1 already has it (a flush whose answer was
/// lost), and whether the site still exists (it may have been deleted while events waited).
#[derive(Debug, Default, Deserialize)]
pub struct FlushState {
    /// The batch's last sequence number when D1 already recorded it.
    pub done: Option<i64>,
    #[serde(deserialize_with = "super::int_bool")]
    pub site_exists: bool,
}

impl FlushState {
    /// Write the batch only when it is new and its site is still there; otherwise its events
    /// are only dropped from the buffer.
    pub fn should_write(&self) -> bool {
        self.done.is_none() && self.site_exists
    }
}

/// The [`FlushState`] of `site_id`'s batch ending at `upto_seq`.
pub fn flush_state(site_id: &str, upto_seq: i64) -> Sql {
    Sql::new(
        "SELECT (SELECT upto_seq FROM flush_log WHERE site_id = ?1 AND upto_seq = ?2) AS done, \
         EXISTS (SELECT 1 FROM sites WHERE id = ?1) AS site_exists",
        binds![site_id, upto_seq],
    )
}

/// Records, in the batch's own D1 transaction, that the batch ending at `upto_seq` is written.
pub fn record_flush(site_id: &str, upto_seq: i64, at_ms: i64) -> Sql {
    Sql::new(
        "INSERT INTO flush_log (site_id, upto_seq, flushed_at) VALUES (?1, ?2, ?3)",
        binds![site_id, upto_seq, at_ms],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::dropped::DropReason;
    use crate::store::sqlite::{all, first, migrated, run};
    use rusqlite::Connection;

    fn with_site(id: &str) -> Connection {
        let db = migrated();
        run(
            &db,
            &Sql::new(
                "INSERT INTO sites (id, name, timezone, query_allow_list, hash_routing, created_at) \
                 VALUES (?1, ?2, 'Europe/Berlin', ' ref , ,lang', 1, 0)",
                binds![id, format!("{id} site")],
            ),
        );
        db
    }

    #[test]
    fn a_site_config_reads_its_hostnames_and_lists() {
        let db = with_site("demo");
        for host in ["example.com", "www.example.org"] {
            run(
                &db,
                &Sql::new(
                    "INSERT INTO site_hostnames (site_id, hostname) VALUES (?1, ?2)",
                    binds!["demo", host],
                ),
            );
        }
        let config = first::<SiteRow>(&db, &site_config("demo"))
            .unwrap()
            .into_config();
        let mut hostnames = config.hostnames.clone();
        hostnames.sort();
        assert_eq!(hostnames, ["example.com", "www.example.org"]);
        assert_eq!(config.query_allow_list, ["ref", "lang"]);
        assert!(config.hash_routing);
        assert!(first::<SiteRow>(&db, &site_config("nope")).is_none());
    }

    #[test]
    fn a_site_without_hostnames_has_none() {
        let db = with_site("bare");
        let config = first::<SiteRow>(&db, &site_config("bare"))
            .unwrap()
            .into_config();
        assert!(config.hostnames.is_empty());
    }

    #[test]
    fn the_first_salt_of_a_day_stays() {
        let db = migrated();
        assert!(first::<SaltRow>(&db, &salt("2026-12-04")).is_none());
        run(&db, &add_salt("2026-12-04", "aa"));
        run(&db, &add_salt("2026-12-04", "bb"));
        let row: SaltRow = first(&db, &salt("2026-12-04")).unwrap();
        assert_eq!(row.salt, "aa");
    }

    #[test]
    fn site_summaries_list_every_site_or_the_one_named() {
        let db = with_site("b");
        run(
            &db,
            &Sql::new(
                "INSERT INTO sites (id, name, created_at) VALUES ('a', 'A', 0)",
                [],
            ),
        );
        let every: Vec<SiteSummary> = all(&db, &site_summaries(None));
        let ids: Vec<&str> = every.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let one: Vec<SiteSummary> = all(&db, &site_summaries(Some("b")));
        assert_eq!(
            (one.len(), one[0].name.as_str(), one[0].timezone.as_str()),
            (1, "b site", "Europe/Berlin")
        );
    }

    #[test]
    fn dropped_counts_add_up_per_site_day_and_reason_and_expire_by_day() {
        let db = migrated();
        for (site, day, n) in [
            ("a", "2026-12-04", 2),
            ("a", "2026-12-04", 3),
            ("a", "2026-12-05", 1),
            ("b", "2026-12-04", 7),
        ] {
            run(&db, &count_dropped(site, day, DropReason::ReferrerSpam, n));
        }
        #[derive(Deserialize)]
        struct Row {
            site_id: String,
            day: String,
            reason: String,
            events: i64,
        }
        let read = || -> Vec<(String, String, String, i64)> {
            all::<Row>(
                &db,
                &Sql::new(
                    "SELECT site_id, day, reason, events FROM dropped_events ORDER BY site_id, day",
                    [],
                ),
            )
            .into_iter()
            .map(|r| (r.site_id, r.day, r.reason, r.events))
            .collect()
        };
        let spam = || "referrer_spam".to_string();
        assert_eq!(read()[0], ("a".into(), "2026-12-04".into(), spam(), 5));
        run(
            &db,
            &Sql::new(PURGE_DROPPED_EVENTS_SQL, binds!["a", "2026-12-05"]),
        );
        assert_eq!(
            read(),
            [
                ("a".into(), "2026-12-05".into(), spam(), 1),
                ("b".into(), "2026-12-04".into(), spam(), 7)
            ]
        );
    }

    #[test]
    fn refusals_keep_the_highest_running_count_per_window_and_source() {
        let db = migrated();
        run(&db, &record_refusals("s", 60_000, "ingest", 50));
        run(&db, &record_refusals("s", 60_000, "ingest", 1));
        run(&db, &record_refusals("s", 60_000, "activity", 1));
        run(&db, &record_refusals("s", 120_000, "ingest", 1));
        #[derive(Deserialize)]
        struct Row {
            win: i64,
            source: String,
            refused: i64,
        }
        let rows: Vec<Row> = all(
            &db,
            &Sql::new(
                "SELECT win, source, refused FROM rate_limited ORDER BY win, source",
                [],
            ),
        );
        let rows: Vec<(i64, &str, i64)> = rows
            .iter()
            .map(|r| (r.win, r.source.as_str(), r.refused))
            .collect();
        assert_eq!(
            rows,
            [
                (60_000, "activity", 1),
                (60_000, "ingest", 50),
                (120_000, "ingest", 1)
            ]
        );
    }

    #[test]
    fn a_flush_is_written_once_and_never_for_a_deleted_site() {
        let db = with_site("s");
        let state: FlushState = first(&db, &flush_state("s", 42)).unwrap();
        assert_eq!((state.done, state.site_exists), (None, true));
        assert!(state.should_write());
        run(&db, &record_flush("s", 42, 1_700_000_000_000));
        let state: FlushState = first(&db, &flush_state("s", 42)).unwrap();
        assert_eq!(state.done, Some(42));
        assert!(!state.should_write(), "D1 has this batch already");
        assert!(first::<FlushState>(&db, &flush_state("s", 43))
            .unwrap()
            .should_write());
        let gone: FlushState = first(&db, &flush_state("deleted", 1)).unwrap();
        assert!(!gone.site_exists && !gone.should_write());
        assert!(!FlushState::default().should_write());
    }
}
