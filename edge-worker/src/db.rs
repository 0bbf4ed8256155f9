//! D1 access: the one conversion of a core `Sql` into a D1 statement (`run`, `all`, `first`,
//! `prepare`), and ingest's lookups with the isolate's caches. The SQL itself lives in
//! `analytics_core::store` (the lookups' in `store::ingest`).

/// A site as the cron jobs and reports need it.
pub use analytics_core::store::ingest::SiteSummary;

use analytics_core::ingest::pipeline::SiteConfig;
use analytics_core::store::ingest::{SaltRow, SiteRow};
use analytics_core::store::{self, Sql, SqlValue};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

pub fn d1(env: &Env) -> worker::Result<D1Database> {
    env.d1("DB")
}

/// The one place a bound value becomes a JS value. D1 takes numbers as JS numbers: an `i64`
/// beyond 2^53 would lose digits, and none of Vigia's (milliseconds, counts, ids) comes near.
pub fn to_js(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Int(i) => JsValue::from(*i as f64),
        SqlValue::Text(s) => JsValue::from(s.as_str()),
        SqlValue::Null => JsValue::NULL,
    }
}

pub fn statement(
    db: &D1Database,
    sql: &str,
    values: &[SqlValue],
) -> worker::Result<D1PreparedStatement> {
    let bound: Vec<JsValue> = values.iter().map(to_js).collect();
    db.prepare(sql).bind(&bound)
}

/// A core statement, bound.
pub fn prepare(db: &D1Database, sql: &Sql) -> worker::Result<D1PreparedStatement> {
    statement(db, &sql.text, &sql.binds)
}

/// Runs a statement that returns no rows.
pub async fn run(db: &D1Database, sql: &Sql) -> worker::Result<()> {
    prepare(db, sql)?.run().await?;
    Ok(())
}

/// Every row of a statement, read as the core's row type `T` (integers as `i64`, flags through
/// `analytics_core::store::int_bool`: the same serde read the core's SQLite tests use).
pub async fn all<T: DeserializeOwned>(db: &D1Database, sql: &Sql) -> worker::Result<Vec<T>> {
    prepare(db, sql)?.all().await?.results()
}

/// The first row of a statement, if any.
pub async fn first<T: DeserializeOwned>(db: &D1Database, sql: &Sql) -> worker::Result<Option<T>> {
    prepare(db, sql)?.first(None).await
}

pub async fn site_config(db: &D1Database, site_id: &str) -> worker::Result<Option<SiteConfig>> {
    let row: Option<SiteRow> = first(db, &store::ingest::site_config(site_id)).await?;
    Ok(row.map(SiteRow::into_config))
}

thread_local! {
    /// An isolate serves many requests: today's salt and recently used site configs are kept
    /// in memory so ingest does not read (or write) D1 for them on every request.
    static SALTS: RefCell<HashMap<String, Vec<u8>>> = RefCell::new(HashMap::new());
    static SITES: RefCell<HashMap<String, (i64, SiteConfig)>> = RefCell::new(HashMap::new());
}

/// How long an isolate trusts a cached site config (hostname changes apply within this).
pub const SITE_CACHE_MS: i64 = 60_000;
const SITE_CACHE_ENTRIES: usize = 1_000;

/// `site_config`, through the isolate's cache.
pub async fn cached_site_config(
    db: &D1Database,
    site_id: &str,
    now_ms: i64,
) -> worker::Result<Option<SiteConfig>> {
    let hit = SITES.with(|s| {
        s.borrow()
            .get(site_id)
            .filter(|(at, _)| now_ms - at < SITE_CACHE_MS)
            .map(|(_, c)| c.clone())
    });
    if hit.is_some() {
        return Ok(hit);
    }
    let config = site_config(db, site_id).await?;
    if let Some(c) = &config {
        SITES.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() >= SITE_CACHE_ENTRIES {
                s.clear();
            }
            s.insert(site_id.to_string(), (now_ms, c.clone()));
        });
    }
    Ok(config)
}

/// Drops a site's cached config in this isolate (after an edit or a delete; other isolates
/// follow within `SITE_CACHE_MS`).
pub fn forget_site_config(site_id: &str) {
    SITES.with(|s| {
        s.borrow_mut().remove(site_id);
    });
}

async fn read_salt(db: &D1Database, day: &str) -> worker::Result<Option<String>> {
    let row: Option<SaltRow> = first(db, &store::ingest::salt(day)).await?;
    Ok(row.map(|r| r.salt))
}

/// Today's salt, created on first use. `INSERT OR IGNORE` makes concurrent first uses (in
/// several isolates) agree on one salt; after that each isolate keeps it in memory.
/// `fresh` makes a new random salt; it is called only when the day has none yet.
pub async fn daily_salt(
    db: &D1Database,
    day: &str,
    fresh: impl FnOnce() -> worker::Result<String>,
) -> worker::Result<Vec<u8>> {
    if let Some(salt) = existing_salt(db, day).await? {
        return Ok(salt);
    }
    run(db, &store::ingest::add_salt(day, &fresh()?)).await?;
    let salt = read_salt(db, day)
        .await?
        .ok_or_else(|| worker::Error::RustError("salt vanished".into()))?;
    remember_salt(day, &salt)
}

/// Decodes a day's salt and keeps it in this isolate (only today's and yesterday's are ever
/// asked for).
fn remember_salt(day: &str, hex: &str) -> worker::Result<Vec<u8>> {
    let salt = analytics_core::util::hex::decode(hex)
        .ok_or_else(|| worker::Error::RustError("salt is not hex".into()))?;
    SALTS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= 3 {
            s.clear();
        }
        s.insert(day.to_string(), salt.clone());
    });
    Ok(salt)
}

/// A day's salt if it exists (never creates one): yesterday's, for sessions crossing midnight.
pub async fn existing_salt(db: &D1Database, day: &str) -> worker::Result<Option<Vec<u8>>> {
    if let Some(salt) = SALTS.with(|s| s.borrow().get(day).cloned()) {
        return Ok(Some(salt));
    }
    match read_salt(db, day).await? {
        Some(text) => remember_salt(day, &text).map(Some),
        None => Ok(None),
    }
}

/// Every site, or the one named.
pub async fn site_summaries(
    db: &D1Database,
    only: Option<&str>,
) -> worker::Result<Vec<SiteSummary>> {
    all(db, &store::ingest::site_summaries(only)).await
}
