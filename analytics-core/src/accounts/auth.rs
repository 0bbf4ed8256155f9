//! Passwords and tokens. Passwords are stored as PBKDF2-HMAC-SHA256 with a per-user salt;
//! session and API tokens are random and stored only as their SHA-256.

use hmac::Hmac;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::util::hex;

/// workerd's WebCrypto refuses PBKDF2 above 100,000 iterations (`checkPbkdfLimits`), and the
/// Worker derives through WebCrypto (native code, several times faster than this crate's
/// pure-Rust PBKDF2 in wasm). The count is stored in each hash, so it can change: old hashes
/// still verify (in Rust when WebCrypto refuses their count) and are rehashed with today's
/// settings at the next successful login (`StoredHash::needs_rehash`).
pub const PBKDF2_ITERATIONS: u32 = 100_000;
pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;
/// How long a dashboard login lasts.
pub const SESSION_TTL_MS: i64 = 14 * 24 * 60 * 60 * 1000;
pub const SESSION_COOKIE: &str = "vigia_session";

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_request(
            "weak_password",
            format!("password must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_request(
            "field_too_long",
            format!("password must be at most {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    Ok(())
}

/// The algorithm tag of stored hashes: `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`.
pub const KDF_TAG: &str = "pbkdf2-sha256";
/// Bytes of random salt per hash.
pub const SALT_BYTES: usize = 16;
/// Bytes of derived key stored.
pub const HASH_BYTES: usize = 32;

/// `salt` must be random (16 bytes from the platform's CSPRNG).
pub fn hash_password(password: &str, salt: &[u8], iterations: u32) -> String {
    format_hash(iterations, salt, &derive(password, salt, iterations))
}

/// The pure-Rust PBKDF2-HMAC-SHA256 (the Worker uses WebCrypto's, which gives the same bytes).
pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut out = [0u8; HASH_BYTES];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), salt, iterations, &mut out)
        .expect("HMAC accepts any key length");
    out.to_vec()
}

/// The stored text of a derived key.
pub fn format_hash(iterations: u32, salt: &[u8], derived: &[u8]) -> String {
    format!(
        "{KDF_TAG}${iterations}${}${}",
        hex::encode(salt),
        hex::encode(derived)
    )
}

/// A stored hash, parsed: what to derive and what to compare with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub expected: Vec<u8>,
}

impl StoredHash {
    /// `None` for anything that is not a hash this code made (an invitation's placeholder, a
    /// broken row, an iteration count of zero or above `MAX_PBKDF2_ITERATIONS`).
    pub fn parse(stored: &str) -> Option<StoredHash> {
        let mut parts = stored.split('$');
        let (Some(KDF_TAG), Some(iter), Some(salt), Some(expected), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let iterations = iter.parse::<u32>().ok()?;
        if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
            return None;
        }
        Some(StoredHash {
            iterations,
            salt: hex::decode(salt)?,
            expected: hex::decode(expected)?,
        })
    }

    /// Whether `derived` (from this hash's salt and iterations) is the stored key.
    pub fn matches(&self, derived: &[u8]) -> bool {
        constant_time_eq(derived, &self.expected)
    }

    /// Whether the hash was made with other settings than today's: the next successful login
    /// stores a new one.
    pub fn needs_rehash(&self) -> bool {
        self.iterations != PBKDF2_ITERATIONS
            || self.salt.len() != SALT_BYTES
            || self.expected.len() != HASH_BYTES
    }

    /// What a login checks when the email has no usable hash (unknown, or invited without a
    /// password yet): the same KDF work with today's settings, against a key nothing derives
    /// to, so the answer takes as long as for a real account.
    pub fn dummy() -> StoredHash {
        StoredHash {
            iterations: PBKDF2_ITERATIONS,
            salt: vec![0x5a; SALT_BYTES],
            // Never a PBKDF2 output in practice; the comparison fails as it would for a wrong
            // password.
            expected: vec![0; HASH_BYTES],
        }
    }
}

/// The most iterations a stored hash may ask for: a crafted row cannot make a login burn
/// unbounded CPU.
pub const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// Stored as the password hash of an invited user until they choose a password: it is not a
/// hash, so no password ever verifies against it.
pub const NO_PASSWORD_YET: &str = "invited";
/// How long an invitation link works.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// How long an API token works when its creator names no expiry: a leaked token that nobody
/// revokes stops working on its own.
pub const TOKEN_DEFAULT_TTL_DAYS: i64 = 90;
/// The longest expiry a token may be created with; a script that runs longer gets a new one.
pub const TOKEN_MAX_TTL_DAYS: i64 = 365;

/// When a token created at `now_ms` with `days` of life (the default when `None`) expires.
pub fn token_expires_at(now_ms: i64, days: Option<i64>) -> Result<i64, ApiError> {
    let days = days.unwrap_or(TOKEN_DEFAULT_TTL_DAYS);
    if !(1..=TOKEN_MAX_TTL_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "bad_expiry",
            format!("expires_in_days is 1-{TOKEN_MAX_TTL_DAYS} (default {TOKEN_DEFAULT_TTL_DAYS})"),
        ));
    }
    Ok(now_ms + days * DAY_MS)
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    let Some(h) = StoredHash::parse(stored) else {
        return false;
    };
    password.len() <= MAX_PASSWORD_LEN && h.matches(&derive(password, &h.salt, h.iterations))
}

/// Whether the token a first-run setup carries is the configured one, in constant time (over
/// their SHA-256, so the lengths do not show either).
pub fn setup_token_matches(given: &str, configured: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.trim()),
        Sha256::digest(configured.trim()),
    );
    !configured.trim().is_empty() && constant_time_eq(&a, &b)
}

/// Tokens are looked up by this hash, so a leaked table does not leak usable tokens.
pub fn token_hash(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads one cookie's value from a `Cookie` header.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The `Set-Cookie` value for a session. `secure` is false only for plain-http local dev.
pub fn session_cookie(token: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_right_password_only() {
        let stored = hash_password("correct horse battery", b"0123456789abcdef", 1000);
        assert!(stored.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify_password("correct horse battery", &stored));
        assert!(!verify_password("correct horse batterY", &stored));
        assert!(!verify_password("x", "garbage"));
        assert!(!verify_password("x", "pbkdf2-sha256$0$00$00"));
        assert!(!verify_password("x", "pbkdf2-sha256$4000000000$00$00"));
    }

    #[test]
    fn stored_hashes_parse_and_say_when_they_need_a_rehash() {
        let salt = [7u8; SALT_BYTES];
        let current = StoredHash::parse(&hash_password("pw", &salt, PBKDF2_ITERATIONS)).unwrap();
        assert!(!current.needs_rehash());
        assert!(current.matches(&derive("pw", &salt, PBKDF2_ITERATIONS)));
        let old = StoredHash::parse(&hash_password("pw", &salt, 1000)).unwrap();
        assert!(old.needs_rehash());
        assert_eq!(old.iterations, 1000);
        assert!(StoredHash::parse(NO_PASSWORD_YET).is_none());
        assert!(StoredHash::parse("pbkdf2-sha256$1001000$00$00").is_none());
        let dummy = StoredHash::dummy();
        assert_eq!(
            dummy.iterations, PBKDF2_ITERATIONS,
            "the same work as a real hash"
        );
        assert!(!dummy.matches(&derive("", &dummy.salt, dummy.iterations)));
        const { assert!(PBKDF2_ITERATIONS <= 100_000, "workerd's WebCrypto cap") };
    }

    #[test]
    fn setup_tokens_compare_whole_and_never_match_an_unset_one() {
        assert!(setup_token_matches("s3cret-token", "s3cret-token"));
        assert!(!setup_token_matches("s3cret-toke", "s3cret-token"));
        assert!(!setup_token_matches("", ""));
        assert!(!setup_token_matches("anything", " "));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert_eq!(
            check_new_password("short").unwrap_err().error,
            "weak_password"
        );
        assert!(check_new_password("long enough pass").is_ok());
        assert!(!verify_password("", NO_PASSWORD_YET));
        assert!(!verify_password("invited", NO_PASSWORD_YET));
    }

    #[test]
    fn cookies_parse_and_render() {
        assert_eq!(
            cookie_value("a=1; vigia_session=tok; b=2", SESSION_COOKIE),
            Some("tok")
        );
        assert_eq!(cookie_value("a=1", SESSION_COOKIE), None);
        let c = session_cookie("tok", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict"));
        assert!(!session_cookie("tok", 60, false).contains("Secure"));
    }

    #[test]
    fn tokens_expire_by_default_and_never_later_than_the_maximum() {
        let now = 1_000_000;
        assert_eq!(
            token_expires_at(now, None).unwrap(),
            now + TOKEN_DEFAULT_TTL_DAYS * DAY_MS
        );
        assert_eq!(token_expires_at(now, Some(1)).unwrap(), now + DAY_MS);
        assert_eq!(
            token_expires_at(now, Some(TOKEN_MAX_TTL_DAYS)).unwrap(),
            now + 365 * DAY_MS
        );
        for bad in [0, -1, TOKEN_MAX_TTL_DAYS + 1, i64::MAX] {
            assert_eq!(
                token_expires_at(now, Some(bad)).unwrap_err().error,
                "bad_expiry"
            );
        }
        assert_eq!((TOKEN_DEFAULT_TTL_DAYS, TOKEN_MAX_TTL_DAYS), (90, 365));
    }

    #[test]
    fn token_hash_is_stable_hex() {
        assert_eq!(token_hash("abc").len(), 64);
        assert_eq!(token_hash("abc"), token_hash("abc"));
    }
}
