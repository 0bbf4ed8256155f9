//! Apps (docs/apps.md): the rules of an app's upload, its key, its installs' keyed hashes, its
//! rate limits and its users' email registration. The SQL is in `crate::store::apps`; the
//! Worker's handlers (`edge-worker/src/routes/apps.rs`) only bind and run it.

pub mod batch;
pub mod email;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

pub use batch::{parse_batch, CheckedBatch, CheckedRecord};

/// App keys start with this, so they are easy to recognise (and told apart from the secret
/// `vsk_` activity keys, which must never be shipped inside software).
pub const APP_KEY_PREFIX: &str = "vpk_";
/// Hex digits after the prefix (128 random bits).
pub const APP_KEY_HEX_DIGITS: usize = 32;

/// Records one app may upload per minute (all its installs together), unless the deployment
/// sets another figure (`VIGIA_APP_RECORDS_PER_MINUTE`). As many as a web site's events
/// (`MAX_EVENTS_PER_SITE_PER_WINDOW`): an app is a site to the storage behind it.
pub const MAX_APP_RECORDS_PER_MINUTE: i64 = 60_000;
/// Records one install may upload per minute, unless the deployment sets another figure
/// (`VIGIA_APP_INSTALL_RECORDS_PER_MINUTE`). Four full batches: an agent back from days offline
/// empties a backlog of tens of thousands of records within minutes (it honours `Retry-After`),
/// while one install, whose key is public, cannot take more than a small share of its app's.
pub const MAX_INSTALL_RECORDS_PER_MINUTE: i64 =
    4 * crate::limits::app::MAX_RECORDS_PER_BATCH as i64;

/// Whether `key` has the shape of an app key (`vpk_` + 32 lowercase hex digits).
pub fn is_app_key(key: &str) -> bool {
    key.strip_prefix(APP_KEY_PREFIX).is_some_and(|hex| {
        hex.len() == APP_KEY_HEX_DIGITS
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The app key of an `Authorization` header (`Bearer vpk_…`), or why there is none.
pub fn app_key_of_header(header: Option<&str>) -> Result<&str, ApiError> {
    header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| is_app_key(k))
        .ok_or_else(bad_app_key)
}

/// 401: no app key, or one that names no app (wrong, or rotated).
pub fn bad_app_key() -> ApiError {
    ApiError::new(
        401,
        "bad_app_key",
        "send the app's key as Authorization: Bearer vpk_… (a rotated key no longer works)",
    )
}

/// 403: the key names a site that is not an app.
pub fn not_an_app() -> ApiError {
    ApiError::forbidden("this key's site is not an app")
}

/// A new app key from 16 random bytes (the Worker draws them).
pub fn new_app_key(random: &[u8; 16]) -> String {
    format!("{APP_KEY_PREFIX}{}", crate::util::hex::encode(random))
}

/// The install as stored: a keyed hash (HMAC-SHA256 under a lasting instance key) of the app's
/// internal key and the agent's install id. The id itself is never stored, and the same id in
/// two apps makes two unrelated hashes.
pub fn install_hash(key: &[u8], site_key: i64, install_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(site_key.to_string().as_bytes());
    mac.update(&[0x1f]);
    mac.update(install_id.as_bytes());
    crate::util::hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Whether `count` records in a window (the upload's included) are past `limit`.
pub fn over_limit(count: i64, limit: i64) -> bool {
    count > limit
}

/// Which limit refused an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateScope {
    App,
    Install,
}

/// The refusal of an upload past a limit: 429 `rate_limited`, retry when the window ends.
pub fn rate_limited(scope: RateScope, limit: i64, retry_after_s: u32) -> ApiError {
    let who = match scope {
        RateScope::App => "this app",
        RateScope::Install => "this install",
    };
    ApiError::rate_limited(
        format!("{who} uploaded more than {limit} records this minute; retry in {retry_after_s} s"),
        retry_after_s,
    )
}

/// What the vendor embeds in the app: the agent's setup with the app's key and this
/// instance's address (shown in the site's settings instead of the web snippet).
pub fn agent_snippet(base: &str, app_key: &str) -> String {
    // As docs/agent.md says: a data folder of the app's own, per user; and statistics never stop
    // the app (`.ok()`, not `?`).
    format!(
        "// data_dir: a folder of the app's own, per user (e.g. under dirs::data_dir())\n\
         let config = vigia_agent::Config::new(\"{base}\", \"{app_key}\", data_dir.join(\"vigia\"));\n\
         let agent = vigia_agent::Agent::start(config).ok(); // statistics never stop the app"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_keys_have_one_shape() {
        let key = new_app_key(&[0xab; 16]);
        assert_eq!(key, format!("vpk_{}", "ab".repeat(16)));
        assert!(is_app_key(&key));
        for bad in [
            "",
            "vpk_",
            "vsk_abababababababababababababababab",
            "vpk_ABABABABABABABABABABABABABABABAB",
            "vpk_abababababababababababababababa",
            "vpk_abababababababababababababababab0",
            "demo",
        ] {
            assert!(!is_app_key(bad), "{bad}");
        }
        assert_eq!(
            app_key_of_header(Some(&format!("Bearer {key}"))).unwrap(),
            key
        );
        for h in [None, Some("demo"), Some("Bearer demo"), Some(key.as_str())] {
            assert_eq!(app_key_of_header(h).unwrap_err().status, 401, "{h:?}");
        }
    }

    #[test]
    fn the_install_hash_hides_the_id_and_differs_per_app_and_key() {
        let id = "0123456789abcdef0123456789abcdef";
        let h = install_hash(b"k", 1, id);
        assert_eq!(h.len(), 32);
        assert!(!h.contains(id));
        assert_eq!(h, install_hash(b"k", 1, id));
        assert_ne!(h, install_hash(b"k", 2, id));
        assert_ne!(h, install_hash(b"other", 1, id));
        // The separator keeps (1, "2…") and (12, "…") apart.
        assert_ne!(install_hash(b"k", 1, "2a"), install_hash(b"k", 12, "a"));
    }

    #[test]
    fn rate_limits_refuse_only_past_the_limit() {
        assert!(!over_limit(
            MAX_INSTALL_RECORDS_PER_MINUTE,
            MAX_INSTALL_RECORDS_PER_MINUTE
        ));
        assert!(over_limit(
            MAX_INSTALL_RECORDS_PER_MINUTE + 1,
            MAX_INSTALL_RECORDS_PER_MINUTE
        ));
        assert_eq!(MAX_INSTALL_RECORDS_PER_MINUTE, 2_000);
        assert_eq!(MAX_APP_RECORDS_PER_MINUTE, 60_000);
        // One install alone can never use a whole app's minute.
        const _: () = assert!(MAX_INSTALL_RECORDS_PER_MINUTE < MAX_APP_RECORDS_PER_MINUTE);
        let e = rate_limited(RateScope::Install, 2_000, 17);
        assert_eq!((e.status, e.error), (429, "rate_limited"));
        assert!(e.message.contains("this install"), "{}", e.message);
    }

    #[test]
    fn the_agent_snippet_carries_the_key_and_the_address() {
        let s = agent_snippet("https://v.example", "vpk_00");
        assert!(
            s.contains("\"https://v.example\"") && s.contains("\"vpk_00\""),
            "{s}"
        );
    }
}
