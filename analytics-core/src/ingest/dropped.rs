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

    /// `{"referrer_spam": 2}`: the receipt's breakdown, by reason name.
    pub fn by_reason(&self) -> std::collections::BTreeMap<&'static str, usize> {
        self.iter().map(|(r, n)| (r.as_str(), n)).collect()
    }
}

/// The SQL of the counts lives with the other ingest statements; these names stay for callers.
pub use crate::store::ingest::{DROPPED_EVENTS_SQL, PURGE_DROPPED_EVENTS_SQL};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_stored_by_their_serde_name() {
        assert_eq!(
            serde_json::to_value(DropReason::ReferrerSpam).unwrap(),
            DropReason::ReferrerSpam.as_str()
        );
    }

    #[test]
    fn the_breakdown_lists_reasons_with_events() {
        let mut d = Dropped::default();
        assert_eq!(
            serde_json::to_value(d.by_reason()).unwrap(),
            serde_json::json!({})
        );
        d.add(DropReason::ReferrerSpam);
        d.add(DropReason::ReferrerSpam);
        assert_eq!((d.total(), d.get(DropReason::ReferrerSpam)), (2, 2));
        assert_eq!(
            serde_json::to_value(d.by_reason()).unwrap(),
            serde_json::json!({"referrer_spam": 2})
        );
    }
}
