//! The server-side activity SQL: the key that authenticates a site's backend, the per-minute
//! count, storing records, searching them, active sessions, the summary and an erasure. The
//! rules (validation, enrichment, limits) are `crate::governance::activity`.

use crate::binds;
use crate::governance::activity::{values, Activity, ACTIVITY_COLUMNS, MAX_ACTIVITY_PAGE};
use crate::stats::filter::Binds;
use crate::store::Sql;
use serde::Deserialize;

pub use api_types::activity::{ActiveSession, SummaryRow};

/// The site an activity key (its hash) belongs to (row: [`SiteId`]).
pub fn site_of_key(key_hash: &str) -> Sql {
    Sql::new(
        "SELECT id FROM sites WHERE activity_key_hash = ?1",
        binds![key_hash],
    )
}

#[derive(Debug, Deserialize)]
pub struct SiteId {
    pub id: String,
}

/// Replaces a site's activity key (its hash): the old one stops working.
pub fn set_key(site: &str, key_hash: &str) -> Sql {
    Sql::new(
        "UPDATE sites SET activity_key_hash = ?1 WHERE id = ?2",
        binds![key_hash, site],
    )
}

/// Adds a request's records to its site's count for the window and answers the new count
/// (row: [`RecordCount`]).
pub fn count_records(site: &str, window_start: i64, records: i64) -> Sql {
    Sql::new(
        "INSERT INTO activity_rate (site_id, win, records) \
         VALUES (?1, ?2, ?3) ON CONFLICT (site_id, win) DO UPDATE SET \
         records = activity_rate.records + excluded.records RETURNING records",
        binds![site, window_start, records],
    )
}

#[derive(Debug, Deserialize)]
pub struct RecordCount {
    pub records: i64,
}

/// Records that a site's backend went over its limit in a window (for the `rate_limited`
/// alert rule): `over` records past the limit.
pub fn record_refusals(site: &str, window_start: i64, over: i64) -> Sql {
    Sql::new(
        crate::ingest::rate_limit::RECORD_REFUSALS_SQL,
        binds![site, window_start, "activity", over],
    )
}

/// Stores one enriched record (a repeated id is ignored: a retried batch stores once).
pub fn insert(a: &Activity) -> Sql {
    Sql::new(
        format!(
            "INSERT OR IGNORE INTO activity ({}) VALUES ({})",
            ACTIVITY_COLUMNS.join(", "),
            vec!["?"; ACTIVITY_COLUMNS.len()].join(", ")
        ),
        values(a),
    )
}

/// Search filters, all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub kind: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub outcome: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Keyset: rows strictly older than (ts, id).
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

const SELECT: &str = "SELECT id, site_id, ts, type, user_id, session_id, action, entity_type, \
    entity_id, outcome, status_code, duration_ms, browser, os, device, ip_hash, details FROM activity";

/// A page of matching records, newest first (rows: [`Activity`]).
pub fn search(site: &str, s: &Search) -> Sql {
    let mut binds = Binds::new(site, s.from_ms, s.to_ms);
    let mut sql = format!("{SELECT} WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3");
    for (column, value) in [
        ("user_id", &s.user_id),
        ("session_id", &s.session_id),
        ("type", &s.kind),
        ("entity_type", &s.entity_type),
        ("entity_id", &s.entity_id),
        ("outcome", &s.outcome),
    ] {
        if let Some(v) = value {
            let p = binds.push_text(v);
            sql.push_str(&format!(" AND {column} = {p}"));
        }
    }
    if let Some((ts, id)) = &s.before {
        let t = binds.push_int(*ts);
        let i = binds.push_text(id);
        sql.push_str(&format!(" AND (ts < {t} OR (ts = {t} AND id < {i}))"));
    }
    let limit = binds.push_int(s.limit.clamp(1, MAX_ACTIVITY_PAGE) as i64);
    sql.push_str(&format!(" ORDER BY ts DESC, id DESC LIMIT {limit}"));
    Sql::new(sql, binds.0)
}

/// Sessions with activity since `since_ms` that did not end with a logout (rows:
/// [`ActiveSession`]).
pub fn active_sessions(site: &str, since_ms: i64) -> Sql {
    Sql::new(
        "SELECT session_id, MAX(user_id) AS user_id, MIN(ts) AS started, \
         MAX(ts) AS last_seen, COUNT(*) AS records FROM activity \
         WHERE site_id = ?1 AND session_id != '' AND ts >= ?2 GROUP BY session_id \
         HAVING SUM(type = 'logout' AND ts = (SELECT MAX(ts) FROM activity a2 WHERE a2.site_id = ?1 \
         AND a2.session_id = activity.session_id)) = 0 ORDER BY last_seen DESC LIMIT 200",
        binds![site, since_ms],
    )
}

/// Counts per type and outcome in a range (rows: [`SummaryRow`]).
pub fn summary(site: &str, from_ms: i64, to_ms: i64) -> Sql {
    Sql::new(
        "SELECT type, outcome, COUNT(*) AS records, \
         COUNT(DISTINCT NULLIF(user_id, '')) AS users FROM activity \
         WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY type, outcome ORDER BY records DESC",
        binds![site, from_ms, to_ms],
    )
}

/// Deletes one user id's records on a site.
pub fn delete_user(site: &str, user_id: &str) -> Sql {
    Sql::new(
        "DELETE FROM activity WHERE site_id = ?1 AND user_id = ?2",
        binds![site, user_id],
    )
}

/// Rewrites an alert subject naming an erased id (`subject`, in clear) to its keyed hash; an
/// alert already holding that hash for the same rule and window is replaced.
pub fn pseudonymise_alert(site: &str, subject: &str, hashed: &str) -> Sql {
    Sql::new(
        "UPDATE OR REPLACE alerts SET subject = ?3 WHERE site_id = ?1 AND subject = ?2",
        binds![site, subject, hashed],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::activity::{alert_subjects_of, ActivityType, Outcome};
    use crate::store::sqlite::{all, first, migrated, run};

    fn record(id: &str, ts: i64, kind: ActivityType, user: &str, session: &str) -> Activity {
        Activity {
            id: id.into(),
            site_id: "shop".into(),
            ts,
            kind,
            user_id: user.into(),
            session_id: session.into(),
            entity_type: "invoice".into(),
            entity_id: "42".into(),
            outcome: Outcome::Success,
            details: "{}".into(),
            ..Activity::default()
        }
    }

    #[test]
    fn search_binds_every_filter() {
        let s = Search {
            user_id: Some("u1".into()),
            entity_type: Some("invoice".into()),
            entity_id: Some("42".into()),
            before: Some((10, "x".into())),
            limit: 50,
            ..Default::default()
        };
        let sql = search("shop", &s);
        assert!(sql.text.contains("user_id = ?4") && sql.text.contains("entity_id = ?6"));
        assert!(sql.text.contains("LIMIT ?9"));
        assert_eq!(sql.binds.len(), 9);
        let insert = insert(&Activity::default());
        assert_eq!(insert.text.matches('?').count(), insert.binds.len());
    }

    #[test]
    fn records_are_stored_once_and_found_newest_first_page_by_page() {
        let db = migrated();
        for (i, user) in ["u1", "u2", "u1"].iter().enumerate() {
            let r = record(
                &format!("r{i}"),
                1_000 + i as i64,
                ActivityType::DataView,
                user,
                "s1",
            );
            assert_eq!(run(&db, &insert(&r)), 1);
            assert_eq!(run(&db, &insert(&r)), 0, "a retried batch stores once");
        }
        let mut s = Search {
            user_id: Some("u1".into()),
            to_ms: 10_000,
            limit: 1,
            ..Search::default()
        };
        let page: Vec<Activity> = all(&db, &search("shop", &s));
        assert_eq!(page.len(), 1);
        assert_eq!(
            page[0],
            record("r2", 1_002, ActivityType::DataView, "u1", "s1")
        );
        s.before = Some((page[0].ts, page[0].id.clone()));
        let next: Vec<Activity> = all(&db, &search("shop", &s));
        assert_eq!(
            next.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["r0"]
        );
        s.kind = Some("login".into());
        s.before = None;
        assert!(all::<Activity>(&db, &search("shop", &s)).is_empty());
        assert!(all::<Activity>(
            &db,
            &search(
                "other",
                &Search {
                    to_ms: 10_000,
                    limit: 5,
                    ..Search::default()
                }
            )
        )
        .is_empty());
    }

    #[test]
    fn sessions_that_logged_out_are_not_active_and_the_summary_counts_users() {
        let db = migrated();
        for r in [
            record("a", 100, ActivityType::Login, "u1", "s1"),
            record("b", 200, ActivityType::DataView, "u1", "s1"),
            record("c", 150, ActivityType::Login, "u2", "s2"),
            record("d", 250, ActivityType::Logout, "u2", "s2"),
            record("e", 300, ActivityType::DataView, "", ""),
        ] {
            run(&db, &insert(&r));
        }
        let sessions: Vec<ActiveSession> = all(&db, &active_sessions("shop", 0));
        assert_eq!(
            sessions,
            [ActiveSession {
                session_id: "s1".into(),
                user_id: "u1".into(),
                started: 100,
                last_seen: 200,
                records: 2
            }]
        );
        assert!(all::<ActiveSession>(&db, &active_sessions("shop", 201)).is_empty());
        let rows: Vec<SummaryRow> = all(&db, &summary("shop", 0, 1_000));
        let views = rows
            .iter()
            .find(|r| r.kind == ActivityType::DataView)
            .unwrap();
        assert_eq!(
            (views.outcome, views.records, views.users),
            (Outcome::Success, 2, 1)
        );
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn keys_counts_and_erasures() {
        let db = migrated();
        run(
            &db,
            &Sql::new(
                "INSERT INTO sites (id, name, created_at) VALUES ('shop', 'Shop', 0)",
                [],
            ),
        );
        run(&db, &set_key("shop", "hash1"));
        let found: Option<SiteId> = first(&db, &site_of_key("hash1"));
        assert_eq!(found.map(|s| s.id).as_deref(), Some("shop"));
        run(&db, &set_key("shop", "hash2"));
        assert!(first::<SiteId>(&db, &site_of_key("hash1")).is_none());

        let count = |n| {
            first::<RecordCount>(&db, &count_records("shop", 60_000, n))
                .unwrap()
                .records
        };
        assert_eq!(count(3), 3);
        assert_eq!(count(4), 7);
        run(&db, &record_refusals("shop", 60_000, 2));

        run(
            &db,
            &insert(&record("a", 1, ActivityType::Login, "ana maria", "")),
        );
        run(&db, &insert(&record("b", 2, ActivityType::Login, "bo", "")));
        run(&db, &Sql::new(
            "INSERT INTO alerts (site_id, rule, subject, window_start, window_ms, count, threshold, detail, first_ts, last_ts, created_at) \
             VALUES ('shop', 'bulk_downloads', 'user ana maria', 0, 1, 1, 1, '', 0, 0, 0)", []));
        assert_eq!(run(&db, &delete_user("shop", "ana maria")), 1);
        for subject in alert_subjects_of("ana maria") {
            run(&db, &pseudonymise_alert("shop", &subject, "user 0af3"));
        }
        #[derive(Deserialize)]
        struct Subject {
            subject: String,
        }
        let subjects: Vec<Subject> = all(&db, &Sql::new("SELECT subject FROM alerts", []));
        assert_eq!(
            subjects
                .iter()
                .map(|s| s.subject.as_str())
                .collect::<Vec<_>>(),
            ["user 0af3"]
        );
        let left: Vec<Activity> = all(
            &db,
            &search(
                "shop",
                &Search {
                    to_ms: 10,
                    limit: 10,
                    ..Search::default()
                },
            ),
        );
        assert_eq!(
            left.iter().map(|a| a.user_id.as_str()).collect::<Vec<_>>(),
            ["bo"]
        );
    }
}
