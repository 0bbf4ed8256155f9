//! The rules of the per-site Durable Object buffer (the Worker's `buffer.rs` only runs them):
//! when it is full, when its alarm flushes next, and the answers it gives ingest and health.
//! Its SQL is in `store::buffer`.

use crate::error::ApiError;
use crate::limits::{BUFFER_FULL_RETRY_AFTER_S, FLUSH_BATCH_SIZE, FLUSH_INTERVAL_MS};
use crate::store::metering::{month_of, MeterDelta};
use serde::{Deserialize, Serialize};

/// Whether `incoming` more events would take the buffer past `max_buffered` (the deployment's
/// `VIGIA_MAX_BUFFERED_EVENTS`): then the whole batch is refused, none of it kept.
pub fn is_full(pending: i64, incoming: i64, max_buffered: i64) -> bool {
    pending + incoming > max_buffered
}

/// The alarm to set after an append when none is set: a full batch waiting flushes at once,
/// otherwise after the flush interval.
pub fn alarm_after_append(pending: i64) -> i64 {
    if pending >= FLUSH_BATCH_SIZE {
        0
    } else {
        FLUSH_INTERVAL_MS
    }
}

/// The alarm to set after a successful flush that moved `flushed` events, with `pending` still
/// waiting: none when empty, at once while a backlog drains (a full batch was flushed or waits),
/// otherwise after the flush interval.
pub fn alarm_after_flush(pending: i64, flushed: i64) -> Option<i64> {
    if pending <= 0 {
        None
    } else if pending >= FLUSH_BATCH_SIZE || flushed == FLUSH_BATCH_SIZE {
        Some(0)
    } else {
        Some(FLUSH_INTERVAL_MS)
    }
}

/// What ingest answers when the buffer is full (503 with `Retry-After`).
pub fn full_error() -> ApiError {
    ApiError {
        retry_after_s: Some(BUFFER_FULL_RETRY_AFTER_S),
        ..ApiError::new(503, "buffer_full", "ingest is backed up; retry later")
    }
}

/// The headers ingest sends the buffer a request's metering counts in, with an append or alone
/// (`POST /meter`, for a request refused before the buffer): the events of a batch that reached
/// a known site, and of them those refused already (unreadable, foreign origin or host,
/// referrer spam). The buffer adds the events it refuses itself (full, rate limited).
pub const METER_RECEIVED_HEADER: &str = "X-Vigia-Meter-Received";
pub const METER_REFUSED_HEADER: &str = "X-Vigia-Meter-Refused";

/// A request's metering counts on their way to the buffer (`store::buffer::meter_add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arrived {
    pub received: i64,
    pub refused: i64,
}

impl Arrived {
    /// A batch of `sent` events reached a known site; `handed_on` of them go on to the buffer,
    /// the others were refused on the way.
    pub fn at_route(sent: usize, handed_on: usize) -> Arrived {
        Arrived {
            received: sent as i64,
            refused: sent.saturating_sub(handed_on) as i64,
        }
    }

    /// A batch refused whole before the buffer (foreign origin, a host not the site's).
    pub fn refused_whole(sent: usize) -> Arrived {
        Arrived::at_route(sent, 0)
    }

    /// The buffer refused the `incoming` events it was handed (full, or a rate limit).
    pub fn and_refused(self, incoming: i64) -> Arrived {
        Arrived {
            refused: (self.refused + incoming).min(self.received),
            ..self
        }
    }

    /// Reads the headers; a missing or unreadable one is 0, and refusals never exceed what
    /// was received (only ingest sends these, but a bad count must not skew the month).
    pub fn from_headers(received: Option<&str>, refused: Option<&str>) -> Arrived {
        let read = |h: Option<&str>| {
            h.and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
                .max(0)
        };
        let received = read(received);
        Arrived {
            received,
            refused: read(refused).min(received),
        }
    }

    pub fn is_empty(self) -> bool {
        self.received == 0 && self.refused == 0
    }
}

/// What a flush adds to the site's event counts, per UTC month: every event of the batch is
/// stored in the month it was received (`ts`, the Worker's clock at ingest, not the flush's),
/// and the received and refused counts frozen for this flush go with them.
pub fn flush_meter(
    event_ts: impl IntoIterator<Item = i64>,
    counts: &[crate::store::buffer::MeterCounts],
) -> std::collections::BTreeMap<String, MeterDelta> {
    let mut months = std::collections::BTreeMap::<String, MeterDelta>::new();
    for ts in event_ts {
        months.entry(month_of(ts)).or_default().stored += 1;
    }
    for c in counts {
        let d = months.entry(c.month.clone()).or_default();
        d.received += c.received;
        d.refused += c.refused;
    }
    months.retain(|_, d| !d.is_empty());
    months
}

/// The buffer's answer to `POST /append`: how many events it kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub buffered: usize,
}

/// The buffer's answer to `POST /purge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    pub purged: bool,
}

/// The buffer's answer to `GET /status` (for `/health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub pending: i64,
    pub flush_failures: i64,
    pub last_flush_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_that_would_pass_the_limit_is_refused_whole() {
        assert!(!is_full(90, 10, 100));
        assert!(is_full(90, 11, 100));
        assert!(is_full(101, 0, 100));
    }

    #[test]
    fn a_backlog_flushes_at_once_and_a_trickle_waits_for_the_interval() {
        assert_eq!(alarm_after_append(1), FLUSH_INTERVAL_MS);
        assert_eq!(alarm_after_append(FLUSH_BATCH_SIZE), 0);
        assert_eq!(alarm_after_flush(0, FLUSH_BATCH_SIZE), None);
        assert_eq!(alarm_after_flush(3, 7), Some(FLUSH_INTERVAL_MS));
        assert_eq!(alarm_after_flush(3, FLUSH_BATCH_SIZE), Some(0));
        assert_eq!(alarm_after_flush(FLUSH_BATCH_SIZE, 1), Some(0));
    }

    #[test]
    fn a_full_buffer_asks_to_retry_later() {
        let e = full_error();
        assert_eq!((e.status, e.error), (503, "buffer_full"));
        assert_eq!(e.retry_after_s, Some(BUFFER_FULL_RETRY_AFTER_S));
    }

    #[test]
    fn the_buffer_answers_keep_their_field_names() {
        assert_eq!(
            serde_json::to_value(Appended { buffered: 2 }).unwrap(),
            serde_json::json!({"buffered": 2})
        );
        assert_eq!(
            serde_json::to_value(Purged { purged: true }).unwrap(),
            serde_json::json!({"purged": true})
        );
        assert_eq!(
            serde_json::to_value(Status {
                pending: 1,
                flush_failures: 2,
                last_flush_ms: 3
            })
            .unwrap(),
            serde_json::json!({"pending": 1, "flush_failures": 2, "last_flush_ms": 3})
        );
    }

    #[test]
    fn a_request_counts_everything_sent_and_refuses_what_did_not_go_on() {
        let a = Arrived::at_route(10, 7);
        assert_eq!((a.received, a.refused), (10, 3));
        // The buffer then refused the 7 (rate limit): all 10 refused, never more.
        assert_eq!(
            a.and_refused(7),
            Arrived {
                received: 10,
                refused: 10
            }
        );
        assert_eq!(a.and_refused(99).refused, 10);
        assert_eq!(
            Arrived::refused_whole(4),
            Arrived {
                received: 4,
                refused: 4
            }
        );
        assert!(Arrived::at_route(0, 0).is_empty());
    }

    #[test]
    fn meter_headers_read_as_counts_and_bad_ones_as_zero() {
        let r = |a: Option<&str>, b: Option<&str>| {
            let x = Arrived::from_headers(a, b);
            (x.received, x.refused)
        };
        assert_eq!(r(Some("12"), Some("2")), (12, 2));
        assert_eq!(r(None, None), (0, 0));
        assert_eq!(r(Some("x"), Some("1")), (0, 0));
        assert_eq!(r(Some("-5"), Some("-1")), (0, 0));
        assert_eq!(r(Some("3"), Some("9")), (3, 3));
    }

    #[test]
    fn a_flush_stores_each_event_in_the_month_it_arrived_with_the_frozen_counts() {
        use crate::store::buffer::MeterCounts;
        let dec = 1_764_547_200_000; // 2025-12-01T00:00Z
        let counts = [
            MeterCounts {
                site_id: "s".into(),
                month: "2025-12".into(),
                received: 5,
                refused: 2,
            },
            MeterCounts {
                site_id: "s".into(),
                month: "2025-10".into(),
                received: 0,
                refused: 0,
            },
        ];
        let months = flush_meter([dec - 1, dec, dec + 1, dec + 2], &counts);
        let d = |received, stored, refused| MeterDelta {
            received,
            stored,
            refused,
        };
        assert_eq!(
            months.into_iter().collect::<Vec<_>>(),
            [
                ("2025-11".to_string(), d(0, 1, 0)),
                ("2025-12".to_string(), d(5, 3, 2)),
            ]
        );
        assert!(flush_meter([], &[]).is_empty());
    }
}
