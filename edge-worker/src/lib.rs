//! Vigia's Worker. Routes parse and check; the logic lives in `analytics_core`.

mod audit;
mod buffer;
mod cold;
mod config;
mod db;
mod http;
mod jobs;
mod kdf;
mod keys;
mod mail;
mod routes;
mod session;
mod shard;

pub use buffer::EventBuffer;
pub use shard::EventShard;

use analytics_core::governance::audit as governance;
use analytics_core::routes::{AuditAction, Miss, Operation, Params, Route};
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
    if found.method.changes_state() && found.operation != Operation::EventIngest {
        http::check_same_origin(&req)?;
    }
    match audit_plan(&req, env, found) {
        Some(plan) => audited(req, env, found, params, plan, request_id).await,
        None => {
            // Not an audited call: authorise and answer.
            let c = session::authorize(&req, env, found, params).await?;
            dispatch(found.operation, req, env, &c, request_id).await
        }
    }
}

/// The audit entry a call will get: the action its route names for the format asked, where
/// the call came from, and its query (an export's details). Nothing of the body is read here.
struct AuditPlan {
    action: AuditAction,
    origin: audit::Origin,
    query: Value,
}

fn audit_plan(req: &Request, env: &Env, route: &Route) -> Option<AuditPlan> {
    let url = req.url().ok()?;
    let query: serde_json::Map<String, Value> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
        .collect();
    let csv = query.get("format").and_then(|f| f.as_str()) == Some("csv");
    let action = route.audit.action(csv)?;
    Some(AuditPlan {
        action,
        origin: audit::origin(req, env),
        query: Value::Object(query),
    })
}

/// What an audited call came to: who was authorised (if anyone), the site's key, the body it
/// sent, the unsubscribe link's signer, and the answer.
struct Call {
    caller: Option<session::Caller>,
    site_key: Option<i64>,
    body: Value,
    link: Option<(String, i64)>,
    result: RouteResult,
}

/// The audited path: authorise, read the body, dispatch, name the actor, record.
async fn audited(
    req: Request,
    env: &Env,
    found: &Route,
    params: Params,
    plan: AuditPlan,
    request_id: &str,
) -> RouteResult {
    let route_params = params.clone();
    let mut call = authorised_call(req, env, found, params, plan.action, request_id).await;
    let outcome = match &call.result {
        Ok(r) => r.status_code(),
        Err(Failure::Api(e)) => e.status,
        Err(Failure::Internal(_)) => 500,
    };
    let action = governance::recorded_action(plan.action, outcome);
    let signed_in = signed_in_user(env, &call).await;
    if call.link.is_some() && signed_in.is_none() {
        // A link that did not work files nothing under its site.
        if let Some(c) = call.caller.as_mut() {
            c.site = None;
        }
        call.site_key = None;
    }
    let actor = call
        .caller
        .as_ref()
        .and_then(|c| c.user.as_ref())
        .or(signed_in.as_ref());
    // Only a site the caller was authorised for (set by `authorize`) files the entry there.
    let site = call.caller.as_ref().and_then(|c| c.site.clone());
    // An upload's entry keeps its query (an import's format and table), never the file.
    let upload = matches!(found.body, analytics_core::routes::Body::Upload(_));
    let raw = if found.method.has_body() && !upload {
        call.body.clone()
    } else {
        plan.query
    };
    let (target, details) = describe(
        env,
        action,
        site.as_deref(),
        actor.is_some(),
        route_params,
        &call.body,
        &raw,
    )
    .await;
    audit::record(
        env,
        &plan.origin,
        audit::Record {
            action,
            site: site.as_deref().map(|s| (s, call.site_key)),
            actor,
            target: &target,
            outcome,
            details: &details,
        },
    )
    .await;
    call.result
}

/// Authorises the call and, if allowed, reads its body and runs its handler.
async fn authorised_call(
    req: Request,
    env: &Env,
    found: &Route,
    params: Params,
    action: AuditAction,
    request_id: &str,
) -> Call {
    let mut c = match session::authorize(&req, env, found, params).await {
        Ok(c) => c,
        Err(e) => {
            // Refused before the handler: the entry names the logged-in user if there is one,
            // but never under the site the request named (the caller may not act on it).
            let user = session::current_user(&req, env).await.ok().flatten();
            let caller = user.map(|u| session::Caller {
                user: Some(u),
                ..Default::default()
            });
            return Call {
                caller,
                site_key: None,
                body: Value::Null,
                link: None,
                result: Err(e),
            };
        }
    };
    // An unsubscribe link authenticates its signer for their own subscription on one site:
    // checked here (before the handler takes the request) to name them.
    let link = if action == AuditAction::ReportUnsubscribe {
        routes::reports::link_signer(&req, env).await
    } else {
        None
    };
    if let Some((site, _)) = &link {
        c.site = Some(site.clone());
    }
    // The public app routes (an app key, a confirmation token, a usage report's link) act on
    // one app: their entries go to its log too.
    if let Some(app) = routes::apps::audit_site(&req, env, action).await {
        c.site = Some(app);
    }
    // The site's key is read before the handler runs: a deleted site has none after.
    let site_key = match &c.site {
        Some(s) => audit::site_key(env, s).await.ok().flatten(),
        None => None,
    };
    // The body is size-checked before any of it is read or kept; a body too big for every
    // audited route is refused here, before the handler.
    // An upload (CSV, NDJSON) is the handler's to bound and read; the audit keeps its query.
    let upload = matches!(found.body, analytics_core::routes::Body::Upload(_));
    let audited = if upload {
        Ok(Value::Null)
    } else {
        audited_body(&req, found.method).await
    };
    let (body, result) = match audited {
        Ok(body) => (
            body,
            dispatch(found.operation, req, env, &c, request_id).await,
        ),
        Err(e) => (Value::Null, Err(e)),
    };
    Call {
        caller: Some(c),
        site_key,
        body,
        link,
        result,
    }
}

/// A public route that signed someone in (login, an accepted invitation, an unsubscribe link)
/// names them by the session it opened or the link's signature, never by what the body claimed.
async fn signed_in_user(env: &Env, call: &Call) -> Option<session::User> {
    match (&call.caller, &call.result, &call.link) {
        (Some(c), Ok(_), Some((_, user))) if c.user.is_none() => {
            audit::user_by_id(env, *user).await.ok().flatten()
        }
        (Some(c), Ok(resp), None) if c.user.is_none() => session_opened(env, resp).await,
        _ => None,
    }
}

/// The entry's target and details. A backend user id (an erasure's path, an activity
/// search's filters) is kept only as its keyed hash; an unauthenticated call keeps no body,
/// and of a login only the attempted email, truncated, as the target.
async fn describe(
    env: &Env,
    action: AuditAction,
    site: Option<&str>,
    authenticated: bool,
    mut params: Params,
    body: &Value,
    raw: &Value,
) -> (String, Value) {
    let subject_key = if governance::names_backend_user(action) {
        audit::subject_key(env).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let site = site.unwrap_or_default();
    let pseudonym = |id: &str| governance::user_pseudonym(&subject_key, site, id);
    if action == AuditAction::UserDataDelete {
        for (_, value) in params.iter_mut().filter(|(n, _)| *n == "user") {
            if let Ok(id) = analytics_core::governance::activity::decode_user_id(value) {
                *value = id;
            }
        }
    }
    let mut target = governance::target_for(action, &params, pseudonym);
    let details = if authenticated {
        governance::details_for(action, raw, pseudonym)
    } else {
        Value::Object(Default::default())
    };
    if target.is_empty() {
        let named = if authenticated {
            ["id", "email"]
                .iter()
                .find_map(|k| body.get(*k).and_then(|v| v.as_str()))
                .or_else(|| body["hostnames"].get(0).and_then(|v| v.as_str()))
                .map(String::from)
        } else {
            body.get("email")
                .and_then(|v| v.as_str())
                .map(governance::truncated_email)
        };
        target = named.unwrap_or_default();
    }
    (target, details)
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
    session::session_user(env, token).await.ok().flatten()
}

/// The body of an audited request that carries one, read from a copy once its size is known
/// to be within `MAX_AUDITED_BODY_BYTES` (by Content-Length first, then while streaming, so a
/// chunked flood is cut off too). Not JSON: `Null`. Too big: 413 before anything is kept.
async fn audited_body(
    req: &Request,
    method: analytics_core::routes::Method,
) -> Result<Value, Failure> {
    use analytics_core::governance::audit::MAX_AUDITED_BODY_BYTES as MAX;
    use futures_util::StreamExt;
    if !method.has_body() {
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

/// Runs the operation's handler. Every operation has its arm: a route added to the table
/// without a handler does not compile.
async fn dispatch(
    operation: Operation,
    req: Request,
    env: &Env,
    c: &session::Caller,
    request_id: &str,
) -> RouteResult {
    use crate::routes::*;
    use Operation as Op;
    match operation {
        Op::SiteAudit => audit::page(req, env, c, false).await,
        Op::InstanceAudit => audit::page(req, env, c, true).await,
        Op::Compliance => compliance::report(req, env, c).await,
        Op::ActivityIngest => activity::ingest(req, env, request_id).await,
        Op::ActivityKeyRotate => activity::rotate_key(env, c).await,
        Op::ActivitySearch => activity::search(req, env, c).await,
        Op::ActivitySessions => activity::sessions(env, c).await,
        Op::ActivitySummary => activity::summary(req, env, c).await,
        Op::ActivityUserDelete => activity::delete_user(env, c).await,
        Op::ReportPreview => reports::preview(req, env, c).await,
        Op::ReportSubscription => reports::subscription(env, c).await,
        Op::ReportSubscriptionSet => reports::set_subscription(req, env, c).await,
        Op::ReportsSent => reports::sent(env, c).await,
        Op::ReportUnsubscribePage => reports::unsubscribe_page(req, env).await,
        Op::ReportUnsubscribe => reports::unsubscribe(req, env).await,
        Op::SiteAlerts => alerts::list(req, env, c).await,
        Op::InstanceAlerts => alerts::list_instance(req, env).await,
        Op::EventIngest => ingest::post_event(req, env, request_id).await,
        Op::EventPreflight => Ok(ingest::preflight()?),
        Op::Health => health::health(req, env).await,
        Op::OpenApi => openapi(),
        Op::SetupStatus => account::setup_status(req, env).await,
        Op::Setup => account::setup(req, env).await,
        Op::Login => account::login(req, env).await,
        Op::ShareInfo => sites::share_info(req, env, c).await,
        Op::InviteAccept => users::accept_invite(req, env).await,
        Op::Logout => account::logout(req, env).await,
        Op::Me => account::me(c),
        Op::PasswordChange => users::change_password(req, env, c).await,
        Op::MyInvitations => users::my_invitations(env, c).await,
        Op::MyInvitationAccept => users::accept_invitation(env, c).await,
        Op::MyInvitationDecline => users::decline_invitation(env, c).await,
        Op::TokensList => users::list_tokens(env, c).await,
        Op::TokenCreate => users::create_token(req, env, c).await,
        Op::TokenRevoke => users::revoke_token(env, c).await,
        Op::UsersList => users::list(env).await,
        Op::StorageStatus => routes::storage::status(env).await,
        Op::StorageSeal => routes::storage::seal(env).await,
        Op::EventsImport => routes::storage::import_events(req, env, c).await,
        Op::UserCreate => users::create(req, env).await,
        Op::UserDelete => users::delete(env, c).await,
        Op::SitesList => sites::list(env, c).await,
        Op::SiteCreate => sites::create(req, env, c).await,
        Op::SiteGet => sites::get(req, env, c).await,
        Op::SiteUpdate => sites::update(req, env, c).await,
        Op::SiteDelete => sites::delete(env, c).await,
        Op::SiteMembersList => sites::members(env, c).await,
        Op::SiteMemberSet => sites::set_member(req, env, c).await,
        Op::SiteMemberRemove => sites::remove_member(env, c).await,
        Op::SiteShareSet => sites::set_share(req, env, c).await,
        Op::GoalsList => goals::list_goals(env, c).await,
        Op::GoalCreate => goals::create_goal(req, env, c).await,
        Op::GoalDelete => goals::delete_goal(env, c).await,
        Op::FunnelsList => goals::list_funnels(env, c).await,
        Op::FunnelCreate => goals::create_funnel(req, env, c).await,
        Op::FunnelDelete => goals::delete_funnel(env, c).await,
        Op::StatsOverview => stats::overview(req, env, c).await,
        Op::StatsTotals => stats::totals(req, env, c).await,
        Op::StatsTimeseries => stats::timeseries(req, env, c).await,
        Op::StatsPages => stats::pages(req, env, c).await,
        Op::StatsBreakdown => stats::breakdown(req, env, c).await,
        Op::StatsRealtime => stats::realtime(env, c).await,
        Op::StatsGoals => goals::goal_stats(req, env, c).await,
        Op::StatsFunnel => goals::funnel_stats(req, env, c).await,
        Op::StatsBots => stats::bots(req, env, c).await,
        Op::ExportEvents => export::events(req, env, c).await,
        Op::SiteImport => import::import(req, env, c).await,
        Op::AppBatch => apps::batch(req, env, request_id).await,
        Op::AppEmail => apps::email(req, env).await,
        Op::AppErase => apps::erase(req, env).await,
        Op::AppConfirmPage => apps::confirm_page(req, env).await,
        Op::AppConfirm => apps::confirm(req, env).await,
        Op::AppKeyRotate => apps::rotate_key(env, c).await,
        Op::AppUserErase => apps::erase_user(env, c).await,
        Op::AppStats => app_stats::stats(req, env, c).await,
        Op::AppUnsubscribePage => app_stats::unsubscribe_page(req, env).await,
        Op::AppUnsubscribe => app_stats::unsubscribe(req, env).await,
        Op::MeteringInstance => metering::instance(req, env).await,
        Op::MeteringSite => metering::site(req, env, c).await,
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
