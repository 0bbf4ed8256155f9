//! The daily retention job: each site's raw events, activity and rollups past its retention
//! are deleted in chunks, and each run is recorded in `purges` (the compliance report reads it).

use analytics_core::governance::compliance::{
    retention_cutoff, Purged, MAX_PURGE_CHUNKS, PURGED_TABLES, PURGE_CHUNK_ROWS,
};
use analytics_core::store::apps;
use analytics_core::store::retention::{self as sql, SiteRetention};
use worker::{D1Database, Env};

use crate::db::{self, d1};
use crate::http::now_ms;

/// Deletes every site's raw events, activity and rollups past its retention, in chunks, and the
/// counts of dropped events of days before it, and records each run.
pub async fn enforce_retention(env: &Env) -> worker::Result<()> {
    let db = d1(env)?;
    let sites: Vec<SiteRetention> = db::all(&db, &sql::site_retentions()).await?;
    let now = now_ms();
    for site in sites {
        let cutoff = retention_cutoff(now, site.retention_days);
        let mut deleted = 0i64;
        for table in PURGED_TABLES {
            let n = purge(&db, table, &site.id, cutoff).await?;
            // `purges` reports raw events; activity follows the same cutoff.
            if table == Purged::Events {
                deleted += n;
            }
        }
        deleted += crate::cold::enforce_retention(env, &site.id, cutoff).await?;
        // An app's records follow the same retention (a web site has none: one cheap query).
        purge_app_records(&db, &site.id, cutoff).await?;
        // Counts of dropped events (referrer spam) go by whole UTC days before the cutoff's.
        let first_day_kept = analytics_core::stats::day_of_ms(cutoff);
        db::run(&db, &sql::purge_dropped_events(&site.id, &first_day_kept)).await?;
        db::run(&db, &sql::record_purge(&site.id, now, cutoff, deleted)).await?;
    }
    prune_apps(&db, now).await
}

/// Deletes an app's records recorded before `cutoff`, in chunks like the other purges.
async fn purge_app_records(db: &D1Database, site: &str, cutoff: i64) -> worker::Result<()> {
    let chunk = apps::purge_records(site, cutoff, PURGE_CHUNK_ROWS);
    for _ in 0..MAX_PURGE_CHUNKS {
        let result = db::prepare(db, &chunk)?.run().await?;
        if (result.meta()?.and_then(|m| m.changes).unwrap_or(0) as i64) < PURGE_CHUNK_ROWS {
            break;
        }
    }
    Ok(())
}

/// Apps' upload rate counts of past windows, expired confirmation links, addresses never
/// confirmed (and left without a link), past confirmation-mail counts.
async fn prune_apps(db: &D1Database, now: i64) -> worker::Result<()> {
    use analytics_core::ingest::rate_limit::RATE_WINDOW_MS;
    db::run(db, &apps::prune_rate(now - RATE_WINDOW_MS)).await?;
    crate::routes::sites::batch(db, &apps::prune_registrations(now)).await
}

/// Deletes a site's rows of one table before `cutoff`, chunk by chunk, up to
/// `MAX_PURGE_CHUNKS` (the rest waits for the next day); answers how many went.
async fn purge(db: &D1Database, table: Purged, site: &str, cutoff: i64) -> worker::Result<i64> {
    let chunk = sql::purge_chunk(table, site, cutoff);
    let mut deleted = 0;
    for _ in 0..MAX_PURGE_CHUNKS {
        let result = db::prepare(db, &chunk)?.run().await?;
        let n = result.meta()?.and_then(|m| m.changes).unwrap_or(0) as i64;
        deleted += n;
        if n < PURGE_CHUNK_ROWS {
            break;
        }
    }
    Ok(deleted)
}
