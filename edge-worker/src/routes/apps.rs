//! The app routes (docs/apps.md): an install's upload, its user's email registration and
//! confirmation, erasure, and the app key. The rules are in `analytics_core::apps`, the SQL in
//! `analytics_core::store::apps`.

use analytics_core::apps::{self, RateScope};
use analytics_core::ingest::rate_limit::{retry_after_s, window_of, RATE_WINDOW_MS};
use analytics_core::limits::app as limits;
use analytics_core::store::apps::{self as sql, AppSite, RateCount, SeenBatch, WHOLE_APP};
use analytics_core::ApiError;
use api_types::apps::{AppBatchAnswer, AppKey, SiteKind};
use worker::{D1Database, Env, Request};

use super::sites::batch as run_batch;
use crate::db::{self, d1};
use crate::http::{header, json, now_ms, random_bytes, read_body, Failure, RouteResult};
use crate::keys::{lasting_key, LastingKey};
use crate::session::Caller;

/// The app the request's `Authorization: Bearer vpk_…` names: 401 without a key or with one
/// that names nothing (a web site's id, a rotated key), 403 if its site is not an app.
async fn app_of(req: &Request, db: &D1Database) -> Result<AppSite, Failure> {
    let auth = header(req, "Authorization");
    let key = apps::app_key_of_header(auth.as_deref())?;
    let app: AppSite = db::first(db, &sql::app_by_key(key))
        .await?
        .ok_or_else(apps::bad_app_key)?;
    if app.kind != SiteKind::App {
        return Err(apps::not_an_app().into());
    }
    Ok(app)
}

/// An install id as stored: its keyed hash under the lasting `AppInstall` key.
async fn install_of(env: &Env, app: &AppSite, install_id: &str) -> worker::Result<String> {
    let key = lasting_key(env, LastingKey::AppInstall).await?;
    Ok(apps::install_hash(&key, app.site_key, install_id))
}

fn duplicate(batch_id: String, seen: SeenBatch) -> AppBatchAnswer {
    AppBatchAnswer {
        batch_id,
        duplicate: true,
        stored: seen.stored as u64,
        refused: seen.refused as u64,
        problems: Vec::new(),
    }
}

/// `POST /api/app/batch`: one upload of an install, stored once (see `store::apps::store_batch`).
pub async fn batch(mut req: Request, env: &Env, _request_id: &str) -> RouteResult {
    let db = d1(env)?;
    let app = app_of(&req, &db).await?;
    let body = read_body(&mut req, limits::MAX_BATCH_BYTES).await?;
    let now = now_ms();
    let b = apps::parse_batch(&body, now)?;
    let install = install_of(env, &app, &b.install_id).await?;
    let seen = sql::seen_batch(app.site_key, &install, &b.batch_id);
    // A batch seen before changes nothing, not even the rate counts: the agent only resends
    // one whose answer it lost.
    if let Some(first) = db::first::<SeenBatch>(&db, &seen).await? {
        return json(200, &duplicate(b.batch_id, first));
    }
    if b.sent > 0 {
        rate_limit(env, &db, &app, &install, b.sent as i64, now).await?;
    }
    match run_batch(&db, &sql::store_batch(app.site_key, &install, &b, now)).await {
        Ok(()) => json(
            200,
            &AppBatchAnswer {
                stored: b.records.len() as u64,
                refused: b.refused() as u64,
                problems: b.problems,
                batch_id: b.batch_id,
                duplicate: false,
            },
        ),
        // Two copies of one upload raced: the first stored it, the second's transaction was
        // rolled back on the batch row. Anything else is a real failure.
        Err(e) => match db::first::<SeenBatch>(&db, &seen).await? {
            Some(first) => json(200, &duplicate(b.batch_id, first)),
            None => Err(e.into()),
        },
    }
}

/// Counts the upload against the app's and the install's minute; past either limit, 429 with
/// `Retry-After` (the seconds to the window's end), metered as refused, nothing stored.
async fn rate_limit(
    env: &Env,
    db: &D1Database,
    app: &AppSite,
    install: &str,
    records: i64,
    now: i64,
) -> Result<(), Failure> {
    let settings = crate::config::settings(env);
    let win = window_of(now) * RATE_WINDOW_MS;
    let count = |who: &str| sql::count_rate(app.site_key, who, win, records);
    let whole: Option<RateCount> = db::first(db, &count(WHOLE_APP)).await?;
    let one: Option<RateCount> = db::first(db, &count(install)).await?;
    let over = if apps::over_limit(
        whole.map_or(0, |c| c.records),
        settings.app_records_per_minute,
    ) {
        Some((RateScope::App, settings.app_records_per_minute))
    } else if apps::over_limit(
        one.map_or(0, |c| c.records),
        settings.app_install_records_per_minute,
    ) {
        Some((RateScope::Install, settings.app_install_records_per_minute))
    } else {
        None
    };
    let Some((scope, limit)) = over else {
        return Ok(());
    };
    db::run(db, &sql::meter_refused(app.site_key, now, records)).await?;
    Err(apps::rate_limited(scope, limit, retry_after_s(now)).into())
}

/// `POST /api/sites/{site}/app-key`: a new key for an app; the old one stops working at once.
pub async fn rotate_key(env: &Env, c: &Caller) -> RouteResult {
    let key = apps::new_app_key(&random_bytes::<16>()?);
    let changed = super::sites::changes(&d1(env)?, &sql::set_app_key(c.site(), &key)).await?;
    if changed == 0 {
        return Err(ApiError::bad_request("not_an_app", "only an app has an app key").into());
    }
    json(200, &AppKey { app_key: key })
}

/// Not built yet (issue #17).
pub async fn email(_req: Request, _env: &Env) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "email: not built yet").into())
}

/// Not built yet (issue #17).
pub async fn erase(_req: Request, _env: &Env) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "erase: not built yet").into())
}

/// Not built yet (issue #17).
pub async fn confirm_page(_req: Request, _env: &Env) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "confirm_page: not built yet")
            .into(),
    )
}

/// Not built yet (issue #17).
pub async fn confirm(_req: Request, _env: &Env) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "confirm: not built yet")
            .into(),
    )
}

/// Not built yet (issue #17).
pub async fn erase_user(_env: &Env, _c: &Caller) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "erase_user: not built yet")
            .into(),
    )
}
