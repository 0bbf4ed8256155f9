//! Who is asking, and may they: the dashboard session cookie, an API token (`Authorization:
//! Bearer`) or a public link (`X-Vigia-Share`), checked against the route table in
//! `analytics_core::routes` before any handler runs.

use analytics_core::accounts::auth::{cookie_value, token_hash, SESSION_COOKIE};
use analytics_core::routes::{share_may_call, token_may_call, Access, Role, Route};
use analytics_core::store::sessions;
use analytics_core::ApiError;
use worker::{Env, Request};

use crate::db::{self, d1};
use crate::http::{header, now_ms, Failure};

pub use analytics_core::store::sessions::User;

/// The authorised caller of a route.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<User>,
    /// The site of a site route (from `{site}` or `?site=`), once access to it is checked.
    pub site: Option<String>,
    pub role: Option<Role>,
    /// Path parameters other than `site`.
    pub params: Vec<(&'static str, String)>,
}

impl Caller {
    pub fn user(&self) -> Result<&User, Failure> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("log in first").into())
    }
    pub fn site(&self) -> &str {
        self.site.as_deref().unwrap_or_default()
    }
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
    pub fn role(&self) -> Role {
        self.role.unwrap_or(Role::Viewer)
    }
}

/// The user of the request's session cookie, if it names a live session.
pub async fn current_user(req: &Request, env: &Env) -> Result<Option<User>, Failure> {
    let Some(cookies) = header(req, "Cookie") else {
        return Ok(None);
    };
    let Some(token) = cookie_value(&cookies, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(session_user(env, token).await?)
}

/// The user of a live session token (a login that just succeeded names its user this way).
pub async fn session_user(env: &Env, token: &str) -> worker::Result<Option<User>> {
    db::first(
        &d1(env)?,
        &sessions::session_user(&token_hash(token), now_ms()),
    )
    .await
}

/// The owner of an unexpired API token, and the token's site scope.
async fn token_user(env: &Env, token: &str) -> Result<Option<(User, Option<String>)>, Failure> {
    let db = d1(env)?;
    let hash = token_hash(token);
    let owner: Option<sessions::TokenOwner> =
        db::first(&db, &sessions::token_owner(&hash, now_ms())).await?;
    if owner.is_some() {
        db::run(&db, &sessions::token_used(&hash, now_ms())).await?;
    }
    Ok(owner.map(sessions::TokenOwner::into_parts))
}

/// Counts a request made with a public link against its address's window; over
/// `SHARE_REQUESTS_PER_WINDOW` (or `VIGIA_SHARE_REQUESTS_PER_MINUTE`), a 429 with `Retry-After`.
/// Counted before the token is looked up, so guessing tokens is limited too.
pub async fn limit_share(req: &Request, env: &Env) -> Result<(), Failure> {
    use analytics_core::accounts::membership::{over_limit, share_fingerprint};
    use analytics_core::ingest::rate_limit::{retry_after_s, window_of, RATE_WINDOW_MS};
    let now = now_ms();
    let ip = crate::http::client_address(req);
    let win = window_of(now) * RATE_WINDOW_MS;
    let key = crate::keys::fingerprint_key(
        env,
        analytics_core::governance::audit::FingerprintScope::Instance,
        now_ms(),
    )
    .await?;
    let fingerprint = share_fingerprint(&key, win, ip);
    let count: Option<sessions::ShareRequests> =
        db::first(&d1(env)?, &sessions::count_share_request(win, &fingerprint)).await?;
    let limit = crate::config::settings(env).share_requests_per_minute;
    if over_limit(count.map_or(0, |c| c.requests), limit) {
        let retry = retry_after_s(now);
        return Err(ApiError::rate_limited(
            format!("more than {limit} public-link requests this minute from your address; retry in {retry} s"),
            retry,
        )
        .into());
    }
    Ok(())
}

/// The site a public link opens, if the link is on.
pub async fn share_site(env: &Env, token: &str) -> Result<Option<String>, Failure> {
    if token.len() != 32 {
        return Ok(None);
    }
    let site: Option<sessions::SiteId> = db::first(&d1(env)?, &sessions::share_site(token)).await?;
    Ok(site.map(|s| s.id))
}

/// The user's role on a site: instance admins are owners everywhere.
pub async fn site_role(env: &Env, user: &User, site_id: &str) -> Result<Option<Role>, Failure> {
    let row: Option<sessions::RoleRow> =
        db::first(&d1(env)?, &sessions::site_role(user, site_id)).await?;
    Ok(row.and_then(|r| Role::parse(&r.role)))
}

/// The `site` query parameter (stats and export routes name their site this way).
pub fn query_site(req: &Request) -> Option<String> {
    req.url()
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.into_owned())
}

/// Checks `route`'s access for this request and says who is calling: the credential first
/// (session, token or public link), then the route's access rule.
pub async fn authorize(
    req: &Request,
    env: &Env,
    route: &Route,
    mut params: Vec<(&'static str, String)>,
) -> Result<Caller, Failure> {
    let site_param = params
        .iter()
        .position(|(n, _)| *n == "site")
        .map(|i| params.remove(i).1);
    let mut caller = Caller {
        params,
        ..Default::default()
    };
    if route.access == Access::Public {
        return Ok(caller);
    }
    let token_scope = match credential(req, env, route).await? {
        Credential::User { user, token_scope } => {
            caller.user = Some(user);
            token_scope
        }
        Credential::Share { site } => return share_caller(req, route, caller, site, site_param),
        Credential::None => None,
    };
    let user = caller.user()?.clone();
    if token_scope.is_some() && !matches!(route.access, Access::Site(_)) {
        // A scoped token never reaches anything beyond its site (token_may_call allows site
        // routes only; this keeps it so if that list ever grows).
        return Err(ApiError::new(403, "token_scope", "this API token reads one site only").into());
    }
    match route.access {
        Access::Public | Access::User => Ok(caller),
        Access::InstanceAdmin if user.is_admin != 0 => Ok(caller),
        Access::InstanceAdmin => {
            Err(ApiError::new(403, "admin_only", "only an instance admin may do this").into())
        }
        Access::Site(needed) => {
            let site = site_param
                .or_else(|| query_site(req))
                .ok_or_else(|| ApiError::bad_request("missing_site", "site is required"))?;
            let role = site_access(env, &user, &site, needed, token_scope.as_deref()).await?;
            caller.site = Some(site);
            caller.role = Some(role);
            Ok(caller)
        }
    }
}

/// What a request presents: a user (by session cookie, or by API token with its scope), a
/// public link's site, or nothing.
enum Credential {
    User {
        user: User,
        token_scope: Option<String>,
    },
    Share {
        site: String,
    },
    None,
}

/// The request's credential. The session cookie wins; a token is refused on routes tokens may
/// not call, and a public link is counted against its address before it is looked up.
async fn credential(req: &Request, env: &Env, route: &Route) -> Result<Credential, Failure> {
    if let Some(user) = current_user(req, env).await? {
        return Ok(Credential::User {
            user,
            token_scope: None,
        });
    }
    let bearer = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()));
    if let Some(token) = bearer {
        // An app key is public (shipped inside the app): it uploads, and reads nothing.
        if token.starts_with(analytics_core::apps::APP_KEY_PREFIX) {
            return Err(ApiError::unauthorized(
                "an app key (vpk_…) only uploads an app's usage (POST /api/app/…); use an API token (vgt_…) or log in",
            )
            .into());
        }
        if !token_may_call(route) {
            return Err(ApiError::new(
                403,
                "token_not_allowed",
                "API tokens may only read stats and exports; log in to the dashboard for this",
            )
            .into());
        }
        let (user, token_scope) = token_user(env, &token).await?.ok_or_else(|| {
            ApiError::unauthorized("this API token is not valid (expired or revoked?)")
        })?;
        return Ok(Credential::User { user, token_scope });
    }
    if let Some(token) = header(req, "X-Vigia-Share") {
        limit_share(req, env).await?;
        let site = share_site(env, &token)
            .await?
            .ok_or_else(|| ApiError::unauthorized("this public link is off or wrong"))?;
        return Ok(Credential::Share { site });
    }
    Ok(Credential::None)
}

/// A public link reads its own site's stats as a viewer, nothing else.
fn share_caller(
    req: &Request,
    route: &Route,
    mut caller: Caller,
    site: String,
    site_param: Option<String>,
) -> Result<Caller, Failure> {
    let asked = site_param.or_else(|| query_site(req));
    if !share_may_call(route) || asked.as_deref().is_some_and(|a| a != site) {
        return Err(ApiError::new(
            403,
            "share_not_allowed",
            "a public link can only read its site's stats",
        )
        .into());
    }
    caller.site = Some(site);
    caller.role = Some(Role::Viewer);
    Ok(caller)
}

/// The user's role on `site` when it is at least `needed` (and the token, if scoped, reads
/// this site).
async fn site_access(
    env: &Env,
    user: &User,
    site: &str,
    needed: Role,
    token_scope: Option<&str>,
) -> Result<Role, Failure> {
    if let Some(scope) = token_scope.filter(|s| *s != site) {
        return Err(ApiError::new(
            403,
            "token_scope",
            format!("this API token reads only the site {scope:?}"),
        )
        .into());
    }
    // Unknown sites and sites the user is not a member of answer the same 404, so membership
    // cannot be probed.
    let role = site_role(env, user, site).await?.ok_or_else(|| {
        ApiError::new(
            404,
            "site_not_found",
            format!("no site {site:?} that you can read"),
        )
    })?;
    if role < needed {
        return Err(ApiError::new(
            403,
            "insufficient_role",
            format!(
                "this needs the {} role on {site:?}; you are {}",
                needed.as_str(),
                role.as_str()
            ),
        )
        .into());
    }
    Ok(role)
}
