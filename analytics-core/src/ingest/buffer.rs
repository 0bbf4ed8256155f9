//! The rules of the per-site Durable Object buffer (the Worker's `buffer.rs` only runs them):
//! when it is full, when its alarm flushes next, and the answers it gives ingest and health.
//! Its SQL is in `store::buffer`.

use crate::error::ApiError;
use crate::limits::{BUFFER_FULL_RETRY_AFTER_S, FLUSH_BATCH_SIZE, FLUSH_INTERVAL_MS};
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
}
