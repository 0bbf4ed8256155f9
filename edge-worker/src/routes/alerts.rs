//! Suspicious activity: the hourly check of every rule (thresholds from `VIGIA_ALERT_RULES`),
//! the alert mail to owners and admins, and the list the dashboard shows. The rules and their
//! SQL live in `analytics_core::alerts`.

use analytics_core::alerts::{
    self, describe, upsert_values, AccessRow, Alert, CheckRow, Rules, ALERT_RECIPIENTS_SQL,
    CLAIM_UNMAILED_SQL, MAX_OUTSIDE_HOURS_SCAN, OUTSIDE_HOURS_CANDIDATES_SQL, RULES, UPSERT_SQL,
};
use analytics_core::email::{EmailMessage, Provider};
use analytics_core::login::{self, INSTANCE_SCOPE};
use analytics_core::period::zone_or_utc;
use analytics_core::report::site_link;
use analytics_core::sql::SqlValue;
use serde::Deserialize;
use worker::{Env, Request};

use crate::config::settings;
use crate::db::{d1, site_summaries, statement};
use crate::http::{json, now_ms, public_base, query_pairs, query_value, RouteResult};
use crate::mail;
use crate::session::Caller;

/// The rules in force (a broken configuration was logged when read; the defaults apply).
fn rules(env: &Env) -> Rules {
    settings(env).alert_rules.clone()
}

#[derive(Deserialize)]
struct Email {
    email: String,
}

/// The hourly job: check every rule for every site, keep what fired, mail what is new.
pub async fn evaluate(env: &Env, now: i64) -> worker::Result<()> {
    let rules = rules(env);
    let db = d1(env)?;
    let sites = site_summaries(&db, None).await?;
    let provider = mail::provider(env).unwrap_or(None);
    let webhook = settings(env).alert_webhook_url.clone();
    let from = mail::sender(env);
    let base = public_base(env, None);
    for site in sites {
        let tz = zone_or_utc(&site.timezone);
        let mut found: Vec<Alert> = Vec::new();
        for check in rules.checks(&site.id, now) {
            let rows: Vec<CheckRow> = statement(&db, &check.sql, &check.binds)?
                .all()
                .await?
                .results()?;
            found.extend(rows.into_iter().map(|r| check.alert(r)));
        }
        if rules.working_hours.is_some() {
            let candidates: Vec<AccessRow> = statement(
                &db,
                OUTSIDE_HOURS_CANDIDATES_SQL,
                &[
                    SqlValue::Text(site.id.clone()),
                    SqlValue::Int(now - alerts::LOOKBACK_MS),
                    SqlValue::Int(MAX_OUTSIDE_HOURS_SCAN),
                ],
            )?
            .all()
            .await?
            .results()?;
            found.extend(rules.outside_hours_alerts(&candidates, &tz));
        }
        if !found.is_empty() {
            let statements = found
                .iter()
                .map(|a| statement(&db, UPSERT_SQL, &upsert_values(&site.id, a, now)))
                .collect::<worker::Result<Vec<_>>>()?;
            db.batch(statements).await?;
        }
        if provider.is_none() && webhook.is_none() {
            continue;
        }
        let new: Vec<Alert> = statement(
            &db,
            CLAIM_UNMAILED_SQL,
            &[SqlValue::Text(site.id.clone()), SqlValue::Int(now_ms())],
        )?
        .all()
        .await?
        .results()?;
        if new.is_empty() {
            continue;
        }
        let link = site_link(&base, &site.id, "tab=alerts");
        let (subject, text, html) = alerts::mail(&site.name, &new, &link, &tz);
        let recipients: Vec<Email> = match provider {
            Some(_) => db
                .prepare(ALERT_RECIPIENTS_SQL)
                .bind(&[site.id.as_str().into()])?
                .all()
                .await?
                .results()?,
            None => vec![],
        };
        let message = (subject.as_str(), text.as_str(), html.as_str());
        notify(
            env,
            webhook.as_deref(),
            provider,
            &from,
            recipients,
            message,
        )
        .await;
    }
    Ok(())
}

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

/// The hourly instance check: Vigia's own failed logins (`analytics_core::login`), filed under
/// `INSTANCE_SCOPE` and mailed to the instance admins.
pub async fn evaluate_instance(env: &Env, now: i64) -> worker::Result<()> {
    let rules = rules(env);
    let db = d1(env)?;
    let mut found: Vec<Alert> = Vec::new();
    for check in rules.instance_checks(now) {
        let rows: Vec<CheckRow> = statement(&db, &check.sql, &check.binds)?
            .all()
            .await?
            .results()?;
        found.extend(rows.into_iter().map(|r| check.alert(r)));
    }
    if !found.is_empty() {
        let statements = found
            .iter()
            .map(|a| statement(&db, UPSERT_SQL, &upsert_values(INSTANCE_SCOPE, a, now)))
            .collect::<worker::Result<Vec<_>>>()?;
        db.batch(statements).await?;
    }
    let provider = mail::provider(env).unwrap_or(None);
    let webhook = settings(env).alert_webhook_url.clone();
    if provider.is_none() && webhook.is_none() {
        return Ok(());
    }
    let new: Vec<Alert> = statement(
        &db,
        CLAIM_UNMAILED_SQL,
        &[
            SqlValue::Text(INSTANCE_SCOPE.into()),
            SqlValue::Int(now_ms()),
        ],
    )?
    .all()
    .await?
    .results()?;
    if new.is_empty() {
        return Ok(());
    }
    let link = format!("{}/", public_base(env, None).trim_end_matches('/'));
    let (_, text, html) = alerts::mail("your Vigia instance", &new, &link, &zone_or_utc("UTC"));
    let subject = login::instance_mail_subject(new.len());
    let recipients: Vec<Email> = match provider {
        Some(_) => db
            .prepare(login::INSTANCE_ALERT_RECIPIENTS_SQL)
            .all()
            .await?
            .results()?,
        None => vec![],
    };
    let message = (subject.as_str(), text.as_str(), html.as_str());
    notify(
        env,
        webhook.as_deref(),
        provider,
        &mail::sender(env),
        recipients,
        message,
    )
    .await;
    Ok(())
}

/// Posts new alerts to the chat webhook (when set) and mails them to each recipient. Failures
/// are logged, not raised: the alerts are recorded either way.
async fn notify(
    env: &Env,
    webhook: Option<&str>,
    provider: Option<Provider>,
    from: &str,
    recipients: Vec<Email>,
    (subject, text, html): (&str, &str, &str),
) {
    if let Some(url) = webhook {
        // `text` for Slack and Mattermost, `content` for Discord.
        let body = serde_json::json!({ "text": text, "content": text });
        if let Err(e) = mail::post_json(url, &body, None).await {
            worker::console_error!("alert webhook failed: {e}");
        }
    }
    let Some(provider) = provider else { return };
    for r in recipients {
        let message = EmailMessage {
            from: from.to_string(),
            to: r.email,
            subject: subject.to_string(),
            text: text.to_string(),
            html: html.to_string(),
            headers: Vec::new(),
        };
        if let Err(e) = mail::send(env, provider, &message).await {
            worker::console_error!("alert mail failed: {e}");
        }
    }
}

/// The daily cron: failed-login rows past what the locks and rules read.
pub async fn prune_login_failures(env: &Env, now: i64) -> worker::Result<()> {
    d1(env)?
        .prepare(login::PRUNE_SQL)
        .bind(&[((now - login::FAILURES_KEEP_MS) as f64).into()])?
        .run()
        .await?;
    Ok(())
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
            "thresholds": rules(env),
        }),
    )
}
