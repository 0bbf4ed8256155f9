//! D1 access: the few lookups routes need. The SQL text that matters for stats lives in
//! `analytics_core::store::events`.

use analytics_core::binds;
use analytics_core::ingest::pipeline::SiteConfig;
use analytics_core::store::{Sql, SqlValue};
use serde::de::DeserializeOwned;
use serde::Deserialize;
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

#[derive(Deserialize)]
struct SiteRow {
    id: String,
    query_allow_list: String,
    #[serde(deserialize_with = "analytics_core::store::int_bool")]
    hash_routing: bool,
    hostnames: Option<String>,
}

pub async fn site_config(db: &D1Database, site_id: &str) -> worker::Result<Option<SiteConfig>> {
    let row: Option<SiteRow> = first(
        db,
        &Sql::new(
            "SELECT s.id, s.query_allow_list, s.hash_routing, \
             (SELECT group_concat(hostname, ',') FROM site_hostnames h WHERE h.site_id = s.id) AS hostnames \
             FROM sites s WHERE s.id = ?1",
            binds![site_id],
        ),
    )
    .await?;
    Ok(row.map(|r| SiteConfig {
        id: r.id,
        hostnames: split_list(r.hostnames.as_deref().unwrap_or("")),
        query_allow_list: split_list(&r.query_allow_list),
        hash_routing: r.hash_routing,
    }))
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
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
    #[derive(Deserialize)]
    struct Salt {
        salt: String,
    }
    let row: Option<Salt> = first(
        db,
        &Sql::new("SELECT salt FROM salts WHERE day = ?1", binds![day]),
    )
    .await?;
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
    let salt = match read_salt(db, day).await? {
        Some(salt) => salt,
        None => {
            let insert = "INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)";
            run(db, &Sql::new(insert, binds![day, fresh()?])).await?;
            read_salt(db, day)
                .await?
                .ok_or_else(|| worker::Error::RustError("salt vanished".into()))?
        }
    };
    let salt = analytics_core::util::hex::decode(&salt)
        .ok_or_else(|| worker::Error::RustError("salt is not hex".into()))?;
    remember_salt(day, &salt);
    Ok(salt)
}

fn remember_salt(day: &str, salt: &[u8]) {
    SALTS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= 3 {
            s.clear(); // only today's and yesterday's are ever asked for
        }
        s.insert(day.to_string(), salt.to_vec());
    });
}

/// A day's salt if it exists (never creates one): yesterday's, for sessions crossing midnight.
pub async fn existing_salt(db: &D1Database, day: &str) -> worker::Result<Option<Vec<u8>>> {
    if let Some(salt) = SALTS.with(|s| s.borrow().get(day).cloned()) {
        return Ok(Some(salt));
    }
    let Some(text) = read_salt(db, day).await? else {
        return Ok(None);
    };
    let salt = analytics_core::util::hex::decode(&text)
        .ok_or_else(|| worker::Error::RustError("salt is not hex".into()))?;
    remember_salt(day, &salt);
    Ok(Some(salt))
}

/// A site as the cron jobs and reports need it.
#[derive(Deserialize)]
pub struct SiteSummary {
    pub id: String,
    pub name: String,
    pub timezone: String,
}

/// Every site, or the one named.
pub async fn site_summaries(
    db: &D1Database,
    only: Option<&str>,
) -> worker::Result<Vec<SiteSummary>> {
    let sql = match only {
        Some(id) => Sql::new(
            "SELECT id, name, timezone FROM sites WHERE id = ?1",
            binds![id],
        ),
        None => Sql::new("SELECT id, name, timezone FROM sites ORDER BY id", []),
    };
    all(db, &sql).await
}
