//! Users (instance admins create and remove them), passwords, and personal API tokens. The SQL
//! is in `analytics_core::store::users` (invitations to sites: `store::sites`), the rules in
//! `analytics_core::accounts`.

use analytics_core::accounts::auth::{
    check_new_password, hash_password, token_expires_at, token_hash, verify_password,
    INVITE_TTL_MS, NO_PASSWORD_YET, PBKDF2_ITERATIONS,
};
use analytics_core::accounts::membership::{clean_email, Notice};
use analytics_core::accounts::users::{
    check_not_self, check_token_count, check_token_name, new_token, token_scope, unreadable_scope,
    MAX_USER_BODY_BYTES,
};
use analytics_core::store::sites as site_sql;
use analytics_core::store::users::{self as sql, IdRow, PasswordRow, TokenRow, UserIdRow};
use analytics_core::ApiError;
use api_types::sites::{InvitationAccepted, InvitationDeclined, MyInvitations};
use api_types::users::{
    AcceptInvite, CreatedUser, NewToken, NewUser, PasswordChange, PasswordChanged, TokenBody,
    TokenRevoked, Tokens, UserDeleted, Users, Welcome,
};
use worker::{Env, Request};

use super::sites::{batch, changes};
use crate::db::{self, d1};
use crate::http::{
    id_param, json, now_ms, random_bytes, random_hex, read_json, Failure, RouteResult,
};
use crate::session::Caller;

pub async fn list(env: &Env) -> RouteResult {
    let rows: Vec<sql::UserRow> = db::all(&d1(env)?, &sql::users()).await?;
    json(
        200,
        &Users {
            users: rows.into_iter().map(Into::into).collect(),
        },
    )
}

/// `POST /api/users`: an account with an initial password, or an invitation link.
pub async fn create(mut req: Request, env: &Env) -> RouteResult {
    let body: NewUser = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    let email = clean_email(&body.email)?;
    let hash = match &body.password {
        Some(password) => {
            check_new_password(password)?;
            hash_password(password, &random_bytes::<16>()?, PBKDF2_ITERATIONS)
        }
        None => NO_PASSWORD_YET.to_string(),
    };
    let db = d1(env)?;
    let now = now_ms();
    let created: Option<IdRow> =
        db::first(&db, &sql::insert_user(&email, &hash, body.is_admin, now)).await?;
    let id = created
        .ok_or_else(|| ApiError::new(409, "user_exists", "a user with this email exists already"))?
        .id;
    let mut answer = CreatedUser {
        email,
        id,
        invite_expires_at: None,
        invite_url: None,
        is_admin: body.is_admin,
    };
    if body.password.is_none() {
        let token = random_hex::<32>()?;
        let expires_at = now + INVITE_TTL_MS;
        db::run(
            &db,
            &sql::insert_invite(&token_hash(&token), id, now, expires_at),
        )
        .await?;
        let origin = req.url()?.origin().ascii_serialization();
        answer.invite_url = Some(format!("{origin}/?invite={token}"));
        answer.invite_expires_at = Some(expires_at);
    }
    json(201, &answer)
}

/// `POST /api/invites/accept`: sets the invited person's password and logs them in. A link
/// works once, for `INVITE_TTL_MS`.
pub async fn accept_invite(mut req: Request, env: &Env) -> RouteResult {
    let body: AcceptInvite = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    check_new_password(&body.password)?;
    let db = d1(env)?;
    let invited: Option<UserIdRow> = db::first(
        &db,
        &sql::invited_user(&token_hash(body.token.trim()), now_ms()),
    )
    .await?;
    let user_id = invited
        .ok_or_else(|| {
            ApiError::new(
                404,
                "invite_not_found",
                "this invitation is used, expired or wrong; ask for a new one",
            )
        })?
        .user_id;
    let password = hash_password(&body.password, &random_bytes::<16>()?, PBKDF2_ITERATIONS);
    batch(&db, &sql::accept_invite(user_id, &password)).await?;
    super::account::start_session(&req, env, user_id, &Welcome { welcome: true }).await
}

pub async fn delete(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    check_not_self(id, c.user()?.id)?;
    if changes(&d1(env)?, &sql::delete_user(id)).await? == 0 {
        return Err(ApiError::not_found("no such user").into());
    }
    json(200, &UserDeleted { deleted: id })
}

/// `POST /api/me/password`: needs the current password; ends every other session and revokes
/// every API token (a token taken with the old password must not outlive it), then mails the
/// account's owner.
pub async fn change_password(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let body: PasswordChange = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    let db = d1(env)?;
    let stored: Option<PasswordRow> = db::first(&db, &sql::password_hash(user.id)).await?;
    if !stored.is_some_and(|s| verify_password(&body.current, &s.password_hash)) {
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
    batch(&db, &sql::change_password(user.id, &hash, &keep)).await?;
    crate::mail::notify_account(env, &req, &user.email, Notice::PasswordChanged).await;
    json(
        200,
        &PasswordChanged {
            changed: true,
            tokens_revoked: true,
        },
    )
}

/// A user's tokens; expired ones are deleted first (they can never work again).
async fn tokens_of(env: &Env, user_id: i64) -> worker::Result<Vec<TokenRow>> {
    let db = d1(env)?;
    db::run(&db, &sql::delete_expired_tokens(user_id, now_ms())).await?;
    db::all(&db, &sql::tokens(user_id)).await
}

pub async fn list_tokens(env: &Env, c: &Caller) -> RouteResult {
    let tokens = tokens_of(env, c.user()?.id).await?;
    json(
        200,
        &Tokens {
            tokens: tokens.into_iter().map(Into::into).collect(),
        },
    )
}

/// `POST /api/tokens`: the token is in this answer only; Vigia keeps its hash. It expires,
/// may be limited to one site, and its owner gets a mail about it.
pub async fn create_token(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let body: TokenBody = read_json(&mut req, MAX_USER_BODY_BYTES).await?;
    let name = check_token_name(&body.name)?;
    check_token_count(tokens_of(env, user.id).await?.len())?;
    let now = now_ms();
    let expires_at = token_expires_at(now, body.expires_in_days)?;
    let site = token_scope(body.site.as_deref());
    if let Some(site) = site {
        let readable = super::sites::check_site_id(site).is_ok()
            && crate::session::site_role(env, user, site).await?.is_some();
        if !readable {
            return Err(unreadable_scope(site).into());
        }
    }
    let (token, prefix) = new_token(&random_hex::<32>()?);
    let created: Option<IdRow> = db::first(
        &d1(env)?,
        &sql::insert_token(&sql::NewToken {
            user_id: user.id,
            name,
            token_hash: &token_hash(&token),
            prefix: &prefix,
            now_ms: now,
            expires_at,
            site,
        }),
    )
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
        &NewToken {
            expires_at,
            id: created.map(|r| r.id).unwrap_or_default(),
            name: name.into(),
            prefix,
            site: site.map(String::from),
            token,
        },
    )
}

pub async fn revoke_token(env: &Env, c: &Caller) -> RouteResult {
    let id = id_param(c.param("id"))?;
    if changes(&d1(env)?, &sql::revoke_token(id, c.user()?.id)).await? == 0 {
        return Err(ApiError::not_found("no such token").into());
    }
    json(200, &TokenRevoked { revoked: id })
}

/// `GET /api/me/invitations`: invitations to sites sent to the caller's email.
pub async fn my_invitations(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let rows: Vec<site_sql::MyInvitationRow> =
        db::all(&d1(env)?, &site_sql::my_invitations(&user.email, now_ms())).await?;
    json(
        200,
        &MyInvitations {
            invitations: rows.into_iter().map(Into::into).collect(),
        },
    )
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
    let now = now_ms();
    let db = d1(env)?;
    let invite: site_sql::MyInvitationRow =
        db::first(&db, &site_sql::my_invitation(&user.email, now, id))
            .await?
            .ok_or_else(invite_not_found)?;
    batch(
        &db,
        &site_sql::accept_invitation(id, user.id, &user.email, now),
    )
    .await?;
    json(
        200,
        &InvitationAccepted {
            role: invite.role,
            site: invite.site,
        },
    )
}

/// `DELETE /api/me/invitations/{id}`: declines (the invitation is deleted).
pub async fn decline_invitation(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let id = id_param(c.param("id"))?;
    if changes(&d1(env)?, &site_sql::decline_invitation(id, &user.email)).await? == 0 {
        return Err(invite_not_found());
    }
    json(200, &InvitationDeclined { declined: id })
}
