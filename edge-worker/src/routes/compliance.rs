//! The compliance report. Retention itself is the daily job `jobs::retention`.

use analytics_core::governance::compliance::{to_csv, to_html, Figures};
use analytics_core::store::retention::{self as sql, Deletion};
use analytics_core::ApiError;
use worker::{Env, Request};

use crate::db::{self, d1};
use crate::http::{csv_response, now_ms, query_pairs, query_value, static_html, RouteResult};
use crate::session::Caller;

/// `GET /api/sites/{site}/compliance?format=html|csv`.
pub async fn report(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let site = c.site();
    let db = d1(env)?;
    let counts: Figures = db::first(&db, &sql::compliance_counts(site))
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    let deletions: Vec<Deletion> = db::all(&db, &sql::deletions(site)).await?;
    let figures = counts.complete(site, now_ms(), deletions);
    let pairs = query_pairs(&req)?;
    match query_value(&pairs, "format").unwrap_or("html") {
        "csv" => csv_response(&format!("vigia-{site}-compliance.csv"), to_csv(&figures)),
        "html" => static_html(to_html(&figures), false),
        other => Err(ApiError::bad_request(
            "bad_format",
            format!("format {other:?} is not html or csv"),
        )
        .into()),
    }
}
