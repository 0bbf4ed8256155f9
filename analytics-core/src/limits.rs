//! Every ingest limit, named once. The Worker and the tests read them from here.

/// Largest `POST /api/event` body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// Most events accepted in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 50;
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
/// Longest user agent kept for parsing (longer ones are truncated, never stored).
pub const MAX_USER_AGENT_BYTES: usize = 512;
/// Engaged time larger than this on one event is not believable (one day).
pub const MAX_ENGAGED_MS: u64 = 24 * 60 * 60 * 1000;
