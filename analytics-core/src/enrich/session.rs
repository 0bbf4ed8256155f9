//! Sessions: a visitor's events belong to one session until 30 minutes pass without an event.
//! The session state itself lives in `crate::stats::rollup::OpenSession`, kept by the Durable Object.

/// Inactivity that ends a session.
pub const SESSION_TIMEOUT_MS: i64 = 30 * 60 * 1000;

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
}
