//! Retention (the daily job) and the compliance report.

use analytics_core::compliance::{
    purge_sql, retention_cutoff, to_csv, to_html, Figures, Purged, MAX_PURGE_CHUNKS, PURGED_TABLES,
    PURGE_CHUNK_ROWS,
};
use analytics_core::ApiError;
use serde::Deserialize;
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{csv_response, now_ms, query_pairs, query_value, static_html, RouteResult};
use crate::session::Caller;

#[derive(Deserialize)]
struct SiteRetention {
    id: String,
    retention_days: f64,
}

/// Deletes every site's raw events, activity and rollups past its retention, in chunks, and the
/// counts of dropped events of days before it, and records each run.
pub async fn enforce_retention(env: &Env) -> worker::Result<()> {
    let db = d1(env)?;
    let sites: Vec<SiteRetention> = db
        .prepare("SELECT id, retention_days FROM sites")
        .all()
        .await?
        .results()?;
    let now = now_ms();
    for site in sites {
        let cutoff = retention_cutoff(now, site.retention_days as i64);
        let mut deleted = 0i64;
        for table in PURGED_TABLES {
            let sql = purge_sql(table);
            let bound = table.cutoff(cutoff);
            for _ in 0..MAX_PURGE_CHUNKS {
                let result = db
                    .prepare(&sql)
                    .bind(&[
                        site.id.as_str().into(),
                        (bound as f64).into(),
                        (PURGE_CHUNK_ROWS as f64).into(),
                    ])?
                    .run()
                    .await?;
                let n = result.meta()?.and_then(|m| m.changes).unwrap_or(0) as i64;
                // `purges` reports raw events; activity follows the same cutoff.
                if table == Purged::Events {
                    deleted += n;
                }
                if n < PURGE_CHUNK_ROWS {
                    break;
                }
            }
        }
        // Counts of dropped events (referrer spam) go by whole UTC days before the cutoff's.
        db.prepare(analytics_core::dropped::PURGE_DROPPED_EVENTS_SQL)
            .bind(&[
                site.id.as_str().into(),
                analytics_core::stats::day_of_ms(cutoff).as_str().into(),
            ])?
            .run()
            .await?;
        db.prepare(
            "INSERT INTO purges (site_id, at, cutoff, events_deleted) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(&[
            site.id.as_str().into(),
            (now as f64).into(),
            (cutoff as f64).into(),
            (deleted as f64).into(),
        ])?
        .run()
        .await?;
    }
    Ok(())
}

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
