//! Server-side activity: a site's backend reports what its users do (authenticated by the
//! site's secret key); auditors search it, follow an entity's trail, see active sessions and a
//! summary; admins delete one user id's activity on request.

use analytics_core::accounts::auth::token_hash;
use analytics_core::governance::activity::{
    self, Activity, Search, ACTIVE_SESSIONS_SQL, ACTIVE_SESSION_MS, SUMMARY_SQL,
};
use analytics_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::{Env, Request};

use super::stats::parse as parse_period;
use crate::db::{d1, statement};
use crate::http::{
    csv_response, header, json, now_ms, query_pairs, query_value, random_hex, read_body, Failure,
    RouteResult,
};
use crate::session::Caller;

/// Activity keys start with this, so they are easy to recognise (and to scan for in leaks).
pub const ACTIVITY_KEY_PREFIX: &str = "vsk_";

/// `POST /api/activity`: one record or a batch, authenticated by `Authorization: Bearer vsk_…`.
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
    let site: Option<String> = d1(env)?
        .prepare("SELECT id FROM sites WHERE activity_key_hash = ?1")
        .bind(&[token_hash(&key).into()])?
        .first(Some("id"))
        .await?;
    let site = site.ok_or_else(|| {
        ApiError::new(
            401,
            "bad_activity_key",
            "this activity key is not valid (rotated?)",
        )
    })?;
    let body = read_body(&mut req, activity::MAX_ACTIVITY_BODY_BYTES).await?;
    let records = activity::parse(&body)?;
    let now = now_ms();
    let db = d1(env)?;
    if let Some(limited) = rate_limit(env, &db, &site, records.len() as i64, now).await? {
        return Ok(limited);
    }
    let ip_key = crate::keys::fingerprint_key(
        env,
        analytics_core::governance::audit::FingerprintScope::Site(&site),
        now,
    )
    .await?;
    let insert = activity::insert_sql();
    let statements = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = activity::enrich(r, format!("{request_id}-{i:03}"), &site, now, &ip_key);
            statement(&db, &insert, &activity::values(&a))
        })
        .collect::<worker::Result<Vec<_>>>()?;
    db.batch(statements).await?;
    json(202, &serde_json::json!({ "stored": records.len() }))
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
    use analytics_core::ingest::rate_limit::{
        retry_after_s, window_of, RATE_WINDOW_MS, RECORD_REFUSALS_SQL,
    };
    let limit = crate::config::settings(env).activity_records_per_minute;
    let win = (window_of(now) * RATE_WINDOW_MS) as f64;
    let count: Option<f64> = db
        .prepare(activity::COUNT_ACTIVITY_SQL)
        .bind(&[site.into(), win.into(), (records as f64).into()])?
        .first(Some("records"))
        .await?;
    let count = count.unwrap_or(0.0) as i64;
    if !activity::over_limit(count, limit) {
        return Ok(None);
    }
    db.prepare(RECORD_REFUSALS_SQL)
        .bind(&[
            site.into(),
            win.into(),
            "activity".into(),
            ((count - limit) as f64).into(),
        ])?
        .run()
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

/// `POST /api/sites/{site}/activity-key`: a new key, shown once; the old one stops working.
pub async fn rotate_key(env: &Env, c: &Caller) -> RouteResult {
    let key = format!("{ACTIVITY_KEY_PREFIX}{}", random_hex::<32>()?);
    d1(env)?
        .prepare("UPDATE sites SET activity_key_hash = ?1 WHERE id = ?2")
        .bind(&[token_hash(&key).into(), c.site().into()])?
        .run()
        .await?;
    json(201, &serde_json::json!({ "key": key }))
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
    let (sql, binds) = activity::search_sql(c.site(), &s);
    let rows: Vec<Activity> = statement(&d1(env)?, &sql, &binds)?.all().await?.results()?;
    let next = (rows.len() as u32 == s.limit.clamp(1, activity::MAX_ACTIVITY_PAGE))
        .then(|| rows.last().map(|a| format!("{}:{}", a.ts, a.id)))
        .flatten();
    json(
        200,
        &serde_json::json!({ "records": rows, "next_before": next, "range": r.period.describe() }),
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
        let (sql, binds) = activity::search_sql(c.site(), &s);
        let page: Vec<Activity> = statement(&db, &sql, &binds)?.all().await?.results()?;
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

#[derive(Serialize, Deserialize)]
struct ActiveSession {
    session_id: String,
    user_id: String,
    started: f64,
    last_seen: f64,
    records: f64,
}

/// `GET /api/sites/{site}/activity/sessions`.
pub async fn sessions(env: &Env, c: &Caller) -> RouteResult {
    let rows: Vec<ActiveSession> = d1(env)?
        .prepare(ACTIVE_SESSIONS_SQL)
        .bind(&[
            c.site().into(),
            ((now_ms() - ACTIVE_SESSION_MS) as f64).into(),
        ])?
        .all()
        .await?
        .results()?;
    json(
        200,
        &serde_json::json!({ "window_s": ACTIVE_SESSION_MS / 1000, "sessions": rows }),
    )
}

#[derive(Serialize, Deserialize)]
struct SummaryRow {
    #[serde(rename = "type")]
    kind: String,
    outcome: String,
    records: f64,
    users: f64,
}

/// `GET /api/sites/{site}/activity/summary`.
pub async fn summary(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse_period(&req, env, c).await?;
    let rows: Vec<SummaryRow> = d1(env)?
        .prepare(SUMMARY_SQL)
        .bind(&[
            c.site().into(),
            (r.period.from_ms() as f64).into(),
            (r.period.to_ms() as f64).into(),
        ])?
        .all()
        .await?
        .results()?;
    json(
        200,
        &serde_json::json!({ "range": r.period.describe(), "rows": rows }),
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
    let mut statements = vec![db
        .prepare(activity::DELETE_USER_SQL)
        .bind(&[c.site().into(), user.as_str().into()])?];
    for subject in activity::alert_subjects_of(&user) {
        statements.push(db.prepare(activity::PSEUDONYMISE_ALERT_SQL).bind(&[
            c.site().into(),
            subject.into(),
            hashed.as_str().into(),
        ])?);
    }
    let results = db.batch(statements).await?;
    let deleted = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    json(
        200,
        &serde_json::json!({ "user_id": user, "deleted": deleted }),
    )
}
