//! Date ranges and time series for the stats API. Days are UTC for now; per-site time zones
//! arrive with the full dashboard.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;
/// Longest range one stats query may ask for.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Most rows a breakdown returns.
pub const MAX_BREAKDOWN_ROWS: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from_ms: i64,
    /// Exclusive.
    pub to_ms: i64,
    pub bucket_ms: i64,
}

/// Days since 1970-01-01 for a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Parses `YYYY-MM-DD` into a day number.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if text.len() != 10
        || !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let day = days_from_civil(y, m, d);
    // Reject 2026-02-31 and the like: they would round-trip to another date.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` of a UTC timestamp.
pub fn day_of_ms(ms: i64) -> String {
    format_day(ms.div_euclid(DAY_MS))
}

/// An inclusive range of days → milliseconds, bucketed by hour for ranges up to two days and
/// by day beyond.
pub fn range_from_days(from: &str, to: &str) -> Result<DateRange, ApiError> {
    let bad = |what: &str| {
        ApiError::bad_request("bad_range", format!("{what} must be a date as YYYY-MM-DD"))
    };
    let from_day = parse_day(from).ok_or_else(|| bad("from"))?;
    let to_day = parse_day(to).ok_or_else(|| bad("to"))?;
    if to_day < from_day {
        return Err(ApiError::bad_request("bad_range", "to is before from"));
    }
    if to_day - from_day + 1 > MAX_RANGE_DAYS {
        return Err(ApiError::bad_request(
            "bad_range",
            format!("a range may span at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let days = to_day - from_day + 1;
    Ok(DateRange {
        from_ms: from_day * DAY_MS,
        to_ms: (to_day + 1) * DAY_MS,
        bucket_ms: if days <= 2 { HOUR_MS } else { DAY_MS },
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Bucket start, ms since epoch, UTC.
    pub t: i64,
    pub pageviews: i64,
    pub visitors: i64,
}

/// One point per bucket of the range, zeros where the database had no row.
pub fn fill_series(range: &DateRange, rows: &[SeriesPoint]) -> Vec<SeriesPoint> {
    let mut out = Vec::new();
    let mut t = range.from_ms;
    while t < range.to_ms {
        out.push(
            rows.iter()
                .find(|r| r.t == t)
                .cloned()
                .unwrap_or(SeriesPoint {
                    t,
                    pageviews: 0,
                    visitors: 0,
                }),
        );
        t += range.bucket_ms;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_day(days_from_civil(2026, 11, 23)), "2026-11-23");
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(parse_day("2026-02-31"), None);
        assert_eq!(parse_day("2026-1-01"), None);
        assert_eq!(parse_day("nonsense"), None);
        assert_eq!(day_of_ms(1_700_000_000_000), "2023-11-14");
    }

    #[test]
    fn ranges_pick_their_bucket() {
        let one = range_from_days("2026-11-23", "2026-11-23").unwrap();
        assert_eq!((one.to_ms - one.from_ms, one.bucket_ms), (DAY_MS, HOUR_MS));
        let month = range_from_days("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(month.bucket_ms, DAY_MS);
        assert_eq!(
            range_from_days("2026-11-02", "2026-11-01")
                .unwrap_err()
                .error,
            "bad_range"
        );
        assert!(range_from_days("2020-01-01", "2026-01-01").is_err());
    }

    #[test]
    fn series_has_every_bucket() {
        let r = range_from_days("2026-11-01", "2026-11-03").unwrap();
        let rows = [SeriesPoint {
            t: r.from_ms + DAY_MS,
            pageviews: 5,
            visitors: 2,
        }];
        let s = fill_series(&r, &rows);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].pageviews, s[1].pageviews, s[2].pageviews), (0, 5, 0));
    }
}

/// The oldest salt day the daily cron keeps when it runs at `now_ms`: yesterday's salt only
/// while sessions that crossed midnight can still go on, today's always.
pub fn salt_keep_from(now_ms: i64) -> String {
    let today = now_ms.div_euclid(DAY_MS);
    if crate::enrich::session::needs_previous_salt(now_ms) {
        format_day(today - 1)
    } else {
        format_day(today)
    }
}

#[cfg(test)]
mod salt_tests {
    use super::*;

    #[test]
    fn yesterdays_salt_goes_once_midnight_sessions_are_over() {
        let midnight = days_from_civil(2026, 3, 1) * DAY_MS;
        assert_eq!(salt_keep_from(midnight + 10 * 60_000), "2026-02-28");
        assert_eq!(salt_keep_from(midnight + 45 * 60_000), "2026-03-01");
    }
}
