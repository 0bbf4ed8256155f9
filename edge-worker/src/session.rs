//! Who is asking: the dashboard session cookie, resolved against `sessions_auth`.

use analytics_core::auth::{cookie_value, token_hash, SESSION_COOKIE};
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

pub async fn current_user(req: &Request, env: &Env) -> Result<Option<User>, Failure> {
    let Some(cookies) = header(req, "Cookie") else {
        return Ok(None);
    };
    let Some(token) = cookie_value(&cookies, SESSION_COOKIE) else {
        return Ok(None);
    };
    let user = d1(env)?
        .prepare(
            "SELECT u.id, u.email, u.is_admin FROM sessions_auth s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )
        .bind(&[token_hash(token).into(), (now_ms() as f64).into()])?
        .first::<User>(None)
        .await?;
    Ok(user)
}

pub async fn require_user(req: &Request, env: &Env) -> Result<User, Failure> {
    current_user(req, env)
        .await?
        .ok_or_else(|| ApiError::unauthorized("log in first").into())
}

/// The user's role on a site: admins are owners everywhere.
pub async fn site_role(env: &Env, user: &User, site_id: &str) -> Result<Option<String>, Failure> {
    if user.is_admin != 0 {
        let exists: Option<String> = d1(env)?
            .prepare("SELECT id FROM sites WHERE id = ?1")
            .bind(&[site_id.into()])?
            .first(Some("id"))
            .await?;
        return Ok(exists.map(|_| "owner".to_string()));
    }
    Ok(d1(env)?
        .prepare("SELECT role FROM memberships WHERE user_id = ?1 AND site_id = ?2")
        .bind(&[(user.id as f64).into(), site_id.into()])?
        .first(Some("role"))
        .await?)
}

/// Any member may read a site's stats. Unknown sites and sites the user is not a member of
/// answer the same 404, so membership cannot be probed.
pub async fn require_site_reader(env: &Env, user: &User, site_id: &str) -> Result<String, Failure> {
    site_role(env, user, site_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no site {site_id:?} that you can read")).into())
}
