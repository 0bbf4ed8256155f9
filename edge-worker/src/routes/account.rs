//! First-start setup, login, logout, and who-am-I.

use analytics_core::auth::{
    check_new_password, hash_password, session_cookie, token_hash, verify_password,
    PBKDF2_ITERATIONS, SESSION_COOKIE, SESSION_TTL_MS,
};
use analytics_core::ApiError;
use serde::Deserialize;
use worker::{Env, Request};

use super::sites::check_site_id;
use crate::db::d1;
use crate::http::{
    header, json, now_ms, random_bytes, random_hex, read_json, Failure, RouteResult,
};
use crate::session::{current_user, Caller};

/// Small bodies only on account routes.
const MAX_ACCOUNT_BODY_BYTES: usize = 4 * 1024;

#[derive(Deserialize)]
struct SetupSite {
    id: String,
    name: String,
    hostnames: Vec<String>,
}

#[derive(Deserialize)]
struct SetupBody {
    email: String,
    password: String,
    site: Option<SetupSite>,
}

/// `POST /api/setup`: creates the first admin (and optionally a first site). Works only while
/// there are no users; answers 409 after that.
pub async fn setup(mut req: Request, env: &Env) -> RouteResult {
    let body: SetupBody = read_json(&mut req, MAX_ACCOUNT_BODY_BYTES).await?;
    check_email(&body.email)?;
    check_new_password(&body.password)?;
    let db = d1(env)?;
    let users: Option<f64> = db
        .prepare("SELECT COUNT(*) AS n FROM users")
        .first(Some("n"))
        .await?;
    if users.unwrap_or(0.0) > 0.0 {
        return Err(ApiError::new(
            409,
            "already_set_up",
            "an admin exists already; log in instead",
        )
        .into());
    }
    let hash = hash_password(&body.password, &random_bytes::<16>()?, PBKDF2_ITERATIONS);
    let now = now_ms() as f64;
    let mut statements = vec![db
        .prepare(
            "INSERT INTO users (email, password_hash, is_admin, created_at) VALUES (?1, ?2, 1, ?3)",
        )
        .bind(&[body.email.trim().into(), hash.into(), now.into()])?];
    if let Some(site) = &body.site {
        check_site_id(&site.id)?;
        statements.push(
            db.prepare("INSERT INTO sites (id, name, created_at) VALUES (?1, ?2, ?3)")
                .bind(&[
                    site.id.as_str().into(),
                    site.name.as_str().into(),
                    now.into(),
                ])?,
        );
        // The first admin owns the first site as a member too (reports go to members).
        statements.push(
            db.prepare(
                "INSERT INTO memberships (user_id, site_id, role) \
                 SELECT id, ?1, 'owner' FROM users WHERE email = ?2",
            )
            .bind(&[site.id.as_str().into(), body.email.trim().into()])?,
        );
        for host in &site.hostnames {
            statements.push(
                db.prepare("INSERT INTO site_hostnames (site_id, hostname) VALUES (?1, ?2)")
                    .bind(&[
                        site.id.as_str().into(),
                        host.trim().to_ascii_lowercase().into(),
                    ])?,
            );
        }
    }
    db.batch(statements).await?;
    json(
        201,
        &serde_json::json!({ "email": body.email.trim(), "site": body.site.map(|s| s.id) }),
    )
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct Credentials {
    id: i64,
    password_hash: String,
}

pub async fn login(mut req: Request, env: &Env) -> RouteResult {
    let body: LoginBody = read_json(&mut req, MAX_ACCOUNT_BODY_BYTES).await?;
    let db = d1(env)?;
    let creds: Option<Credentials> = db
        .prepare("SELECT id, password_hash FROM users WHERE email = ?1")
        .bind(&[body.email.trim().into()])?
        .first(None)
        .await?;
    let ok = creds
        .as_ref()
        .map(|c| verify_password(&body.password, &c.password_hash))
        .unwrap_or(false);
    let Some(creds) = creds.filter(|_| ok) else {
        return Err(ApiError::unauthorized("email or password is wrong").into());
    };
    start_session(
        &req,
        env,
        creds.id,
        serde_json::json!({ "email": body.email.trim() }),
    )
    .await
}

/// Opens a dashboard session for `user_id` and answers `body` with its cookie.
pub async fn start_session(
    req: &Request,
    env: &Env,
    user_id: i64,
    body: serde_json::Value,
) -> RouteResult {
    let token = random_hex::<32>()?;
    let now = now_ms();
    d1(env)?
        .prepare("INSERT INTO sessions_auth (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
        .bind(&[
            token_hash(&token).into(),
            (user_id as f64).into(),
            (now as f64).into(),
            ((now + SESSION_TTL_MS) as f64).into(),
        ])?
        .run()
        .await?;
    let mut resp = json(200, &body)?;
    resp.headers_mut().set(
        "Set-Cookie",
        &session_cookie(&token, SESSION_TTL_MS / 1000, is_https(req)?),
    )?;
    Ok(resp)
}

pub async fn logout(req: Request, env: &Env) -> RouteResult {
    if let Some(token) = header(&req, "Cookie")
        .as_deref()
        .and_then(|c| analytics_core::auth::cookie_value(c, SESSION_COOKIE))
    {
        d1(env)?
            .prepare("DELETE FROM sessions_auth WHERE token_hash = ?1")
            .bind(&[token_hash(token).into()])?
            .run()
            .await?;
    }
    let mut resp = json(200, &serde_json::json!({ "logged_out": true }))?;
    resp.headers_mut()
        .set("Set-Cookie", &session_cookie("", 0, is_https(&req)?))?;
    Ok(resp)
}

pub fn me(c: &Caller) -> RouteResult {
    let user = c.user()?;
    json(
        200,
        &serde_json::json!({ "id": user.id, "email": user.email, "is_admin": user.is_admin != 0 }),
    )
}

/// `GET /api/setup`: whether setup is still open (the dashboard shows the form then).
pub async fn setup_status(req: Request, env: &Env) -> RouteResult {
    let users: Option<f64> = d1(env)?
        .prepare("SELECT COUNT(*) AS n FROM users")
        .first(Some("n"))
        .await?;
    let logged_in = current_user(&req, env).await?.is_some();
    json(
        200,
        &serde_json::json!({ "needs_setup": users.unwrap_or(0.0) == 0.0, "logged_in": logged_in }),
    )
}

fn is_https(req: &Request) -> Result<bool, Failure> {
    Ok(req.url()?.scheme() == "https")
}

/// The strict check every stored email gets (no CR/LF, spaces, angle brackets, commas or
/// semicolons: a stored address can never add a header or a recipient to a mail).
pub fn check_email(email: &str) -> Result<(), ApiError> {
    analytics_core::email::check_address(email.trim())
}
