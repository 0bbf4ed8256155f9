//! Email reports: the preview, each member's choice, unsubscribe links that work without a
//! login, and what was sent. The hourly job that sends what is due is `jobs::reports`; what a
//! report says and when it is due live in `analytics_core::report`.

use analytics_core::governance::compliance::escape_html;
use analytics_core::report::render::{subject, to_html, to_text};
use analytics_core::report::schedule::{parse_date, parse_kind, parse_month};
use analytics_core::report::{
    site_link, Report, ReportKind, Schedule, TopList, TOP_DIMENSIONS, TOP_ROWS,
};
use analytics_core::stats::period::{bucket_series, time_zone, HourRow, Period};
use analytics_core::stats::query::{self, MetricsRow, Scope};
use analytics_core::store::reports::{self as sql, EffectiveChoice, SentReport};
use analytics_core::util::email::unsubscribe_valid;
use analytics_core::ApiError;
use api_types::reports::{ReportPreview, SentReports, SubscriptionChoice};
use worker::{Env, Request, Response};

use crate::db::{self, d1, site_summaries, SiteSummary};
use crate::http::{
    json, now_ms, public_base, query_pairs, query_value, read_json, static_html, Failure,
    RouteResult,
};
use crate::routes::stats::{one, rows};
use crate::session::Caller;

async fn site_row(env: &Env, site: &str) -> Result<SiteSummary, Failure> {
    site_summaries(&d1(env)?, Some(site))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("no such site").into())
}

/// Gathers a report's figures from the rollups (the same queries the dashboard runs).
pub(crate) async fn gather(
    env: &Env,
    base: &str,
    site: &SiteSummary,
    kind: ReportKind,
    period: Period,
) -> Result<Report, Failure> {
    let previous = kind.previous(&period);
    let scope = |p: &Period| Scope {
        site: &site.id,
        from_ms: p.from_ms(),
        to_ms: p.to_ms(),
        filters: &[],
    };
    let now: MetricsRow = one(env, &query::totals(&scope(&period))).await?;
    let before: MetricsRow = one(env, &query::totals(&scope(&previous))).await?;
    let mut top = Vec::new();
    for (dimension, title) in TOP_DIMENSIONS {
        let found: Vec<MetricsRow> = rows(
            env,
            &query::breakdown(&scope(&period), dimension, TOP_ROWS as u32),
        )
        .await?;
        top.push(TopList {
            title,
            rows: found.into_iter().map(|m| (m.value, m.visitors)).collect(),
        });
    }
    let hours: Vec<HourRow> = rows(env, &query::hourly(&scope(&period))).await?;
    let days = bucket_series(&period, &hours)
        .into_iter()
        .map(|p| (p.label, p.visitors))
        .collect();
    Ok(Report {
        site_id: site.id.clone(),
        site_name: site.name.clone(),
        kind,
        dashboard_url: site_link(
            base,
            &site.id,
            &format!("period=custom&from={}&to={}", period.from, period.to),
        ),
        period,
        previous,
        now,
        before,
        top,
        days,
        unsubscribe_url: None,
    })
}

/// `GET /api/sites/{site}/reports/preview?kind=monthly&month=YYYY-MM` (or `kind=weekly&date=`):
/// the report as it would be mailed, without an unsubscribe link; `format=text` for the text
/// part, `json` for its figures.
pub async fn preview(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let pairs = query_pairs(&req)?;
    let site = site_row(env, c.site()).await?;
    let tz = time_zone(&site.timezone)?;
    let kind = parse_kind(query_value(&pairs, "kind").unwrap_or("monthly"))?;
    let day = match (
        kind,
        query_value(&pairs, "month"),
        query_value(&pairs, "date"),
    ) {
        (ReportKind::Monthly, Some(m), _) => parse_month(m)?,
        (ReportKind::Weekly, _, Some(d)) => parse_date(d)?,
        // By default, the last complete period.
        _ => kind.last_complete(now_ms(), tz.clone())?.from,
    };
    let period = kind.period_containing(day, tz)?;
    let base = public_base(env, Some(&req));
    let report = gather(env, &base, &site, kind, period).await?;
    match query_value(&pairs, "format").unwrap_or("html") {
        "html" => static_html(to_html(&report), true),
        "text" => {
            let mut resp = Response::ok(to_text(&report))?;
            resp.headers_mut()
                .set("Content-Type", "text/plain; charset=utf-8")?;
            Ok(resp)
        }
        "json" => json(
            200,
            &ReportPreview {
                subject: subject(&report),
                range: report.period.describe(),
                previous: report.previous.describe(),
                totals: report.now.to_json(),
                previous_totals: report.before.to_json(),
            },
        ),
        other => Err(ApiError::bad_request(
            "bad_format",
            format!("format {other:?} is not html, text or json"),
        )
        .into()),
    }
}

async fn effective(env: &Env, site: &str, user: i64) -> Result<EffectiveChoice, Failure> {
    let found = db::first(&d1(env)?, &sql::effective_choice(site, user)).await?;
    Ok(found.unwrap_or_default())
}

async fn set_choice(
    env: &Env,
    site: &str,
    user: i64,
    monthly: bool,
    weekly: bool,
) -> Result<(), Failure> {
    let choice = sql::set_choice(site, user, monthly, weekly);
    Ok(db::run(&d1(env)?, &choice).await?)
}

/// `GET /api/sites/{site}/reports/subscription`: which reports the caller receives.
pub async fn subscription(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let now = effective(env, c.site(), user.id).await?;
    json(200, &now.subscription())
}

/// `PUT /api/sites/{site}/reports/subscription` with `{monthly?, weekly?}`.
pub async fn set_subscription(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let choice: SubscriptionChoice = read_json(&mut req, 1024).await?;
    let now = effective(env, c.site(), user.id).await?;
    let monthly = choice.monthly.unwrap_or(now.monthly);
    let weekly = choice.weekly.unwrap_or(now.weekly);
    set_choice(env, c.site(), user.id, monthly, weekly).await?;
    let saved = effective(env, c.site(), user.id).await?;
    json(200, &saved.subscription())
}

struct Unsubscribe {
    site: String,
    user: i64,
    kind: ReportKind,
}

/// The site and user an unsubscribe link was signed for, if its signature holds: the audit
/// log names them as the authenticated actor of the unsubscription.
pub async fn link_signer(req: &Request, env: &Env) -> Option<(String, i64)> {
    check_link(req, env).await.ok().map(|u| (u.site, u.user))
}

async fn check_link(req: &Request, env: &Env) -> Result<Unsubscribe, Failure> {
    let pairs = query_pairs(req)?;
    let bad = || {
        ApiError::bad_request(
            "bad_link",
            "this unsubscribe link is incomplete or was altered",
        )
    };
    let site = query_value(&pairs, "site").ok_or_else(bad)?.to_string();
    let user: i64 = query_value(&pairs, "user")
        .and_then(|u| u.parse().ok())
        .ok_or_else(bad)?;
    let kind = parse_kind(query_value(&pairs, "kind").ok_or_else(bad)?).map_err(|_| bad())?;
    let sig = query_value(&pairs, "sig").ok_or_else(bad)?;
    let key = crate::keys::lasting_key(env, crate::keys::LastingKey::ReportLinks).await?;
    if !unsubscribe_valid(&key, &site, user, kind.as_str(), sig) {
        return Err(bad().into());
    }
    Ok(Unsubscribe { site, user, kind })
}

/// `GET /api/reports/unsubscribe?…&sig=…`: asks to confirm (mail scanners follow links; only
/// the POST unsubscribes).
pub async fn unsubscribe_page(req: Request, env: &Env) -> RouteResult {
    let u = check_link(&req, env).await?;
    let site = site_row(env, &u.site)
        .await
        .map(|s| s.name)
        .unwrap_or(u.site.clone());
    static_html(
        analytics_core::util::html::page(
            "Stop these reports?",
            &format!(
                "<p>You will no longer receive the {} report for {}.</p>\
                 <form method=\"post\"><button type=\"submit\" id=\"confirm\">Unsubscribe</button></form>",
                u.kind.as_str(),
                escape_html(&site)
            ),
        ),
        false,
    )
}

/// `POST /api/reports/unsubscribe?…&sig=…`: the confirmation, or a mail client's one-click
/// unsubscribe (RFC 8058).
pub async fn unsubscribe(req: Request, env: &Env) -> RouteResult {
    let u = check_link(&req, env).await?;
    let now = effective(env, &u.site, u.user).await?;
    let (monthly, weekly) = match u.kind {
        ReportKind::Monthly => (false, now.weekly),
        ReportKind::Weekly => (now.monthly, false),
    };
    if now.member {
        set_choice(env, &u.site, u.user, monthly, weekly).await?;
    }
    static_html(
        analytics_core::util::html::page(
            "Unsubscribed",
            &format!(
                "<p id=\"done\">You will no longer receive the {} report for this site. \
                 You can turn it back on in the dashboard's site settings.</p>",
                u.kind.as_str()
            ),
        ),
        false,
    )
}

/// `GET /api/sites/{site}/reports/sent`: the last 100 sends and their outcome.
pub async fn sent(env: &Env, c: &Caller) -> RouteResult {
    let sent: Vec<SentReport> = db::all(&d1(env)?, &sql::sent(c.site())).await?;
    json(200, &SentReports { sent })
}
