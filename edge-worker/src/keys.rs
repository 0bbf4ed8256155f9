//! The address-fingerprint key: one function gives the key for a (scope, time), so every
//! caller (audit log, activity API, ingest's per-address limit, login throttling) rotates and
//! is scoped the same way. The rules are in `analytics_core::governance::audit::fingerprint_key`.

use analytics_core::governance::audit::{fingerprint_key as derive, FingerprintScope};
use analytics_core::store::keys;
use std::cell::RefCell;
use worker::{D1Database, Env};

use crate::db::{self, d1};
use crate::http::random_hex;

thread_local! {
    /// The day's random secret, kept in the isolate once read (one D1 read per isolate a day).
    static DAY_SECRET: RefCell<Option<(String, Vec<u8>)>> = const { RefCell::new(None) };
    /// Lasting keys once read, by name.
    static LASTING: RefCell<Vec<(LastingKey, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
}

/// Keys that must outlive a day, unlike the address-fingerprint keys: what they make has to be
/// recognised later. Neither ever sees an address.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LastingKey {
    /// Hashes backend user ids in audit entries and alert subjects (the same id must keep one
    /// hash, or an erasure could not find it).
    AuditSubject,
    /// Signs unsubscribe links in mail, which stay in inboxes for months.
    ReportLinks,
    /// Hashes an app's install ids (and, for the confirmation-mail limit, addresses): an
    /// install must keep one hash for as long as it uploads (`analytics_core::apps`).
    AppInstall,
}

impl LastingKey {
    fn name(self) -> &'static str {
        match self {
            LastingKey::AuditSubject => "audit_subject",
            LastingKey::ReportLinks => "report_links",
            LastingKey::AppInstall => "app_install",
        }
    }
}

/// A lasting key: random, created on first use (`INSERT OR IGNORE` lets concurrent first uses
/// agree), kept in `instance_keys`, cached in the isolate.
pub async fn lasting_key(env: &Env, key: LastingKey) -> worker::Result<Vec<u8>> {
    if let Some(k) = LASTING.with(|l| {
        l.borrow()
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, k)| k.clone())
    }) {
        return Ok(k);
    }
    let db = d1(env)?;
    db::run(
        &db,
        &keys::create_instance_key(key.name(), &random_hex::<32>()?),
    )
    .await?;
    let stored: Option<keys::InstanceKey> = db::first(&db, &keys::instance_key(key.name())).await?;
    let text = stored.map(|k| k.value).unwrap_or_default();
    let bytes = analytics_core::util::hex::decode(&text).unwrap_or_default();
    LASTING.with(|l| l.borrow_mut().push((key, bytes.clone())));
    Ok(bytes)
}

async fn read_secret(db: &D1Database, day: &str) -> worker::Result<Option<String>> {
    let stored: Option<keys::DaySecret> = db::first(db, &keys::day_secret(day)).await?;
    Ok(stored.map(|s| s.secret))
}

/// The UTC day's secret, created on first use; `INSERT OR IGNORE` lets concurrent first uses
/// in several isolates agree on one.
async fn day_secret(env: &Env, day: &str) -> worker::Result<Vec<u8>> {
    if let Some(secret) = DAY_SECRET.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|(d, _)| d == day)
            .map(|(_, k)| k.clone())
    }) {
        return Ok(secret);
    }
    let db = d1(env)?;
    let text = match read_secret(&db, day).await? {
        Some(text) => text,
        None => {
            db::run(&db, &keys::create_day_secret(day, &random_hex::<32>()?)).await?;
            read_secret(&db, day)
                .await?
                .ok_or_else(|| worker::Error::RustError("fingerprint secret vanished".into()))?
        }
    };
    let secret = analytics_core::util::hex::decode(&text).unwrap_or_default();
    DAY_SECRET.with(|s| *s.borrow_mut() = Some((day.to_string(), secret.clone())));
    Ok(secret)
}

/// The key that fingerprints addresses for `scope` at `now_ms` (pass it to
/// `analytics_core::governance::audit::ip_fingerprint`).
pub async fn fingerprint_key(
    env: &Env,
    scope: FingerprintScope<'_>,
    now_ms: i64,
) -> worker::Result<Vec<u8>> {
    let day = analytics_core::stats::day_of_ms(now_ms);
    let secret = day_secret(env, &day).await?;
    let deployment = crate::config::settings(env).fingerprint_secret.clone();
    Ok(derive(&secret, deployment.as_bytes(), scope))
}

/// The daily job: deletes the secrets of past days, after which their fingerprints cannot be
/// reversed by hashing every address.
pub async fn delete_old_secrets(env: &Env, now_ms: i64) -> worker::Result<()> {
    let keep_from = analytics_core::governance::audit::fingerprint_secrets_keep_from(now_ms);
    db::run(&d1(env)?, &keys::delete_day_secrets_before(&keep_from)).await
}
