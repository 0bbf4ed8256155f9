//! Writes and reads Vigia's own audit log (the rules are in `analytics_core::governance::audit`).

use analytics_core::enrich::useragent;
use analytics_core::governance::audit::{
    cap, details_text, fold_key, fold_window_range, ip_fingerprint, user_pseudonym, AuditEntry,
    FingerprintScope, FOLD_INSERT_SQL, INSERT_SQL, MAX_ACTOR_EMAIL_CHARS,
    MAX_ANONYMOUS_ROWS_PER_WINDOW, MAX_AUDIT_PAGE, MAX_CLIENT_CHARS, MAX_COUNTRY_CHARS,
    MAX_TARGET_CHARS, PAGE_SQL, SITE_KEY_SQL,
};
use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{header, json, now_ms, query_pairs, query_value, Failure, RouteResult};
use crate::session::{Caller, User};

/// What an entry says about where a request came from, taken before the request is handled.
pub struct Origin {
    ip: Option<std::net::IpAddr>,
    client: String,
    country: String,
}

pub fn origin(req: &Request, env: &Env) -> Origin {
    let ip = crate::http::client_address(req);
    let client = useragent::parse(&header(req, "User-Agent").unwrap_or_default()).client_label();
    let (country, _, _) = crate::routes::ingest::edge_geo(req, env);
    Origin {
        ip,
        client,
        country: country.unwrap_or_default(),
    }
}

/// The key that hashes backend user ids in audit entries and alert subjects.
pub async fn subject_key(env: &Env) -> worker::Result<Vec<u8>> {
    crate::keys::lasting_key(env, crate::keys::LastingKey::AuditSubject).await
}

/// A backend user id of `site` as audit entries and alert subjects keep it: its keyed hash.
pub async fn pseudonym(env: &Env, site: &str, user_id: &str) -> worker::Result<String> {
    Ok(user_pseudonym(&subject_key(env).await?, site, user_id))
}

/// The internal key of a site (never reused), which scopes its audit entries.
pub async fn site_key(env: &Env, site: &str) -> worker::Result<Option<i64>> {
    let key: Option<f64> = d1(env)?
        .prepare(SITE_KEY_SQL)
        .bind(&[site.into()])?
        .first(Some("site_key"))
        .await?;
    Ok(key.map(|k| k as i64))
}

/// The user of a live session token (a login that just succeeded names its user this way).
pub async fn session_user(env: &Env, token: &str) -> worker::Result<Option<User>> {
    d1(env)?
        .prepare(
            "SELECT u.id, u.email, u.is_admin FROM sessions_auth s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )
        .bind(&[
            analytics_core::accounts::auth::token_hash(token).into(),
            (now_ms() as f64).into(),
        ])?
        .first(None)
        .await
}

/// A user by id (the signer of an unsubscribe link).
pub async fn user_by_id(env: &Env, id: i64) -> worker::Result<Option<User>> {
    d1(env)?
        .prepare("SELECT id, email, is_admin FROM users WHERE id = ?1")
        .bind(&[(id as f64).into()])?
        .first(None)
        .await
}

/// One entry to write.
pub struct Record<'a> {
    pub action: &'a str,
    /// The site the caller was authorised to act on, with its key (never a site the request
    /// merely named).
    pub site: Option<(&'a str, Option<i64>)>,
    /// The authenticated user; `None` makes the entry anonymous (and folded).
    pub actor: Option<&'a User>,
    pub target: &'a str,
    pub outcome: u16,
    /// Sanitised details; ignored for anonymous entries (no body of an unauthenticated request
    /// is kept).
    pub details: &'a Value,
}

/// Appends an entry. A failure is logged, not raised: the action it describes has happened.
pub async fn record(env: &Env, origin: &Origin, r: Record<'_>) {
    if let Err(e) = write(env, origin, &r).await {
        worker::console_error!("audit log write failed for {}: {e}", r.action);
    }
}

async fn write(env: &Env, origin: &Origin, r: &Record<'_>) -> worker::Result<()> {
    let now = now_ms();
    // Keyed per site (or the instance) and per day: a fingerprint says nothing across sites or days.
    let scope = r
        .site
        .map(|(id, _)| FingerprintScope::Site(id))
        .unwrap_or(FingerprintScope::Instance);
    let key = crate::keys::fingerprint_key(env, scope, now).await?;
    let (site, site_key) = match r.site {
        Some((id, key)) => (
            JsValue::from(id),
            key.map(|k| JsValue::from(k as f64))
                .unwrap_or(JsValue::NULL),
        ),
        None => (JsValue::NULL, JsValue::NULL),
    };
    let fingerprint = ip_fingerprint(&key, origin.ip);
    let target = cap(r.target, MAX_TARGET_CHARS);
    let country = cap(&origin.country, MAX_COUNTRY_CHARS);
    let client = cap(&origin.client, MAX_CLIENT_CHARS);
    let statement = match r.actor {
        Some(user) => d1(env)?.prepare(INSERT_SQL).bind(&[
            (now as f64).into(),
            site,
            site_key,
            (user.id as f64).into(),
            cap(&user.email, MAX_ACTOR_EMAIL_CHARS).into(),
            r.action.into(),
            target.into(),
            (r.outcome as f64).into(),
            details_text(r.details).into(),
            country.into(),
            client.into(),
            fingerprint.into(),
        ])?,
        None => {
            let site_key_num = r.site.and_then(|(_, k)| k);
            let (from, to) = fold_window_range(now);
            d1(env)?.prepare(FOLD_INSERT_SQL).bind(&[
                (now as f64).into(),
                site,
                site_key,
                r.action.into(),
                target.into(),
                (r.outcome as f64).into(),
                country.into(),
                client.into(),
                fingerprint.as_str().into(),
                from.into(),
                to.into(),
                (MAX_ANONYMOUS_ROWS_PER_WINDOW as f64).into(),
                fold_key(now, site_key_num, "*", r.action, r.outcome).into(),
                fold_key(now, site_key_num, &fingerprint, r.action, r.outcome).into(),
            ])?
        }
    };
    statement.run().await?;
    Ok(())
}

/// `GET /api/sites/{site}/audit` and `GET /api/audit`: newest first, paged by id.
pub async fn page(req: Request, env: &Env, c: &Caller, whole_instance: bool) -> RouteResult {
    let pairs = query_pairs(&req)?;
    let before = query_value(&pairs, "before")
        .and_then(|b| b.parse::<i64>().ok())
        .unwrap_or(i64::MAX);
    let limit = query_value(&pairs, "limit")
        .and_then(|l| l.parse::<u32>().ok())
        .unwrap_or(50)
        .clamp(1, MAX_AUDIT_PAGE);
    let scope = if whole_instance {
        JsValue::NULL
    } else {
        JsValue::from(c.site())
    };
    let entries: Vec<AuditEntry> = d1(env)?
        .prepare(PAGE_SQL)
        .bind(&[scope, (before as f64).into(), (limit as f64).into()])?
        .all()
        .await?
        .results()
        .map_err(Failure::from)?;
    let next = (entries.len() as u32 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    json(
        200,
        &serde_json::json!({ "entries": entries, "next_before": next }),
    )
}
