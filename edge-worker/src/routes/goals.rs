//! Goals (a custom event or a page) with conversion rates, and funnels (ordered steps).

use analytics_core::stats::query::{
    self, check_funnel, Goal, MetricsRow, RevenueRow, MAX_FUNNELS, MAX_GOALS,
};
use analytics_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::{Env, Request};

use super::stats::{one, parse, rows};
use crate::db::d1;
use crate::http::{id_param, json, now_ms, query_value, read_json, RouteResult};
use crate::session::Caller;

const MAX_GOAL_BODY_BYTES: usize = 16 * 1024;
const MAX_FUNNEL_NAME_BYTES: usize = 120;

#[derive(Serialize, Deserialize)]
struct GoalRow {
    id: i64,
    kind: String,
    value: String,
}

async fn goals_of(env: &Env, site: &str) -> worker::Result<Vec<GoalRow>> {
    d1(env)?
        .prepare("SELECT id, kind, value FROM goals WHERE site_id = ?1 ORDER BY id")
        .bind(&[site.into()])?
        .all()
        .await?
        .results()
}

pub async fn list_goals(env: &Env, c: &Caller) -> RouteResult {
    json(
        200,
        &serde_json::json!({ "goals": goals_of(env, c.site()).await? }),
    )
}

pub async fn create_goal(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let goal: Goal = read_json(&mut req, MAX_GOAL_BODY_BYTES).await?;
    goal.check()?;
    if goals_of(env, c.site()).await?.len() >= MAX_GOALS {
        return Err(ApiError::bad_request(
            "too_many_goals",
            format!("a site may have at most {MAX_GOALS} goals"),
        )
        .into());
    }
    let inserted: Option<i64> = d1(env)?
        .prepare(
            "INSERT INTO goals (site_id, kind, value, created_at) VALUES (?1, ?2, ?3, ?4) \
                  ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&[
            c.site().into(),
            goal.kind.as_str().into(),
            goal.value.as_str().into(),
            (now_ms() as f64).into(),
        ])?
        .first(Some("id"))
        .await?;
    let id =
        inserted.ok_or_else(|| ApiError::new(409, "goal_exists", "this goal exists already"))?;
    json(
        201,
        &GoalRow {
            id,
            kind: goal.kind,
            value: goal.value,
        },
    )
}

pub async fn delete_goal(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    let result = d1(env)?
        .prepare("DELETE FROM goals WHERE id = ?1 AND site_id = ?2")
        .bind(&[(id as f64).into(), c.site().into()])?
        .run()
        .await?;
    if result.meta()?.and_then(|m| m.changes).unwrap_or(0) == 0 {
        return Err(ApiError::not_found("no such goal on this site").into());
    }
    json(200, &serde_json::json!({ "deleted": id }))
}

#[derive(Deserialize, Default)]
struct Conversions {
    visitors: i64,
    conversions: i64,
}

/// `GET /api/stats/goals`: each goal's unique conversions, completions, conversion rate and
/// revenue per currency (exact decimal strings; event goals only).
pub async fn goal_stats(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let total: MetricsRow = one(env, &query::totals(&r.scope())).await?;
    let mut out = Vec::new();
    for g in goals_of(env, c.site()).await? {
        let goal = Goal {
            kind: g.kind.clone(),
            value: g.value.clone(),
        };
        let conv: Conversions = one(env, &query::goal(&r.scope(), &goal)).await?;
        let revenue: Vec<RevenueRow> = match query::goal_revenue(&r.scope(), &goal) {
            Some(sql) => rows(env, &sql).await?,
            None => Vec::new(),
        };
        let rate = if total.visitors > 0 {
            (conv.visitors as f64 * 1000.0 / total.visitors as f64).round() / 10.0
        } else {
            0.0
        };
        out.push(serde_json::json!({
            "id": g.id, "kind": g.kind, "value": g.value,
            "visitors": conv.visitors, "conversions": conv.conversions, "conversion_rate": rate,
            "revenue": revenue.iter().map(RevenueRow::to_json).collect::<Vec<_>>(),
        }));
    }
    json(
        200,
        &serde_json::json!({ "visitors": total.visitors, "goals": out }),
    )
}

#[derive(Serialize, Deserialize)]
struct FunnelRow {
    id: i64,
    name: String,
    steps: String,
}

#[derive(Deserialize)]
struct FunnelBody {
    name: String,
    steps: Vec<Goal>,
}

async fn funnels_of(env: &Env, site: &str) -> worker::Result<Vec<FunnelRow>> {
    d1(env)?
        .prepare("SELECT id, name, steps FROM funnels WHERE site_id = ?1 ORDER BY id")
        .bind(&[site.into()])?
        .all()
        .await?
        .results()
}

fn funnel_json(f: &FunnelRow) -> serde_json::Value {
    let steps: serde_json::Value = serde_json::from_str(&f.steps).unwrap_or_default();
    serde_json::json!({ "id": f.id, "name": f.name, "steps": steps })
}

pub async fn list_funnels(env: &Env, c: &Caller) -> RouteResult {
    let funnels: Vec<serde_json::Value> = funnels_of(env, c.site())
        .await?
        .iter()
        .map(funnel_json)
        .collect();
    json(200, &serde_json::json!({ "funnels": funnels }))
}

pub async fn create_funnel(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body: FunnelBody = read_json(&mut req, MAX_GOAL_BODY_BYTES).await?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > MAX_FUNNEL_NAME_BYTES {
        return Err(ApiError::bad_request(
            "bad_funnel",
            format!("a funnel needs a name of 1-{MAX_FUNNEL_NAME_BYTES} bytes"),
        )
        .into());
    }
    check_funnel(&body.steps)?;
    if funnels_of(env, c.site()).await?.len() >= MAX_FUNNELS {
        return Err(ApiError::bad_request(
            "too_many_funnels",
            format!("a site may have at most {MAX_FUNNELS} funnels"),
        )
        .into());
    }
    let steps = serde_json::to_string(&body.steps)?;
    let id: Option<i64> = d1(env)?
        .prepare("INSERT INTO funnels (site_id, name, steps, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id")
        .bind(&[c.site().into(), name.into(), steps.as_str().into(), (now_ms() as f64).into()])?
        .first(Some("id"))
        .await?;
    json(
        201,
        &funnel_json(&FunnelRow {
            id: id.unwrap_or_default(),
            name: name.into(),
            steps,
        }),
    )
}

pub async fn delete_funnel(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    let result = d1(env)?
        .prepare("DELETE FROM funnels WHERE id = ?1 AND site_id = ?2")
        .bind(&[(id as f64).into(), c.site().into()])?
        .run()
        .await?;
    if result.meta()?.and_then(|m| m.changes).unwrap_or(0) == 0 {
        return Err(ApiError::not_found("no such funnel on this site").into());
    }
    json(200, &serde_json::json!({ "deleted": id }))
}

#[derive(Deserialize)]
struct StepCount {
    step: i64,
    visits: i64,
}

/// `GET /api/stats/funnel?funnel=ID`: visits per step, conversion from the first step and
/// drop-off from the previous one.
pub async fn funnel_stats(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let id = id_param(query_value(&r.pairs, "funnel").unwrap_or_default())?;
    let funnel = funnels_of(env, c.site())
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| ApiError::not_found("no such funnel on this site"))?;
    let steps: Vec<Goal> = serde_json::from_str(&funnel.steps)?;
    let counts: Vec<StepCount> = rows(env, &query::funnel(&r.scope(), &steps)).await?;
    let first = counts.first().map(|s| s.visits).unwrap_or(0);
    let pct = |a: i64, b: i64| {
        if b > 0 {
            (a as f64 * 1000.0 / b as f64).round() / 10.0
        } else {
            0.0
        }
    };
    let mut previous = first;
    let out: Vec<serde_json::Value> = steps
        .iter()
        .zip(&counts)
        .map(|(step, count)| {
            let v = serde_json::json!({
                "step": count.step, "kind": step.kind, "value": step.value, "visits": count.visits,
                "conversion_rate": pct(count.visits, first),
                "dropoff": previous - count.visits,
                "dropoff_rate": 100.0 - pct(count.visits, previous).min(100.0),
            });
            previous = count.visits;
            v
        })
        .collect();
    json(
        200,
        &serde_json::json!({ "id": funnel.id, "name": funnel.name, "range": r.period.describe(), "steps": out }),
    )
}
