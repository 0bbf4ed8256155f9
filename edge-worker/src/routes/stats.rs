//! The stats API: totals, a time series and top pages for a site and a range of days.

use analytics_core::sql::{SERIES_SQL, TOP_PAGES_SQL, TOTALS_SQL};
use analytics_core::stats::{
    fill_series, range_from_days, DateRange, SeriesPoint, MAX_BREAKDOWN_ROWS,
};
use analytics_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{json, Failure, RouteResult};
use crate::session::{require_site_reader, require_user};

#[derive(Deserialize)]
struct StatsQuery {
    site: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

struct Scope {
    site: String,
    range: DateRange,
    limit: u32,
}

async fn scope(req: &Request, env: &Env) -> Result<Scope, Failure> {
    let user = require_user(req, env).await?;
    let q: StatsQuery = req
        .query()
        .map_err(|_| ApiError::bad_request("bad_query", "query string could not be read"))?;
    let site = q
        .site
        .ok_or_else(|| ApiError::bad_request("missing_site", "site is required"))?;
    let (Some(from), Some(to)) = (q.from, q.to) else {
        return Err(
            ApiError::bad_request("bad_range", "from and to are required (YYYY-MM-DD)").into(),
        );
    };
    let range = range_from_days(&from, &to)?;
    require_site_reader(env, &user, &site).await?;
    Ok(Scope {
        site,
        range,
        limit: q.limit.unwrap_or(10).clamp(1, MAX_BREAKDOWN_ROWS),
    })
}

#[derive(Serialize, Deserialize)]
struct Totals {
    pageviews: i64,
    visitors: i64,
    visits: i64,
}

pub async fn totals(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let totals: Option<Totals> = d1(env)?
        .prepare(TOTALS_SQL)
        .bind(&[
            s.site.as_str().into(),
            (s.range.from_ms as f64).into(),
            (s.range.to_ms as f64).into(),
        ])?
        .first(None)
        .await?;
    json(
        200,
        &totals.unwrap_or(Totals {
            pageviews: 0,
            visitors: 0,
            visits: 0,
        }),
    )
}

pub async fn timeseries(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let rows: Vec<SeriesPoint> = d1(env)?
        .prepare(SERIES_SQL)
        .bind(&[
            s.site.as_str().into(),
            (s.range.from_ms as f64).into(),
            (s.range.to_ms as f64).into(),
            (s.range.bucket_ms as f64).into(),
        ])?
        .all()
        .await?
        .results()?;
    json(
        200,
        &serde_json::json!({
            "bucket_ms": s.range.bucket_ms,
            "points": fill_series(&s.range, &rows),
        }),
    )
}

#[derive(Serialize, Deserialize)]
struct PageRow {
    path: String,
    pageviews: i64,
    visitors: i64,
}

pub async fn pages(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let rows: Vec<PageRow> = d1(env)?
        .prepare(TOP_PAGES_SQL)
        .bind(&[
            s.site.as_str().into(),
            (s.range.from_ms as f64).into(),
            (s.range.to_ms as f64).into(),
            (s.limit as f64).into(),
        ])?
        .all()
        .await?
        .results()?;
    json(200, &serde_json::json!({ "pages": rows }))
}
