//! Writes and reads Vigia's own audit log (the rules are in `analytics_core::audit`).

use analytics_core::audit::{
    details_text, ip_fingerprint, AuditEntry, FingerprintScope, INSERT_SQL, MAX_AUDIT_PAGE,
    PAGE_SQL,
};
use analytics_core::enrich::ip::{client_ip, IpHeaders};
use analytics_core::enrich::useragent;
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
    let (cf, xff, real) = (
        header(req, "CF-Connecting-IP"),
        header(req, "X-Forwarded-For"),
        header(req, "X-Real-IP"),
    );
    let ip = client_ip(&IpHeaders {
        cf_connecting_ip: cf.as_deref(),
        x_forwarded_for: xff.as_deref(),
        x_real_ip: real.as_deref(),
    });
    let ua = useragent::parse(&header(req, "User-Agent").unwrap_or_default());
    let client = [ua.browser, ua.os]
        .into_iter()
        .filter(|s| !s.is_empty() && s != "unknown")
        .collect::<Vec<_>>()
        .join(" on ");
    let (country, _, _) = crate::routes::ingest::edge_geo(req, env);
    Origin {
        ip,
        client,
        country: country.unwrap_or_default(),
    }
}

/// The instance scope's address-fingerprint key of the moment (`crate::keys::fingerprint_key`).
/// Kept under its old name so callers written before keys rotated get the rotating key.
#[allow(dead_code)]
pub async fn instance_key(env: &Env) -> worker::Result<Vec<u8>> {
    crate::keys::fingerprint_key(env, FingerprintScope::Instance, now_ms()).await
}

/// One entry to write.
pub struct Record<'a> {
    pub action: &'a str,
    pub site: Option<&'a str>,
    pub actor: Option<&'a User>,
    /// Who, when no one is logged in (the email a login tried).
    pub actor_email: &'a str,
    pub target: &'a str,
    pub outcome: u16,
    pub details: &'a Value,
}

/// Appends an entry. A failure is logged, not raised: the action it describes has happened.
pub async fn record(env: &Env, origin: &Origin, r: Record<'_>) {
    if let Err(e) = write(env, origin, &r).await {
        worker::console_error!("audit log write failed for {}: {e}", r.action);
    }
}

async fn write(env: &Env, origin: &Origin, r: &Record<'_>) -> worker::Result<()> {
    {
        let scope = r
            .site
            .map(FingerprintScope::Site)
            .unwrap_or(FingerprintScope::Instance);
        let key = crate::keys::fingerprint_key(env, scope, now_ms()).await?;
        let site = r.site.map(JsValue::from).unwrap_or(JsValue::NULL);
        let actor_id = r
            .actor
            .map(|u| JsValue::from(u.id as f64))
            .unwrap_or(JsValue::NULL);
        let email = r.actor.map(|u| u.email.as_str()).unwrap_or(r.actor_email);
        let email: String = email.chars().take(254).collect();
        d1(env)?
            .prepare(INSERT_SQL)
            .bind(&[
                (now_ms() as f64).into(),
                site,
                actor_id,
                email.into(),
                r.action.into(),
                r.target.into(),
                (r.outcome as f64).into(),
                details_text(r.details).into(),
                origin.country.as_str().into(),
                origin.client.as_str().into(),
                ip_fingerprint(&key, origin.ip).into(),
            ])?
            .run()
            .await?;
    }
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
