//! Date ranges in a site's time zone: the presets the dashboard offers, the previous period
//! they are compared with, and the chart's buckets.
//!
//! Rollups are stored per UTC hour, so a local day is read as the UTC hours it covers. For the
//! few zones whose offset is not a whole hour (India, Nepal, parts of Australia…) the edges are
//! floored to the hour: a "day" there starts up to 45 minutes early. Unique visitors are
//! counted per UTC day (the visitor hash rotates at UTC midnight), so a local day that spans
//! two UTC days can count a visitor twice; the README says so.

use jiff::civil::Date;
pub use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::stats::{parse_day, HOUR_MS, MAX_RANGE_DAYS};

/// The ranges the dashboard offers, by the name they have in URLs and the API.
pub const PRESETS: [&str; 8] = [
    "today",
    "yesterday",
    "7d",
    "30d",
    "month",
    "last_month",
    "12mo",
    "custom",
];

/// Longest time zone name accepted (the longest IANA name is 32 bytes).
pub const MAX_TIMEZONE_LEN: usize = 64;

/// One bucket of the chart.
pub use api_types::stats::Point as SeriesPoint;
pub use api_types::stats::{Bucket, Range};

/// An inclusive range of local days in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
    pub tz: TimeZone,
}

/// A chart bucket: its first UTC millisecond and how a person reads it in the site's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketStart {
    pub t: i64,
    pub label: String,
}

/// Looks a time zone up by its IANA name ("Europe/Lisbon", "UTC").
pub fn time_zone(name: &str) -> Result<TimeZone, ApiError> {
    if name.is_empty() || name.len() > MAX_TIMEZONE_LEN {
        return Err(ApiError::bad_request(
            "bad_timezone",
            "time zone must be an IANA name such as Europe/Lisbon",
        ));
    }
    TimeZone::get(name).map_err(|_| {
        ApiError::bad_request(
            "bad_timezone",
            format!("unknown time zone {name:?}; use an IANA name such as Europe/Lisbon"),
        )
    })
}

/// A stored site's zone; UTC if the name no longer resolves (jobs must not stop on one site).
pub fn zone_or_utc(name: &str) -> TimeZone {
    time_zone(name).unwrap_or(TimeZone::UTC)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_range", message)
}

fn date_of(text: &str, what: &str) -> Result<Date, ApiError> {
    let day = parse_day(text).ok_or_else(|| bad(format!("{what} must be a date as YYYY-MM-DD")))?;
    Ok(crate::stats::date_of_day(day))
}

fn days(n: i64) -> jiff::Span {
    jiff::Span::new().days(n)
}

fn shift(date: Date, n: i64) -> Date {
    date.checked_add(days(n)).unwrap_or(date)
}

/// Local midnight of `date` in `tz`, in UTC ms, floored to the hour (rollup granularity).
fn midnight_ms(date: Date, tz: &TimeZone) -> i64 {
    let ms = date
        .to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0);
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The day number (days since 1970-01-01) of the local date in `tz` at `now_ms`.
pub fn local_day_number(now_ms: i64, tz: &TimeZone) -> i64 {
    let date = jiff::Timestamp::from_millisecond(now_ms)
        .map(|t| t.to_zoned(tz.clone()).date())
        .unwrap_or(Date::constant(1970, 1, 1));
    crate::stats::day_of_date(date)
}

impl Period {
    /// Resolves a preset (or `custom` with `from`/`to`) at `now_ms` in the zone `tz`.
    pub fn resolve(
        preset: &str,
        from: Option<&str>,
        to: Option<&str>,
        now_ms: i64,
        tz: TimeZone,
    ) -> Result<Period, ApiError> {
        let today = Timestamp::from_millisecond(now_ms)
            .map_err(|_| bad("clock out of range"))?
            .to_zoned(tz.clone())
            .date();
        let first_of_month = today.first_of_month();
        let (from, to) = match preset {
            "today" => (today, today),
            "yesterday" => (shift(today, -1), shift(today, -1)),
            "7d" => (shift(today, -6), today),
            "30d" => (shift(today, -29), today),
            "month" => (first_of_month, today),
            "last_month" => {
                let last = shift(first_of_month, -1);
                (last.first_of_month(), last)
            }
            "12mo" => {
                let start = first_of_month
                    .checked_sub(jiff::Span::new().months(11))
                    .unwrap_or(first_of_month);
                (start, today)
            }
            "custom" => {
                let (Some(from), Some(to)) = (from, to) else {
                    return Err(bad("a custom range needs from and to (YYYY-MM-DD)"));
                };
                (date_of(from, "from")?, date_of(to, "to")?)
            }
            other => {
                return Err(bad(format!(
                    "unknown period {other:?}; use one of {}",
                    PRESETS.join(", ")
                )))
            }
        };
        Period::new(from, to, tz)
    }

    pub fn new(from: Date, to: Date, tz: TimeZone) -> Result<Period, ApiError> {
        if to < from {
            return Err(bad("to is before from"));
        }
        let period = Period { from, to, tz };
        if period.days() > MAX_RANGE_DAYS {
            return Err(bad(format!(
                "a range may span at most {MAX_RANGE_DAYS} days"
            )));
        }
        Ok(period)
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).get_days() as i64 + 1
    }

    pub fn from_ms(&self) -> i64 {
        midnight_ms(self.from, &self.tz)
    }

    /// Exclusive.
    pub fn to_ms(&self) -> i64 {
        midnight_ms(shift(self.to, 1), &self.tz)
    }

    /// The period of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Period {
        let n = self.days();
        Period {
            from: shift(self.from, -n),
            to: shift(self.from, -1),
            tz: self.tz.clone(),
        }
    }

    /// Hours up to two days, days up to ~three months, months beyond.
    pub fn bucket(&self) -> Bucket {
        match self.days() {
            0..=2 => Bucket::Hour,
            3..=92 => Bucket::Day,
            _ => Bucket::Month,
        }
    }

    /// Every bucket of the range, in order.
    pub fn buckets(&self) -> Vec<BucketStart> {
        let mut out = Vec::new();
        match self.bucket() {
            Bucket::Hour => {
                let (from, to) = (self.from_ms(), self.to_ms());
                let mut t = from;
                while t < to {
                    let local = Timestamp::from_millisecond(t)
                        .map(|ts| ts.to_zoned(self.tz.clone()))
                        .ok();
                    let label = local
                        .map(|z| format!("{} {:02}:00", z.date(), z.hour()))
                        .unwrap_or_default();
                    out.push(BucketStart { t, label });
                    t += HOUR_MS;
                }
            }
            Bucket::Day => {
                let mut d = self.from;
                while d <= self.to {
                    out.push(BucketStart {
                        t: midnight_ms(d, &self.tz),
                        label: d.to_string(),
                    });
                    d = shift(d, 1);
                }
            }
            Bucket::Month => {
                let mut d = self.from;
                while d <= self.to {
                    out.push(BucketStart {
                        t: midnight_ms(d, &self.tz),
                        label: format!("{:04}-{:02}", d.year(), d.month()),
                    });
                    d = d
                        .first_of_month()
                        .checked_add(jiff::Span::new().months(1))
                        .unwrap_or(shift(self.to, 1));
                }
            }
        }
        out
    }

    /// What the API reports back about the range.
    /// The period as the answers describe it.
    pub fn range(&self) -> Range {
        Range {
            bucket: self.bucket(),
            from: self.from.to_string(),
            from_ms: self.from_ms(),
            timezone: self.tz.iana_name().unwrap_or("UTC").to_string(),
            to: self.to.to_string(),
            to_ms: self.to_ms(),
        }
    }

    /// [`Period::range`] as JSON (for answers not typed yet).
    pub fn describe(&self) -> serde_json::Value {
        serde_json::to_value(self.range()).unwrap_or_default()
    }
}

/// One hour of the time series as the stats queries return it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRow {
    pub t: i64,
    pub pageviews: i64,
    /// Uniques counted on their first event of the UTC day (summable across hours of a day).
    pub visitors: i64,
    /// Uniques within the hour (the hourly chart).
    pub hour_visitors: i64,
}

/// Folds hourly rows into the period's buckets; every bucket appears, zero when empty.
pub fn bucket_series(period: &Period, rows: &[HourRow]) -> Vec<SeriesPoint> {
    let starts = period.buckets();
    let hourly = period.bucket() == Bucket::Hour;
    let mut points: Vec<SeriesPoint> = starts
        .iter()
        .map(|b| SeriesPoint {
            t: b.t,
            label: b.label.clone(),
            pageviews: 0,
            visitors: 0,
        })
        .collect();
    for row in rows {
        let i = starts.partition_point(|b| b.t <= row.t);
        if i == 0 {
            continue;
        }
        let p = &mut points[i - 1];
        p.pageviews += row.pageviews;
        p.visitors += if hourly {
            row.hour_visitors
        } else {
            row.visitors
        };
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_day_number_follows_the_zone() {
        // 2024-05-31T23:30Z is already June 1st in Lisbon (UTC+1 in summer).
        let ms = 1_717_198_200_000;
        let utc = crate::stats::parse_day("2024-05-31").unwrap();
        assert_eq!(local_day_number(ms, &TimeZone::UTC), utc);
        assert_eq!(
            local_day_number(ms, &time_zone("Europe/Lisbon").unwrap()),
            utc + 1
        );
    }

    const NOV_23_2026_NOON_UTC: i64 = 1_795_435_200_000;

    fn lisbon() -> TimeZone {
        time_zone("Europe/Lisbon").unwrap()
    }

    #[test]
    fn presets_are_computed_in_the_sites_zone() {
        // 23:30 in Los Angeles on the 22nd is already the 23rd in UTC.
        let la = time_zone("America/Los_Angeles").unwrap();
        let now = NOV_23_2026_NOON_UTC - 5 * HOUR_MS;
        let today = Period::resolve("today", None, None, now, la.clone()).unwrap();
        assert_eq!(today.from.to_string(), "2026-11-22");
        // Local midnight in LA (UTC−8 in November) is 08:00 UTC.
        assert_eq!(today.from_ms() % 86_400_000, 8 * HOUR_MS);
        assert_eq!(today.to_ms() - today.from_ms(), 24 * HOUR_MS);
        let utc = Period::resolve("today", None, None, now, TimeZone::UTC).unwrap();
        assert_eq!(utc.from.to_string(), "2026-11-23");
    }

    #[test]
    fn every_preset_resolves() {
        let now = NOV_23_2026_NOON_UTC;
        let got: Vec<(String, String)> = PRESETS[..7]
            .iter()
            .map(|p| {
                let r = Period::resolve(p, None, None, now, lisbon()).unwrap();
                (r.from.to_string(), r.to.to_string())
            })
            .collect();
        assert_eq!(
            got,
            [
                ("2026-11-23", "2026-11-23"),
                ("2026-11-22", "2026-11-22"),
                ("2026-11-17", "2026-11-23"),
                ("2026-10-25", "2026-11-23"),
                ("2026-11-01", "2026-11-23"),
                ("2026-10-01", "2026-10-31"),
                ("2025-12-01", "2026-11-23"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn previous_period_has_the_same_length_and_ends_before() {
        let r = Period::resolve(
            "custom",
            Some("2026-03-10"),
            Some("2026-03-16"),
            0,
            lisbon(),
        )
        .unwrap();
        let p = r.previous();
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2026-03-03".into(), "2026-03-09".into())
        );
        assert_eq!(p.to_ms(), r.from_ms());
    }

    #[test]
    fn a_dst_day_has_23_hours_and_buckets_follow_local_days() {
        // Lisbon springs forward on 2026-03-29.
        let r = Period::resolve(
            "custom",
            Some("2026-03-29"),
            Some("2026-03-29"),
            0,
            lisbon(),
        )
        .unwrap();
        assert_eq!(r.to_ms() - r.from_ms(), 23 * HOUR_MS);
        assert_eq!(r.buckets().len(), 23);
        let week = Period::resolve(
            "custom",
            Some("2026-03-27"),
            Some("2026-04-02"),
            0,
            lisbon(),
        )
        .unwrap();
        let b = week.buckets();
        assert_eq!(b.len(), 7);
        assert_eq!(b[3].label, "2026-03-30");
        // 2026-03-30 00:00 in Lisbon (UTC+1) is 23:00 UTC the day before.
        let hours = [
            HourRow {
                t: b[3].t,
                pageviews: 4,
                visitors: 2,
                hour_visitors: 2,
            },
            HourRow {
                t: b[3].t - HOUR_MS,
                pageviews: 1,
                visitors: 1,
                hour_visitors: 1,
            },
        ];
        let s = bucket_series(&week, &hours);
        assert_eq!((s[2].pageviews, s[3].pageviews, s[3].visitors), (1, 4, 2));
    }

    #[test]
    fn long_ranges_are_bucketed_by_month_and_bad_input_is_refused() {
        let year = Period::resolve("12mo", None, None, NOV_23_2026_NOON_UTC, lisbon()).unwrap();
        assert_eq!(year.bucket(), Bucket::Month);
        let b = year.buckets();
        assert_eq!(b.len(), 12);
        assert_eq!(
            (b[0].label.as_str(), b[11].label.as_str()),
            ("2025-12", "2026-11")
        );
        for (preset, from, to) in [
            ("custom", Some("2026-02-30"), Some("2026-03-01")),
            ("custom", Some("2026-03-02"), Some("2026-03-01")),
            ("custom", Some("2020-01-01"), Some("2026-01-01")),
            ("custom", None, None),
            ("fortnight", None, None),
        ] {
            let e = Period::resolve(preset, from, to, 0, lisbon()).unwrap_err();
            assert_eq!((e.status, e.error), (400, "bad_range"), "{preset} {from:?}");
        }
        assert_eq!(time_zone("Mars/Olympus").unwrap_err().error, "bad_timezone");
        assert!(time_zone("Asia/Kolkata").is_ok());
    }
}
