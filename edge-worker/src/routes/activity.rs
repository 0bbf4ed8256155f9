//! Server-side activity: a site's backend reports what its users do (authenticated by the
//! site's secret key); auditors search it, follow an entity's trail, see active sessions and a
//! summary; admins delete one user id's activity on request.

use analytics_core::accounts::auth::token_hash;
use analytics_core::governance::activity::{self, Activity, ACTIVE_SESSION_MS};
use analytics_core::store::activity::{
    self as sql, ActiveSession, RecordCount, Search, SiteId, SummaryRow,
};
use analytics_core::store::metering;
use analytics_core::ApiError;
use api_types::activity::{
    ActiveSessions, ActivityKey, ActivityPage, ActivitySummary, Stored, UserErased,
};
use worker::{Env, Request};

use super::stats::parse as parse_period;
use crate::db::{self, d1};
use crate::http::{
    csv_response, header, json, now_ms, query_pairs, query_value, random_hex, read_body, Failure,
    RouteResult,
};
use crate::session::Caller;

/// Activity keys start with this, so they are easy to recognise (and to scan for in leaks).
pub const ACTIVITY_KEY_PREFIX: &str = "vsk_";

/// `POST /api/activity`: one record or a batch, authenticated by `Authorization: Bearer vsk_…`.
/// Metered (docs/metering.md) once the key names a site: the records of a bad body or a
/// rate-limited one are received and refused, stored ones received and stored; the metering
/// statement rides in the request's own D1 batch (one more D1 write only for a bad body).
pub async fn ingest(mut req: Request, env: &Env, request_id: &str) -> RouteResult {
    let key = header(&req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|k| k.trim().to_string()))
        .filter(|k| k.starts_with(ACTIVITY_KEY_PREFIX))
        .ok_or_else(|| {
            ApiError::new(
                401,
                "bad_activity_key",
                "send the site's activity key as Authorization: Bearer vsk_…",
            )
        })?;
    let site: Option<SiteId> = db::first(&d1(env)?, &sql::site_of_key(&token_hash(&key))).await?;
    let site = site.map(|s| s.id).ok_or_else(|| {
        ApiError::new(
            401,
            "bad_activity_key",
            "this activity key is not valid (rotated?)",
        )
    })?;
    let body = read_body(&mut req, activity::MAX_ACTIVITY_BODY_BYTES).await?;
    let now = now_ms();
    let db = d1(env)?;
    let records = match activity::parse(&body) {
        Ok(records) => records,
        Err(bad) => {
            let sent = metering::activity_records_sent(&body);
            let meter = meter_sql(&site, now, sent, 0, sent);
            if sent > 0 {
                if let Err(e) = db::run(&db, &meter).await {
                    worker::console_error!("metering counts not recorded: {e}");
                }
            }
            return Err(bad.into());
        }
    };
    let n = records.len() as i64;
    if let Some(limited) = rate_limit(env, &db, &site, n, now).await? {
        return Ok(limited);
    }
    let ip_key = crate::keys::fingerprint_key(
        env,
        analytics_core::governance::audit::FingerprintScope::Site(&site),
        now,
    )
    .await?;
    let statements = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = activity::enrich(r, format!("{request_id}-{i:03}"), &site, now, &ip_key);
            db::prepare(&db, &sql::insert(&a))
        })
        .chain([db::prepare(&db, &meter_sql(&site, now, n, n, 0))])
        .collect::<worker::Result<Vec<_>>>()?;
    db.batch(statements).await?;
    json(
        202,
        &Stored {
            stored: records.len() as i64,
        },
    )
}

/// Counts the records against the site's minute; over the limit, a 429 with `Retry-After`
/// (and the refusal recorded for the suspicious-activity rules).
async fn rate_limit(
    env: &Env,
    db: &worker::D1Database,
    site: &str,
    records: i64,
    now: i64,
) -> Result<Option<worker::Response>, Failure> {
    use analytics_core::ingest::rate_limit::{retry_after_s, window_of, RATE_WINDOW_MS};
    let limit = crate::config::settings(env).activity_records_per_minute;
    let win = window_of(now) * RATE_WINDOW_MS;
    let count: Option<RecordCount> = db::first(db, &sql::count_records(site, win, records)).await?;
    let count = count.map_or(0, |c| c.records);
    if !activity::over_limit(count, limit) {
        return Ok(None);
    }
    db.batch(vec![
        db::prepare(db, &sql::record_refusals(site, win, count - limit))?,
        db::prepare(db, &meter_sql(site, now, records, 0, records))?,
    ])
    .await?;
    let retry = retry_after_s(now);
    let mut resp = crate::http::error_response(&ApiError::new(
        429,
        "rate_limited",
        format!(
            "this site reported more than {limit} activity records this minute; retry in {retry} s"
        ),
    ))?;
    resp.headers_mut().set("Retry-After", &retry.to_string())?;
    Ok(Some(resp))
}

/// The site's activity metering for the month of `now`.
fn meter_sql(
    site: &str,
    now: i64,
    received: i64,
    stored: i64,
    refused: i64,
) -> analytics_core::store::Sql {
    metering::add_for_site_id(
        site,
        &metering::month_of(now),
        metering::MeterSource::Activity,
        metering::MeterDelta {
            received,
            stored,
            refused,
        },
    )
}

/// `POST /api/sites/{site}/activity-key`: a new key, shown once; the old one stops working.
pub async fn rotate_key(env: &Env, c: &Caller) -> RouteResult {
    let key = format!("{ACTIVITY_KEY_PREFIX}{}", random_hex::<32>()?);
    db::run(&d1(env)?, &sql::set_key(c.site(), &token_hash(&key))).await?;
    json(201, &ActivityKey { key })
}

/// `GET /api/sites/{site}/activity`: search, newest first, keyset-paged.
pub async fn search(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse_period(&req, env, c).await?;
    let pairs = query_pairs(&req)?;
    let text = |name: &str| {
        query_value(&pairs, name)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let before = text("before").and_then(|b| {
        let (ts, id) = b.split_once(':')?;
        Some((ts.parse().ok()?, id.to_string()))
    });
    let s = Search {
        user_id: text("user_id"),
        session_id: text("session_id"),
        kind: text("type"),
        entity_type: text("entity_type"),
        entity_id: text("entity_id"),
        outcome: text("outcome"),
        from_ms: r.period.from_ms(),
        to_ms: r.period.to_ms(),
        before,
        limit: query_value(&pairs, "limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(50),
    };
    if query_value(&pairs, "format") == Some("csv") {
        return export_csv(env, c, s, &r.period).await;
    }
    let rows: Vec<Activity> = db::all(&d1(env)?, &sql::search(c.site(), &s)).await?;
    let next_before = (rows.len() as u32 == s.limit.clamp(1, activity::MAX_ACTIVITY_PAGE))
        .then(|| rows.last().map(|a| format!("{}:{}", a.ts, a.id)))
        .flatten();
    json(
        200,
        &ActivityPage {
            records: rows,
            next_before,
            range: r.period.describe(),
        },
    )
}

/// The whole search as CSV, read in keyset pages, bounded at `MAX_ACTIVITY_EXPORT_ROWS`.
async fn export_csv(
    env: &Env,
    c: &Caller,
    mut s: Search,
    period: &analytics_core::stats::period::Period,
) -> RouteResult {
    let db = d1(env)?;
    let mut body = activity::csv_header();
    let mut rows = 0;
    s.limit = activity::MAX_ACTIVITY_PAGE;
    while rows < activity::MAX_ACTIVITY_EXPORT_ROWS {
        let page: Vec<Activity> = db::all(&db, &sql::search(c.site(), &s)).await?;
        for a in &page {
            body.push_str(&activity::csv_line(a));
        }
        rows += page.len();
        match page.last() {
            Some(last) if page.len() as u32 == s.limit => {
                s.before = Some((last.ts, last.id.clone()))
            }
            _ => break,
        }
    }
    csv_response(
        &format!(
            "vigia-{}-activity-{}-{}.csv",
            c.site(),
            period.from,
            period.to
        ),
        body,
    )
}

/// `GET /api/sites/{site}/activity/sessions`.
pub async fn sessions(env: &Env, c: &Caller) -> RouteResult {
    let since = now_ms() - ACTIVE_SESSION_MS;
    let sessions: Vec<ActiveSession> =
        db::all(&d1(env)?, &sql::active_sessions(c.site(), since)).await?;
    json(
        200,
        &ActiveSessions {
            window_s: ACTIVE_SESSION_MS / 1000,
            sessions,
        },
    )
}

/// `GET /api/sites/{site}/activity/summary`.
pub async fn summary(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse_period(&req, env, c).await?;
    let (from, to) = (r.period.from_ms(), r.period.to_ms());
    let rows: Vec<SummaryRow> = db::all(&d1(env)?, &sql::summary(c.site(), from, to)).await?;
    json(
        200,
        &ActivitySummary {
            range: r.period.describe(),
            rows,
        },
    )
}

/// `DELETE /api/sites/{site}/activity/users/{user}`: every record of one user id (the path
/// segment decoded: ids with a space, `/`, `@` or non-ASCII letters arrive percent-encoded).
/// Alerts that named the id keep it only as its keyed hash from now on; the audit entry of
/// the erasure holds that hash too, never the id.
pub async fn delete_user(env: &Env, c: &Caller) -> RouteResult {
    let user = activity::decode_user_id(c.param("user"))?;
    let db = d1(env)?;
    let hashed = format!(
        "user {}",
        crate::audit::pseudonym(env, c.site(), &user).await?
    );
    let mut statements = vec![db::prepare(&db, &sql::delete_user(c.site(), &user))?];
    for subject in activity::alert_subjects_of(&user) {
        statements.push(db::prepare(
            &db,
            &sql::pseudonymise_alert(c.site(), &subject, &hashed),
        )?);
    }
    let results = db.batch(statements).await?;
    let deleted = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    json(
        200,
        &UserErased {
            user_id: user,
            deleted: deleted as i64,
        },
    )
}
