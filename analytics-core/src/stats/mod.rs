//! Calendar arithmetic and the stats limits. Periods in a site's time zone, their buckets and
//! the time series live in `period.rs`.

pub mod bot_stats;
pub mod export;
pub mod filter;
pub mod goals;
pub mod merge;
pub mod period;
pub mod query;
pub mod rollup;

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;
/// Longest range one stats query may ask for.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Most rows a breakdown returns.
pub const MAX_BREAKDOWN_ROWS: u32 = 100;

use jiff::civil::Date;

/// 1970-01-01, day 0 of the day numbers the stats use.
const EPOCH: Date = Date::constant(1970, 1, 1);

/// Day number (days since 1970-01-01) of a civil date.
pub fn day_of_date(date: Date) -> i64 {
    i64::from(EPOCH.until(date).map(|span| span.get_days()).unwrap_or(0))
}

/// The civil date of a day number (clamped to jiff's range, far beyond any stored date).
pub fn date_of_day(day: i64) -> Date {
    let day = day.clamp(-4_371_587, 2_932_896); // -9999-01-01 ..= 9999-12-31
    EPOCH
        .checked_add(jiff::Span::new().days(day))
        .unwrap_or(EPOCH)
}

/// Parses `YYYY-MM-DD` (years 1970–9999, a date that exists) into a day number.
pub fn parse_day(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    // Exactly the form: jiff alone would also read other ISO 8601 shapes.
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date: Date = text.parse().ok()?;
    (1970..=9999)
        .contains(&date.year())
        .then(|| day_of_date(date))
}

pub fn format_day(day: i64) -> String {
    date_of_day(day).strftime("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DD` of a UTC timestamp.
pub fn day_of_ms(ms: i64) -> String {
    format_day(ms.div_euclid(DAY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(day_of_date(Date::constant(1970, 1, 1)), 0);
        // 20,780 as Python's datetime counts it: (date(2026,11,23) - date(1970,1,1)).days
        assert_eq!(day_of_date(Date::constant(2026, 11, 23)), 20_780);
        assert_eq!(format_day(20_780), "2026-11-23");
        assert_eq!(
            parse_day("2024-02-29").map(format_day).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("1969-12-31"), None);
        assert_eq!(parse_day("2026-11-23T00:00"), None);
        assert_eq!(parse_day("20261123"), None);
        for day in 0..40_000 {
            assert_eq!(parse_day(&format_day(day)), Some(day));
        }
        assert_eq!(parse_day("2026-02-31"), None);
        assert_eq!(parse_day("2026-1-01"), None);
        assert_eq!(parse_day("nonsense"), None);
        assert_eq!(day_of_ms(1_700_000_000_000), "2023-11-14");
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
        let midnight = day_of_date(Date::constant(2026, 3, 1)) * DAY_MS;
        assert_eq!(salt_keep_from(midnight + 10 * 60_000), "2026-02-28");
        assert_eq!(salt_keep_from(midnight + 45 * 60_000), "2026-03-01");
    }
}
