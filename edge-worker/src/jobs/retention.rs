//! The daily retention job: each site's raw events, activity and rollups past its retention
//! are deleted in chunks, and each run is recorded in `purges` (the compliance report reads it).

use analytics_core::governance::compliance::{
    purge_sql, retention_cutoff, Purged, MAX_PURGE_CHUNKS, PURGED_TABLES, PURGE_CHUNK_ROWS,
};
use serde::Deserialize;
use worker::Env;

use crate::db::d1;
use crate::http::now_ms;

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
        db.prepare(analytics_core::ingest::dropped::PURGE_DROPPED_EVENTS_SQL)
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
