//! D1 access: the few lookups routes need. The SQL text that matters for stats lives in
//! `analytics_core::sql`.

use analytics_core::pipeline::SiteConfig;
use analytics_core::sql::SqlValue;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

pub fn d1(env: &Env) -> worker::Result<D1Database> {
    env.d1("DB")
}

pub fn to_js(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Int(i) => JsValue::from(*i as f64),
        SqlValue::Text(s) => JsValue::from(s.as_str()),
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

#[derive(Deserialize)]
struct SiteRow {
    id: String,
    query_allow_list: String,
    hash_routing: i64,
    hostnames: Option<String>,
}

pub async fn site_config(db: &D1Database, site_id: &str) -> worker::Result<Option<SiteConfig>> {
    let row: Option<SiteRow> = db
        .prepare(
            "SELECT s.id, s.query_allow_list, s.hash_routing, \
             (SELECT group_concat(hostname, ',') FROM site_hostnames h WHERE h.site_id = s.id) AS hostnames \
             FROM sites s WHERE s.id = ?1",
        )
        .bind(&[site_id.into()])?
        .first(None)
        .await?;
    Ok(row.map(|r| SiteConfig {
        id: r.id,
        hostnames: split_list(r.hostnames.as_deref().unwrap_or("")),
        query_allow_list: split_list(&r.query_allow_list),
        hash_routing: r.hash_routing != 0,
    }))
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Today's salt, created on first use. `INSERT OR IGNORE` makes concurrent first uses agree.
pub async fn daily_salt(db: &D1Database, day: &str, fresh: &str) -> worker::Result<Vec<u8>> {
    db.prepare("INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)")
        .bind(&[day.into(), fresh.into()])?
        .run()
        .await?;
    let salt: Option<String> = db
        .prepare("SELECT salt FROM salts WHERE day = ?1")
        .bind(&[day.into()])?
        .first(Some("salt"))
        .await?;
    let salt = salt.ok_or_else(|| worker::Error::RustError("salt vanished".into()))?;
    analytics_core::hex::decode(&salt)
        .ok_or_else(|| worker::Error::RustError("salt is not hex".into()))
}
