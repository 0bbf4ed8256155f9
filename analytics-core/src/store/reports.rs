//! The email-report SQL: each member's choice, who receives a report, the claim and record of
//! each send, and the list of sends. The statements the cron's bookkeeping rests on
//! (`RECIPIENTS_SQL`, `CLAIM_SQL`, `RECORD_SEND_SQL`) are in `crate::report`, bound here.

use crate::binds;
use crate::report::schedule::MAX_SEND_ATTEMPTS;
use crate::report::{ReportKind, CLAIM_SQL, RECIPIENTS_SQL, RECORD_SEND_SQL};
use crate::store::{int_bool, Sql};
use serde::Deserialize;

pub use api_types::reports::{SendStatus, SentReport, Subscription};

/// Which reports a user receives for a site, and whether they are a member at all (row:
/// [`EffectiveChoice`], always one). No choice stored: owners get the monthly report.
pub fn effective_choice(site: &str, user_id: i64) -> Sql {
    Sql::new(
        "SELECT COUNT(m.user_id) AS member, \
         COALESCE(MAX(s.monthly), MAX(m.role = 'owner'), 0) AS monthly, \
         COALESCE(MAX(s.weekly), 0) AS weekly \
         FROM (SELECT ?1 AS site_id, ?2 AS user_id) q \
         LEFT JOIN memberships m ON m.site_id = q.site_id AND m.user_id = q.user_id \
         LEFT JOIN report_subscriptions s ON s.site_id = q.site_id AND s.user_id = q.user_id",
        binds![site, user_id],
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct EffectiveChoice {
    #[serde(deserialize_with = "int_bool")]
    pub member: bool,
    #[serde(deserialize_with = "int_bool")]
    pub monthly: bool,
    #[serde(deserialize_with = "int_bool")]
    pub weekly: bool,
}

impl EffectiveChoice {
    /// The choice as the subscription routes answer it.
    pub fn subscription(self) -> Subscription {
        Subscription {
            monthly: self.monthly,
            weekly: self.weekly,
            member: self.member,
        }
    }
}

/// Stores a member's choice for a site.
pub fn set_choice(site: &str, user_id: i64, monthly: bool, weekly: bool) -> Sql {
    Sql::new(
        "INSERT INTO report_subscriptions (site_id, user_id, monthly, weekly) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (site_id, user_id) DO UPDATE SET monthly = excluded.monthly, weekly = excluded.weekly",
        binds![site, user_id, monthly, weekly],
    )
}

/// The last 100 sends of a site's reports to its members, newest first (rows: [`SentReport`]).
/// An app's usage reports are not listed: their `user_id` is an app user's, not a member's.
pub fn sent(site: &str) -> Sql {
    Sql::new(
        "SELECT u.email, r.kind, r.period_from, r.status, r.attempts, r.provider, r.message_id, \
         r.error, r.at FROM report_sends r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.site_id = ?1 AND r.kind IN ('monthly', 'weekly') ORDER BY r.at DESC LIMIT 100",
        binds![site],
    )
}

/// Who receives a site's report of one kind (rows: [`Recipient`]).
pub fn recipients(site: &str, kind: ReportKind) -> Sql {
    Sql::new(RECIPIENTS_SQL, binds![site, kind.as_str()])
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Recipient {
    pub user_id: i64,
    pub email: String,
}

api_types::closed_set! {
    /// What `report_sends.kind` holds: a member's report (`ReportKind`), or an app user's
    /// monthly usage report (`report::usage`, `user_id` is then an `app_users.id`). Kept apart
    /// from `ReportKind` so the subscription routes and their unsubscribe links still refuse
    /// `usage`.
    pub enum SendKind {
        Monthly = "monthly",
        Weekly = "weekly",
        Usage = "usage",
    }
}

impl From<ReportKind> for SendKind {
    fn from(kind: ReportKind) -> SendKind {
        match kind {
            ReportKind::Monthly => SendKind::Monthly,
            ReportKind::Weekly => SendKind::Weekly,
        }
    }
}

/// One report to one recipient: its row in `report_sends`.
#[derive(Debug, Clone, PartialEq)]
pub struct Send<'a> {
    pub site: &'a str,
    pub user_id: i64,
    pub kind: SendKind,
    /// The period's first local day (`YYYY-MM-DD`).
    pub period_from: &'a str,
}

impl Send<'_> {
    /// Claims the send at `now_ms` (changes one row, or none: sent already, in flight, or out
    /// of attempts).
    pub fn claim(&self, now_ms: i64) -> Sql {
        Sql::new(
            CLAIM_SQL,
            binds![
                self.site,
                self.user_id,
                self.kind.as_str(),
                self.period_from,
                now_ms,
                MAX_SEND_ATTEMPTS
            ],
        )
    }

    /// Records how a claimed send went: `sent` with the provider's message id, or `failed`
    /// with the reason.
    pub fn record(&self, outcome: &Result<String, String>, provider: &str, now_ms: i64) -> Sql {
        let (status, message_id, error) = match outcome {
            Ok(id) => (SendStatus::Sent, id.as_str(), ""),
            Err(e) => (SendStatus::Failed, "", e.as_str()),
        };
        Sql::new(
            RECORD_SEND_SQL,
            binds![
                self.site,
                self.user_id,
                self.kind.as_str(),
                self.period_from,
                status.as_str(),
                provider,
                message_id,
                error,
                now_ms
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{all, first, migrated, run};

    fn setup() -> rusqlite::Connection {
        let db = migrated();
        for sql in [
            "INSERT INTO sites (id, name, created_at) VALUES ('shop', 'Shop', 0)",
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'o@x.test', '', 0), (2, 'v@x.test', '', 0), (3, 'admin@x.test', '', 0)",
            "INSERT INTO memberships (site_id, user_id, role) VALUES ('shop', 1, 'owner'), ('shop', 2, 'viewer')",
        ] {
            run(&db, &Sql::new(sql, []));
        }
        db
    }

    fn choice(db: &rusqlite::Connection, user: i64) -> EffectiveChoice {
        first(db, &effective_choice("shop", user)).unwrap()
    }

    #[test]
    fn choices_default_by_role_and_are_kept() {
        let db = setup();
        let owner = EffectiveChoice {
            member: true,
            monthly: true,
            weekly: false,
        };
        assert_eq!(choice(&db, 1), owner);
        assert_eq!(
            choice(&db, 2),
            EffectiveChoice {
                member: true,
                ..Default::default()
            }
        );
        assert_eq!(choice(&db, 3), EffectiveChoice::default(), "not a member");
        run(&db, &set_choice("shop", 1, false, true));
        run(&db, &set_choice("shop", 2, true, true));
        assert_eq!(
            choice(&db, 1).subscription(),
            Subscription {
                monthly: false,
                weekly: true,
                member: true
            }
        );
        let weekly: Vec<Recipient> = all(&db, &recipients("shop", ReportKind::Weekly));
        assert_eq!(weekly.iter().map(|r| r.user_id).collect::<Vec<_>>(), [1, 2]);
        let monthly: Vec<Recipient> = all(&db, &recipients("shop", ReportKind::Monthly));
        assert_eq!(
            monthly,
            [Recipient {
                user_id: 2,
                email: "v@x.test".into()
            }]
        );
    }

    #[test]
    fn sends_are_claimed_once_recorded_and_listed() {
        let db = setup();
        let send = Send {
            site: "shop",
            user_id: 1,
            kind: ReportKind::Monthly.into(),
            period_from: "2026-11-01",
        };
        assert_eq!(run(&db, &send.claim(10)), 1);
        assert_eq!(run(&db, &send.claim(11)), 0, "in flight");
        run(&db, &send.record(&Err("refused".into()), "http", 12));
        assert_eq!(run(&db, &send.claim(13)), 1, "a failed send is retried");
        run(&db, &send.record(&Ok("m-1".into()), "http", 14));
        let other = Send {
            user_id: 9,
            kind: ReportKind::Weekly.into(),
            ..send.clone()
        };
        run(&db, &other.claim(5));
        let rows: Vec<SentReport> = all(&db, &sent("shop"));
        assert_eq!(
            rows[0],
            SentReport {
                email: Some("o@x.test".into()),
                kind: ReportKind::Monthly,
                period_from: "2026-11-01".into(),
                status: SendStatus::Sent,
                attempts: 2,
                provider: "http".into(),
                message_id: "m-1".into(),
                error: String::new(),
                at: 14,
            }
        );
        assert_eq!(
            (rows[1].email.as_deref(), rows[1].status),
            (None, SendStatus::Sending)
        );
    }

    #[test]
    fn usage_sends_are_claimed_once_and_not_listed_as_member_reports() {
        let db = setup();
        // App user 1 is not member 1: same number, another table.
        let usage = Send {
            site: "shop",
            user_id: 1,
            kind: SendKind::Usage,
            period_from: "2026-11-01",
        };
        assert_eq!(run(&db, &usage.claim(10)), 1);
        assert_eq!(run(&db, &usage.claim(11)), 0, "a second cron sends nothing");
        run(&db, &usage.record(&Ok("m-9".into()), "http", 12));
        assert_eq!(run(&db, &usage.claim(13)), 0, "sent once");
        let member = Send {
            kind: ReportKind::Monthly.into(),
            ..usage.clone()
        };
        assert_eq!(
            run(&db, &member.claim(14)),
            1,
            "a member's report is another send"
        );
        let rows: Vec<SentReport> = all(&db, &sent("shop"));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kind, ReportKind::Monthly);
        // The subscription routes and their links keep refusing `usage`.
        assert_eq!(ReportKind::parse("usage"), None);
        assert!(crate::report::schedule::parse_kind("usage").is_err());
        assert_eq!(SendKind::parse("usage"), Some(SendKind::Usage));
    }
}
