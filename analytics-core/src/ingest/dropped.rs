//! Events Vigia refuses to store on purpose, counted per site, UTC day and reason in
//! `dropped_events` (migration 0014) so the dashboard's Bots view can say how many went and why.
//! Counts only: nothing about the request is kept.

use serde::{Deserialize, Serialize};

/// Why an event was dropped. Stored as its snake_case name in `dropped_events.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The referrer is on the maintained referrer-spam blocklist (`enrich::spam`).
    ReferrerSpam,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::ReferrerSpam => "referrer_spam",
        }
    }
}

/// How many events of one batch were dropped, per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    counts: std::collections::BTreeMap<DropReason, usize>,
}

impl Dropped {
    pub fn add(&mut self, reason: DropReason) {
        *self.counts.entry(reason).or_default() += 1;
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn get(&self, reason: DropReason) -> usize {
        self.counts.get(&reason).copied().unwrap_or(0)
    }

    /// (reason, count) for every reason with events, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, usize)> + '_ {
        self.counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| (*r, *n))
    }

    /// `{"referrer_spam": 2}`: the receipt's breakdown.
    pub fn to_json(&self) -> serde_json::Value {
        self.iter()
            .map(|(r, n)| (r.as_str().to_string(), serde_json::Value::from(n)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Adds a batch's dropped events to the day's count. Binds: site, day (YYYY-MM-DD, UTC),
/// reason, events.
pub const DROPPED_EVENTS_SQL: &str = "INSERT INTO dropped_events (site_id, day, reason, events) \
     VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (site_id, day, reason) DO UPDATE SET events = events + excluded.events";

/// The retention job deletes counts of days before the site's cutoff day with its raw events.
/// Binds: site, first day kept (YYYY-MM-DD, UTC).
pub const PURGE_DROPPED_EVENTS_SQL: &str =
    "DELETE FROM dropped_events WHERE site_id = ?1 AND day < ?2";

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db() -> Connection {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(include_str!("../../../migrations/0014_dropped_events.sql"))
            .unwrap();
        db
    }

    #[test]
    fn reasons_are_stored_by_their_serde_name() {
        assert_eq!(
            serde_json::to_value(DropReason::ReferrerSpam).unwrap(),
            DropReason::ReferrerSpam.as_str()
        );
    }

    #[test]
    fn counts_add_up_per_site_day_and_reason() {
        let db = db();
        for (site, day, n) in [
            ("a", "2026-12-04", 2),
            ("a", "2026-12-04", 3),
            ("a", "2026-12-05", 1),
            ("b", "2026-12-04", 7),
        ] {
            db.execute(
                DROPPED_EVENTS_SQL,
                rusqlite::params![site, day, "referrer_spam", n],
            )
            .unwrap();
        }
        let n: i64 = db
            .query_row(
                "SELECT events FROM dropped_events WHERE site_id = 'a' AND day = '2026-12-04'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 5);
        db.execute(
            PURGE_DROPPED_EVENTS_SQL,
            rusqlite::params!["a", "2026-12-05"],
        )
        .unwrap();
        let left: Vec<(String, String)> = db
            .prepare("SELECT site_id, day FROM dropped_events ORDER BY site_id, day")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            left,
            [
                ("a".into(), "2026-12-05".into()),
                ("b".into(), "2026-12-04".into())
            ]
        );
    }

    #[test]
    fn the_breakdown_lists_reasons_with_events() {
        let mut d = Dropped::default();
        assert_eq!(d.to_json(), serde_json::json!({}));
        d.add(DropReason::ReferrerSpam);
        d.add(DropReason::ReferrerSpam);
        assert_eq!((d.total(), d.get(DropReason::ReferrerSpam)), (2, 2));
        assert_eq!(d.to_json(), serde_json::json!({"referrer_spam": 2}));
    }
}
