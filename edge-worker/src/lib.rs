//! Vigia's Worker. Routes parse and check; the logic lives in `analytics_core`.

mod buffer;
mod db;
mod http;
mod routes;
mod session;

pub use buffer::EventBuffer;

use analytics_core::ApiError;
use http::{error_response, internal_error_response, Failure, RouteResult};
use worker::{event, Context, Env, Method, Request, Response, Result};

/// Paths that exist (for 405 versus 404).
const KNOWN_PATHS: &[&str] = &[
    "/api/event",
    "/health",
    "/api/setup",
    "/api/login",
    "/api/logout",
    "/api/me",
    "/api/sites",
];

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
    headers.set("Cache-Control", "no-store")?;
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
    use routes::*;
    if *method == Method::Post && path != "/api/event" {
        http::check_same_origin(&req)?;
    }
    match (method, path) {
        (Method::Post, "/api/event") => ingest::post_event(req, env, request_id).await,
        (Method::Options, "/api/event") => Ok(ingest::preflight()?),
        (Method::Get, "/health") => health::health(req, env).await,
        (Method::Get, "/api/setup") => account::setup_status(req, env).await,
        (Method::Post, "/api/setup") => account::setup(req, env).await,
        (Method::Post, "/api/login") => account::login(req, env).await,
        (Method::Post, "/api/logout") => account::logout(req, env).await,
        (Method::Get, "/api/me") => account::me(req, env).await,
        (Method::Get, "/api/sites") => sites::list(req, env).await,
        (Method::Get, "/api/stats/totals") => stats::totals(req, env).await,
        (Method::Get, "/api/stats/timeseries") => stats::timeseries(req, env).await,
        (Method::Get, "/api/stats/pages") => stats::pages(req, env).await,
        (Method::Get, "/api/stats/breakdown") => stats::breakdown(req, env).await,
        _ if KNOWN_PATHS.contains(&path) || path.starts_with("/api/stats/") => Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("{method:?} is not allowed on {path}"),
        )
        .into()),
        _ => Err(ApiError::not_found(format!("no route for {method:?} {path}")).into()),
    }
}

/// Daily cron (00:45 UTC): every salt but today's is deleted once sessions that crossed
/// midnight are over, so a visitor hash can never again be recomputed for past days.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let keep_from = analytics_core::stats::salt_keep_from(http::now_ms());
    if let Err(e) = rotate_salts(&env, &keep_from).await {
        worker::console_error!("salt rotation failed: {e}");
    }
}

async fn rotate_salts(env: &Env, keep_from: &str) -> Result<()> {
    db::d1(env)?
        .prepare("DELETE FROM salts WHERE day < ?1")
        .bind(&[keep_from.into()])?
        .run()
        .await?;
    Ok(())
}
