//! Fixed-window rate limits for ingest, per visitor hash, per address and per site. The site's
//! Durable Object keeps the counters (it sees every event of its site), this module decides.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// Events one visitor (hash) may send per window.
pub const MAX_EVENTS_PER_VISITOR_PER_WINDOW: i64 = 300;
/// Events one address (its fingerprint) may send to one site per window, unless the deployment
/// sets another figure (`VIGIA_ADDRESS_EVENTS_PER_MINUTE`). The visitor hash includes the user
/// agent, so a script rotating it is a new "visitor" each request; the address limit catches
/// it. It is ten visitors' worth: a carrier-grade NAT or a company proxy puts hundreds of people
/// behind one address, but a page view, a few custom events and an engagement beacon are well
/// under ten events a minute for a person, so 3,000 lets some 300 people read the same site at
/// once from one address.
pub const MAX_EVENTS_PER_ADDRESS_PER_WINDOW: i64 = 3_000;
/// Events one site may receive per window, unless the deployment sets another figure
/// (`VIGIA_SITE_EVENTS_PER_MINUTE`).
pub const MAX_EVENTS_PER_SITE_PER_WINDOW: i64 = 60_000;
/// Length of a window.
pub const RATE_WINDOW_MS: i64 = 60_000;

/// Which window `now_ms` falls in.
pub fn window_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(RATE_WINDOW_MS)
}

/// Refused requests are reported to D1 (for the suspicious-activity rules) on the first refusal
/// of a window and then every this many, so a flood costs D1 one write per this many refusals.
pub const REPORT_REFUSALS_EVERY: i64 = 50;

/// Whether the `refused`-th refusal of a window is one to report.
pub fn report_refusals(refused: i64) -> bool {
    refused == 1 || (refused > 0 && refused % REPORT_REFUSALS_EVERY == 0)
}

/// The SQL of the refusal counts lives with the other ingest statements (`store::ingest`).
pub use crate::store::ingest::RECORD_REFUSALS_SQL;

/// Seconds until the window that holds `now_ms` ends (at least 1): the `Retry-After` value.
pub fn retry_after_s(now_ms: i64) -> u32 {
    let end = (window_of(now_ms) + 1) * RATE_WINDOW_MS;
    (((end - now_ms) + 999) / 1000).max(1) as u32
}

/// What exceeded its limit, if anything, when `incoming` events are added to counts already
/// seen in this window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Limited {
    Visitor,
    Address,
    Site,
}

impl Limited {
    /// The word the 429's message uses ("too many events from this …").
    pub fn as_str(self) -> &'static str {
        match self {
            Limited::Visitor => "visitor",
            Limited::Address => "address",
            Limited::Site => "site",
        }
    }
}

/// Events already counted in this window, per counter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub visitor: i64,
    pub address: i64,
    pub site: i64,
}

/// The limits in force (the deployment may change the address and site ones).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub address: i64,
    pub site: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            address: MAX_EVENTS_PER_ADDRESS_PER_WINDOW,
            site: MAX_EVENTS_PER_SITE_PER_WINDOW,
        }
    }
}

/// The buffer's counter names: one per visitor hash, one per address fingerprint, one for
/// the site, and the window's refused requests.
pub fn visitor_key(visitor: &str) -> String {
    format!("v:{visitor}")
}
pub fn address_key(address_fingerprint: &str) -> String {
    format!("a:{address_fingerprint}")
}
pub const SITE_KEY: &str = "site";
pub const REFUSED_KEY: &str = "refused";

/// The buffer's 429 answer to ingest: what was limited, when to retry, and the window's
/// running count of refused requests (reported to D1 now and then, `report_refusals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub limited: Limited,
    pub retry_after: u32,
    pub refused: i64,
    /// The window's start (ms), the key its refusals are reported under.
    pub window_start: i64,
}

impl Refusal {
    /// The refusal of a request at `now_ms`, the `refused`-th of its window.
    pub fn at(limited: Limited, now_ms: i64, refused: i64) -> Refusal {
        Refusal {
            limited,
            retry_after: retry_after_s(now_ms),
            refused,
            window_start: window_of(now_ms) * RATE_WINDOW_MS,
        }
    }

    /// What ingest answers: 429 `rate_limited` with `Retry-After`.
    pub fn error(&self) -> ApiError {
        ApiError::rate_limited(
            format!(
                "too many events from this {}; retry in {} s",
                self.limited.as_str(),
                self.retry_after
            ),
            self.retry_after,
        )
    }
}

pub fn check(counts: Counts, incoming: i64, limits: Limits) -> Option<Limited> {
    if counts.visitor + incoming > MAX_EVENTS_PER_VISITOR_PER_WINDOW {
        Some(Limited::Visitor)
    } else if counts.address + incoming > limits.address {
        Some(Limited::Address)
    } else if counts.site + incoming > limits.site {
        Some(Limited::Site)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn refusals_are_reported_on_the_first_and_every_fiftieth() {
        let reported: Vec<i64> = (0..=120).filter(|n| report_refusals(*n)).collect();
        assert_eq!(reported, vec![1, 50, 100]);
    }

    use super::*;

    fn counts(visitor: i64, address: i64, site: i64) -> Counts {
        Counts {
            visitor,
            address,
            site,
        }
    }

    #[test]
    fn a_visitor_is_limited_before_the_address_and_the_site() {
        let limit = MAX_EVENTS_PER_VISITOR_PER_WINDOW;
        let limits = Limits {
            address: 5000,
            site: 1000,
        };
        assert_eq!(check(counts(limit - 10, 0, 0), 10, limits), None);
        assert_eq!(
            check(counts(limit - 10, 0, 0), 11, limits),
            Some(Limited::Visitor)
        );
        assert_eq!(check(counts(0, 0, 995), 10, limits), Some(Limited::Site));
    }

    #[test]
    fn one_address_is_limited_whatever_visitor_it_claims_to_be() {
        let limits = Limits::default();
        // A new visitor hash each request (a rotated user agent), one address.
        assert_eq!(
            check(
                counts(0, MAX_EVENTS_PER_ADDRESS_PER_WINDOW - 50, 0),
                50,
                limits
            ),
            None
        );
        assert_eq!(
            check(
                counts(0, MAX_EVENTS_PER_ADDRESS_PER_WINDOW - 49, 0),
                50,
                limits
            ),
            Some(Limited::Address)
        );
        assert_eq!(Limited::Address.as_str(), "address");
    }

    #[test]
    fn the_address_limit_leaves_room_for_a_shared_carrier_address() {
        // Hundreds of people behind one CGNAT address, each well under ten events a minute,
        // each under the per-visitor limit.
        let limits = Limits::default();
        let (people, per_person) = (300, 10);
        for person in 0..people {
            let before = counts(0, person * per_person, person * per_person);
            assert_eq!(check(before, per_person, limits), None, "person {person}");
        }
        // Still a real limit, far below the site's.
        let full = counts(0, limits.address, limits.address);
        assert_eq!(check(full, 1, limits), Some(Limited::Address));
        assert!(limits.site >= 10 * limits.address);
    }

    #[test]
    fn a_refusal_says_what_was_limited_and_when_to_retry() {
        let refusal = Refusal::at(Limited::Address, 60_000 + 45_000, 3);
        assert_eq!(
            serde_json::to_value(refusal).unwrap(),
            serde_json::json!({"limited": "address", "retry_after": 15, "refused": 3,
                "window_start": 60_000})
        );
        let e = refusal.error();
        assert_eq!(
            (e.status, e.error, e.retry_after_s),
            (429, "rate_limited", Some(15))
        );
        assert_eq!(
            e.message,
            "too many events from this address; retry in 15 s"
        );
        assert_eq!(
            (visitor_key("x"), address_key("y")),
            ("v:x".into(), "a:y".into())
        );
    }

    #[test]
    fn retry_after_counts_to_the_end_of_the_window() {
        assert_eq!(retry_after_s(0), 60);
        assert_eq!(retry_after_s(59_500), 1);
        assert_eq!(retry_after_s(60_000 + 30_000), 30);
        assert_eq!(window_of(119_999), 1);
    }
}
