//! When to try again: exponential backoff with full jitter (a wait drawn uniformly between zero
//! and `min(cap, base · 2^attempt)`, so thousands of installs coming back online after an
//! outage spread out instead of arriving together), and the server's `Retry-After`.

use std::time::Duration;

/// First backoff step.
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// Longest wait between two tries after failures (an install offline for days tries every
/// quarter of an hour at most, and costs nothing in between).
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);
/// Longest `Retry-After` honoured: a wrong or hostile header cannot silence an agent for longer.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: BACKOFF_BASE,
            cap: BACKOFF_CAP,
        }
    }
}

impl Backoff {
    /// The ceiling of the wait after `attempt` failures in a row (0 = the first failure).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// A wait for `attempt`, drawn with `unit` (uniform in [0, 1)).
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }

    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, crate::random_unit())
    }
}

/// A `Retry-After` value: delta-seconds (`120`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00
/// GMT`, read against `now_ms`), capped at [`MAX_RETRY_AFTER`]. `None` when unreadable (the
/// caller falls back to its backoff).
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(
            value
                .parse::<u64>()
                .unwrap_or(u64::MAX)
                .min(MAX_RETRY_AFTER.as_secs()),
        )
    } else {
        let at = parse_http_date(value)?;
        Duration::from_millis(at.saturating_sub(now_ms).max(0) as u64)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// IMF-fixdate (RFC 9110 §5.6.7), the form servers send: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(s: &str) -> Option<i64> {
    let (_, rest) = s.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *sec > 60 {
        return None;
    }
    Some(((days_from_civil(year, month, day) * 24 + h) * 60 + m) * 60_000 + sec * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_its_cap_and_jitter_stays_under_the_ceiling() {
        let b = Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
        };
        let ceilings: Vec<u64> = (0..8).map(|a| b.ceiling(a).as_secs()).collect();
        assert_eq!(ceilings, vec![2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(
            b.ceiling(1000),
            Duration::from_secs(60),
            "no overflow after many failures"
        );
        assert_eq!(b.delay_with(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay_with(3, 0.5), Duration::from_secs(8));
        for attempt in 0..40 {
            for _ in 0..50 {
                let d = b.delay(attempt);
                assert!(
                    d <= b.ceiling(attempt),
                    "{d:?} over {:?}",
                    b.ceiling(attempt)
                );
            }
        }
        // Full jitter: draws spread over the range rather than all at the ceiling.
        let draws: Vec<Duration> = (0..200).map(|_| b.delay(10)).collect();
        assert!(
            draws.iter().any(|d| *d < Duration::from_secs(30))
                && draws.iter().any(|d| *d >= Duration::from_secs(30))
        );
        assert_eq!(
            Backoff::default(),
            Backoff {
                base: BACKOFF_BASE,
                cap: BACKOFF_CAP
            }
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_and_is_capped() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", 0),
            Some(MAX_RETRY_AFTER)
        );
        // 2015-10-21 07:28:00 UTC = 1445412480 s.
        let at = 1_445_412_480_000;
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - 90_000),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + 5_000),
            Some(Duration::ZERO),
            "a date in the past: now"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777_000 - 1_000),
            Some(Duration::from_secs(1))
        );
        for bad in [
            "",
            "soon",
            "-5",
            "1.5",
            "Wed, 21 Oct 2015 07:28:00 PST",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 21 Foo 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, 0), None, "{bad:?}");
        }
    }
}
