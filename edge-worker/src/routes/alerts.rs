//! The alerts the suspicious-activity rules found, as the dashboard lists them. The hourly
//! check that finds and sends them is `jobs::alerts`; the rules and their SQL live in
//! `analytics_core::governance::alerts` and `analytics_core::store::alerts`.

use analytics_core::accounts::login::{self, INSTANCE_SCOPE};
use analytics_core::governance::alerts::{self, describe, RULES};
use analytics_core::store::alerts::{self as sql, AlertEntry};
use api_types::alerts::{AlertsPage, RuleInfo};
use worker::{Env, Request};

use crate::config::settings;
use crate::db::{self, d1};
use crate::http::{json, query_pairs, query_value, RouteResult};
use crate::session::Caller;

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
    let mut rows: Vec<AlertEntry> = db::all(&d1(env)?, &sql::page(scope, before, limit)).await?;
    for r in &mut rows {
        r.description = describe(r.rule).into();
    }
    let full_page = rows.len() as u32 >= limit.clamp(1, alerts::MAX_ALERTS_PAGE);
    let next_before = rows.last().filter(|_| full_page).map(|r| r.id);
    let rules = if scope == INSTANCE_SCOPE {
        &login::INSTANCE_RULES[..]
    } else {
        &RULES[..]
    };
    json(
        200,
        &AlertsPage {
            alerts: rows,
            next_before,
            rules: rules
                .iter()
                .map(|(rule, description)| RuleInfo {
                    rule: *rule,
                    description: description.to_string(),
                })
                .collect(),
            thresholds: &settings(env).alert_rules,
        },
    )
}
