//! Calendar arithmetic and the stats limits. Periods in a site's time zone, their buckets and
//! the time series live in `period.rs`.

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;
/// Longest range one stats query may ask for.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Most rows a breakdown returns.
pub const MAX_BREAKDOWN_ROWS: u32 = 100;

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
