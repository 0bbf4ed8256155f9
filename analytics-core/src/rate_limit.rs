//! Fixed-window rate limits for ingest, per visitor hash and per site. The site's Durable
//! Object keeps the counters (it sees every event of its site), this module decides.

/// Events one visitor (hash) may send per window.
pub const MAX_EVENTS_PER_VISITOR_PER_WINDOW: i64 = 300;
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

/// Keeps the highest running count reported for a site's window from one source (`ingest`
/// or `activity`). Binds: site, window start (ms), source, count.
pub const RECORD_REFUSALS_SQL: &str = "INSERT INTO rate_limited (site_id, win, source, refused) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (site_id, win, source) DO UPDATE SET \
     refused = MAX(rate_limited.refused, excluded.refused)";

/// Seconds until the window that holds `now_ms` ends (at least 1): the `Retry-After` value.
pub fn retry_after_s(now_ms: i64) -> u32 {
    let end = (window_of(now_ms) + 1) * RATE_WINDOW_MS;
    (((end - now_ms) + 999) / 1000).max(1) as u32
}

/// What exceeded its limit, if anything, when `incoming` events are added to counts already
/// seen in this window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Visitor,
    Site,
}

pub fn check(
    visitor_count: i64,
    site_count: i64,
    incoming: i64,
    site_limit: i64,
) -> Option<Limited> {
    if visitor_count + incoming > MAX_EVENTS_PER_VISITOR_PER_WINDOW {
        Some(Limited::Visitor)
    } else if site_count + incoming > site_limit {
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

    #[test]
    fn a_visitor_is_limited_before_the_site() {
        let limit = MAX_EVENTS_PER_VISITOR_PER_WINDOW;
        assert_eq!(check(limit - 10, 0, 10, 1000), None);
        assert_eq!(check(limit - 10, 0, 11, 1000), Some(Limited::Visitor));
        assert_eq!(check(0, 995, 10, 1000), Some(Limited::Site));
    }

    #[test]
    fn retry_after_counts_to_the_end_of_the_window() {
        assert_eq!(retry_after_s(0), 60);
        assert_eq!(retry_after_s(59_500), 1);
        assert_eq!(retry_after_s(60_000 + 30_000), 30);
        assert_eq!(window_of(119_999), 1);
    }
}
