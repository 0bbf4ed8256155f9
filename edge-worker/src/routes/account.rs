//! First-start setup, login, logout, and who-am-I.

use analytics_core::accounts::auth::{
    check_new_password, session_cookie, setup_token_matches, token_hash, StoredHash,
    SESSION_COOKIE, SESSION_TTL_MS,
};
use analytics_core::accounts::login::{
    account_key, decide, retry_after_failure, throttle_address, Decision, Failures, FailuresRow,
    ATTEMPT_COUNTS_SQL, FAILURE_MEMORY_MS, FORGET_ATTEMPT_SQL, RECORD_ATTEMPT_SQL,
};
use analytics_core::governance::audit::ip_fingerprint;
use analytics_core::ApiError;
use serde::Deserialize;
use worker::{Env, Request};

use super::sites::check_site_id;
use crate::db::d1;
use crate::http::{
    error_response, header, json, now_ms, random_hex, read_json, Failure, RouteResult,
};
use crate::kdf;
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

#[derive(Deserialize)]
struct Created {
    id: f64,
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
    let users: Option<f64> = db
        .prepare("SELECT COUNT(*) AS n FROM users")
        .first(Some("n"))
        .await?;
    if users.unwrap_or(0.0) > 0.0 {
        return Err(already_set_up());
    }
    let hash = kdf::hash(&body.password).await?;
    let now = now_ms() as f64;
    // One statement, so one request wins however many race: D1 runs statements one at a
    // time, and this one inserts only while no user exists.
    let created: Vec<Created> = db
        .prepare(
            "INSERT INTO users (email, password_hash, is_admin, created_at) \
             SELECT ?1, ?2, 1, ?3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
        )
        .bind(&[body.email.trim().into(), hash.into(), now.into()])?
        .all()
        .await?
        .results()?;
    let Some(user) = created.first() else {
        return Err(already_set_up());
    };
    if let Some(site) = &body.site {
        let mut statements = vec![
            db.prepare("INSERT INTO sites (id, name, created_at) VALUES (?1, ?2, ?3)")
                .bind(&[
                    site.id.as_str().into(),
                    site.name.as_str().into(),
                    now.into(),
                ])?,
            // The first admin owns the first site as a member too (reports go to members).
            db.prepare("INSERT INTO memberships (user_id, site_id, role) VALUES (?1, ?2, 'owner')")
                .bind(&[user.id.into(), site.id.as_str().into()])?,
        ];
        for host in &site.hostnames {
            statements.push(
                db.prepare(
                    "INSERT OR IGNORE INTO site_hostnames (site_id, hostname) VALUES (?1, ?2)",
                )
                .bind(&[
                    site.id.as_str().into(),
                    host.trim().to_ascii_lowercase().into(),
                ])?,
            );
        }
        db.batch(statements).await?;
    }
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
    let results = db
        .batch(vec![
            db.prepare(RECORD_ATTEMPT_SQL).bind(&[
                (now as f64).into(),
                account.as_str().into(),
                email.into(),
                address.as_str().into(),
            ])?,
            db.prepare(ATTEMPT_COUNTS_SQL).bind(&[
                account.as_str().into(),
                address.as_str().into(),
                ((now - FAILURE_MEMORY_MS) as f64).into(),
            ])?,
        ])
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
    let creds: Option<Credentials> = db
        .prepare("SELECT id, password_hash FROM users WHERE email = ?1")
        .bind(&[email.into()])?
        .first(None)
        .await?;
    let ok = kdf::verify(
        &body.password,
        creds.as_ref().map(|c| c.password_hash.as_str()),
    )
    .await?;
    if let Some(creds) = creds.as_ref().filter(|_| ok) {
        if StoredHash::parse(&creds.password_hash).is_some_and(|h| h.needs_rehash()) {
            // Only if unchanged meanwhile (a password change wins).
            db.prepare("UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3")
                .bind(&[
                    kdf::hash(&body.password).await?.into(),
                    (creds.id as f64).into(),
                    creds.password_hash.as_str().into(),
                ])?
                .run()
                .await?;
        }
        // A success is not a failure.
        db_forget(env, attempt).await?;
        return start_session(&req, env, creds.id, serde_json::json!({ "email": email })).await;
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
    d1(env)?
        .prepare(FORGET_ATTEMPT_SQL)
        .bind(&[(attempt as f64).into()])?
        .run()
        .await?;
    Ok(())
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
        .and_then(|c| analytics_core::accounts::auth::cookie_value(c, SESSION_COOKIE))
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
    analytics_core::util::email::check_address(email.trim())
}
