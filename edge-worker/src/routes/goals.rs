//! Goals (a custom event or a page) with conversion rates, and funnels (ordered steps). The
//! rules are in `analytics_core::stats::goals`, the SQL in `analytics_core::store::goals`.

use analytics_core::stats::goals::{
    check_room, funnel_steps, goal_stat, Conversions, Defined, FunnelInput, Goal, GoalInput,
    StepCount,
};
use analytics_core::stats::query::{self, RevenueRow};
use analytics_core::store::goals::{self as store, FunnelRow, GoalRow, IdRow};
use analytics_core::ApiError;
use api_types::goals::{Deleted, Funnel, FunnelStats, Funnels, GoalStats, Goals};
use worker::{Env, Request};

use super::stats::{everywhere, one, one_each, parse, rows, totals_of};
use crate::db::{self, d1};
use crate::http::{id_param, json, now_ms, query_value, read_json, Failure, RouteResult};
use crate::session::Caller;
use analytics_core::stats::merge;
use analytics_core::store::shard;

const MAX_GOAL_BODY_BYTES: usize = 16 * 1024;

async fn goals_of(env: &Env, site: &str) -> Result<Vec<GoalRow>, Failure> {
    Ok(db::all(&d1(env)?, &store::goals_of(site)).await?)
}

async fn funnels_of(env: &Env, site: &str) -> Result<Vec<FunnelRow>, Failure> {
    Ok(db::all(&d1(env)?, &store::funnels_of(site)).await?)
}

pub async fn list_goals(env: &Env, c: &Caller) -> RouteResult {
    let goals = goals_of(env, c.site()).await?;
    json(200, &Goals { goals })
}

pub async fn create_goal(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let goal = read_json::<GoalInput>(&mut req, MAX_GOAL_BODY_BYTES)
        .await?
        .check()?;
    check_room(goals_of(env, c.site()).await?.len(), Defined::Goals)?;
    let inserted: Option<IdRow> =
        db::first(&d1(env)?, &store::insert_goal(c.site(), &goal, now_ms())).await?;
    let id = inserted
        .ok_or_else(|| ApiError::new(409, "goal_exists", "this goal exists already"))?
        .id;
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
    let deleted: Option<IdRow> = db::first(&d1(env)?, &store::delete_goal(c.site(), id)).await?;
    if deleted.is_none() {
        return Err(ApiError::not_found("no such goal on this site").into());
    }
    json(200, &Deleted { deleted: id })
}

/// `GET /api/stats/goals`: each goal's unique conversions, completions, conversion rate and
/// revenue per currency (exact decimal strings; event goals only).
pub async fn goal_stats(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let total = totals_of(env, &r.scope()).await?;
    let scope = r.scope();
    let mut goals = Vec::new();
    for g in goals_of(env, c.site()).await? {
        let goal = Goal {
            kind: g.kind,
            value: g.value.clone(),
        };
        let conversions: Conversions = if scope.filters.is_empty() {
            one(env, &query::goal(&scope, &goal)).await?
        } else {
            let fast = shard::fast::goal(&scope, &goal);
            merge::goal(&one_each(
                everywhere(env, &scope, &query::goal(&scope, &goal), Some(&fast)).await?,
            ))
        };
        let revenue: Vec<RevenueRow> = match query::goal_revenue(&scope, &goal) {
            Some(sql) if scope.filters.is_empty() => rows(env, &sql).await?,
            Some(sql) => {
                let fast = shard::fast::goal_revenue(&scope, &goal);
                merge::revenue(&everywhere(env, &scope, &sql, Some(&fast)).await?)
            }
            None => Vec::new(),
        };
        goals.push(goal_stat(&g, conversions, total.visitors, &revenue));
    }
    json(
        200,
        &GoalStats {
            goals,
            visitors: total.visitors,
        },
    )
}

pub async fn list_funnels(env: &Env, c: &Caller) -> RouteResult {
    let funnels = funnels_of(env, c.site())
        .await?
        .iter()
        .map(FunnelRow::funnel)
        .collect();
    json(200, &Funnels { funnels })
}

pub async fn create_funnel(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let funnel = read_json::<FunnelInput>(&mut req, MAX_GOAL_BODY_BYTES)
        .await?
        .check()?;
    check_room(funnels_of(env, c.site()).await?.len(), Defined::Funnels)?;
    let inserted: Option<IdRow> = db::first(
        &d1(env)?,
        &store::insert_funnel(c.site(), &funnel.name, &funnel.steps, now_ms()),
    )
    .await?;
    json(
        201,
        &Funnel {
            id: inserted.map(|r| r.id).unwrap_or_default(),
            name: funnel.name,
            steps: funnel.steps,
        },
    )
}

pub async fn delete_funnel(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    let deleted: Option<IdRow> = db::first(&d1(env)?, &store::delete_funnel(c.site(), id)).await?;
    if deleted.is_none() {
        return Err(ApiError::not_found("no such funnel on this site").into());
    }
    json(200, &Deleted { deleted: id })
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
    let steps = funnel.steps()?;
    let scope = r.scope();
    let counts: Vec<StepCount> =
        merge::funnel(&everywhere(env, &scope, &query::funnel(&scope, &steps), None).await?);
    json(
        200,
        &FunnelStats {
            id: funnel.id,
            name: funnel.name,
            range: r.period.range(),
            steps: funnel_steps(&steps, &counts),
        },
    )
}
