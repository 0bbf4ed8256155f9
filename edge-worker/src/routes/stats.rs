//! The stats API: overview (totals, previous period, chart), breakdowns (JSON or CSV) and
//! realtime, for a site, a period in the site's time zone and optional filters. The SQL comes
//! from `analytics_core::stats::query`; rollups answer unfiltered queries, raw events filtered ones.

use analytics_core::stats::filter::Filter;
use analytics_core::stats::period::{bucket_series, time_zone, HourRow, Period};
use analytics_core::stats::query::{self, MetricsRow, Scope, Sql, REALTIME_WINDOW_MS};
use analytics_core::stats::MAX_BREAKDOWN_ROWS;
use analytics_core::util::csv;
use analytics_core::ApiError;
use serde::de::DeserializeOwned;
use worker::{Env, Request};

use crate::db::{d1, statement};
use crate::http::{csv_response, json, now_ms, query_pairs, query_value, Failure, RouteResult};
use crate::session::Caller;

/// What a stats request asks for, parsed and checked.
pub struct StatsRequest {
    pub site: String,
    pub period: Period,
    pub filters: Vec<Filter>,
    pub pairs: Vec<(String, String)>,
}

impl StatsRequest {
    pub fn scope(&self) -> Scope<'_> {
        self.scope_of(&self.period)
    }
    pub fn scope_of<'a>(&'a self, period: &Period) -> Scope<'a> {
        Scope {
            site: &self.site,
            from_ms: period.from_ms(),
            to_ms: period.to_ms(),
            filters: &self.filters,
        }
    }
    pub fn value(&self, name: &str) -> Option<&str> {
        query_value(&self.pairs, name)
    }
    pub fn limit(&self, default: u32) -> u32 {
        self.value("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(default)
            .clamp(1, MAX_BREAKDOWN_ROWS)
    }
}

pub async fn site_timezone(env: &Env, site: &str) -> Result<String, Failure> {
    let tz: Option<String> = d1(env)?
        .prepare("SELECT timezone FROM sites WHERE id = ?1")
        .bind(&[site.into()])?
        .first(Some("timezone"))
        .await?;
    Ok(tz.unwrap_or_else(|| "UTC".into()))
}

/// `?period=` (default `30d`; `custom` with `from`/`to`) and any number of `?f=dimension:value`.
pub async fn parse(req: &Request, env: &Env, c: &Caller) -> Result<StatsRequest, Failure> {
    let pairs = query_pairs(req)?;
    let site = c.site().to_string();
    let tz = time_zone(&site_timezone(env, &site).await?)?;
    let preset =
        query_value(&pairs, "period").unwrap_or(if query_value(&pairs, "from").is_some() {
            "custom"
        } else {
            "30d"
        });
    let period = Period::resolve(
        preset,
        query_value(&pairs, "from"),
        query_value(&pairs, "to"),
        now_ms(),
        tz,
    )?;
    let filters = Filter::parse_all(
        pairs
            .iter()
            .filter(|(k, _)| k == "f")
            .map(|(_, v)| v.as_str()),
    )?;
    Ok(StatsRequest {
        site,
        period,
        filters,
        pairs,
    })
}

pub async fn rows<T: DeserializeOwned>(env: &Env, sql: &Sql) -> Result<Vec<T>, Failure> {
    Ok(statement(&d1(env)?, &sql.text, &sql.binds)?
        .all()
        .await?
        .results()?)
}

pub async fn one<T: DeserializeOwned + Default>(env: &Env, sql: &Sql) -> Result<T, Failure> {
    Ok(statement(&d1(env)?, &sql.text, &sql.binds)?
        .first(None)
        .await?
        .unwrap_or_default())
}

async fn series(env: &Env, r: &StatsRequest) -> Result<serde_json::Value, Failure> {
    let hours: Vec<HourRow> = rows(env, &query::hourly(&r.scope())).await?;
    Ok(serde_json::json!({
        "bucket": r.period.bucket(),
        "points": bucket_series(&r.period, &hours),
    }))
}

/// `GET /api/stats/overview`: totals now and in the previous period, and the chart.
pub async fn overview(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let previous = r.period.previous();
    let now: MetricsRow = one(env, &query::totals(&r.scope())).await?;
    let before: MetricsRow = one(env, &query::totals(&r.scope_of(&previous))).await?;
    json(
        200,
        &serde_json::json!({
            "range": r.period.describe(),
            "filters": r.filters.iter().map(analytics_core::stats::filter::to_param).collect::<Vec<_>>(),
            "totals": now.to_json(),
            "previous": { "range": previous.describe(), "totals": before.to_json() },
            "series": series(env, &r).await?,
        }),
    )
}

pub async fn totals(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let now: MetricsRow = one(env, &query::totals(&r.scope())).await?;
    json(200, &now.to_json())
}

pub async fn timeseries(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    json(200, &series(env, &r).await?)
}

/// `GET /api/stats/pages`: the top pages as the skeleton dashboard showed them.
pub async fn pages(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let rows: Vec<MetricsRow> =
        rows(env, &query::breakdown(&r.scope(), "page", r.limit(10))).await?;
    let pages: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({ "path": r.value, "pageviews": r.pageviews, "visitors": r.visitors }))
        .collect();
    json(200, &serde_json::json!({ "pages": pages }))
}

/// Columns of a breakdown CSV.
const BREAKDOWN_CSV_COLUMNS: [&str; 9] = [
    "value",
    "visitors",
    "visits",
    "pageviews",
    "bounce_rate",
    "visit_duration_s",
    "engaged_s",
    "events",
    "share_of_visitors",
];

/// `GET /api/stats/breakdown?dimension=…[&format=csv]`.
pub async fn breakdown(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let dimension = query::check_dimension(r.value("dimension").unwrap_or_default())?;
    let rows: Vec<MetricsRow> =
        rows(env, &query::breakdown(&r.scope(), dimension, r.limit(10))).await?;
    let total: MetricsRow = one(env, &query::totals(&r.scope())).await?;
    let share = |m: &MetricsRow| {
        if total.visitors > 0 {
            (m.visitors as f64 * 1000.0 / total.visitors as f64).round() / 10.0
        } else {
            0.0
        }
    };
    match r.value("format") {
        Some("csv") => {
            let mut body = csv::line(BREAKDOWN_CSV_COLUMNS);
            for m in &rows {
                let j = m.to_json();
                body.push_str(&csv::line([
                    m.value.clone(),
                    m.visitors.to_string(),
                    m.visits.to_string(),
                    m.pageviews.to_string(),
                    j["bounce_rate"].to_string(),
                    j["visit_duration_s"].to_string(),
                    j["engaged_s"].to_string(),
                    m.events.to_string(),
                    share(m).to_string(),
                ]));
            }
            let name = format!(
                "vigia-{}-{dimension}-{}-{}.csv",
                r.site, r.period.from, r.period.to
            );
            csv_response(&name, body)
        }
        None | Some("json") => {
            let out: Vec<serde_json::Value> = rows
                .iter()
                .map(|m| {
                    let mut j = m.to_json();
                    j["value"] = m.value.clone().into();
                    j["share_of_visitors"] = share(m).into();
                    j
                })
                .collect();
            json(
                200,
                &serde_json::json!({ "dimension": dimension, "range": r.period.describe(), "rows": out }),
            )
        }
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("format {other:?} is not json or csv"),
        )
        .into()),
    }
}

#[derive(serde::Deserialize, Default)]
struct Count {
    visitors: i64,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct LivePage {
    value: String,
    visitors: i64,
}

/// `GET /api/stats/realtime`: visitors in the last five minutes and the pages they are on.
pub async fn realtime(env: &Env, c: &Caller) -> RouteResult {
    let since = now_ms() - REALTIME_WINDOW_MS;
    let count: Count = one(env, &query::realtime_visitors(c.site(), since)).await?;
    let pages: Vec<LivePage> = rows(env, &query::realtime_pages(c.site(), since, 20)).await?;
    json(
        200,
        &serde_json::json!({ "visitors": count.visitors, "window_s": REALTIME_WINDOW_MS / 1000, "pages": pages }),
    )
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
struct BotTotals {
    events: i64,
    visitors: i64,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Counted {
    value: String,
    events: i64,
}

/// `GET /api/stats/bots`: the period's bot events (never in the other stats), why they were
/// flagged, which user-agent families sent them, and events dropped on purpose.
pub async fn bots(req: Request, env: &Env, c: &Caller) -> RouteResult {
    use analytics_core::stats::bot_stats;
    let r = parse(&req, env, c).await?;
    let (from, to) = (r.period.from_ms(), r.period.to_ms());
    let totals: BotTotals = one(env, &bot_stats::totals(&r.site, from, to)).await?;
    let reasons: Vec<Counted> = rows(env, &bot_stats::reasons(&r.site, from, to)).await?;
    let user_agents: Vec<Counted> = rows(env, &bot_stats::user_agents(&r.site, from, to)).await?;
    let (first_day, last_day) = bot_stats::utc_days(from, to);
    let dropped: Vec<Counted> =
        rows(env, &bot_stats::dropped(&r.site, &first_day, &last_day)).await?;
    json(
        200,
        &serde_json::json!({
            "range": r.period.describe(),
            "events": totals.events,
            "visitors": totals.visitors,
            "reasons": reasons,
            "user_agents": user_agents,
            "dropped": dropped,
            "dropped_events": dropped.iter().map(|d| d.events).sum::<i64>(),
        }),
    )
}
