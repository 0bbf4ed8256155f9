//! The alerts the suspicious-activity rules found, as the dashboard lists them. The hourly
//! check that finds and sends them is `jobs::alerts`; the rules and their SQL live in
//! `analytics_core::governance::alerts`.

use analytics_core::accounts::login::{self, INSTANCE_SCOPE};
use analytics_core::governance::alerts::{self, describe, RULES};
use serde::Deserialize;
use worker::{Env, Request};

use crate::config::settings;
use crate::db::{d1, statement};
use crate::http::{json, query_pairs, query_value, RouteResult};
use crate::session::Caller;

#[derive(Deserialize, serde::Serialize)]
struct AlertRow {
    id: f64,
    rule: String,
    subject: String,
    window_start: f64,
    window_ms: f64,
    count: f64,
    threshold: f64,
    detail: String,
    first_ts: f64,
    last_ts: f64,
    created_at: f64,
    emailed_at: Option<f64>,
}

/// `GET /api/sites/{site}/alerts?before=&limit=`: what fired, newest first, and the rules.
pub async fn list(req: Request, env: &Env, c: &Caller) -> RouteResult {
    list_scope(req, env, c.site()).await
}

/// `GET /api/alerts` (instance admins): the instance's own alerts (failed Vigia logins).
pub async fn list_instance(req: Request, env: &Env) -> RouteResult {
    list_scope(req, env, INSTANCE_SCOPE).await
}

async fn list_scope(req: Request, env: &Env, scope: &str) -> RouteResult {
    let pairs = query_pairs(&req)?;
    let before = alerts::parse_before(query_value(&pairs, "before"))?;
    let limit = query_value(&pairs, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50);
    let (sql, binds) = alerts::page_sql(scope, before, limit);
    let rows: Vec<AlertRow> = statement(&d1(env)?, &sql, &binds)?.all().await?.results()?;
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["description"] = describe(&r.rule).into();
            v
        })
        .collect();
    let rule_names: Vec<serde_json::Value> = RULES
        .iter()
        .filter(|_| !scope.is_empty())
        .chain(login::INSTANCE_RULES.iter().filter(|_| scope.is_empty()))
        .map(|(name, description)| serde_json::json!({ "rule": name, "description": description }))
        .collect();
    json(
        200,
        &serde_json::json!({
            "alerts": items,
            "next_before": rows.last().filter(|_| rows.len() as u32 >= limit.clamp(1, alerts::MAX_ALERTS_PAGE)).map(|r| r.id),
            "rules": rule_names,
            "thresholds": settings(env).alert_rules,
        }),
    )
}
