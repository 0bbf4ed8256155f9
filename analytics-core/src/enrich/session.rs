//! Sessions: a visitor's events belong to one session until 30 minutes pass without an event.

/// Inactivity that ends a session.
pub const SESSION_TIMEOUT_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub session_id: String,
    pub last_seen_ms: i64,
}

/// Returns the session the event at `now_ms` belongs to. `fresh_id` is used only when a new
/// session starts (the caller derives it from the event id so it is unique).
pub fn assign(previous: Option<&SessionState>, now_ms: i64, fresh_id: &str) -> SessionState {
    match previous {
        Some(prev) if now_ms - prev.last_seen_ms <= SESSION_TIMEOUT_MS => SessionState {
            session_id: prev.session_id.clone(),
            last_seen_ms: now_ms.max(prev.last_seen_ms),
        },
        _ => SessionState {
            session_id: fresh_id.to_string(),
            last_seen_ms: now_ms,
        },
    }
}

/// Whether an event at `now_ms` continues a session last seen at `last_seen_ms`.
pub fn continues(last_seen_ms: i64, now_ms: i64) -> bool {
    now_ms - last_seen_ms <= SESSION_TIMEOUT_MS
}

/// Whether yesterday's salt may still be needed at `now_ms`: only while a session that began
/// before midnight UTC can still be going on.
pub fn needs_previous_salt(now_ms: i64) -> bool {
    now_ms.rem_euclid(crate::stats::DAY_MS) <= SESSION_TIMEOUT_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yesterdays_salt_only_in_the_first_half_hour() {
        let midnight = 20_000 * crate::stats::DAY_MS;
        assert!(needs_previous_salt(midnight + 60_000));
        assert!(needs_previous_salt(midnight + SESSION_TIMEOUT_MS));
        assert!(!needs_previous_salt(midnight + SESSION_TIMEOUT_MS + 1));
        assert!(!needs_previous_salt(midnight - 60_000));
        assert!(continues(0, SESSION_TIMEOUT_MS) && !continues(0, SESSION_TIMEOUT_MS + 1));
    }

    #[test]
    fn continues_within_the_timeout_and_splits_after() {
        let first = assign(None, 1_000, "s1");
        assert_eq!(first.session_id, "s1");
        let same = assign(Some(&first), 1_000 + SESSION_TIMEOUT_MS, "s2");
        assert_eq!(same.session_id, "s1");
        let next = assign(
            Some(&same),
            same.last_seen_ms + SESSION_TIMEOUT_MS + 1,
            "s3",
        );
        assert_eq!(next.session_id, "s3");
    }
}
