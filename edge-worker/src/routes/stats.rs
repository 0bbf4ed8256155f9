//! The stats API: totals, a time series and top pages for a site and a range of days.

use analytics_core::rollup::{BREAKDOWN_SQL, DIMENSIONS, SERIES_SQL, TOTALS_SQL};
use analytics_core::stats::{
    fill_series, range_from_days, DateRange, SeriesPoint, MAX_BREAKDOWN_ROWS,
};
use analytics_core::ApiError;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
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
    dimension: Option<String>,
}

struct Scope {
    site: String,
    range: DateRange,
    limit: u32,
    dimension: Option<String>,
}

impl Scope {
    /// Every stats query binds site, from and to first (?1–?3), then its own values.
    fn binds(&self, rest: &[JsValue]) -> Vec<JsValue> {
        let mut binds = vec![
            self.site.as_str().into(),
            (self.range.from_ms as f64).into(),
            (self.range.to_ms as f64).into(),
        ];
        binds.extend_from_slice(rest);
        binds
    }
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
        dimension: q.dimension,
    })
}

#[derive(Serialize, Deserialize, Default)]
struct Totals {
    visitors: i64,
    pageviews: i64,
    visits: i64,
    bounces: i64,
    duration_ms: i64,
    engaged_ms: i64,
}

pub async fn totals(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let totals: Option<Totals> = d1(env)?
        .prepare(TOTALS_SQL)
        .bind(&s.binds(&[]))?
        .first(None)
        .await?;
    json(200, &totals.unwrap_or_default())
}

pub async fn timeseries(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let rows: Vec<SeriesPoint> = d1(env)?
        .prepare(SERIES_SQL)
        .bind(&s.binds(&[(s.range.bucket_ms as f64).into()]))?
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
struct BreakdownRow {
    value: String,
    visitors: i64,
    pageviews: i64,
    visits: i64,
    bounces: i64,
    duration_ms: i64,
    engaged_ms: i64,
    events: i64,
}

async fn breakdown_rows(
    env: &Env,
    s: &Scope,
    dimension: &str,
) -> Result<Vec<BreakdownRow>, Failure> {
    Ok(d1(env)?
        .prepare(BREAKDOWN_SQL)
        .bind(&s.binds(&[dimension.into(), (s.limit as f64).into()]))?
        .all()
        .await?
        .results()?)
}

/// `GET /api/stats/breakdown?dimension=…`: one dimension's rows, read from the hourly rollups.
pub async fn breakdown(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let dimension = s.dimension.clone().unwrap_or_default();
    if !DIMENSIONS.contains(&dimension.as_str()) {
        return Err(ApiError::bad_request(
            "bad_dimension",
            format!("dimension must be one of {}", DIMENSIONS.join(", ")),
        )
        .into());
    }
    let rows = breakdown_rows(env, &s, &dimension).await?;
    json(
        200,
        &serde_json::json!({ "dimension": dimension, "rows": rows }),
    )
}

/// `GET /api/stats/pages`: the top pages (the `page` breakdown) as the dashboard shows them.
pub async fn pages(req: Request, env: &Env) -> RouteResult {
    let s = scope(&req, env).await?;
    let rows = breakdown_rows(env, &s, "page").await?;
    let pages: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({ "path": r.value, "pageviews": r.pageviews, "visitors": r.visitors }))
        .collect();
    json(200, &serde_json::json!({ "pages": pages }))
}
