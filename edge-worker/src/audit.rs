//! Writes and reads Vigia's own audit log (the rules are in `analytics_core::governance::audit`,
//! the statements in `analytics_core::store::audit`).

use analytics_core::enrich::useragent;
use analytics_core::governance::audit::{
    cap, details_text, ip_fingerprint, user_pseudonym, AuditAction, FingerprintScope,
    MAX_ACTOR_EMAIL_CHARS, MAX_AUDIT_PAGE, MAX_CLIENT_CHARS, MAX_COUNTRY_CHARS, MAX_TARGET_CHARS,
};
use analytics_core::store::{audit as store, sessions};
use api_types::audit::{AuditEntry, AuditPage};
use serde_json::Value;
use worker::{Env, Request};

use crate::db::{self, d1};
use crate::http::{header, json, now_ms, query_pairs, query_value, RouteResult};
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
    let row: Option<store::SiteKey> = db::first(&d1(env)?, &store::site_key(site)).await?;
    Ok(row.and_then(|r| r.site_key))
}

/// A user by id (the signer of an unsubscribe link).
pub async fn user_by_id(env: &Env, id: i64) -> worker::Result<Option<User>> {
    db::first(&d1(env)?, &sessions::user_by_id(id)).await
}

/// One entry to write.
pub struct Record<'a> {
    pub action: AuditAction,
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
        worker::console_error!("audit log write failed for {}: {e}", r.action.as_str());
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
    let fingerprint = ip_fingerprint(&key, origin.ip);
    let target = cap(r.target, MAX_TARGET_CHARS);
    let country = cap(&origin.country, MAX_COUNTRY_CHARS);
    let client = cap(&origin.client, MAX_CLIENT_CHARS);
    let entry = store::NewEntry {
        at: now,
        site_id: r.site.map(|(id, _)| id),
        site_key: r.site.and_then(|(_, key)| key),
        action: r.action,
        target: &target,
        outcome: r.outcome,
        country: &country,
        client: &client,
        ip_hash: &fingerprint,
    };
    let sql = match r.actor {
        Some(user) => store::insert(
            &entry,
            user.id,
            &cap(&user.email, MAX_ACTOR_EMAIL_CHARS),
            &details_text(r.details),
        ),
        None => store::insert_anonymous(&entry),
    };
    db::run(&d1(env)?, &sql).await
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
    let scope = (!whole_instance).then(|| c.site());
    let entries: Vec<AuditEntry> = db::all(&d1(env)?, &store::page(scope, before, limit)).await?;
    let next_before = (entries.len() as u32 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    json(
        200,
        &AuditPage {
            entries,
            next_before,
        },
    )
}
