//! Users (instance admins create and remove them), passwords, and personal API tokens.

use analytics_core::accounts::auth::{
    check_new_password, hash_password, token_expires_at, token_hash, verify_password,
    INVITE_TTL_MS, NO_PASSWORD_YET, PBKDF2_ITERATIONS,
};
use analytics_core::accounts::membership::{
    clean_email, Notice, ACCEPT_INVITE_SQL, DELETE_MY_INVITE_SQL, MY_INVITES_SQL, MY_INVITE_SQL,
};
use analytics_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{
    id_param, json, now_ms, random_bytes, random_hex, read_json, Failure, RouteResult,
};
use crate::session::Caller;

const MAX_USER_BODY_BYTES: usize = 4 * 1024;
/// Most API tokens one user may hold.
pub const MAX_TOKENS_PER_USER: usize = 20;
const MAX_TOKEN_NAME_BYTES: usize = 80;
/// API tokens start with this, so they are easy to recognise (and to scan for in leaks).
pub const TOKEN_PREFIX: &str = "vgt_";

#[derive(Serialize, Deserialize)]
struct UserRow {
    id: i64,
    email: String,
    is_admin: i64,
    created_at: f64,
    sites: f64,
}

pub async fn list(env: &Env) -> RouteResult {
    let users: Vec<UserRow> = d1(env)?
        .prepare(
            "SELECT id, email, is_admin, created_at, \
             (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS sites FROM users u ORDER BY email",
        )
        .all()
        .await?
        .results()?;
    let out: Vec<serde_json::Value> = users
        .iter()
        .map(|u| serde_json::json!({ "id": u.id, "email": u.email, "is_admin": u.is_admin != 0, "created_at": u.created_at as i64, "sites": u.sites as i64 }))
        .collect();
    json(200, &serde_json::json!({ "users": out }))
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
    /// An initial password the admin passes on, or none to invite: the answer then carries a
    /// one-time link where the person sets their own.
    password: Option<String>,
    #[serde(default)]
    is_admin: bool,
}

/// `POST /api/users`: an account with an initial password, or an invitation link.
pub async fn create(mut req: Request, env: &Env) -> RouteResult {
    let mut body: NewUser = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    body.email = clean_email(&body.email)?;
    let hash = match &body.password {
        Some(password) => {
            check_new_password(password)?;
            hash_password(password, &random_bytes::<16>()?, PBKDF2_ITERATIONS)
        }
        None => NO_PASSWORD_YET.to_string(),
    };
    let db = d1(env)?;
    let now = now_ms();
    let id: Option<f64> = db
        .prepare(
            "INSERT INTO users (email, password_hash, is_admin, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&[
            body.email.trim().into(),
            hash.into(),
            (body.is_admin as i32 as f64).into(),
            (now as f64).into(),
        ])?
        .first(Some("id"))
        .await?;
    let id = id
        .ok_or_else(|| ApiError::new(409, "user_exists", "a user with this email exists already"))?
        as i64;
    let mut answer =
        serde_json::json!({ "id": id, "email": body.email.trim(), "is_admin": body.is_admin });
    if body.password.is_none() {
        let token = random_hex::<32>()?;
        db.prepare("INSERT INTO invites (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
            .bind(&[token_hash(&token).into(), (id as f64).into(), (now as f64).into(), ((now + INVITE_TTL_MS) as f64).into()])?
            .run()
            .await?;
        let origin = req.url()?.origin().ascii_serialization();
        answer["invite_url"] = format!("{origin}/?invite={token}").into();
        answer["invite_expires_at"] = (now + INVITE_TTL_MS).into();
    }
    json(201, &answer)
}

#[derive(Deserialize)]
struct AcceptInvite {
    token: String,
    password: String,
}

/// `POST /api/invites/accept`: sets the invited person's password and logs them in. A link
/// works once, for `INVITE_TTL_MS`.
pub async fn accept_invite(mut req: Request, env: &Env) -> RouteResult {
    let body: AcceptInvite = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    check_new_password(&body.password)?;
    let db = d1(env)?;
    let hash = token_hash(body.token.trim());
    let user: Option<f64> = db
        .prepare("SELECT user_id FROM invites WHERE token_hash = ?1 AND expires_at > ?2")
        .bind(&[hash.as_str().into(), (now_ms() as f64).into()])?
        .first(Some("user_id"))
        .await?;
    let user_id = user.ok_or_else(|| {
        ApiError::new(
            404,
            "invite_not_found",
            "this invitation is used, expired or wrong; ask for a new one",
        )
    })? as i64;
    let password = hash_password(&body.password, &random_bytes::<16>()?, PBKDF2_ITERATIONS);
    db.batch(vec![
        db.prepare("UPDATE users SET password_hash = ?1 WHERE id = ?2")
            .bind(&[password.into(), (user_id as f64).into()])?,
        db.prepare("DELETE FROM invites WHERE user_id = ?1")
            .bind(&[(user_id as f64).into()])?,
    ])
    .await?;
    super::account::start_session(&req, env, user_id, serde_json::json!({ "welcome": true })).await
}

pub async fn delete(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    if id == c.user()?.id {
        return Err(ApiError::bad_request(
            "cannot_delete_self",
            "you cannot delete your own account",
        )
        .into());
    }
    let result = d1(env)?
        .prepare("DELETE FROM users WHERE id = ?1")
        .bind(&[(id as f64).into()])?
        .run()
        .await?;
    if result.meta()?.and_then(|m| m.changes).unwrap_or(0) == 0 {
        return Err(ApiError::not_found("no such user").into());
    }
    json(200, &serde_json::json!({ "deleted": id }))
}

#[derive(Deserialize)]
struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/me/password`: needs the current password; ends every other session and revokes
/// every API token (a token taken with the old password must not outlive it), then mails the
/// account's owner.
pub async fn change_password(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let body: PasswordChange = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    let db = d1(env)?;
    let stored: Option<String> = db
        .prepare("SELECT password_hash FROM users WHERE id = ?1")
        .bind(&[(user.id as f64).into()])?
        .first(Some("password_hash"))
        .await?;
    if !stored.is_some_and(|s| verify_password(&body.current, &s)) {
        return Err(ApiError::new(403, "wrong_password", "the current password is wrong").into());
    }
    check_new_password(&body.new)?;
    let hash = hash_password(&body.new, &random_bytes::<16>()?, PBKDF2_ITERATIONS);
    let keep = crate::http::header(&req, "Cookie")
        .as_deref()
        .and_then(|c| {
            analytics_core::accounts::auth::cookie_value(
                c,
                analytics_core::accounts::auth::SESSION_COOKIE,
            )
        })
        .map(token_hash)
        .unwrap_or_default();
    db.batch(vec![
        db.prepare("UPDATE users SET password_hash = ?1 WHERE id = ?2")
            .bind(&[hash.into(), (user.id as f64).into()])?,
        db.prepare("DELETE FROM sessions_auth WHERE user_id = ?1 AND token_hash != ?2")
            .bind(&[(user.id as f64).into(), keep.into()])?,
        db.prepare("DELETE FROM api_tokens WHERE user_id = ?1")
            .bind(&[(user.id as f64).into()])?,
    ])
    .await?;
    crate::mail::notify_account(env, &req, &user.email, Notice::PasswordChanged).await;
    json(
        200,
        &serde_json::json!({ "changed": true, "tokens_revoked": true }),
    )
}

#[derive(Serialize, Deserialize)]
struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    created_at: f64,
    last_used_at: Option<f64>,
    expires_at: f64,
    /// The one site the token reads, or null for every site its owner can read.
    site: Option<String>,
}

/// A user's tokens; expired ones are deleted first (they can never work again).
async fn tokens_of(env: &Env, user_id: i64) -> worker::Result<Vec<TokenRow>> {
    let db = d1(env)?;
    db.prepare("DELETE FROM api_tokens WHERE user_id = ?1 AND expires_at <= ?2")
        .bind(&[(user_id as f64).into(), (now_ms() as f64).into()])?
        .run()
        .await?;
    db.prepare("SELECT id, name, prefix, created_at, last_used_at, expires_at, site_id AS site FROM api_tokens WHERE user_id = ?1 ORDER BY id")
        .bind(&[(user_id as f64).into()])?
        .all()
        .await?
        .results()
}

pub async fn list_tokens(env: &Env, c: &Caller) -> RouteResult {
    let tokens = tokens_of(env, c.user()?.id).await?;
    json(200, &serde_json::json!({ "tokens": tokens }))
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
    /// Days until the token stops working (`TOKEN_DEFAULT_TTL_DAYS` when absent).
    expires_in_days: Option<i64>,
    /// Limits the token to this site (one the user can read).
    site: Option<String>,
}

/// `POST /api/tokens`: the token is in this answer only; Vigia keeps its hash. It expires,
/// may be limited to one site, and its owner gets a mail about it.
pub async fn create_token(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let body: NewToken = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > MAX_TOKEN_NAME_BYTES {
        return Err(ApiError::bad_request(
            "bad_name",
            format!("a token needs a name of 1-{MAX_TOKEN_NAME_BYTES} bytes"),
        )
        .into());
    }
    if tokens_of(env, user.id).await?.len() >= MAX_TOKENS_PER_USER {
        return Err(ApiError::bad_request(
            "too_many_tokens",
            format!("revoke a token first: at most {MAX_TOKENS_PER_USER}"),
        )
        .into());
    }
    let now = now_ms();
    let expires_at = token_expires_at(now, body.expires_in_days)?;
    let site = body
        .site
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(site) = site {
        // A scope the user cannot read is refused like an unknown site (nothing to probe).
        let readable = super::sites::check_site_id(site).is_ok()
            && crate::session::site_role(env, user, site).await?.is_some();
        if !readable {
            return Err(ApiError::new(
                404,
                "site_not_found",
                format!("no site {site:?} that you can read"),
            )
            .into());
        }
    }
    let token = format!("{TOKEN_PREFIX}{}", random_hex::<32>()?);
    let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let scope = site
        .map(wasm_bindgen::JsValue::from)
        .unwrap_or(wasm_bindgen::JsValue::NULL);
    let id: Option<f64> = d1(env)?
        .prepare("INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at, site_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id")
        .bind(&[(user.id as f64).into(), name.into(), token_hash(&token).into(), prefix.as_str().into(), (now as f64).into(), (expires_at as f64).into(), scope])?
        .first(Some("id"))
        .await?;
    crate::mail::notify_account(
        env,
        &req,
        &user.email,
        Notice::TokenCreated {
            name,
            site,
            expires_at,
        },
    )
    .await;
    json(
        201,
        &serde_json::json!({ "id": id.unwrap_or_default() as i64, "name": name, "prefix": prefix, "token": token, "expires_at": expires_at, "site": site }),
    )
}

pub async fn revoke_token(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    let result = d1(env)?
        .prepare("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2")
        .bind(&[(id as f64).into(), (c.user()?.id as f64).into()])?
        .run()
        .await?;
    if result.meta()?.and_then(|m| m.changes).unwrap_or(0) == 0 {
        return Err(ApiError::not_found("no such token").into());
    }
    json(200, &serde_json::json!({ "revoked": id }))
}

#[derive(Serialize, Deserialize)]
struct MyInvite {
    id: i64,
    site: String,
    site_name: String,
    role: String,
    invited_by: String,
    expires_at: f64,
}

/// `GET /api/me/invitations`: invitations to sites sent to the caller's email.
pub async fn my_invitations(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let rows: Vec<MyInvite> = d1(env)?
        .prepare(MY_INVITES_SQL)
        .bind(&[user.email.as_str().into(), (now_ms() as f64).into()])?
        .all()
        .await?
        .results()?;
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|i| serde_json::json!({ "id": i.id, "site": i.site, "site_name": i.site_name, "role": i.role, "invited_by": i.invited_by, "expires_at": i.expires_at as i64 }))
        .collect();
    json(200, &serde_json::json!({ "invitations": out }))
}

fn invite_not_found() -> Failure {
    ApiError::new(
        404,
        "invitation_not_found",
        "no such invitation for you (used, expired or declined?)",
    )
    .into()
}

/// `POST /api/me/invitations/{id}/accept`: the caller becomes a member with the invited role.
/// Only the account whose email was invited can accept.
pub async fn accept_invitation(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let id = id_param(c.param("id"))?;
    let now = now_ms() as f64;
    let db = d1(env)?;
    let invite: MyInvite = db
        .prepare(MY_INVITE_SQL)
        .bind(&[user.email.as_str().into(), now.into(), (id as f64).into()])?
        .first(None)
        .await?
        .ok_or_else(invite_not_found)?;
    db.batch(vec![
        db.prepare(ACCEPT_INVITE_SQL).bind(&[
            (id as f64).into(),
            (user.id as f64).into(),
            user.email.as_str().into(),
            now.into(),
        ])?,
        db.prepare(DELETE_MY_INVITE_SQL)
            .bind(&[(id as f64).into(), user.email.as_str().into()])?,
    ])
    .await?;
    json(
        200,
        &serde_json::json!({ "site": invite.site, "role": invite.role }),
    )
}

/// `DELETE /api/me/invitations/{id}`: declines (the invitation is deleted).
pub async fn decline_invitation(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let id = id_param(c.param("id"))?;
    let result = d1(env)?
        .prepare(DELETE_MY_INVITE_SQL)
        .bind(&[(id as f64).into(), user.email.as_str().into()])?
        .run()
        .await?;
    if result.meta()?.and_then(|m| m.changes).unwrap_or(0) == 0 {
        return Err(invite_not_found());
    }
    json(200, &serde_json::json!({ "declined": id }))
}
