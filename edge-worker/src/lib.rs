//! Vigia's Worker. Routes parse and check; the logic lives in `analytics_core`.

mod audit;
mod buffer;
mod config;
mod db;
mod http;
mod keys;
mod mail;
mod routes;
mod session;

pub use buffer::EventBuffer;

use analytics_core::routes::Miss;
use analytics_core::ApiError;
use http::{error_response, internal_error_response, Failure, RouteResult};
use worker::{event, Context, Env, Method, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let request_id = http::random_hex::<8>()?;
    let method = req.method();
    let path = req.path();
    let is_ingest = path == "/api/event";
    let outcome = route(req, &env, &method, &path, &request_id).await;
    let mut response = match outcome {
        Ok(resp) => resp,
        Err(Failure::Api(e)) => error_response(&e)?,
        Err(Failure::Internal(e)) => {
            worker::console_error!("{request_id} {method:?} {path}: {e}");
            internal_error_response(&request_id)?
        }
    };
    let headers = response.headers_mut();
    headers.set("X-Request-ID", &request_id)?;
    if headers.get("Cache-Control")?.is_none() {
        headers.set("Cache-Control", "no-store")?;
    }
    // CORS is closed except for ingest: browsers on other origins may send events, but never
    // read stats or change anything here.
    if is_ingest {
        headers.set("Access-Control-Allow-Origin", "*")?;
    }
    Ok(response)
}

async fn route(
    req: Request,
    env: &Env,
    method: &Method,
    path: &str,
    request_id: &str,
) -> RouteResult {
    let method_name = method.to_string();
    let (found, params) = analytics_core::routes::find(&method_name, path).map_err(|miss| {
        if miss == Miss::MethodNotAllowed {
            ApiError::new(
                405,
                "method_not_allowed",
                format!("{method_name} is not allowed on {path}"),
            )
        } else {
            ApiError::not_found(format!("no route for {method_name} {path}"))
        }
    })?;
    if !matches!(*method, Method::Get | Method::Head | Method::Options) && path != "/api/event" {
        http::check_same_origin(&req)?;
    }
    let audited = audit_action(&req, env, &found).await;
    let site_hint = params
        .iter()
        .find(|(n, _)| *n == "site")
        .map(|(_, v)| v.clone())
        .or_else(|| session::query_site(&req));
    let target = params
        .iter()
        .filter(|(n, _)| *n != "site" && *n != "token")
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (caller, result) = match session::authorize(&req, env, &found, params).await {
        Ok(c) => {
            let result = dispatch(&found, req, env, &c, request_id).await;
            (Some(c), result)
        }
        Err(e) => (None, Err(e)),
    };
    if let Some((action, origin, details)) = audited {
        let outcome = match &result {
            Ok(r) => r.status_code(),
            Err(Failure::Api(e)) => e.status,
            Err(Failure::Internal(_)) => 500,
        };
        let action = if action == "login" && outcome != 200 {
            "login_failed"
        } else {
            action
        };
        let named = ["id", "email"]
            .iter()
            .find_map(|k| details.get(*k).and_then(|v| v.as_str()))
            .or_else(|| details["hostnames"].get(0).and_then(|v| v.as_str()))
            .unwrap_or_default();
        let target = if target.is_empty() {
            named.to_string()
        } else {
            target
        };
        let site = caller.as_ref().and_then(|c| c.site.clone()).or(site_hint);
        audit::record(
            env,
            &origin,
            audit::Record {
                action,
                site: site.as_deref(),
                actor: caller.as_ref().and_then(|c| c.user.as_ref()),
                actor_email: details
                    .get("email")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default(),
                target: &target,
                outcome,
                details: &details,
            },
        )
        .await;
    }
    result
}

/// The audit entry a request will get, if any: its action, where it came from, and its body
/// (or, for exports, its query) as details. Read before the handler takes the request.
async fn audit_action(
    req: &Request,
    env: &Env,
    route: &analytics_core::routes::Route,
) -> Option<(&'static str, audit::Origin, serde_json::Value)> {
    let url = req.url().ok()?;
    let query: serde_json::Map<String, serde_json::Value> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
        .collect();
    let csv = query.get("format").and_then(|f| f.as_str()) == Some("csv");
    let action = analytics_core::audit::action_for_request(route.method, route.path, csv)?;
    let details = if matches!(route.method, "POST" | "PUT" | "PATCH") {
        match req.clone() {
            Ok(mut copy) => copy
                .text()
                .await
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(serde_json::Value::Null),
            Err(_) => serde_json::Value::Null,
        }
    } else {
        serde_json::Value::Object(query)
    };
    let details = analytics_core::audit::details_for(action, &details);
    Some((action, audit::origin(req, env), details))
}

async fn dispatch(
    found: &analytics_core::routes::Route,
    req: Request,
    env: &Env,
    c: &session::Caller,
    request_id: &str,
) -> RouteResult {
    use routes::*;
    match (found.method, found.path) {
        ("GET", "/api/sites/{site}/audit") => audit::page(req, env, c, false).await,
        ("GET", "/api/audit") => audit::page(req, env, c, true).await,
        ("GET", "/api/sites/{site}/compliance") => compliance::report(req, env, c).await,
        ("POST", "/api/activity") => activity::ingest(req, env, request_id).await,
        ("POST", "/api/sites/{site}/activity-key") => activity::rotate_key(env, c).await,
        ("GET", "/api/sites/{site}/activity") => activity::search(req, env, c).await,
        ("GET", "/api/sites/{site}/activity/sessions") => activity::sessions(env, c).await,
        ("GET", "/api/sites/{site}/activity/summary") => activity::summary(req, env, c).await,
        ("DELETE", "/api/sites/{site}/activity/users/{user}") => {
            activity::delete_user(env, c).await
        }
        ("GET", "/api/sites/{site}/reports/preview") => reports::preview(req, env, c).await,
        ("GET", "/api/sites/{site}/reports/subscription") => reports::subscription(env, c).await,
        ("PUT", "/api/sites/{site}/reports/subscription") => {
            reports::set_subscription(req, env, c).await
        }
        ("GET", "/api/sites/{site}/reports/sent") => reports::sent(env, c).await,
        ("GET", "/api/reports/unsubscribe") => reports::unsubscribe_page(req, env).await,
        ("POST", "/api/reports/unsubscribe") => reports::unsubscribe(req, env).await,
        ("GET", "/api/sites/{site}/alerts") => alerts::list(req, env, c).await,
        ("POST", "/api/event") => ingest::post_event(req, env, request_id).await,
        ("OPTIONS", "/api/event") => Ok(ingest::preflight()?),
        ("GET", "/health") => health::health(req, env).await,
        ("GET", "/api/openapi.json") => openapi(),
        ("GET", "/api/setup") => account::setup_status(req, env).await,
        ("POST", "/api/setup") => account::setup(req, env).await,
        ("POST", "/api/login") => account::login(req, env).await,
        ("GET", "/api/share/{token}") => sites::share_info(env, c).await,
        ("POST", "/api/invites/accept") => users::accept_invite(req, env).await,
        ("POST", "/api/logout") => account::logout(req, env).await,
        ("GET", "/api/me") => account::me(c),
        ("POST", "/api/me/password") => users::change_password(req, env, c).await,
        ("GET", "/api/tokens") => users::list_tokens(env, c).await,
        ("POST", "/api/tokens") => users::create_token(req, env, c).await,
        ("DELETE", "/api/tokens/{id}") => users::revoke_token(env, c).await,
        ("GET", "/api/users") => users::list(env).await,
        ("POST", "/api/users") => users::create(req, env).await,
        ("DELETE", "/api/users/{id}") => users::delete(env, c).await,
        ("GET", "/api/sites") => sites::list(env, c).await,
        ("POST", "/api/sites") => sites::create(req, env, c).await,
        ("GET", "/api/sites/{site}") => sites::get(req, env, c).await,
        ("PATCH", "/api/sites/{site}") => sites::update(req, env, c).await,
        ("DELETE", "/api/sites/{site}") => sites::delete(env, c).await,
        ("GET", "/api/sites/{site}/members") => sites::members(env, c).await,
        ("PUT", "/api/sites/{site}/members") => sites::set_member(req, env, c).await,
        ("DELETE", "/api/sites/{site}/members/{user}") => sites::remove_member(env, c).await,
        ("POST", "/api/sites/{site}/share") => sites::set_share(req, env, c).await,
        ("GET", "/api/sites/{site}/goals") => goals::list_goals(env, c).await,
        ("POST", "/api/sites/{site}/goals") => goals::create_goal(req, env, c).await,
        ("DELETE", "/api/sites/{site}/goals/{id}") => goals::delete_goal(env, c).await,
        ("GET", "/api/sites/{site}/funnels") => goals::list_funnels(env, c).await,
        ("POST", "/api/sites/{site}/funnels") => goals::create_funnel(req, env, c).await,
        ("DELETE", "/api/sites/{site}/funnels/{id}") => goals::delete_funnel(env, c).await,
        ("GET", "/api/stats/overview") => stats::overview(req, env, c).await,
        ("GET", "/api/stats/totals") => stats::totals(req, env, c).await,
        ("GET", "/api/stats/timeseries") => stats::timeseries(req, env, c).await,
        ("GET", "/api/stats/pages") => stats::pages(req, env, c).await,
        ("GET", "/api/stats/breakdown") => stats::breakdown(req, env, c).await,
        ("GET", "/api/stats/realtime") => stats::realtime(env, c).await,
        ("GET", "/api/stats/goals") => goals::goal_stats(req, env, c).await,
        ("GET", "/api/stats/funnel") => goals::funnel_stats(req, env, c).await,
        ("GET", "/api/export/events") => export::events(req, env, c).await,
        (m, p) => Err(Failure::Internal(worker::Error::RustError(format!(
            "route {m} {p} has no handler"
        )))),
    }
}

/// The API description, as committed in `edge-worker/openapi.json`.
fn openapi() -> RouteResult {
    let mut resp = Response::ok(include_str!("../openapi.json"))?;
    resp.headers_mut()
        .set("Content-Type", "application/json; charset=utf-8")?;
    resp.headers_mut()
        .set("Cache-Control", "public, max-age=300")?;
    Ok(resp)
}

/// The daily cron in wrangler.toml; every other trigger is the hourly one.
const DAILY_CRON: &str = "45 0 * * *";

/// Daily (00:45 UTC): every salt but today's is deleted once sessions that crossed midnight
/// are over, so a visitor hash can never again be recomputed for past days; then raw events
/// past each site's retention are deleted.
/// Hourly: email reports that fell due (in each site's time zone) and the suspicious-activity
/// rules. Both go by the trigger's scheduled time, which `wrangler dev --test-scheduled` lets
/// a test set (`/__scheduled?cron=…&time=…`).
#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let now = event.schedule() as i64;
    if event.cron() == DAILY_CRON {
        let keep_from = analytics_core::stats::salt_keep_from(now);
        if let Err(e) = rotate_salts(&env, &keep_from).await {
            worker::console_error!("salt rotation failed: {e}");
        }
        if let Err(e) = keys::delete_old_secrets(&env, now).await {
            worker::console_error!("fingerprint key rotation failed: {e}");
        }
        if let Err(e) = routes::compliance::enforce_retention(&env).await {
            worker::console_error!("retention failed: {e}");
        }
        if let Err(e) = prune_rate_counts(&env, now).await {
            worker::console_error!("pruning rate counts failed: {e}");
        }
        return;
    }
    if let Err(e) = routes::reports::send_due(&env, now).await {
        worker::console_error!("email reports failed: {e}");
    }
    if let Err(e) = routes::alerts::evaluate(&env, now).await {
        worker::console_error!("suspicious-activity check failed: {e}");
    }
}

/// Rate counts only matter to the limits (a minute) and the alert rules (hours).
async fn prune_rate_counts(env: &Env, now: i64) -> Result<()> {
    let cutoff = (now - analytics_core::alerts::RATE_COUNTS_KEEP_MS) as f64;
    let db = db::d1(env)?;
    for table in ["activity_rate", "rate_limited"] {
        db.prepare(format!("DELETE FROM {table} WHERE win < ?1"))
            .bind(&[cutoff.into()])?
            .run()
            .await?;
    }
    Ok(())
}

async fn rotate_salts(env: &Env, keep_from: &str) -> Result<()> {
    db::d1(env)?
        .prepare("DELETE FROM salts WHERE day < ?1")
        .bind(&[keep_from.into()])?
        .run()
        .await?;
    Ok(())
}
