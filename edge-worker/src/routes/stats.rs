//! The stats API: overview (totals, previous period, chart), breakdowns (JSON or CSV) and
//! realtime, for a site, a period in the site's time zone and optional filters. The SQL comes
//! from `analytics_core::stats::query`; rollups (in D1) answer unfiltered queries, raw events
//! filtered ones — read from D1 and every cold shard of the range at once, and merged
//! (`analytics_core::stats::merge`).

use analytics_core::stats::bot_stats::{self, BotTotals, Counted};
use analytics_core::stats::export::breakdown_csv;
use analytics_core::stats::filter::{to_param, Filter};
use analytics_core::stats::merge;
use analytics_core::stats::period::{bucket_series, time_zone, HourRow, Period};
use analytics_core::stats::query::{
    self, MetricsRow, Scope, Sql, TimezoneRow, VisitorsRow, REALTIME_WINDOW_MS,
};
use analytics_core::stats::MAX_BREAKDOWN_ROWS;
use analytics_core::store::shard;
use analytics_core::ApiError;
use api_types::stats::Dimension;
use api_types::stats::{
    Bots, Breakdown, LivePage, Overview, Pages, Previous, Realtime, Series, TopPage,
};
use serde::de::DeserializeOwned;
use worker::{Env, Request};

use crate::cold;
use crate::db::{self, d1};
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

/// The site's time zone's name ("UTC" when unset).
pub async fn site_timezone(env: &Env, site: &str) -> worker::Result<String> {
    let row: Option<TimezoneRow> = db::first(&d1(env)?, &query::site_timezone(site)).await?;
    Ok(row.map_or_else(|| "UTC".into(), |r| r.timezone))
}

/// The site's time zone (UTC when unset or unknown).
pub async fn site_zone(
    env: &Env,
    site: &str,
) -> worker::Result<analytics_core::stats::period::TimeZone> {
    Ok(analytics_core::stats::period::zone_or_utc(
        &site_timezone(env, site).await?,
    ))
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
    Ok(db::all(&d1(env)?, sql).await?)
}

pub async fn one<T: DeserializeOwned + Default>(env: &Env, sql: &Sql) -> Result<T, Failure> {
    Ok(db::first(&d1(env)?, sql).await?.unwrap_or_default())
}

/// Rows of a raw-event read from every store of the scope's range: `sql` on D1, and on each
/// cold shard `shard_form` (its faster form of the same question) or `sql` itself.
pub async fn everywhere<T: DeserializeOwned>(
    env: &Env,
    scope: &Scope<'_>,
    sql: &Sql,
    shard_form: Option<&Sql>,
) -> Result<Vec<Vec<T>>, Failure> {
    let range = (scope.from_ms, scope.to_ms);
    let cold = shard_form.unwrap_or(sql);
    Ok(cold::fan_out(env, scope.site, range, sql, cold).await?)
}

/// A scope's totals: from rollups without filters, else from raw events everywhere, merged.
pub async fn totals_of(env: &Env, scope: &Scope<'_>) -> Result<MetricsRow, Failure> {
    if scope.filters.is_empty() {
        return one(env, &query::totals(scope)).await;
    }
    let fast = shard::fast::totals(scope);
    let parts = everywhere(env, scope, &query::totals_raw(scope), Some(&fast)).await?;
    Ok(merge::totals(&one_each(parts)))
}

/// The one row each store answers to a single-row query (a default where a store had none).
pub fn one_each<T: Default>(parts: Vec<Vec<T>>) -> Vec<T> {
    parts
        .into_iter()
        .map(|rows| rows.into_iter().next().unwrap_or_default())
        .collect()
}

/// One dimension's top `limit` rows (rollups without filters, else raw events everywhere).
pub async fn breakdown_of(
    env: &Env,
    scope: &Scope<'_>,
    dimension: Dimension,
    limit: u32,
) -> Result<Vec<MetricsRow>, Failure> {
    if scope.filters.is_empty() || dimension == Dimension::Bots {
        return rows(env, &query::breakdown(scope, dimension, limit)).await;
    }
    let per_store = merge::SHARD_BREAKDOWN_ROWS;
    let sql = query::breakdown_part(scope, dimension, per_store);
    let fast = shard::fast::breakdown(scope, dimension, per_store);
    let parts = everywhere(env, scope, &sql, Some(&fast)).await?;
    Ok(merge::breakdown(&parts, per_store, limit).rows)
}

async fn series(env: &Env, r: &StatsRequest) -> Result<Series, Failure> {
    let scope = r.scope();
    let sql = query::hourly(&scope);
    let hours: Vec<HourRow> = if scope.filters.is_empty() {
        rows(env, &sql).await?
    } else {
        let fast = shard::fast::hourly(&scope);
        merge::hourly(&everywhere(env, &scope, &sql, Some(&fast)).await?)
    };
    Ok(Series {
        bucket: r.period.bucket(),
        points: bucket_series(&r.period, &hours),
    })
}

/// `GET /api/stats/overview`: totals now and in the previous period, and the chart.
pub async fn overview(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let previous = r.period.previous();
    let now = totals_of(env, &r.scope()).await?;
    let before = totals_of(env, &r.scope_of(&previous)).await?;
    let answer = Overview {
        filters: r.filters.iter().map(to_param).collect(),
        previous: Previous {
            range: previous.range(),
            totals: before.totals(),
        },
        range: r.period.range(),
        series: series(env, &r).await?,
        totals: now.totals(),
        imported_days: imported_days(env, &r).await?,
    };
    json(200, &answer)
}

/// Days of the period whose figures come from an import (`analytics_core::import`).
async fn imported_days(env: &Env, r: &StatsRequest) -> Result<u32, Failure> {
    let row: Option<analytics_core::import::DaysRow> = db::first(
        &d1(env)?,
        &analytics_core::import::imported_days(&r.site, r.period.from_ms(), r.period.to_ms()),
    )
    .await?;
    Ok(row.map_or(0, |d| d.days.clamp(0, i64::from(u32::MAX)) as u32))
}

pub async fn totals(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let now = totals_of(env, &r.scope()).await?;
    json(200, &now.totals())
}

pub async fn timeseries(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    json(200, &series(env, &r).await?)
}

/// `GET /api/stats/pages`: the top pages as the skeleton dashboard showed them.
pub async fn pages(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let found = breakdown_of(env, &r.scope(), Dimension::Page, r.limit(10)).await?;
    let pages = found
        .into_iter()
        .map(|m| TopPage {
            pageviews: m.pageviews,
            path: m.value,
            visitors: m.visitors,
        })
        .collect();
    json(200, &Pages { pages })
}

/// `GET /api/stats/breakdown?dimension=…[&format=csv]`.
pub async fn breakdown(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let dimension = query::check_dimension(r.value("dimension").unwrap_or_default())?;
    let found = breakdown_of(env, &r.scope(), dimension, r.limit(10)).await?;
    let total = totals_of(env, &r.scope()).await?;
    let rows = found
        .iter()
        .map(|m| m.breakdown_row(total.visitors))
        .collect::<Vec<_>>();
    match r.value("format") {
        Some("csv") => {
            let name = format!(
                "vigia-{}-{dimension}-{}-{}.csv",
                r.site, r.period.from, r.period.to
            );
            csv_response(&name, breakdown_csv(&rows))
        }
        None | Some("json") => json(
            200,
            &Breakdown {
                dimension,
                range: r.period.range(),
                rows,
            },
        ),
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("format {other:?} is not json or csv"),
        )
        .into()),
    }
}

/// `GET /api/stats/realtime`: visitors in the last five minutes and the pages they are on.
pub async fn realtime(env: &Env, c: &Caller) -> RouteResult {
    let since = now_ms() - REALTIME_WINDOW_MS;
    let count: VisitorsRow = one(env, &query::realtime_visitors(c.site(), since)).await?;
    let pages: Vec<LivePage> = rows(env, &query::realtime_pages(c.site(), since, 20)).await?;
    json(
        200,
        &Realtime {
            pages,
            visitors: count.visitors,
            window_s: REALTIME_WINDOW_MS / 1000,
        },
    )
}

/// `GET /api/stats/bots`: the period's bot events (never in the other stats), why they were
/// flagged, which user-agent families sent them, and events dropped on purpose.
pub async fn bots(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let (from, to) = (r.period.from_ms(), r.period.to_ms());
    let scope = r.scope();
    let totals: Vec<Vec<BotTotals>> =
        everywhere(env, &scope, &bot_stats::totals(&r.site, from, to), None).await?;
    let totals = merge::bot_totals(&one_each(totals));
    let reasons: Vec<Vec<Counted>> =
        everywhere(env, &scope, &bot_stats::reasons(&r.site, from, to), None).await?;
    let reasons = merge::counted(&reasons, bot_stats::BOT_TOP_ROWS);
    let user_agents: Vec<Vec<Counted>> = everywhere(
        env,
        &scope,
        &bot_stats::user_agents(&r.site, from, to),
        None,
    )
    .await?;
    let user_agents = merge::counted(&user_agents, bot_stats::BOT_TOP_ROWS);
    let (first_day, last_day) = bot_stats::utc_days(from, to);
    let dropped: Vec<Counted> =
        rows(env, &bot_stats::dropped(&r.site, &first_day, &last_day)).await?;
    json(
        200,
        &Bots {
            dropped_events: dropped.iter().map(|d| d.events).sum(),
            dropped,
            events: totals.events,
            range: r.period.range(),
            reasons,
            user_agents,
            visitors: totals.visitors,
        },
    )
}
