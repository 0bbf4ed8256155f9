//! First-start setup, login, logout, and who-am-I.

use analytics_core::accounts::auth::{
    check_new_password, session_cookie, setup_token_matches, token_hash, StoredHash,
    SESSION_COOKIE, SESSION_TTL_MS,
};
use analytics_core::accounts::login::{
    account_key, decide, retry_after_failure, throttle_address, Decision, Failures, FailuresRow,
};
use analytics_core::accounts::users::MAX_ACCOUNT_BODY_BYTES;
use analytics_core::governance::audit::ip_fingerprint;
use analytics_core::store::accounts::{self as sql, CountRow, Credentials, IdRow};
use analytics_core::ApiError;
use api_types::account::{LoggedIn, LoggedOut, LoginBody, Me, SetupBody, SetupDone, SetupStatus};
use serde::Serialize;
use worker::{Env, Request};

use super::sites::{batch, check_site_id, instance_admin};
use crate::db::{self, d1};
use crate::http::{
    error_response, header, json, now_ms, random_hex, read_json, Failure, RouteResult,
};
use crate::kdf;
use crate::session::{current_user, Caller};

/// The secret a first-run setup must carry (`Authorization: Bearer <token>`): a deployed
/// instance is otherwise open to whoever finds it first. No secret configured means setup is
/// closed, with a message telling the operator how to open it.
fn check_setup_token(req: &Request, env: &Env) -> Result<(), ApiError> {
    let Some(configured) = crate::config::settings(env).setup_token.clone() else {
        return Err(ApiError::new(
            403,
            "setup_token_not_configured",
            "first-run setup is closed: set the secret VIGIA_SETUP_TOKEN \
             (wrangler secret put VIGIA_SETUP_TOKEN) and send it as Authorization: Bearer <token>",
        ));
    };
    let given = header(req, "Authorization").unwrap_or_default();
    let given = given.strip_prefix("Bearer ").unwrap_or_default();
    if !setup_token_matches(given, &configured) {
        return Err(ApiError::new(
            403,
            "setup_token_required",
            "first-run setup needs the instance's VIGIA_SETUP_TOKEN as Authorization: Bearer <token>",
        ));
    }
    Ok(())
}

fn already_set_up() -> Failure {
    ApiError::new(
        409,
        "already_set_up",
        "an admin exists already; log in instead",
    )
    .into()
}

/// `POST /api/setup`: creates the first admin (and optionally a first site). Works only while
/// there are no users, for exactly one request even when many arrive at once (the user is
/// inserted by one conditional statement); answers 409 after that.
pub async fn setup(mut req: Request, env: &Env) -> RouteResult {
    check_setup_token(&req, env)?;
    let body: SetupBody = read_json(&mut req, MAX_ACCOUNT_BODY_BYTES).await?;
    check_email(&body.email)?;
    check_new_password(&body.password)?;
    if let Some(site) = &body.site {
        check_site_id(&site.id)?;
    }
    let db = d1(env)?;
    // Cheap early answer once set up (the conditional insert below is the real guard).
    let users: Option<CountRow> = db::first(&db, &sql::count_users()).await?;
    if users.is_some_and(|u| u.n > 0) {
        return Err(already_set_up());
    }
    let hash = kdf::hash(&body.password).await?;
    let now = now_ms();
    // One statement, so one request wins however many race (`store::accounts`).
    let created: Option<IdRow> =
        db::first(&db, &sql::insert_first_admin(body.email.trim(), &hash, now)).await?;
    let Some(user) = created else {
        return Err(already_set_up());
    };
    if let Some(site) = &body.site {
        batch(
            &db,
            &sql::setup_site(&site.id, &site.name, &site.hostnames, user.id, now),
        )
        .await?;
    }
    json(
        201,
        &SetupDone {
            email: body.email.trim().into(),
            site: body.site.map(|s| s.id),
        },
    )
}

/// The account key and address fingerprint a login is counted under, both under the
/// instance's address-fingerprint key of the day (`keys::fingerprint_key`). An IPv6 address
/// is counted as its /64 (`login::throttle_address`).
async fn login_subjects(req: &Request, env: &Env, email: &str) -> worker::Result<(String, String)> {
    let key = crate::keys::fingerprint_key(
        env,
        analytics_core::governance::audit::FingerprintScope::Instance,
        now_ms(),
    )
    .await?;
    let ip = crate::http::client_address(req).map(throttle_address);
    Ok((account_key(&key, email), ip_fingerprint(&key, ip)))
}

/// 429 with `Retry-After` (seconds), as a JSON error like every other.
fn too_many_attempts(retry_after_s: i64) -> RouteResult {
    let mut resp = error_response(&ApiError::new(
        429,
        "too_many_attempts",
        format!("too many failed logins; try again in {retry_after_s} s"),
    ))?;
    resp.headers_mut()
        .set("Retry-After", &retry_after_s.to_string())?;
    Ok(resp)
}

/// `POST /api/login`. Failed logins are throttled per account and per address fingerprint
/// (`analytics_core::accounts::login`); an unknown email costs the same KDF work as a real one; a
/// stored hash made with older settings is replaced on success.
pub async fn login(mut req: Request, env: &Env) -> RouteResult {
    let body: LoginBody = read_json(&mut req, MAX_ACCOUNT_BODY_BYTES).await?;
    let email = body.email.trim();
    let db = d1(env)?;
    let now = now_ms();
    let (account, address) = login_subjects(&req, env, email).await?;
    // The attempt is recorded first and the counts read in the same transaction, so of N
    // concurrent requests each sees the ones recorded before it: no more passwords are
    // checked than the locks allow, however many arrive at once.
    let [record, counts] = sql::record_attempt(now, &account, email, &address);
    let results = db
        .batch(vec![db::prepare(&db, &record)?, db::prepare(&db, &counts)?])
        .await?;
    let counts: FailuresRow = results
        .get(1)
        .ok_or_else(|| worker::Error::RustError("login attempt counts missing".into()))?
        .results::<FailuresRow>()?
        .into_iter()
        .next()
        .ok_or_else(|| worker::Error::RustError("login attempt counts missing".into()))?;
    let attempt = counts.attempt;
    let (account_failures, address_failures) = counts.split();
    let address_failures = (!address.is_empty()).then_some(address_failures);
    if let Decision::Refuse { retry_after_s } = decide(account_failures, address_failures, now) {
        // Refused unchecked: not a failure (hammering a lock does not lengthen it).
        db_forget(env, attempt).await?;
        return too_many_attempts(retry_after_s);
    }
    let creds: Option<Credentials> = db::first(&db, &sql::credentials(email)).await?;
    let ok = kdf::verify(
        &body.password,
        creds.as_ref().map(|c| c.password_hash.as_str()),
    )
    .await?;
    if let Some(creds) = creds.as_ref().filter(|_| ok) {
        if StoredHash::parse(&creds.password_hash).is_some_and(|h| h.needs_rehash()) {
            // Only if unchanged meanwhile (a password change wins).
            let new_hash = kdf::hash(&body.password).await?;
            db::run(
                &db,
                &sql::rehash_password(creds.id, &new_hash, &creds.password_hash),
            )
            .await?;
        }
        // A success is not a failure.
        db_forget(env, attempt).await?;
        return start_session(
            &req,
            env,
            creds.id,
            &LoggedIn {
                email: email.into(),
            },
        )
        .await;
    }
    // The attempt's row stays: it is this failure. The counts as they are now, with it.
    let with_this = |f: Failures| Failures {
        count: f.count + 1,
        last_at: now,
    };
    let next = retry_after_failure(
        with_this(account_failures),
        address_failures.map(with_this),
        now,
    );
    match next {
        Some(retry_after_s) => too_many_attempts(retry_after_s),
        None => Err(ApiError::unauthorized("email or password is wrong").into()),
    }
}

/// Removes a login attempt's row (`login::FORGET_ATTEMPT_SQL`).
async fn db_forget(env: &Env, attempt: i64) -> worker::Result<()> {
    db::run(&d1(env)?, &sql::forget_attempt(attempt)).await
}

/// Opens a dashboard session for `user_id` and answers `body` with its cookie.
pub async fn start_session(
    req: &Request,
    env: &Env,
    user_id: i64,
    body: &impl Serialize,
) -> RouteResult {
    let token = random_hex::<32>()?;
    let now = now_ms();
    db::run(
        &d1(env)?,
        &sql::insert_session(&token_hash(&token), user_id, now, now + SESSION_TTL_MS),
    )
    .await?;
    let mut resp = json(200, body)?;
    resp.headers_mut().set(
        "Set-Cookie",
        &session_cookie(&token, SESSION_TTL_MS / 1000, is_https(req)?),
    )?;
    Ok(resp)
}

pub async fn logout(req: Request, env: &Env) -> RouteResult {
    if let Some(token) = header(&req, "Cookie")
        .as_deref()
        .and_then(|c| analytics_core::accounts::auth::cookie_value(c, SESSION_COOKIE))
    {
        db::run(&d1(env)?, &sql::delete_session(&token_hash(token))).await?;
    }
    let mut resp = json(200, &LoggedOut { logged_out: true })?;
    resp.headers_mut()
        .set("Set-Cookie", &session_cookie("", 0, is_https(&req)?))?;
    Ok(resp)
}

pub fn me(c: &Caller) -> RouteResult {
    let user = c.user()?;
    json(
        200,
        &Me {
            email: user.email.clone(),
            id: user.id,
            is_admin: instance_admin(user),
        },
    )
}

/// `GET /api/setup`: whether setup is still open (the dashboard shows the form then).
pub async fn setup_status(req: Request, env: &Env) -> RouteResult {
    let users: Option<CountRow> = db::first(&d1(env)?, &sql::count_users()).await?;
    let logged_in = current_user(&req, env).await?.is_some();
    json(
        200,
        &SetupStatus {
            logged_in,
            needs_setup: users.is_none_or(|u| u.n == 0),
        },
    )
}

fn is_https(req: &Request) -> Result<bool, Failure> {
    Ok(req.url()?.scheme() == "https")
}

/// The strict check every stored email gets (no CR/LF, spaces, angle brackets, commas or
/// semicolons: a stored address can never add a header or a recipient to a mail).
pub fn check_email(email: &str) -> Result<(), ApiError> {
    analytics_core::util::email::check_address(email.trim())
}
