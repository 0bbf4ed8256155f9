//! The compliance report. Retention itself is the daily job `jobs::retention`.

use analytics_core::governance::compliance::{to_csv, to_html, Figures};
use analytics_core::ApiError;
use serde::Deserialize;
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{csv_response, now_ms, query_pairs, query_value, static_html, RouteResult};
use crate::session::Caller;

#[derive(Deserialize)]
struct Counts {
    name: String,
    retention_days: f64,
    raw_events: f64,
    oldest_event_at: Option<f64>,
    rollup_rows: f64,
    audit_entries: f64,
    activity_records: f64,
    last_purge_at: Option<f64>,
    last_purge_deleted: Option<f64>,
    purged_total: f64,
}

#[derive(Deserialize)]
struct Deletion {
    at: f64,
    actor_email: String,
    action: String,
    target: String,
}

/// `GET /api/sites/{site}/compliance?format=html|csv`.
pub async fn report(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let site = c.site();
    let db = d1(env)?;
    let counts: Counts = db
        .prepare(
            "SELECT name, retention_days, \
             (SELECT COUNT(*) FROM events WHERE site_id = ?1) AS raw_events, \
             (SELECT MIN(ts) FROM events WHERE site_id = ?1) AS oldest_event_at, \
             (SELECT COUNT(*) FROM rollups_hourly WHERE site_id = ?1) AS rollup_rows, \
             (SELECT COUNT(*) FROM audit_log WHERE site_key = sites.site_key) AS audit_entries, \
             (SELECT COUNT(*) FROM activity WHERE site_id = ?1) AS activity_records, \
             (SELECT at FROM purges WHERE site_id = ?1 ORDER BY id DESC LIMIT 1) AS last_purge_at, \
             (SELECT events_deleted FROM purges WHERE site_id = ?1 ORDER BY id DESC LIMIT 1) AS last_purge_deleted, \
             (SELECT COALESCE(SUM(events_deleted), 0) FROM purges WHERE site_id = ?1) AS purged_total \
             FROM sites WHERE id = ?1",
        )
        .bind(&[site.into()])?
        .first(None)
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    let deletions: Vec<Deletion> = db
        .prepare(
            "SELECT at, actor_email, action, target FROM audit_log \
             WHERE site_key = (SELECT site_key FROM sites WHERE id = ?1) \
             AND (action LIKE '%delete%' OR action LIKE '%remove%' OR action LIKE '%revoke%') \
             AND outcome BETWEEN 200 AND 299 ORDER BY id DESC LIMIT 500",
        )
        .bind(&[site.into()])?
        .all()
        .await?
        .results()?;
    let figures = Figures {
        site_id: site.to_string(),
        site_name: counts.name,
        generated_at: now_ms(),
        retention_days: counts.retention_days as i64,
        raw_events: counts.raw_events as i64,
        oldest_event_at: counts.oldest_event_at.map(|t| t as i64),
        rollup_rows: counts.rollup_rows as i64,
        audit_entries: counts.audit_entries as i64,
        activity_records: counts.activity_records as i64,
        last_purge_at: counts.last_purge_at.map(|t| t as i64),
        last_purge_deleted: counts.last_purge_deleted.map(|t| t as i64),
        purged_total: counts.purged_total as i64,
        deletions: deletions
            .into_iter()
            .map(|d| {
                let what = if d.target.is_empty() {
                    d.action
                } else {
                    format!("{} ({})", d.action, d.target)
                };
                (d.at as i64, d.actor_email, what)
            })
            .collect(),
    };
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
