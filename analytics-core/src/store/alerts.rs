//! The suspicious-activity SQL the Worker runs: each rule's check, keeping what fired, claiming
//! what is not mailed yet, who is mailed, and the alerts page. The rules and the statements the
//! checks are built from live in `crate::governance::alerts` (and `crate::accounts::login`
//! for the instance's own rules).

use crate::accounts::login::INSTANCE_ALERT_RECIPIENTS_SQL;
use crate::binds;
use crate::governance::alerts::{
    upsert_values, Alert, Check, ALERT_RECIPIENTS_SQL, CLAIM_UNMAILED_SQL, LOOKBACK_MS,
    MAX_ALERTS_PAGE, MAX_OUTSIDE_HOURS_SCAN, OUTSIDE_HOURS_CANDIDATES_SQL, UPSERT_SQL,
};
use crate::store::Sql;
use serde::Deserialize;

pub use crate::governance::alerts::{AccessRow, CheckRow};
pub use api_types::alerts::AlertEntry;

/// One rule's check (rows: [`CheckRow`]).
pub fn check(c: &Check) -> Sql {
    Sql::new(c.sql.clone(), c.binds.clone())
}

/// What the outside-hours rule reads for a site at `now_ms` (rows: [`AccessRow`]).
pub fn outside_hours_candidates(site: &str, now_ms: i64) -> Sql {
    Sql::new(
        OUTSIDE_HOURS_CANDIDATES_SQL,
        binds![site, now_ms - LOOKBACK_MS, MAX_OUTSIDE_HOURS_SCAN],
    )
}

/// Keeps an alert under `scope` (a site, or the instance's scope): once per rule, subject and
/// window; a later run raises its count.
pub fn upsert(scope: &str, alert: &Alert, now_ms: i64) -> Sql {
    Sql::new(UPSERT_SQL, upsert_values(scope, alert, now_ms))
}

/// Takes the alerts under `scope` nobody was mailed about yet, marking them mailed at
/// `now_ms` (rows: [`Alert`]).
pub fn claim_unmailed(scope: &str, now_ms: i64) -> Sql {
    Sql::new(CLAIM_UNMAILED_SQL, binds![scope, now_ms])
}

/// Who is mailed about a site's alerts: its owners and admins (rows: [`Email`]).
pub fn site_recipients(site: &str) -> Sql {
    Sql::new(ALERT_RECIPIENTS_SQL, binds![site])
}

/// Who is mailed about the instance's alerts: the instance admins (rows: [`Email`]).
pub fn instance_recipients() -> Sql {
    Sql::new(INSTANCE_ALERT_RECIPIENTS_SQL, [])
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Email {
    pub email: String,
}

/// A page of the alerts under `scope`, newest first, keyset-paged by id (rows:
/// [`AlertEntry`], `description` left empty).
pub fn page(scope: &str, before_id: Option<i64>, limit: u32) -> Sql {
    Sql::new(
        "SELECT id, rule, subject, window_start, window_ms, count, threshold, detail, first_ts, \
         last_ts, created_at, emailed_at FROM alerts WHERE site_id = ?1 AND id < ?2 \
         ORDER BY id DESC LIMIT ?3",
        binds![
            scope,
            before_id.unwrap_or(i64::MAX),
            i64::from(limit.clamp(1, MAX_ALERTS_PAGE))
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::alerts::{AlertRule, Rules};
    use crate::store::sqlite::{all, migrated, run};

    fn alert(rule: AlertRule, subject: &str, count: i64) -> Alert {
        Alert {
            rule,
            subject: subject.into(),
            window_start: 0,
            window_ms: 900_000,
            count,
            threshold: 5,
            detail: format!("{count} in 15 minutes (threshold 5)"),
            first_ts: 10,
            last_ts: 20,
        }
    }

    #[test]
    fn alerts_are_kept_once_claimed_once_and_paged_newest_first() {
        let db = migrated();
        run(
            &db,
            &upsert("shop", &alert(AlertRule::FailedLoginsPerUser, "u1", 5), 100),
        );
        run(
            &db,
            &upsert("shop", &alert(AlertRule::FailedLoginsPerUser, "u1", 7), 200),
        );
        run(
            &db,
            &upsert("shop", &alert(AlertRule::BotBurst, "", 600), 300),
        );
        run(
            &db,
            &upsert(
                "",
                &alert(AlertRule::VigiaFailedLoginsPerAddress, "address x", 9),
                300,
            ),
        );
        let claimed: Vec<Alert> = all(&db, &claim_unmailed("shop", 400));
        assert_eq!(claimed.len(), 2);
        assert!(claimed.contains(&alert(AlertRule::FailedLoginsPerUser, "u1", 7)));
        assert!(all::<Alert>(&db, &claim_unmailed("shop", 500)).is_empty());

        let first: Vec<AlertEntry> = all(&db, &page("shop", None, 1));
        assert_eq!(
            (
                first[0].rule,
                first[0].count,
                first[0].emailed_at,
                first[0].created_at
            ),
            (AlertRule::BotBurst, 600, Some(400), 300)
        );
        let next: Vec<AlertEntry> = all(&db, &page("shop", Some(first[0].id), 50));
        assert_eq!(next.len(), 1);
        assert_eq!(
            (next[0].rule, next[0].subject.as_str()),
            (AlertRule::FailedLoginsPerUser, "u1")
        );
        let instance: Vec<AlertEntry> = all(&db, &page("", None, 50));
        assert_eq!(instance[0].rule, AlertRule::VigiaFailedLoginsPerAddress);
        assert_eq!(instance[0].emailed_at, None);
    }

    #[test]
    fn checks_and_candidates_run_and_recipients_are_owners_admins_or_instance_admins() {
        let db = migrated();
        for sql in [
            "INSERT INTO sites (id, name, created_at) VALUES ('shop', 'Shop', 0)",
            "INSERT INTO users (id, email, password_hash, is_admin, created_at) VALUES \
             (1, 'o@x.test', '', 0, 0), (2, 'v@x.test', '', 0, 0), (3, 'a@x.test', '', 1, 0)",
            "INSERT INTO memberships (site_id, user_id, role) VALUES ('shop', 1, 'owner'), ('shop', 2, 'viewer')",
            "INSERT INTO activity (id, site_id, ts, day, type, user_id, outcome) VALUES ('r', 'shop', 5000, '1970-01-01', 'login', 'u1', 'success')",
        ] {
            run(&db, &Sql::new(sql, []));
        }
        let emails = |sql: &Sql| {
            all::<Email>(&db, sql)
                .into_iter()
                .map(|e| e.email)
                .collect::<Vec<_>>()
        };
        assert_eq!(emails(&site_recipients("shop")), ["o@x.test"]);
        assert_eq!(emails(&instance_recipients()), ["a@x.test"]);
        let rows: Vec<AccessRow> = all(&db, &outside_hours_candidates("shop", 6000));
        assert_eq!((rows[0].user_id.as_str(), rows[0].ts), ("u1", 5000));
        let rules = Rules::default();
        for c in rules
            .checks("shop", 6000)
            .iter()
            .chain(&rules.instance_checks(6000))
        {
            assert!(all::<CheckRow>(&db, &check(c)).is_empty(), "{}", c.rule);
        }
    }
}
