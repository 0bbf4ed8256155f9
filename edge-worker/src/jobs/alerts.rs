//! The hourly suspicious-activity check (thresholds from `VIGIA_ALERT_RULES`): every rule for
//! every site, then the instance's own rules; new alerts are mailed to owners and admins (or
//! instance admins) and posted to the chat webhook. The rules and their SQL live in
//! `analytics_core::governance::alerts`; the list the dashboard shows is `routes::alerts`.

use analytics_core::accounts::login::{self, INSTANCE_SCOPE};
use analytics_core::governance::alerts::{self, AccessRow, Alert, Check, CheckRow, Rules};
use analytics_core::report::site_link;
use analytics_core::stats::period::zone_or_utc;
use analytics_core::store::alerts::{self as sql, Email};
use analytics_core::store::retention::prune_login_failures as prune_sql;
use analytics_core::store::Sql;
use analytics_core::util::email::{EmailMessage, Provider};
use worker::{D1Database, Env};

use crate::config::settings;
use crate::db::{self, d1, site_summaries};
use crate::http::{now_ms, public_base};
use crate::mail;

/// Where new alerts go: mail (when a provider is set) and the chat webhook (when set).
struct Delivery {
    provider: Option<Provider>,
    webhook: Option<String>,
    from: String,
}

impl Delivery {
    fn of(env: &Env) -> Delivery {
        Delivery {
            provider: mail::provider(env).unwrap_or(None),
            webhook: settings(env).alert_webhook_url.clone(),
            from: mail::sender(env),
        }
    }

    fn is_off(&self) -> bool {
        self.provider.is_none() && self.webhook.is_none()
    }
}

/// The hourly job: check every rule for every site, keep what fired, send what is new.
pub async fn evaluate(env: &Env, now: i64) -> worker::Result<()> {
    let rules: Rules = settings(env).alert_rules.clone();
    let db = d1(env)?;
    let delivery = Delivery::of(env);
    let base = public_base(env, None);
    for site in site_summaries(&db, None).await? {
        let tz = zone_or_utc(&site.timezone);
        let mut found = run_checks(&db, rules.checks(&site.id, now)).await?;
        if rules.working_hours.is_some() {
            let candidates: Vec<AccessRow> =
                db::all(&db, &sql::outside_hours_candidates(&site.id, now)).await?;
            found.extend(rules.outside_hours_alerts(&candidates, &tz));
        }
        let new = record_and_claim(&db, &site.id, &found, now, &delivery).await?;
        if new.is_empty() {
            continue;
        }
        let link = site_link(&base, &site.id, "tab=alerts");
        let (subject, text, html) = alerts::mail(&site.name, &new, &link, &tz);
        let recipients = sql::site_recipients(&site.id);
        notify(env, &db, &delivery, &recipients, (&subject, &text, &html)).await?;
    }
    Ok(())
}

/// The hourly instance check: Vigia's own failed logins (`analytics_core::accounts::login`), filed under
/// `INSTANCE_SCOPE` and sent to the instance admins.
pub async fn evaluate_instance(env: &Env, now: i64) -> worker::Result<()> {
    let rules: Rules = settings(env).alert_rules.clone();
    let db = d1(env)?;
    let delivery = Delivery::of(env);
    let found = run_checks(&db, rules.instance_checks(now)).await?;
    let new = record_and_claim(&db, INSTANCE_SCOPE, &found, now, &delivery).await?;
    if new.is_empty() {
        return Ok(());
    }
    let link = format!("{}/", public_base(env, None).trim_end_matches('/'));
    let (_, text, html) = alerts::mail("your Vigia instance", &new, &link, &zone_or_utc("UTC"));
    let subject = login::instance_mail_subject(new.len());
    let recipients = sql::instance_recipients();
    notify(env, &db, &delivery, &recipients, (&subject, &text, &html)).await?;
    Ok(())
}

/// What the checks found, as alerts.
async fn run_checks(db: &D1Database, checks: Vec<Check>) -> worker::Result<Vec<Alert>> {
    let mut found = Vec::new();
    for check in checks {
        let rows: Vec<CheckRow> = db::all(db, &sql::check(&check)).await?;
        found.extend(rows.into_iter().map(|r| check.alert(r)));
    }
    Ok(found)
}

/// Keeps what fired under `scope` (one alert per rule, subject and window; a later check raises
/// its count), then claims the alerts not yet sent — none when nothing would send them, so they
/// wait for a provider or webhook to be configured.
async fn record_and_claim(
    db: &D1Database,
    scope: &str,
    found: &[Alert],
    now: i64,
    delivery: &Delivery,
) -> worker::Result<Vec<Alert>> {
    if !found.is_empty() {
        let statements = found
            .iter()
            .map(|a| db::prepare(db, &sql::upsert(scope, a, now)))
            .collect::<worker::Result<Vec<_>>>()?;
        db.batch(statements).await?;
    }
    if delivery.is_off() {
        return Ok(vec![]);
    }
    db::all(db, &sql::claim_unmailed(scope, now_ms())).await
}

/// Posts new alerts to the chat webhook (when set) and mails them to each recipient the query
/// names. Failures to deliver are logged, not raised: the alerts are recorded
/// either way.
async fn notify(
    env: &Env,
    db: &D1Database,
    delivery: &Delivery,
    recipients: &Sql,
    (subject, text, html): (&str, &str, &str),
) -> worker::Result<()> {
    if let Some(url) = &delivery.webhook {
        if let Err(e) = mail::post_json(url, &alerts::ChatMessage::of(text), None).await {
            worker::console_error!("alert webhook failed: {e}");
        }
    }
    let Some(provider) = delivery.provider else {
        return Ok(());
    };
    let recipients: Vec<Email> = db::all(db, recipients).await?;
    for r in recipients {
        let message = EmailMessage {
            from: delivery.from.clone(),
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
    Ok(())
}

/// The daily job: failed-login rows past what the locks and rules read.
pub async fn prune_login_failures(env: &Env, now: i64) -> worker::Result<()> {
    db::run(&d1(env)?, &prune_sql(now - login::FAILURES_KEEP_MS)).await
}
