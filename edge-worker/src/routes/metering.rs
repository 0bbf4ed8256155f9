//! Metering: per site or app and UTC month, what was received, stored and refused
//! (docs/metering.md). Only reads: the counts are written by ingest's buffer flush, the activity
//! route and the app upload, each in its own D1 batch.

use analytics_core::store::metering::{self as sql, MeterRow, MeterRowSql, Metering};
use worker::{Env, Request};

use crate::db::{self, d1};
use crate::http::{json, query_pairs, query_value, RouteResult};
use crate::session::Caller;

/// The month asked for (`?month=YYYY-MM`), or every month kept.
fn month(req: &Request) -> Result<Option<String>, crate::http::Failure> {
    let pairs = query_pairs(req)?;
    Ok(sql::parse_month(query_value(&pairs, "month"))?)
}

fn answer(rows: Vec<MeterRowSql>) -> RouteResult {
    json(
        200,
        &Metering {
            rows: rows.into_iter().map(MeterRow::from).collect(),
        },
    )
}

/// `GET /api/admin/metering` (instance admins): every site and app, deleted ones too, under
/// the id they had (flagged `deleted`).
pub async fn instance(req: Request, env: &Env) -> RouteResult {
    let month = month(&req)?;
    answer(db::all(&d1(env)?, &sql::instance(month.as_deref())).await?)
}

/// `GET /api/sites/{site}/metering` (the site's admins): this site only.
pub async fn site(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let month = month(&req)?;
    answer(db::all(&d1(env)?, &sql::site(c.site(), month.as_deref())).await?)
}
