//! When a report is due and which days it covers: monthly reports go out on the 1st for the
//! month before, weekly ones on Monday for the week (Monday to Sunday) before, both from a
//! local hour in the site's time zone so the last day's events have been flushed.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::error::ApiError;
use crate::stats::period::Period;
use crate::stats::DAY_MS;

/// Local hour (site time zone) from which a due report is sent.
pub const SEND_FROM_HOUR: i8 = 6;
/// A report that could not go out (cron down, provider failing) is retried for this long after
/// it fell due, then given up: a report weeks late is noise, not news.
pub const SEND_WINDOW_DAYS: i64 = 3;
/// Attempts per report and recipient before it is recorded as failed for good.
pub const MAX_SEND_ATTEMPTS: i64 = 3;

pub use api_types::reports::ReportKind;

pub const REPORT_KINDS: [ReportKind; 2] = ReportKind::ALL;

/// `?kind=` of the preview and of an unsubscribe link.
pub fn parse_kind(text: &str) -> Result<ReportKind, ApiError> {
    ReportKind::parse(text)
        .ok_or_else(|| ApiError::bad_request("bad_kind", "report kind must be monthly or weekly"))
}

/// The first day of the period of `kind` that contains `day`.
fn start_of(kind: ReportKind, day: Date) -> Date {
    match kind {
        ReportKind::Monthly => day.first_of_month(),
        ReportKind::Weekly => {
            let back = day.weekday().to_monday_zero_offset() as i64;
            add_days(day, -back)
        }
    }
}

/// The whole period of `kind` that starts on `start`.
fn period_from(kind: ReportKind, start: Date, tz: TimeZone) -> Result<Period, ApiError> {
    let end = match kind {
        ReportKind::Monthly => start.last_of_month(),
        ReportKind::Weekly => add_days(start, 6),
    };
    Period::new(start, end, tz)
}

/// The calendar of a report kind (the kind itself is a wire name in `api_types`).
pub trait Schedule: Copy {
    /// The whole period (month or week) containing `day`.
    fn period_containing(self, day: Date, tz: TimeZone) -> Result<Period, ApiError>;
    /// What a report compares with: the calendar month, or the week, before.
    fn previous(self, period: &Period) -> Period;
    /// The last complete period at `now_ms`: what the preview shows unless told otherwise.
    fn last_complete(self, now_ms: i64, tz: TimeZone) -> Result<Period, ApiError>;
    /// The period whose report is due at `now_ms`, if one is: from `SEND_FROM_HOUR` local time
    /// on the first day of the next period, for `SEND_WINDOW_DAYS`.
    fn due(self, now_ms: i64, tz: &TimeZone) -> Option<Period>;
}

impl Schedule for ReportKind {
    fn period_containing(self, day: Date, tz: TimeZone) -> Result<Period, ApiError> {
        period_from(self, start_of(self, day), tz)
    }

    fn previous(self, period: &Period) -> Period {
        let start = start_of(self, add_days(period.from, -1));
        period_from(self, start, period.tz.clone()).unwrap_or_else(|_| period.previous())
    }

    fn last_complete(self, now_ms: i64, tz: TimeZone) -> Result<Period, ApiError> {
        let today = Timestamp::from_millisecond(now_ms)
            .map_err(|_| ApiError::bad_request("bad_clock", "clock out of range"))?
            .to_zoned(tz.clone())
            .date();
        let start = start_of(self, today);
        self.period_containing(add_days(start, -1), tz)
    }

    fn due(self, now_ms: i64, tz: &TimeZone) -> Option<Period> {
        let now = Timestamp::from_millisecond(now_ms)
            .ok()?
            .to_zoned(tz.clone());
        let start = start_of(self, now.date());
        let due_at = start
            .at(SEND_FROM_HOUR, 0, 0, 0)
            .to_zoned(tz.clone())
            .ok()?
            .timestamp()
            .as_millisecond();
        if now_ms < due_at || now_ms >= due_at + SEND_WINDOW_DAYS * DAY_MS {
            return None;
        }
        self.period_containing(add_days(start, -1), tz.clone()).ok()
    }
}

fn add_days(date: Date, n: i64) -> Date {
    date.checked_add(jiff::Span::new().days(n)).unwrap_or(date)
}

/// Years a report can be previewed for. Nothing was counted before 2000, and periods near the
/// calendar's end (9999) cannot be compared with the period after them: a preview of
/// 9999-12 made the Worker hang.
pub const REPORT_YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;

/// A month as `YYYY-MM`, for the preview page.
pub fn parse_month(text: &str) -> Result<Date, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "bad_month",
            format!(
                "month must be given as YYYY-MM, from {} to {}",
                REPORT_YEARS.start(),
                REPORT_YEARS.end()
            ),
        )
    };
    let (y, m) = text.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (i16, i8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Date::new(y, m, 1)
        .ok()
        .filter(|d| REPORT_YEARS.contains(&d.year()))
        .ok_or_else(bad)
}

/// A day as `YYYY-MM-DD`, for the weekly preview.
pub fn parse_date(text: &str) -> Result<Date, ApiError> {
    text.parse::<Date>()
        .ok()
        .filter(|d| REPORT_YEARS.contains(&d.year()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_date",
                format!(
                    "date must be given as YYYY-MM-DD, from {} to {}",
                    REPORT_YEARS.start(),
                    REPORT_YEARS.end()
                ),
            )
        })
}

/// Monday is day zero of a reporting week (ISO 8601).
pub fn is_monday(day: Date) -> bool {
    day.weekday() == Weekday::Monday
}

#[cfg(test)]
mod tests {
    #[test]
    fn previews_are_bounded_to_report_years() {
        use super::{parse_date, parse_month};
        assert!(parse_month("2000-01").is_ok());
        assert!(parse_month("2100-12").is_ok());
        for bad in ["1999-12", "2101-01", "9999-12", "0001-01"] {
            assert_eq!(parse_month(bad).unwrap_err().error, "bad_month", "{bad}");
        }
        assert!(parse_date("2100-12-27").is_ok());
        assert_eq!(parse_date("9999-12-27").unwrap_err().error, "bad_date");
    }

    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn lisbon() -> TimeZone {
        TimeZone::get("Europe/Lisbon").unwrap()
    }

    #[test]
    fn a_monthly_report_is_due_on_the_first_from_six_local_for_the_month_before() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 1 Dec 2026 10:59 UTC is 05:59 in New York: not yet.
        assert_eq!(
            ReportKind::Monthly.due(ms("2026-12-01T10:59:00Z"), &tz),
            None
        );
        let p = ReportKind::Monthly
            .due(ms("2026-12-01T11:00:00Z"), &tz)
            .expect("due at 06:00 local");
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2026-11-01".into(), "2026-11-30".into())
        );
        // Still due (retries) on the 3rd, given up on the 4th, never mid-month.
        assert!(ReportKind::Monthly
            .due(ms("2026-12-04T10:59:00Z"), &tz)
            .is_some());
        assert_eq!(
            ReportKind::Monthly.due(ms("2026-12-04T11:00:00Z"), &tz),
            None
        );
        assert_eq!(
            ReportKind::Monthly.due(ms("2026-11-23T12:00:00Z"), &tz),
            None
        );
    }

    #[test]
    fn the_first_is_the_sites_first_not_utcs() {
        // 30 Nov 2026 17:30 UTC is already 1 Dec 06:30 in Auckland (UTC+13).
        let tz = TimeZone::get("Pacific/Auckland").unwrap();
        let p = ReportKind::Monthly
            .due(ms("2026-11-30T17:30:00Z"), &tz)
            .unwrap();
        assert_eq!(p.from.to_string(), "2026-11-01");
        assert_eq!(
            ReportKind::Monthly.due(ms("2026-11-30T17:30:00Z"), &TimeZone::UTC),
            None
        );
    }

    #[test]
    fn a_weekly_report_covers_monday_to_sunday_and_goes_out_on_monday() {
        // 30 Nov 2026 is a Monday.
        let p = ReportKind::Weekly
            .due(ms("2026-11-30T06:00:00Z"), &lisbon())
            .unwrap();
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2026-11-23".into(), "2026-11-29".into())
        );
        assert!(is_monday(p.from));
        assert_eq!(
            ReportKind::Weekly.due(ms("2026-11-30T05:59:00Z"), &lisbon()),
            None
        );
        assert_eq!(
            ReportKind::Weekly.due(ms("2026-11-26T12:00:00Z"), &lisbon()),
            None
        );
    }

    #[test]
    fn reports_compare_with_the_calendar_period_before() {
        let tz = lisbon();
        let march = ReportKind::Monthly
            .period_containing(parse_month("2026-03").unwrap(), tz.clone())
            .unwrap();
        let feb = ReportKind::Monthly.previous(&march);
        assert_eq!(
            (feb.from.to_string(), feb.to.to_string()),
            ("2026-02-01".into(), "2026-02-28".into())
        );
        let week = ReportKind::Weekly
            .period_containing(parse_date("2026-11-25").unwrap(), tz)
            .unwrap();
        assert_eq!(week.from.to_string(), "2026-11-23");
        assert_eq!(
            ReportKind::Weekly.previous(&week).from.to_string(),
            "2026-11-16"
        );
    }

    #[test]
    fn months_and_kinds_are_checked() {
        assert_eq!(parse_month("2026-13").unwrap_err().error, "bad_month");
        assert!(parse_month("26-01").is_err() && parse_month("2026-1").is_err());
        assert_eq!(parse_kind("daily").unwrap_err().error, "bad_kind");
        assert_eq!(parse_kind("weekly").unwrap(), ReportKind::Weekly);
    }
}
