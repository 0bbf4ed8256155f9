//! The cold path: sealing days of raw events from D1 into a site's shards, reading every store
//! of a range at once (fan-out), bulk imports, and dropping shards. The statements are the
//! core's (`store::seal` for D1, `store::shard` for a shard); this module only moves them.

use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::stats::DAY_MS;
use analytics_core::store::rollups_daily as daily;
use analytics_core::store::seal::{self, SealPosition, SealStep, ShardRow, SEAL_PAGE_EVENTS};
use analytics_core::store::shard;
use analytics_core::store::Sql;
pub use api_types::storage::Sealed;
use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::{Env, Method, RequestInit, Result};

use crate::db::{self, d1};
use crate::http::now_ms;
use crate::shard::{ShardAnswer, ShardRequest};

/// The shard binding in wrangler.toml.
const SHARDS: &str = "SHARDS";

/// Sends statements to one shard and reads its answer.
async fn call(env: &Env, name: &str, path: &str, request: &ShardRequest) -> Result<ShardAnswer> {
    let stub = env.durable_object(SHARDS)?.id_from_name(name)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(request)?.into()));
    let mut response = stub
        .fetch_with_request(worker::Request::new_with_init(
            &format!("https://shard{path}"),
            &init,
        )?)
        .await?;
    if response.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "shard {path} answered {}: {}",
            response.status_code(),
            response.text().await.unwrap_or_default()
        )));
    }
    response.json().await
}

/// Runs statements on a shard (writes: no visibility bound).
pub async fn on_shard(
    env: &Env,
    site_key: i64,
    period: &str,
    statements: Vec<Sql>,
    batch: Option<String>,
) -> Result<ShardAnswer> {
    let request = ShardRequest {
        visible_until: None,
        batch,
        statements,
    };
    call(env, &seal::shard_name(site_key, period), "/run", &request).await
}

/// A site's internal key and sealing position; `None` for no such site.
pub async fn position(env: &Env, site: &str) -> Result<Option<SealPosition>> {
    db::first(&d1(env)?, &seal::position(site)).await
}

fn rows_as<T: DeserializeOwned>(rows: Vec<Value>) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|r| serde_json::from_value(r).map_err(|e| worker::Error::RustError(e.to_string())))
        .collect()
}

/// One place a site's raw events of a range may be: D1, or a shard (its UTC month) read as of
/// the site's `sealed_until`.
#[derive(Debug, Clone, PartialEq)]
pub enum Store {
    Hot,
    Shard { name: String, visible_until: i64 },
}

/// Every store that may hold events of `[from_ms, to_ms)` for a site: its shards (oldest
/// first), then D1.
pub async fn stores(env: &Env, site: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Store>> {
    let mut all = Vec::new();
    if let Some(at) = position(env, site).await? {
        if at.sealed_until > from_ms - DAY_MS {
            let (first, last) = seal::periods_of(from_ms, to_ms.min(at.sealed_until));
            let shards: Vec<ShardRow> =
                db::all(&d1(env)?, &seal::shards_between(at.site_key, &first, &last)).await?;
            all.extend(shards.into_iter().map(|s| Store::Shard {
                name: seal::shard_name(at.site_key, &s.period),
                visible_until: at.sealed_until,
            }));
        }
    }
    all.push(Store::Hot);
    Ok(all)
}

/// Runs one read on one store. Logs the store's time and the rows it read (for the bench;
/// the month only, never the site's key).
pub async fn read<T: DeserializeOwned>(env: &Env, store: &Store, sql: &Sql) -> Result<Vec<T>> {
    let started = js_sys::Date::now();
    match store {
        Store::Hot => {
            let result = db::prepare(&d1(env)?, sql)?.all().await?;
            let read = result.meta()?.and_then(|m| m.rows_read).unwrap_or(0);
            let rows: Vec<T> = result.results()?;
            worker::console_log!(
                "fan-out d1: {:.0} ms, {} rows, {read} rows read",
                js_sys::Date::now() - started,
                rows.len()
            );
            Ok(rows)
        }
        Store::Shard {
            name,
            visible_until,
        } => {
            let request = ShardRequest {
                visible_until: Some(*visible_until),
                batch: None,
                statements: vec![sql.clone()],
            };
            let answer = call(env, name, "/run", &request).await?;
            let rows: Vec<Value> = answer.rows.into_iter().next().unwrap_or_default();
            let month = name.rsplit(':').next().unwrap_or_default();
            worker::console_log!(
                "fan-out shard {month}: {:.0} ms, {} rows, {} rows read",
                js_sys::Date::now() - started,
                rows.len(),
                answer.rows_read
            );
            rows_as(rows)
        }
    }
}

/// Runs one read on every store of `[from_ms, to_ms)` at once: `hot` on D1 and `cold` (the
/// same question in a shard's faster form, or the same statement) on each shard. One list of
/// rows per store, for the caller to merge (`stats::merge`). Each shard counts only sessions
/// that started before the site's `sealed_until`; D1 holds only later ones, so nothing counts
/// twice.
pub async fn fan_out<T: DeserializeOwned>(
    env: &Env,
    site: &str,
    (from_ms, to_ms): (i64, i64),
    hot: &Sql,
    cold: &Sql,
) -> Result<Vec<Vec<T>>> {
    let stores = stores(env, site, from_ms, to_ms).await?;
    try_join_all(stores.iter().map(|s| {
        let sql = if *s == Store::Hot { hot } else { cold };
        read::<T>(env, s, sql)
    }))
    .await
}

/// Logs a finished step; under the test setting `VIGIA_TEST_SEAL_PAUSE`, stalls there so a
/// test can kill the process at that point.
async fn reached(env: &Env, step: SealStep, day: i64) {
    worker::console_log!("seal {}: {step}", analytics_core::stats::day_of_ms(day));
    if crate::config::settings(env).test_seal_pause == Some(step) {
        worker::Delay::from(std::time::Duration::from_secs(120)).await;
    }
}

/// Seals a site's days that are ready (oldest first, at most `MAX_DAYS_PER_SEAL_RUN`), then
/// moves `sealed_until` up to the oldest day still hot, so imported history becomes visible
/// even on a site that collects nothing.
pub async fn seal_site(env: &Env, site: &str, now: i64) -> Result<Sealed> {
    let db = d1(env)?;
    let mut report = Sealed {
        site: site.to_string(),
        ..Default::default()
    };
    let Some(at) = position(env, site).await? else {
        return Ok(report);
    };
    report.sealed_until = at.sealed_until;
    loop {
        let oldest: Option<seal::Oldest> = db::first(&db, &seal::oldest_hot_event(site)).await?;
        let Some(day) = seal::day_to_seal(oldest.and_then(|o| o.ts), now) else {
            break;
        };
        if report.days as usize >= seal::MAX_DAYS_PER_SEAL_RUN {
            report.more = true;
            break;
        }
        report.events += seal_day(env, site, at.site_key, day).await?;
        report.days += 1;
        report.sealed_until = day + DAY_MS;
    }
    if !report.more {
        let oldest: Option<seal::Oldest> = db::first(&db, &seal::oldest_hot_event(site)).await?;
        let hot_from = seal::hot_from(oldest.and_then(|o| o.ts), now);
        if hot_from > report.sealed_until {
            db::run(&db, &seal::advance(at.site_key, hot_from)).await?;
            report.sealed_until = hot_from;
        }
    }
    Ok(report)
}

/// Steps 0–2 of sealing one UTC day (see `analytics_core::store::seal`).
async fn seal_day(env: &Env, site: &str, site_key: i64, day: i64) -> Result<u64> {
    let db = d1(env)?;
    let period = seal::shard_period(day);
    let mut start = vec![shard::set_site(site)];
    start.extend(shard::clear_from(day));
    on_shard(env, site_key, &period, start, None).await?;
    reached(env, SealStep::Cleared, day).await;
    let mut after: Option<(i64, String)> = None;
    let mut moved = 0u64;
    loop {
        let page: Vec<EnrichedEvent> = db::all(
            &db,
            &seal::day_page(
                site,
                day,
                after.as_ref().map(|(t, id)| (*t, id.as_str())),
                SEAL_PAGE_EVENTS,
            ),
        )
        .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.ts, last.id.clone()));
        moved += page.len() as u64;
        for part in shard::pages(&page) {
            on_shard(
                env,
                site_key,
                &period,
                shard::append(site, day, part, false),
                None,
            )
            .await?;
        }
        reached(env, SealStep::Page, day).await;
        if (page.len() as i64) < SEAL_PAGE_EVENTS {
            break;
        }
    }
    record(env, site_key, &period).await?;
    reached(env, SealStep::Copied, day).await;
    run_batch(&db, &seal::commit_day(site, site_key, day)).await?;
    reached(env, SealStep::Committed, day).await;
    Ok(moved)
}

/// Brings the registry's row for a shard up to date with the shard's own figures; answers how
/// many events the shard holds.
async fn record(env: &Env, site_key: i64, period: &str) -> Result<i64> {
    let answer = on_shard(env, site_key, period, vec![shard::stats()], None).await?;
    let bytes = answer.bytes as i64;
    let figures: Vec<shard::ShardStats> =
        rows_as(answer.rows.into_iter().next().unwrap_or_default())?;
    let f = figures.into_iter().next().unwrap_or_default();
    db::run(
        &d1(env)?,
        &seal::record_shard(site_key, period, f.events, f.sessions, bytes, now_ms()),
    )
    .await?;
    Ok(f.events)
}

/// Seals every site and builds the daily rollups that are due (the hourly cron, and
/// `POST /api/admin/seal` for the migration command).
pub async fn seal_all(env: &Env, now: i64) -> Result<Vec<Sealed>> {
    let sites = db::site_summaries(&d1(env)?, None).await?;
    let mut out = Vec::with_capacity(sites.len());
    for s in sites {
        // One site's failure (logged, retried next run) never holds up the others.
        let mut sealed = match seal_site(env, &s.id, now).await {
            Ok(sealed) => sealed,
            Err(e) => {
                worker::console_error!("sealing a site failed: {e}");
                Sealed {
                    site: s.id.clone(),
                    more: true,
                    ..Default::default()
                }
            }
        };
        let tz = analytics_core::stats::period::zone_or_utc(&s.timezone);
        match build_rollups(env, &s.id, &tz, now).await {
            Ok(more) => sealed.more |= more,
            Err(e) => {
                worker::console_error!("building a site's daily rollups failed: {e}");
                sealed.more = true;
            }
        }
        out.push(sealed);
    }
    Ok(out)
}

/// Builds a site's daily rollups that are due: collected local days that ended before
/// yesterday (from their hourly rows, or from raw events where those are gone), then imported
/// days (from the imported raw events). Answers whether more days wait (the run is bounded).
pub async fn build_rollups(
    env: &Env,
    site: &str,
    tz: &analytics_core::stats::period::TimeZone,
    now: i64,
) -> Result<bool> {
    let db = d1(env)?;
    let state: daily::BuildState = db::first(&db, &daily::build_state(site))
        .await?
        .unwrap_or_default();
    let days = daily::days_to_build(&state, tz, now);
    let mut more = days.len() >= daily::BUILD_DAYS_PER_RUN;
    for day in days {
        let batch = if day.from_raw {
            let rows = raw_day_rows(env, site, day.start_ms, day.end_ms).await?;
            daily::build_day_from_raw(site, day.start_ms, day.end_ms, rows, false)
        } else {
            daily::build_day(site, day.start_ms, day.end_ms)
        };
        run_batch(&db, &batch).await?;
    }
    let limit = daily::BUILD_DAYS_PER_RUN as i64;
    let imported: Vec<seal::ImportDay> = db::all(&db, &seal::import_days(site, limit)).await?;
    more |= imported.len() as i64 >= limit;
    for day in imported {
        let rows = raw_day_rows(env, site, day.day_start, day.day_end).await?;
        let mut batch = daily::build_day_from_raw(site, day.day_start, day.day_end, rows, true);
        batch.push(seal::import_day_done(site, day.day_start));
        run_batch(&db, &batch).await?;
    }
    Ok(more)
}

/// A local day's rollup rows computed from the raw events of every store holding them.
async fn raw_day_rows(env: &Env, site: &str, start: i64, end: i64) -> Result<Vec<daily::DailyRow>> {
    let [day, to_end, before_start] = daily::day_rows_from_raw(site, start, end);
    let stores = stores(env, site, start - DAY_MS, end).await?;
    let mut rows = Vec::new();
    for store in &stores {
        rows.extend(daily::from_raw_parts(
            read_all(env, store, &day).await?,
            read_all(env, store, &to_end).await?,
            read_all(env, store, &before_start).await?,
        ));
    }
    Ok(rows)
}

/// The rows of several statements on one store, together.
async fn read_all<T: DeserializeOwned>(env: &Env, store: &Store, sqls: &[Sql]) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for sql in sqls {
        rows.extend(read::<T>(env, store, sql).await?);
    }
    Ok(rows)
}

/// Runs statements as one D1 batch (a transaction).
async fn run_batch(db: &worker::D1Database, statements: &[Sql]) -> Result<()> {
    let prepared = statements
        .iter()
        .map(|s| db::prepare(db, s))
        .collect::<Result<Vec<_>>>()?;
    db.batch(prepared).await?;
    Ok(())
}

/// Empties a shard: its Durable Object deletes all its storage.
async fn drop_shard(env: &Env, site_key: i64, period: &str) -> Result<()> {
    let request = ShardRequest {
        visible_until: None,
        batch: None,
        statements: vec![],
    };
    call(env, &seal::shard_name(site_key, period), "/drop", &request).await?;
    Ok(())
}

/// Empties and forgets every shard of a site (site deletion).
pub async fn drop_site(env: &Env, site_key: i64) -> Result<()> {
    let db = d1(env)?;
    let shards: Vec<ShardRow> = db::all(&db, &seal::shards_of(site_key)).await?;
    for s in shards {
        drop_shard(env, site_key, &s.period).await?;
    }
    for statement in seal::forget_site(site_key) {
        db::run(&db, &statement).await?;
    }
    Ok(())
}

/// Retention in the cold shards: days (of sessions' starts) wholly before the cutoff go; a
/// shard left empty is dropped and forgotten. Imported history is kept (the owner
/// deletes it explicitly). Answers how many events went.
pub async fn enforce_retention(env: &Env, site: &str, cutoff_ms: i64) -> Result<i64> {
    let Some(at) = position(env, site).await? else {
        return Ok(0);
    };
    let db = d1(env)?;
    let cutoff_period = seal::shard_period(cutoff_ms);
    let shards: Vec<ShardRow> = db::all(&db, &seal::shards_of(at.site_key)).await?;
    let mut deleted = 0;
    for s in shards.into_iter().filter(|s| s.period <= cutoff_period) {
        on_shard(
            env,
            at.site_key,
            &s.period,
            // Whole UTC days before the cutoff: a shard deletes by day, keeping the day the
            // cutoff falls in (at most a day longer than D1's exact cut).
            shard::delete_days_before(cutoff_ms.div_euclid(DAY_MS) * DAY_MS, false),
            None,
        )
        .await?;
        let left = record(env, at.site_key, &s.period).await?;
        deleted += (s.events - left).max(0);
        if left == 0 {
            drop_shard(env, at.site_key, &s.period).await?;
            db::run(&db, &seal::forget_shard(at.site_key, &s.period)).await?;
        }
    }
    Ok(deleted)
}

/// What a bulk import of raw events did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct Imported {
    /// Events stored in the cold shards.
    pub stored: u64,
    /// Events in pages the shards had already (the same import run again).
    pub already_stored: u64,
    /// Events of sessions that started on or after the site's `sealed_until` (yesterday or
    /// today): they belong to live ingest, not to history, and were not stored.
    pub too_recent: u64,
    pub sealed_until: i64,
}

/// Stores raw events of past days straight into the site's cold shards, marked imported, in
/// pages of `shard::SHARD_PAGE_EVENTS` with a batch id each (a page sent again is stored once).
/// The bulk path the bench loads millions of events through, and the Vigia CSV import's.
pub async fn import_events(env: &Env, site: &str, events: Vec<EnrichedEvent>) -> Result<Imported> {
    let db = d1(env)?;
    let Some(at) = position(env, site).await? else {
        return Err(worker::Error::RustError("no such site".into()));
    };
    // Imported history must be visible at once, even on a site that collects nothing yet.
    let oldest: Option<seal::Oldest> = db::first(&db, &seal::oldest_hot_event(site)).await?;
    let sealed_until = seal::hot_from(oldest.and_then(|o| o.ts), now_ms()).max(at.sealed_until);
    if sealed_until > at.sealed_until {
        db::run(&db, &seal::advance(at.site_key, sealed_until)).await?;
    }
    let mut report = Imported {
        sealed_until,
        ..Default::default()
    };
    // The local days (in the site's zone) whose imported rollups are to be built.
    let tz = crate::routes::stats::site_zone(env, site).await?;
    let mut local_days: Vec<(i64, i64)> =
        events.iter().map(|e| daily::local_day(e.ts, &tz)).collect();
    local_days.sort_unstable();
    local_days.dedup();
    let (grouped, too_recent) = seal::by_session_day(events, sealed_until);
    report.too_recent = too_recent as u64;
    let mut touched: Vec<String> = Vec::new();
    for (day, list) in grouped {
        let period = seal::shard_period(day);
        for page in shard::pages(&list) {
            let answer = on_shard(
                env,
                at.site_key,
                &period,
                shard::append(site, day, page, true),
                Some(seal::batch_id(page)),
            )
            .await?;
            if answer.skipped {
                report.already_stored += page.len() as u64;
            } else {
                report.stored += page.len() as u64;
            }
        }
        if !touched.contains(&period) {
            touched.push(period);
        }
    }
    for period in touched {
        record(env, at.site_key, &period).await?;
    }
    let marks: Vec<Sql> = local_days
        .into_iter()
        .filter(|(start, _)| *start < sealed_until)
        .map(|(start, end)| seal::mark_import_day(site, start, end))
        .collect();
    if !marks.is_empty() {
        run_batch(&db, &marks).await?;
    }
    Ok(report)
}
