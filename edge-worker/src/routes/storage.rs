//! The storage admin routes (instance admins): where each site's raw events live, and sealing
//! on demand (the hourly job's work, for the migration command).

use analytics_core::ingest::bulk::{self, MAX_BULK_BODY_BYTES};
use analytics_core::store::seal::{self, ShardRow};
use analytics_core::ApiError;
use api_types::storage::{SealReport, Shard, SiteStorage, Storage};
use worker::{Env, Request};

use crate::cold;
use crate::db::{self, d1};
use crate::http::{json, now_ms, read_body, RouteResult};
use crate::session::Caller;

/// `GET /api/admin/storage`.
pub async fn status(env: &Env) -> RouteResult {
    let db = d1(env)?;
    let mut sites = Vec::new();
    for s in db::site_summaries(&db, None).await? {
        let Some(at) = cold::position(env, &s.id).await? else {
            continue;
        };
        let shards: Vec<ShardRow> = db::all(&db, &seal::shards_of(at.site_key)).await?;
        let hot: Option<analytics_core::store::buffer::Count> =
            db::first(&db, &seal::hot_events(&s.id)).await?;
        sites.push(SiteStorage {
            hot_events: hot.map_or(0, |c| c.n),
            sealed_until: at.sealed_until,
            shards: shards
                .into_iter()
                .map(|r| Shard {
                    bytes: r.bytes,
                    events: r.events,
                    period: r.period,
                    sessions: r.sessions,
                })
                .collect(),
            site: s.id,
        });
    }
    json(200, &Storage { sites })
}

/// `POST /api/admin/seal`.
pub async fn seal(env: &Env) -> RouteResult {
    let sites = cold::seal_all(env, now_ms()).await?;
    json(
        200,
        &SealReport {
            more: sites.iter().any(|s| s.more),
            sites,
        },
    )
}

/// `POST /api/sites/{site}/import/events`: NDJSON events of past days into the cold shards.
pub async fn import_events(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body = read_body(&mut req, MAX_BULK_BODY_BYTES).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("bad_body", "the body is not UTF-8 text"))?;
    let parsed = bulk::parse(text, c.site(), now_ms())?;
    let imported = cold::import_events(env, c.site(), parsed.events).await?;
    json(
        200,
        &EventsImported {
            already_stored: imported.already_stored,
            sealed_until: imported.sealed_until,
            skipped: parsed.skipped,
            stored: imported.stored,
            too_recent: imported.too_recent,
        },
    )
}

/// The answer of `import_events`.
#[derive(serde::Serialize)]
struct EventsImported {
    already_stored: u64,
    sealed_until: i64,
    skipped: Vec<bulk::Skipped>,
    stored: u64,
    too_recent: u64,
}
