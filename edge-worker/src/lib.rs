//! Vigia's Worker. Routes parse and check; the logic lives in `analytics_core`.

mod buffer;
mod db;
mod http;
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
    use routes::*;
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
    let caller = session::authorize(&req, env, &found, params).await?;
    let c = &caller;
    match (found.method, found.path) {
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
