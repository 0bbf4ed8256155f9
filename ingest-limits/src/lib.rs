//! Every ingest limit, named once. The Worker (as `analytics_core::limits`), the tests and the
//! browser collector (a `no_std` wasm module) all compile these constants.

#![no_std]

/// Largest `POST /api/event` body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// Most events accepted in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 50;
// Event ids pad the index within a batch to two digits (so they sort in batch order).
const _: () = assert!(MAX_EVENTS_PER_BATCH <= 100);
/// Longest page URL or referrer accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest site id accepted, in bytes.
pub const MAX_SITE_ID_BYTES: usize = 64;
/// Longest custom event name accepted, in bytes.
pub const MAX_EVENT_NAME_BYTES: usize = 120;
/// Most properties on one event.
pub const MAX_PROPS: usize = 30;
/// Longest property key, in bytes.
pub const MAX_PROP_KEY_BYTES: usize = 64;
/// Longest property value, in bytes.
pub const MAX_PROP_VALUE_BYTES: usize = 256;
/// Longest revenue amount accepted, as decimal text (`-1234.56`), in bytes.
pub const MAX_REVENUE_AMOUNT_BYTES: usize = 24;
/// Longest user agent kept for parsing (longer ones are truncated, never stored).
pub const MAX_USER_AGENT_BYTES: usize = 512;
/// Engaged time larger than this on one event is not believable (one day).
pub const MAX_ENGAGED_MS: u64 = 24 * 60 * 60 * 1000;
/// Revenue is kept in millionths of the currency unit: exact integers, never a float.
pub const REVENUE_MICROS_PER_UNIT: i64 = 1_000_000;
/// Largest revenue one event may carry, in micro-units: 10,000,000 currency units either way
/// (a negative amount is a refund). Amounts past it lose only the revenue field.
pub const MAX_REVENUE_MICROS: i64 = 10_000_000 * REVENUE_MICROS_PER_UNIT;
// A flush merges at most FLUSH_BATCH_SIZE events into one rollup delta, which crosses into
// JavaScript (D1 binds) as a double: it must stay an exact integer there (2^53).
const _: () = assert!(FLUSH_BATCH_SIZE * MAX_REVENUE_MICROS <= 1 << 53);
/// Most problems (dropped events and fields) one ingest answer lists; the rest are counted.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

/// Events a site's Durable Object buffer may hold before ingest answers 503 (no silent drop).
pub const MAX_BUFFERED_EVENTS: i64 = 100_000;
/// Most events written to D1 in one flush.
pub const FLUSH_BATCH_SIZE: i64 = 500;
/// Longest an acknowledged event waits in the buffer before a flush is attempted.
pub const FLUSH_INTERVAL_MS: i64 = 5_000;
/// Longest wait between retries of a failing flush.
pub const MAX_FLUSH_BACKOFF_MS: i64 = 5 * 60 * 1000;
/// What a client is told to wait when the buffer is full.
pub const BUFFER_FULL_RETRY_AFTER_S: u32 = 30;

/// Delay before retrying a flush that failed `failures` times in a row: 1 s, 2 s, 4 s, … capped.
pub fn flush_retry_delay_ms(failures: u32) -> i64 {
    let exp = failures.saturating_sub(1).min(20);
    (1_000i64 << exp).min(MAX_FLUSH_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_backoff_doubles_up_to_the_cap() {
        assert_eq!(flush_retry_delay_ms(1), 1_000);
        assert_eq!(flush_retry_delay_ms(2), 2_000);
        assert_eq!(flush_retry_delay_ms(4), 8_000);
        assert_eq!(flush_retry_delay_ms(60), MAX_FLUSH_BACKOFF_MS);
    }
}

/// Limits of the app agent's upload (`POST /api/app/batch`): the `vigia-agent` crate cuts its
/// batches by them, so it never sends what the Worker refuses.
pub mod app {
    /// Largest batch body, in bytes.
    pub const MAX_BATCH_BYTES: usize = 256 * 1024;
    /// Records per batch.
    pub const MAX_RECORDS_PER_BATCH: usize = 500;
    /// `batch_id`: 8 to 64 characters of `[A-Za-z0-9_-]`.
    pub const MIN_BATCH_ID_BYTES: usize = 8;
    pub const MAX_BATCH_ID_BYTES: usize = 64;
    /// `install_id`: exactly 32 lowercase hex digits (128 random bits).
    pub const INSTALL_ID_HEX_DIGITS: usize = 32;
    /// A feature, error or custom event name.
    pub const MAX_NAME_BYTES: usize = 120;
    /// `session`: the agent's random session id.
    pub const MAX_SESSION_BYTES: usize = 64;
    /// `app_version` and `os_version`.
    pub const MAX_VERSION_BYTES: usize = 32;
    /// Properties per record, and their key and value sizes.
    pub const MAX_PROPS: usize = 10;
    pub const MAX_PROP_KEY_BYTES: usize = 64;
    pub const MAX_PROP_VALUE_BYTES: usize = 256;
    /// Longest active time one session may report (a day).
    pub const MAX_ACTIVE_MS: u64 = 24 * 60 * 60 * 1000;
    /// A record may be this old when it arrives (an agent offline for weeks still delivers).
    pub const MAX_RECORD_AGE_MS: i64 = 60 * 24 * 60 * 60 * 1000;
    /// ... or this far in the future (a computer's clock a little ahead).
    pub const MAX_RECORD_SKEW_MS: i64 = 24 * 60 * 60 * 1000;
    /// `dropped` one upload may report (more is counted as this many): a public key must not
    /// be able to push the vendor's sums past what a JSON number holds exactly.
    pub const MAX_DROPPED_PER_BATCH: u64 = 1_000_000;
    /// Consent text kept with an email registration.
    pub const MAX_CONSENT_BYTES: usize = 2048;
}
