//! Sealing: D1's side of moving whole days of raw events into a site's cold shards
//! (`store::shard` is the shard's side), and the registry of shards the readers fan out to.
//!
//! A day D is sealed in three steps (the Worker's `cold` module runs them; docs/storage.md):
//! 0. the shard forgets any earlier, partial copy of sessions starting on or after D;
//! 1. the events of sessions whose first event is on D (and orphans of D: events whose first
//!    event is no longer in D1) are copied, page by page in `(ts, id)` order, to the shard;
//! 2. one D1 batch — a transaction — advances `seal_state.sealed_until` to D + 1 day and
//!    deletes exactly those events from D1.
//!
//! Readers count shard sessions only if they started before `sealed_until`, and D1 holds only
//! the rest, so at every instant each event is counted in exactly one place: a crash (or a
//! SIGKILL) before step 2 leaves an invisible partial copy that step 0 removes on the rerun,
//! and after step 2 there is nothing left to do for D.

use crate::binds;
use crate::stats::DAY_MS;
use crate::store::events::EVENT_COLUMNS;
use crate::store::Sql;
use serde::Deserialize;

api_types::closed_set! {
    /// The steps of sealing a day, in order (a test may stall the job after one, through the
    /// setting `VIGIA_TEST_SEAL_PAUSE`, to kill the process there).
    pub enum SealStep {
        Cleared = "cleared",
        Page = "page",
        Copied = "copied",
        Committed = "committed",
    }
}

/// Events read from D1 per page of a day's copy (each page becomes one request to the shard).
pub const SEAL_PAGE_EVENTS: i64 = 2_000;
/// Days one run of the sealing job moves per site before it yields (a cron run is bounded;
/// the migration command and the next runs carry on).
pub const MAX_DAYS_PER_SEAL_RUN: usize = 31;

/// Where a site's sealing has got to (row of [`position`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SealPosition {
    pub site_key: i64,
    /// Sessions that started before this instant (UTC ms) are in shards; 0 when none are.
    pub sealed_until: i64,
}

/// A site's internal key and sealing position (no row for no such site).
pub fn position(site: &str) -> Sql {
    Sql::new(
        "SELECT s.site_key AS site_key, COALESCE(ss.sealed_until, 0) AS sealed_until \
         FROM sites s LEFT JOIN seal_state ss ON ss.site_key = s.site_key WHERE s.id = ?1",
        binds![site],
    )
}

/// The time of a site's oldest event still in D1 (row: [`Oldest`]).
pub fn oldest_hot_event(site: &str) -> Sql {
    Sql::new(
        "SELECT MIN(ts) AS ts FROM events WHERE site_id = ?1",
        binds![site],
    )
}

/// How many of a site's events are still in D1 (row: `buffer::Count`).
pub fn hot_events(site: &str) -> Sql {
    Sql::new(
        "SELECT COUNT(*) AS n FROM events WHERE site_id = ?1",
        binds![site],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Oldest {
    pub ts: Option<i64>,
}

/// The UTC day (its start, ms) a site should seal next, if any: the day of its oldest event in
/// D1, when that day ended before the start of yesterday (so today's and yesterday's sessions,
/// which may still be going on, stay hot).
pub fn day_to_seal(oldest_hot_ms: Option<i64>, now_ms: i64) -> Option<i64> {
    let day = oldest_hot_ms?.div_euclid(DAY_MS) * DAY_MS;
    let start_of_yesterday = now_ms.div_euclid(DAY_MS) * DAY_MS - DAY_MS;
    (day < start_of_yesterday).then_some(day)
}

/// How far `sealed_until` may move without sealing anything: to the start of the oldest day
/// still in D1, or of yesterday when D1 holds nothing older (no session in D1 starts earlier).
pub fn hot_from(oldest_hot_ms: Option<i64>, now_ms: i64) -> i64 {
    let start_of_yesterday = now_ms.div_euclid(DAY_MS) * DAY_MS - DAY_MS;
    oldest_hot_ms.map_or(start_of_yesterday, |t| {
        (t.div_euclid(DAY_MS) * DAY_MS).min(start_of_yesterday)
    })
}

/// Moves a site's `sealed_until` forward to `until` (never back).
pub fn advance(site_key: i64, until: i64) -> Sql {
    Sql::new(
        "INSERT INTO seal_state (site_key, sealed_until) VALUES (?1, ?2) \
         ON CONFLICT (site_key) DO UPDATE SET sealed_until = MAX(sealed_until, excluded.sealed_until)",
        binds![site_key, until],
    )
}

/// A session's first-event time, or the event's own for an orphan (the alias `e` is the
/// event). Sessions last at most a day past their start (see `raw_prelude`).
const SESSION_START: &str =
    "COALESCE((SELECT f.ts FROM events f WHERE f.id = e.session AND f.site_id = e.site_id), e.ts)";

/// One page of day `day_start_ms`'s copy: the events of sessions that started that UTC day
/// (orphans by their own time), in `(ts, id)` order after `after` (rows: `EnrichedEvent`).
pub fn day_page(site: &str, day_start_ms: i64, after: Option<(i64, &str)>, limit: i64) -> Sql {
    let (after_ts, after_id) = after.unwrap_or((i64::MIN, ""));
    Sql::new(
        format!(
            "SELECT {} FROM events e WHERE e.site_id = ?1 AND e.ts >= ?2 AND e.ts < ?2 + {} \
             AND (e.ts > ?3 OR (e.ts = ?3 AND e.id > ?4)) \
             AND {SESSION_START} BETWEEN ?2 AND ?2 + {} \
             ORDER BY e.ts, e.id LIMIT ?5",
            EVENT_COLUMNS.map(|c| format!("e.{c}")).join(", "),
            2 * DAY_MS,
            DAY_MS - 1,
        ),
        binds![site, day_start_ms, after_ts, after_id, limit],
    )
}

/// Step 2, one D1 batch: the site's sealing moves past day `day_start_ms` and that day's
/// sessions leave D1.
pub fn commit_day(site: &str, site_key: i64, day_start_ms: i64) -> Vec<Sql> {
    let until = day_start_ms + DAY_MS;
    vec![
        advance(site_key, until),
        Sql::new(
            format!(
                "DELETE FROM events WHERE rowid IN (SELECT e.rowid FROM events e \
                 WHERE e.site_id = ?1 AND e.ts >= ?2 AND e.ts < ?2 + {} AND {SESSION_START} < ?2 + {DAY_MS})",
                2 * DAY_MS
            ),
            binds![site, day_start_ms],
        ),
    ]
}

/// The UTC month (`YYYY-MM`) of an instant: the period of the shard its day goes to.
pub fn shard_period(ms: i64) -> String {
    crate::stats::day_of_ms(ms)[..7].to_string()
}

/// A shard's name: the site's internal key and the shard's period.
pub fn shard_name(site_key: i64, period: &str) -> String {
    format!("{site_key}:{period}")
}

/// The UTC months (`YYYY-MM`) a range touches, widened by a day on each side (a session that
/// started the day before the range may carry events into it).
pub fn periods_of(from_ms: i64, to_ms: i64) -> (String, String) {
    (
        shard_period(from_ms - DAY_MS),
        shard_period((to_ms + DAY_MS).max(from_ms)),
    )
}

/// Records what a shard holds after a copy (its own figures, `store::shard::stats`).
pub fn record_shard(
    site_key: i64,
    period: &str,
    events: i64,
    sessions: i64,
    bytes: i64,
    now_ms: i64,
) -> Sql {
    Sql::new(
        "INSERT INTO shards (site_key, period, events, sessions, bytes, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (site_key, period) DO UPDATE SET \
         events = excluded.events, sessions = excluded.sessions, bytes = excluded.bytes, \
         updated_at = excluded.updated_at",
        binds![site_key, period, events, sessions, bytes, now_ms],
    )
}

/// A site's shards whose months fall in `[first, last]` (`YYYY-MM`; rows: [`ShardRow`]).
pub fn shards_between(site_key: i64, first: &str, last: &str) -> Sql {
    Sql::new(
        "SELECT period, events, sessions, bytes FROM shards \
         WHERE site_key = ?1 AND period >= ?2 AND period <= ?3 ORDER BY period",
        binds![site_key, first, last],
    )
}

/// Every shard of a site (rows: [`ShardRow`]).
pub fn shards_of(site_key: i64) -> Sql {
    shards_between(site_key, "0000-00", "9999-99")
}

/// Forgets one shard (after it was emptied: retention or site deletion).
pub fn forget_shard(site_key: i64, period: &str) -> Sql {
    Sql::new(
        "DELETE FROM shards WHERE site_key = ?1 AND period = ?2",
        binds![site_key, period],
    )
}

/// Forgets a site's sealing position (site deletion; the key is never reused anyway).
pub fn forget_site(site_key: i64) -> Vec<Sql> {
    vec![
        Sql::new(
            "DELETE FROM seal_state WHERE site_key = ?1",
            binds![site_key],
        ),
        Sql::new("DELETE FROM shards WHERE site_key = ?1", binds![site_key]),
    ]
}

type Event = crate::ingest::event::EnrichedEvent;

/// Each event's session start: its session's first event's time (the event whose id is the
/// session id) when that event is among `events`, else its own time.
fn session_starts(events: &[Event]) -> Vec<i64> {
    let firsts: std::collections::HashMap<&str, i64> = events
        .iter()
        .filter(|e| e.id == e.session)
        .map(|e| (e.id.as_str(), e.ts))
        .collect();
    events
        .iter()
        .map(|e| *firsts.get(e.session.as_str()).unwrap_or(&e.ts))
        .collect()
}

/// Imported events for the cold shards: those of sessions that started before `sealed_until`
/// grouped per UTC day of their session's start (a shard appends a day at a time; the day's
/// month names the shard), in (session start, time) order, and how many were left out as too
/// recent (live ingest's, not history).
pub fn by_session_day(events: Vec<Event>, sealed_until: i64) -> (Vec<(i64, Vec<Event>)>, usize) {
    let starts = session_starts(&events);
    let mut keyed: Vec<(i64, Event)> = starts.into_iter().zip(events).collect();
    let before = keyed.len();
    keyed.retain(|(start, _)| *start < sealed_until);
    let too_recent = before - keyed.len();
    keyed.sort_by(|(sa, a), (sb, b)| (sa, a.ts, &a.id).cmp(&(sb, b.ts, &b.id)));
    let mut out: Vec<(i64, Vec<Event>)> = Vec::new();
    for (start, e) in keyed {
        let day = start.div_euclid(DAY_MS) * DAY_MS;
        match out.last_mut() {
            Some((d, list)) if *d == day => list.push(e),
            _ => out.push((day, vec![e])),
        }
    }
    (out, too_recent)
}

/// A page of imported events' batch id: the same events give the same id, so a page sent
/// again (a retry, or the same file imported twice) is recognised by the shard and stored once.
pub fn batch_id(events: &[Event]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for e in events {
        hash.update(e.site_id.as_bytes());
        hash.update([0]);
        hash.update(e.id.as_bytes());
        hash.update([0]);
        hash.update(e.ts.to_le_bytes());
    }
    crate::util::hex::encode(&hash.finalize()[..16])
}

/// Notes that the local day `[start, end)` received imported raw events: its imported daily
/// rollups are to be built from them.
pub fn mark_import_day(site: &str, start_ms: i64, end_ms: i64) -> Sql {
    Sql::new(
        "INSERT OR IGNORE INTO import_days (site_id, day_start, day_end) VALUES (?1, ?2, ?3)",
        binds![site, start_ms, end_ms],
    )
}

/// A site's local days waiting for their imported rollups, oldest first (rows: [`ImportDay`]).
pub fn import_days(site: &str, limit: i64) -> Sql {
    Sql::new(
        "SELECT day_start, day_end FROM import_days WHERE site_id = ?1 ORDER BY day_start LIMIT ?2",
        binds![site, limit],
    )
}

/// The day's imported rollups are built.
pub fn import_day_done(site: &str, start_ms: i64) -> Sql {
    Sql::new(
        "DELETE FROM import_days WHERE site_id = ?1 AND day_start = ?2",
        binds![site, start_ms],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ImportDay {
    pub day_start: i64,
    pub day_end: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShardRow {
    pub period: String,
    pub events: i64,
    pub sessions: i64,
    pub bytes: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::event::EnrichedEvent;
    use crate::store::events::{event_values, insert_event_sql};
    use crate::store::sqlite::{all, first, migrated, run};

    const DAY0: i64 = 20_000 * DAY_MS;

    fn event(id: &str, session: &str, ts: i64) -> EnrichedEvent {
        EnrichedEvent {
            id: id.into(),
            site_id: "s".into(),
            session: session.into(),
            ts,
            visitor: "v".into(),
            path: "/".into(),
            ..Default::default()
        }
    }

    fn load(db: &rusqlite::Connection, events: &[EnrichedEvent]) {
        run(
            db,
            &Sql::new(
                "INSERT INTO sites (id, name, created_at) VALUES ('s', 's', 0)",
                [],
            ),
        );
        for e in events {
            run(db, &Sql::new(insert_event_sql(), event_values(e)));
        }
    }

    fn ids(rows: &[EnrichedEvent]) -> Vec<&str> {
        rows.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn a_day_moves_whole_sessions_and_orphans_and_nothing_else() {
        let db = migrated();
        load(
            &db,
            &[
                // A session that crosses midnight goes with the day it started.
                event("a1", "a1", DAY0 + DAY_MS - 60_000),
                event("a2", "a1", DAY0 + DAY_MS + 60_000),
                // An orphan of day 0 (its first event left earlier).
                event("o1", "gone", DAY0 + 5_000),
                // Day 1's own session stays.
                event("b1", "b1", DAY0 + DAY_MS + 120_000),
            ],
        );
        let page: Vec<EnrichedEvent> = all(&db, &day_page("s", DAY0, None, 10));
        assert_eq!(ids(&page), ["o1", "a1", "a2"]);
        // Pages continue after the cursor.
        let first_two: Vec<EnrichedEvent> = all(&db, &day_page("s", DAY0, None, 2));
        let rest: Vec<EnrichedEvent> = all(
            &db,
            &day_page("s", DAY0, Some((first_two[1].ts, &first_two[1].id)), 2),
        );
        assert_eq!(ids(&rest), ["a2"]);
        for statement in commit_day("s", 1, DAY0) {
            run(&db, &statement);
        }
        let left: Vec<EnrichedEvent> = all(
            &db,
            &Sql::new(
                format!("SELECT {} FROM events", EVENT_COLUMNS.join(",")),
                [],
            ),
        );
        assert_eq!(ids(&left), ["b1"]);
        let at: Option<SealPosition> = first(&db, &position("s"));
        assert_eq!(at.map(|p| p.sealed_until), Some(DAY0 + DAY_MS));
        // Committing again changes nothing and never moves the position back.
        for statement in commit_day("s", 1, DAY0 - DAY_MS) {
            run(&db, &statement);
        }
        let at: Option<SealPosition> = first(&db, &position("s"));
        assert_eq!(at.map(|p| p.sealed_until), Some(DAY0 + DAY_MS));
    }

    #[test]
    fn only_days_before_yesterday_are_sealed() {
        let now = DAY0 + 3 * DAY_MS + 3_600_000;
        assert_eq!(day_to_seal(None, now), None);
        assert_eq!(day_to_seal(Some(DAY0 + 5), now), Some(DAY0));
        assert_eq!(day_to_seal(Some(DAY0 + DAY_MS), now), Some(DAY0 + DAY_MS));
        // Yesterday and today stay hot.
        assert_eq!(day_to_seal(Some(DAY0 + 2 * DAY_MS), now), None);
        assert_eq!(day_to_seal(Some(DAY0 + 3 * DAY_MS), now), None);
    }

    #[test]
    fn with_nothing_to_seal_the_position_moves_to_the_oldest_hot_day() {
        let now = DAY0 + 3 * DAY_MS + 5;
        assert_eq!(hot_from(None, now), DAY0 + 2 * DAY_MS);
        assert_eq!(hot_from(Some(DAY0 + DAY_MS + 7), now), DAY0 + DAY_MS);
        assert_eq!(hot_from(Some(now), now), DAY0 + 2 * DAY_MS);
        let db = migrated();
        run(&db, &advance(3, 10));
        run(&db, &advance(3, 5));
        let n: Option<crate::store::buffer::Count> = first(
            &db,
            &Sql::new("SELECT sealed_until AS n FROM seal_state", []),
        );
        assert_eq!(n.map(|c| c.n), Some(10));
    }

    #[test]
    fn shards_are_named_by_key_and_month_and_a_range_reaches_its_neighbour_days() {
        assert_eq!(shard_period(DAY0), "2024-10");
        assert_eq!(shard_name(7, "2024-10"), "7:2024-10");
        let oct31 = crate::stats::parse_day("2024-10-31").unwrap() * DAY_MS;
        assert_eq!(
            periods_of(oct31, oct31 + DAY_MS),
            ("2024-10".into(), "2024-11".into())
        );
    }

    #[test]
    fn imported_events_go_to_the_month_their_session_started_in_and_pages_have_stable_ids() {
        let nov1 = crate::stats::parse_day("2024-11-01").unwrap() * DAY_MS;
        let events = vec![
            event("b1", "b1", nov1 + 5),
            event("a2", "a1", nov1 + 60_000),
            event("a1", "a1", nov1 - 60_000),
            event("o", "elsewhere", nov1 + 9),
        ];
        let (grouped, too_recent) = by_session_day(events.clone(), nov1 + 1_000);
        let shape: Vec<(String, Vec<&str>)> = grouped
            .iter()
            .map(|(day, list)| (shard_period(*day), ids(list)))
            .collect();
        assert_eq!(
            shape,
            [
                ("2024-10".into(), vec!["a1", "a2"]),
                ("2024-11".into(), vec!["b1", "o"])
            ]
        );
        assert_eq!(grouped[1].0, nov1);
        assert_eq!(too_recent, 0);
        assert_eq!(
            batch_id(&grouped[0].1),
            batch_id(&by_session_day(events.clone(), nov1 + 1_000).0[0].1)
        );
        assert_ne!(batch_id(&grouped[0].1), batch_id(&grouped[1].1));
        // Sessions starting at or after `sealed_until` are live ingest's, not history.
        let (grouped, too_recent) = by_session_day(events, nov1 + 6);
        assert_eq!(too_recent, 1);
        assert_eq!(ids(&grouped[1].1), ["b1"]);
        assert_eq!(batch_id(&grouped[0].1).len(), 32);
    }

    #[test]
    fn import_days_wait_once_each_until_done() {
        let db = migrated();
        run(&db, &mark_import_day("s", 20, 30));
        run(&db, &mark_import_day("s", 10, 20));
        run(&db, &mark_import_day("s", 10, 20));
        run(&db, &mark_import_day("t", 5, 6));
        let days: Vec<ImportDay> = all(&db, &import_days("s", 10));
        assert_eq!(
            days,
            [
                ImportDay {
                    day_start: 10,
                    day_end: 20
                },
                ImportDay {
                    day_start: 20,
                    day_end: 30
                }
            ]
        );
        run(&db, &import_day_done("s", 10));
        assert_eq!(all::<ImportDay>(&db, &import_days("s", 10)).len(), 1);
        assert_eq!(all::<ImportDay>(&db, &import_days("t", 10)).len(), 1);
    }

    #[test]
    fn the_registry_records_and_lists_shards() {
        let db = migrated();
        run(&db, &record_shard(3, "2024-10", 10, 3, 4096, 1));
        run(&db, &record_shard(3, "2024-11", 5, 2, 4096, 1));
        run(&db, &record_shard(3, "2024-10", 12, 4, 8192, 2));
        run(&db, &record_shard(4, "2024-10", 1, 1, 1, 1));
        let rows: Vec<ShardRow> = all(&db, &shards_between(3, "2024-10", "2024-10"));
        assert_eq!(
            rows,
            [ShardRow {
                period: "2024-10".into(),
                events: 12,
                sessions: 4,
                bytes: 8192
            }]
        );
        assert_eq!(all::<ShardRow>(&db, &shards_of(3)).len(), 2);
        for s in forget_site(3) {
            run(&db, &s);
        }
        assert!(all::<ShardRow>(&db, &shards_of(3)).is_empty());
        assert_eq!(all::<ShardRow>(&db, &shards_of(4)).len(), 1);
    }
}
