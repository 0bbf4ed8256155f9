//! Passwords and tokens. Passwords are stored as PBKDF2-HMAC-SHA256 with a per-user salt;
//! session and API tokens are random and stored only as their SHA-256.

use hmac::Hmac;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::hex;

/// Cloudflare's WebCrypto caps PBKDF2 at 100,000 iterations; the pure-Rust KDF uses the same
/// so a hash made on one side verifies on the other. The count is stored in the hash text so
/// it can be raised later without invalidating old hashes.
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

/// `salt` must be random (16 bytes from the platform's CSPRNG).
pub fn hash_password(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), salt, iterations, &mut out)
        .expect("HMAC accepts any key length");
    format!(
        "pbkdf2-sha256${iterations}${}${}",
        hex::encode(salt),
        hex::encode(&out)
    )
}

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
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(iter), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Some(salt)) = (iter.parse::<u32>(), hex::decode(salt)) else {
        return false;
    };
    if password.len() > MAX_PASSWORD_LEN || iterations == 0 {
        return false;
    }
    let computed = hash_password(password, &salt, iterations);
    constant_time_eq(
        computed.rsplit('$').next().unwrap_or("").as_bytes(),
        expected.as_bytes(),
    )
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
