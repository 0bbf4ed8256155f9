//! Password hashing through the runtime's WebCrypto (`crypto.subtle.deriveBits`, PBKDF2):
//! native code in workerd, several times cheaper in CPU than the pure-Rust PBKDF2 compiled
//! to wasm, with the same bytes out, so stored hashes verify either way. workerd refuses
//! PBKDF2 above `WEBCRYPTO_MAX_ITERATIONS`; a stored hash above it is checked in Rust.

use analytics_core::accounts::auth::{self, StoredHash, HASH_BYTES, PBKDF2_ITERATIONS, SALT_BYTES};
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::http::random_bytes;

/// workerd's cap (`checkPbkdfLimits` in src/workerd/api/crypto/pbkdf2.c++).
pub const WEBCRYPTO_MAX_ITERATIONS: u32 = 100_000;

/// PBKDF2-HMAC-SHA256 of `password`, `HASH_BYTES` long.
pub async fn derive(password: &str, salt: &[u8], iterations: u32) -> worker::Result<Vec<u8>> {
    if iterations > WEBCRYPTO_MAX_ITERATIONS {
        return Ok(auth::derive(password, salt, iterations));
    }
    let crypto: web_sys::Crypto =
        js_sys::Reflect::get(&js_sys::global(), &"crypto".into())?.unchecked_into();
    let subtle = crypto.subtle();
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let key = JsFuture::from(subtle.import_key_with_str(
        "raw",
        &Uint8Array::from(password.as_bytes()),
        "PBKDF2",
        false,
        &usages,
    )?)
    .await?;
    let params = web_sys::Pbkdf2Params::new(
        "PBKDF2",
        &JsValue::from_str("SHA-256"),
        iterations,
        &Uint8Array::from(salt),
    );
    let bits = JsFuture::from(subtle.derive_bits_with_object(
        params.unchecked_ref::<Object>(),
        &key.unchecked_into(),
        (HASH_BYTES * 8) as u32,
    )?)
    .await?;
    Ok(Uint8Array::new(&bits).to_vec())
}

/// A new stored hash of `password` with today's settings and a fresh salt.
pub async fn hash(password: &str) -> worker::Result<String> {
    let salt = random_bytes::<SALT_BYTES>()?;
    let derived = derive(password, &salt, PBKDF2_ITERATIONS).await?;
    Ok(auth::format_hash(PBKDF2_ITERATIONS, &salt, &derived))
}

/// Whether `password` matches `stored`. Anything that is not a usable hash (no account, an
/// invitation not yet accepted) is checked against `StoredHash::dummy()`, so it costs the
/// same time and answers no.
pub async fn verify(password: &str, stored: Option<&str>) -> worker::Result<bool> {
    let parsed = stored.and_then(StoredHash::parse);
    let real = parsed.is_some();
    let h = parsed.unwrap_or_else(StoredHash::dummy);
    // Long passwords are refused, but only after the same work.
    let ok_length = password.len() <= auth::MAX_PASSWORD_LEN;
    let pw: String = password.chars().take(auth::MAX_PASSWORD_LEN).collect();
    let derived = derive(&pw, &h.salt, h.iterations).await?;
    Ok(real && ok_length && h.matches(&derived))
}
