//! Who is asking, and may they: the dashboard session cookie, an API token (`Authorization:
//! Bearer`) or a public link (`X-Vigia-Share`), checked against the route table in
//! `analytics_core::routes` before any handler runs.

use analytics_core::accounts::auth::{cookie_value, token_hash, SESSION_COOKIE};
use analytics_core::routes::{share_may_call, token_may_call, Access, Role, Route};
use analytics_core::ApiError;
use serde::Deserialize;
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{header, now_ms, Failure};

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub is_admin: i64,
}

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

const USER_COLUMNS: &str = "u.id, u.email, u.is_admin";

pub async fn current_user(req: &Request, env: &Env) -> Result<Option<User>, Failure> {
    let Some(cookies) = header(req, "Cookie") else {
        return Ok(None);
    };
    let Some(token) = cookie_value(&cookies, SESSION_COOKIE) else {
        return Ok(None);
    };
    let user = d1(env)?
        .prepare(format!(
            "SELECT {USER_COLUMNS} FROM sessions_auth s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        ))
        .bind(&[token_hash(token).into(), (now_ms() as f64).into()])?
        .first::<User>(None)
        .await?;
    Ok(user)
}

#[derive(Deserialize)]
struct TokenOwner {
    id: i64,
    email: String,
    is_admin: i64,
    /// The one site the token may read, when it is scoped.
    scope: Option<String>,
}

/// The owner of an unexpired API token, and the token's site scope.
async fn token_user(env: &Env, token: &str) -> Result<Option<(User, Option<String>)>, Failure> {
    let db = d1(env)?;
    let hash = token_hash(token);
    let owner = db
        .prepare(format!(
            "SELECT {USER_COLUMNS}, t.site_id AS scope FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ?1 AND t.expires_at > ?2"
        ))
        .bind(&[hash.as_str().into(), (now_ms() as f64).into()])?
        .first::<TokenOwner>(None)
        .await?;
    let user = owner.map(|o| {
        let user = User {
            id: o.id,
            email: o.email,
            is_admin: o.is_admin,
        };
        (user, o.scope)
    });
    if user.is_some() {
        db.prepare("UPDATE api_tokens SET last_used_at = ?1 WHERE token_hash = ?2")
            .bind(&[(now_ms() as f64).into(), hash.into()])?
            .run()
            .await?;
    }
    Ok(user)
}

/// Counts a request made with a public link against its address's window; over
/// `SHARE_REQUESTS_PER_WINDOW` (or `VIGIA_SHARE_REQUESTS_PER_MINUTE`), a 429 with `Retry-After`.
/// Counted before the token is looked up, so guessing tokens is limited too.
pub async fn limit_share(req: &Request, env: &Env) -> Result<(), Failure> {
    use analytics_core::accounts::membership::{
        over_limit, share_fingerprint, COUNT_SHARE_REQUEST_SQL,
    };
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
    let count: Option<f64> = d1(env)?
        .prepare(COUNT_SHARE_REQUEST_SQL)
        .bind(&[(win as f64).into(), share_fingerprint(&key, win, ip).into()])?
        .first(Some("requests"))
        .await?;
    let limit = crate::config::settings(env).share_requests_per_minute;
    if over_limit(count.unwrap_or(0.0) as i64, limit) {
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
    Ok(d1(env)?
        .prepare("SELECT id FROM sites WHERE share_token = ?1")
        .bind(&[token.into()])?
        .first(Some("id"))
        .await?)
}

/// The user's role on a site: instance admins are owners everywhere.
pub async fn site_role(env: &Env, user: &User, site_id: &str) -> Result<Option<Role>, Failure> {
    let role: Option<String> = if user.is_admin != 0 {
        d1(env)?
            .prepare("SELECT 'owner' AS role FROM sites WHERE id = ?1")
            .bind(&[site_id.into()])?
            .first(Some("role"))
            .await?
    } else {
        d1(env)?
            .prepare("SELECT role FROM memberships WHERE user_id = ?1 AND site_id = ?2")
            .bind(&[(user.id as f64).into(), site_id.into()])?
            .first(Some("role"))
            .await?
    };
    Ok(role.as_deref().and_then(Role::parse))
}

/// The `site` query parameter (stats and export routes name their site this way).
pub fn query_site(req: &Request) -> Option<String> {
    req.url()
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.into_owned())
}

/// Checks `route`'s access for this request and says who is calling.
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
    let bearer = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()));
    let share = header(req, "X-Vigia-Share");
    caller.user = current_user(req, env).await?;
    // The site an API token is limited to, when it is.
    let mut token_scope = None;
    if caller.user.is_none() {
        if let Some(token) = bearer {
            if !token_may_call(route) {
                return Err(ApiError::new(
                    403,
                    "token_not_allowed",
                    "API tokens may only read stats and exports; log in to the dashboard for this",
                )
                .into());
            }
            let (user, scope) = token_user(env, &token).await?.ok_or_else(|| {
                ApiError::unauthorized("this API token is not valid (expired or revoked?)")
            })?;
            caller.user = Some(user);
            token_scope = scope;
        } else if let Some(token) = share {
            limit_share(req, env).await?;
            let site = share_site(env, &token)
                .await?
                .ok_or_else(|| ApiError::unauthorized("this public link is off or wrong"))?;
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
            return Ok(caller);
        }
    }
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
            if let Some(scope) = token_scope.as_deref().filter(|s| *s != site) {
                return Err(ApiError::new(
                    403,
                    "token_scope",
                    format!("this API token reads only the site {scope:?}"),
                )
                .into());
            }
            // Unknown sites and sites the user is not a member of answer the same 404, so
            // membership cannot be probed.
            let role = site_role(env, &user, &site).await?.ok_or_else(|| {
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
            caller.site = Some(site);
            caller.role = Some(role);
            Ok(caller)
        }
    }
}
