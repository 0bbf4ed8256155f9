//! The vendor's view of an app (`GET /api/sites/{site}/app/stats`) and the usage report's
//! unsubscribe link (`GET`/`POST /api/app/unsubscribe`). The SQL and the report are in
//! `analytics_core::store::app_stats` and `analytics_core::report::usage`; the monthly job
//! (`jobs::usage_reports`) reads a user's figures through `usage_figures` here, so the mail and
//! this route run the same statements.

use analytics_core::governance::compliance::escape_html;
use analytics_core::report::usage::{link_valid, UsageFigures, UsageQuery};
use analytics_core::store::app_stats::{
    self as sql, AppSite, AppUser, StatsQuery, StatsRows, TopRow, TotalsRow, UsageUser,
};
use analytics_core::ApiError;
use api_types::apps::AppStats;
use serde::de::DeserializeOwned;
use worker::{D1Database, D1Result, Env, Request};

use crate::db::{self, d1};
use crate::http::{json, now_ms, query_pairs, query_value, static_html, Failure, RouteResult};
use crate::session::Caller;

/// The site if it is an app: 404 if there is none, 400 `not_an_app` for a web site.
pub(crate) async fn app_site(db: &D1Database, site: &str) -> Result<AppSite, Failure> {
    let found: Option<AppSite> = db::first(db, &sql::app_site(site)).await?;
    let site = found.ok_or_else(|| ApiError::not_found("no such site"))?;
    if !site.is_app() {
        return Err(ApiError::bad_request(
            "not_an_app",
            "this site is a web site; app stats are for sites of kind app",
        )
        .into());
    }
    Ok(site)
}

fn rows<T: DeserializeOwned>(result: Option<&D1Result>) -> Result<Vec<T>, Failure> {
    match result {
        Some(r) => Ok(r.results()?),
        None => Err(Failure::Internal(worker::Error::RustError(
            "a statement of the batch has no answer".into(),
        ))),
    }
}

fn one<T: DeserializeOwned + Default>(result: Option<&D1Result>) -> Result<T, Failure> {
    Ok(rows(result)?.into_iter().next().unwrap_or_default())
}

/// Runs statements in one D1 round trip (a read-only batch).
async fn batch(
    db: &D1Database,
    statements: &[analytics_core::store::Sql],
) -> Result<Vec<D1Result>, Failure> {
    let prepared = statements
        .iter()
        .map(|s| db::prepare(db, s))
        .collect::<worker::Result<Vec<_>>>()?;
    Ok(db.batch(prepared).await?)
}

/// Every figure of the view, in one D1 batch.
pub(crate) async fn gather(db: &D1Database, q: &StatsQuery) -> Result<AppStats, Failure> {
    let r = batch(db, &q.statements()).await?;
    let rows = StatsRows {
        installs: one(r.first())?,
        totals: one(r.get(1))?,
        mau: one(r.get(2))?,
        daily: rows(r.get(3))?,
        versions: rows(r.get(4))?,
        os: rows(r.get(5))?,
        top: rows(r.get(6))?,
        dropped: one(r.get(7))?,
        cohorts: rows(r.get(8))?,
    };
    Ok(q.assemble(rows))
}

/// One user's month and the month before, as their report states them: the statements of the
/// view with the user's scope.
pub(crate) async fn usage_figures(
    db: &D1Database,
    q: &UsageQuery,
) -> Result<(UsageFigures, UsageFigures), Failure> {
    let r = batch(db, &q.first()).await?;
    let totals: TotalsRow = one(r.first())?;
    let top: Vec<TopRow> = rows(r.get(1))?;
    let before_totals: TotalsRow = one(r.get(2))?;
    let now = UsageFigures::new(totals, &top);
    if now.records == 0 {
        return Ok((now, UsageFigures::new(before_totals, &[])));
    }
    let named: Vec<TopRow> = db::all(db, &q.before_named(&now)).await?;
    Ok((now, UsageFigures::new(before_totals, &named)))
}

/// `GET /api/sites/{site}/app/stats?period=…[&email=]`: the app's installs, use, lists and
/// cohorts in its time zone; with `email`, only the installs of that confirmed user (what their
/// monthly report shows).
pub async fn stats(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let db = d1(env)?;
    let site = app_site(&db, c.site()).await?;
    let r = crate::routes::stats::parse(&req, env, c).await?;
    if !r.filters.is_empty() {
        return Err(ApiError::bad_request(
            "bad_filter",
            "app stats take no filters (f); use email for one user's installs",
        )
        .into());
    }
    let user = match r.value("email") {
        None => None,
        Some(email) => {
            let found: Option<AppUser> =
                db::first(&db, &sql::confirmed_user(site.site_key, email)).await?;
            let user = found.ok_or_else(|| {
                ApiError::new(
                    404,
                    "no_such_user",
                    "no confirmed user of this app has that email",
                )
            })?;
            Some(user.id)
        }
    };
    let q = StatsQuery::new(site.site_key, r.period, user);
    json(200, &gather(&db, &q).await?)
}

/// The user an unsubscribe link names, if its signature holds.
pub(crate) async fn check_link(req: &Request, env: &Env) -> Result<UsageUser, Failure> {
    let pairs = query_pairs(req)?;
    let bad = || {
        ApiError::bad_request(
            "bad_link",
            "this unsubscribe link is incomplete or was altered",
        )
    };
    let user: i64 = query_value(&pairs, "user")
        .and_then(|u| u.parse().ok())
        .ok_or_else(bad)?;
    let sig = query_value(&pairs, "sig").ok_or_else(bad)?;
    let found: Option<UsageUser> = db::first(&d1(env)?, &sql::usage_user(user)).await?;
    // An erased user's link answers as an altered one: it says nothing about who exists.
    let found = found.ok_or_else(bad)?;
    let key = crate::keys::lasting_key(env, crate::keys::LastingKey::ReportLinks).await?;
    if !link_valid(&key, found.site_key, found.id, sig) {
        return Err(bad().into());
    }
    Ok(found)
}

fn app_name(u: &UsageUser) -> String {
    escape_html(u.app_name.as_deref().unwrap_or("this app"))
}

/// `GET /api/app/unsubscribe?user=&sig=`: asks to confirm (mail scanners follow links; only
/// the POST unsubscribes).
pub async fn unsubscribe_page(req: Request, env: &Env) -> RouteResult {
    let u = check_link(&req, env).await?;
    static_html(
        analytics_core::util::html::page(
            "Stop your usage reports?",
            &format!(
                "<p>You will no longer receive the monthly report of your use of {}.</p>\
                 <form method=\"post\"><button type=\"submit\" id=\"confirm\">Unsubscribe</button></form>",
                app_name(&u)
            ),
        ),
        false,
    )
}

/// `POST /api/app/unsubscribe?user=&sig=`: the confirmation, or a mail client's one-click
/// unsubscribe (RFC 8058). The user's status becomes `unsubscribed`: no further report.
pub async fn unsubscribe(req: Request, env: &Env) -> RouteResult {
    let u = check_link(&req, env).await?;
    db::run(&d1(env)?, &sql::unsubscribe(u.id, now_ms())).await?;
    static_html(
        analytics_core::util::html::page(
            "Unsubscribed",
            &format!(
                "<p id=\"done\">You will no longer receive the monthly report of your use of {}.</p>",
                app_name(&u)
            ),
        ),
        false,
    )
}
