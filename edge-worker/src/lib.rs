//! Vigia's Worker. Routes parse and check; the logic lives in `analytics_core`.

mod audit;
mod buffer;
mod config;
mod db;
mod http;
mod jobs;
mod kdf;
mod keys;
mod mail;
mod routes;
mod session;

pub use buffer::EventBuffer;

use analytics_core::routes::Miss;
use analytics_core::ApiError;
use http::{error_response, internal_error_response, Failure, RouteResult};
use serde_json::Value;
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
            // The route's pattern, never the path: a path can hold a user id or a token.
            let route = analytics_core::routes::find(method.as_ref(), &path)
                .map(|(r, _)| r.path)
                .unwrap_or("(no route)");
            worker::console_error!("{request_id} {method:?} {route}: {e}");
            internal_error_response(&request_id)?
        }
    };
    let headers = response.headers_mut();
    headers.set("X-Request-ID", &request_id)?;
    for (name, value) in http::SECURITY_HEADERS {
        headers.set(name, value)?;
    }
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
    let Some((action, origin, query)) = audit_action(&req, env, &found) else {
        // Not an audited route: authorise and answer.
        let c = session::authorize(&req, env, &found, params).await?;
        return dispatch(&found, req, env, &c, request_id).await;
    };
    let route_params = params.clone();
    let (mut caller, mut site_key, body, result, link) =
        match session::authorize(&req, env, &found, params).await {
            Ok(mut c) => {
                // An unsubscribe link authenticates its signer for their own subscription on one
                // site: checked here (before the handler takes the request) to name them.
                let link = if action == "report_unsubscribe" {
                    routes::reports::link_signer(&req, env).await
                } else {
                    None
                };
                if let Some((site, _)) = &link {
                    c.site = Some(site.clone());
                }
                // The site's key is read before the handler runs: a deleted site has none after.
                let site_key = match &c.site {
                    Some(s) => audit::site_key(env, s).await.ok().flatten(),
                    None => None,
                };
                // The body is size-checked before any of it is read or kept; a body too big for
                // every audited route is refused here, before the handler.
                match audited_body(&req, found.method).await {
                    Ok(body) => {
                        let result = dispatch(&found, req, env, &c, request_id).await;
                        (Some(c), site_key, body, result, link)
                    }
                    Err(e) => (Some(c), site_key, Value::Null, Err(e), link),
                }
            }
            Err(e) => {
                // Refused before the handler: the entry names the logged-in user if there is one,
                // but never under the site the request named (the caller may not act on it).
                let user = session::current_user(&req, env).await.ok().flatten();
                let caller = user.map(|u| session::Caller {
                    user: Some(u),
                    ..Default::default()
                });
                (caller, None, Value::Null, Err(e), None)
            }
        };
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
    // A public route that signed someone in (login, an accepted invitation) names them by the
    // session it opened, never by what the body claimed.
    let signed_in = match (&caller, &result, &link) {
        (Some(c), Ok(_), Some((_, user))) if c.user.is_none() => {
            audit::user_by_id(env, *user).await.ok().flatten()
        }
        (Some(c), Ok(resp), None) if c.user.is_none() => session_opened(env, resp).await,
        _ => None,
    };
    if link.is_some() && signed_in.is_none() {
        // A link that did not work files nothing under its site.
        if let Some(c) = caller.as_mut() {
            c.site = None;
        }
        site_key = None;
    }
    let actor = caller
        .as_ref()
        .and_then(|c| c.user.as_ref())
        .or(signed_in.as_ref());
    // Only a site the caller was authorised for (set by `authorize`) files the entry there.
    let site = caller.as_ref().and_then(|c| c.site.clone());
    let site_for_hash = site.clone().unwrap_or_default();
    let subject_key = if matches!(action, "user_data_delete")
        || analytics_core::governance::audit::HASHED_USER_ID_ACTIONS.contains(&action)
    {
        audit::subject_key(env).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let pseudonym = |id: &str| {
        analytics_core::governance::audit::user_pseudonym(&subject_key, &site_for_hash, id)
    };
    let mut decoded_params = route_params;
    for (name, value) in decoded_params.iter_mut() {
        if action == "user_data_delete" && *name == "user" {
            if let Ok(id) = analytics_core::governance::activity::decode_user_id(value) {
                *value = id;
            }
        }
    }
    let mut target =
        analytics_core::governance::audit::target_for(action, &decoded_params, pseudonym);
    let details = if actor.is_some() {
        let raw = if matches!(found.method, "POST" | "PUT" | "PATCH") {
            body.clone()
        } else {
            query
        };
        analytics_core::governance::audit::details_for(action, &raw, pseudonym)
    } else {
        // An unauthenticated request's body is never kept; of a login, only the attempted
        // email, truncated, as the target.
        Value::Object(Default::default())
    };
    if target.is_empty() {
        let named = if actor.is_some() {
            ["id", "email"]
                .iter()
                .find_map(|k| body.get(*k).and_then(|v| v.as_str()))
                .or_else(|| body["hostnames"].get(0).and_then(|v| v.as_str()))
                .map(String::from)
        } else {
            body.get("email")
                .and_then(|v| v.as_str())
                .map(analytics_core::governance::audit::truncated_email)
        };
        target = named.unwrap_or_default();
    }
    audit::record(
        env,
        &origin,
        audit::Record {
            action,
            site: site.as_deref().map(|s| (s, site_key)),
            actor,
            target: &target,
            outcome,
            details: &details,
        },
    )
    .await;
    result
}

/// The user whose session `resp` opened (its `Set-Cookie`), if any.
async fn session_opened(env: &Env, resp: &Response) -> Option<session::User> {
    let set = resp.headers().get("Set-Cookie").ok().flatten()?;
    let token = analytics_core::accounts::auth::cookie_value(
        &set,
        analytics_core::accounts::auth::SESSION_COOKIE,
    )?;
    if token.is_empty() {
        return None;
    }
    audit::session_user(env, token).await.ok().flatten()
}

/// The body of an audited request that carries one, read from a copy once its size is known
/// to be within `MAX_AUDITED_BODY_BYTES` (by Content-Length first, then while streaming, so a
/// chunked flood is cut off too). Not JSON: `Null`. Too big: 413 before anything is kept.
async fn audited_body(req: &Request, method: &str) -> Result<Value, Failure> {
    use analytics_core::governance::audit::MAX_AUDITED_BODY_BYTES as MAX;
    use futures_util::StreamExt;
    if !matches!(method, "POST" | "PUT" | "PATCH") {
        return Ok(Value::Null);
    }
    let too_big = |n: String| {
        Failure::Api(ApiError::new(
            413,
            "payload_too_large",
            format!("request body is {n} bytes; the limit is {MAX}"),
        ))
    };
    if let Some(len) = http::header(req, "Content-Length").and_then(|v| v.parse::<usize>().ok()) {
        if len > MAX {
            return Err(too_big(len.to_string()));
        }
    }
    let mut copy = req.clone()?;
    let Ok(mut stream) = copy.stream() else {
        return Ok(Value::Null); // no body
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::bad_request("bad_body", "request body could not be read"))?;
        if bytes.len() + chunk.len() > MAX {
            return Err(too_big(format!("more than {MAX}")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The audit entry a request will get, if any: its action, where it came from, and (for
/// exports) its query as details. Nothing of the body is read here.
fn audit_action(
    req: &Request,
    env: &Env,
    route: &analytics_core::routes::Route,
) -> Option<(&'static str, audit::Origin, Value)> {
    let url = req.url().ok()?;
    let query: serde_json::Map<String, Value> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
        .collect();
    let csv = query.get("format").and_then(|f| f.as_str()) == Some("csv");
    let action =
        analytics_core::governance::audit::action_for_request(route.method, route.path, csv)?;
    Some((action, audit::origin(req, env), Value::Object(query)))
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
        ("GET", "/api/alerts") => alerts::list_instance(req, env).await,
        ("POST", "/api/event") => ingest::post_event(req, env, request_id).await,
        ("OPTIONS", "/api/event") => Ok(ingest::preflight()?),
        ("GET", "/health") => health::health(req, env).await,
        ("GET", "/api/openapi.json") => openapi(),
        ("GET", "/api/setup") => account::setup_status(req, env).await,
        ("POST", "/api/setup") => account::setup(req, env).await,
        ("POST", "/api/login") => account::login(req, env).await,
        ("GET", "/api/share/{token}") => sites::share_info(req, env, c).await,
        ("POST", "/api/invites/accept") => users::accept_invite(req, env).await,
        ("POST", "/api/logout") => account::logout(req, env).await,
        ("GET", "/api/me") => account::me(c),
        ("POST", "/api/me/password") => users::change_password(req, env, c).await,
        ("GET", "/api/me/invitations") => users::my_invitations(env, c).await,
        ("POST", "/api/me/invitations/{id}/accept") => users::accept_invitation(env, c).await,
        ("DELETE", "/api/me/invitations/{id}") => users::decline_invitation(env, c).await,
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
        ("GET", "/api/stats/bots") => stats::bots(req, env, c).await,
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

/// The cron triggers: `jobs::run`.
#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    jobs::run(&event.cron(), event.schedule() as i64, &env).await;
}
