//! The app routes (docs/apps.md): an install's upload, its user's email registration and
//! confirmation, erasure, and the app key. The rules are in `analytics_core::apps`, the SQL in
//! `analytics_core::store::apps`.

use analytics_core::accounts::auth::token_hash;
use analytics_core::apps::email::{self as registration, MAIL_WINDOW_MS};
use analytics_core::apps::{self, RateScope};
use analytics_core::ingest::rate_limit::{retry_after_s, window_of, RATE_WINDOW_MS};
use analytics_core::limits::app as limits;
use analytics_core::store::apps::{self as sql, AppSite, RateCount, SeenBatch, WHOLE_APP};
use analytics_core::store::apps::{ErasedCounts, MailCount, PendingLink, UserId};
use analytics_core::ApiError;
use api_types::apps::{
    AppBatchAnswer, AppErased, AppKey, EmailAccepted, EmailRegistration, InstallRef, SiteKind,
};
use worker::{D1Database, Env, Request};

use super::sites::batch as run_batch;
use crate::db::{self, d1};
use crate::http::{
    header, json, now_ms, public_base, query_pairs, query_value, random_bytes, random_hex,
    read_body, read_json, static_html, Failure, RouteResult,
};
use crate::keys::{lasting_key, LastingKey};
use analytics_core::routes::AuditAction;

use crate::session::Caller;

/// The app the request's `Authorization: Bearer vpk_…` names: 401 without a key or with one
/// that names nothing (a web site's id, a rotated key), 403 if its site is not an app.
async fn app_of(req: &Request, db: &D1Database) -> Result<AppSite, Failure> {
    let auth = header(req, "Authorization");
    let key = apps::app_key_of_header(auth.as_deref())?;
    let app: AppSite = db::first(db, &sql::app_by_key(key))
        .await?
        .ok_or_else(apps::bad_app_key)?;
    if app.kind != SiteKind::App {
        return Err(apps::not_an_app().into());
    }
    Ok(app)
}

/// An install id as stored: its keyed hash under the lasting `AppInstall` key.
async fn install_of(env: &Env, app: &AppSite, install_id: &str) -> worker::Result<String> {
    let key = lasting_key(env, LastingKey::AppInstall).await?;
    Ok(apps::install_hash(&key, app.site_key, install_id))
}

fn duplicate(batch_id: String, seen: SeenBatch) -> AppBatchAnswer {
    AppBatchAnswer {
        batch_id,
        duplicate: true,
        stored: seen.stored as u64,
        refused: seen.refused as u64,
        problems: Vec::new(),
    }
}

/// `POST /api/app/batch`: one upload of an install, stored once (see `store::apps::store_batch`).
pub async fn batch(mut req: Request, env: &Env, _request_id: &str) -> RouteResult {
    let db = d1(env)?;
    let app = app_of(&req, &db).await?;
    let body = read_body(&mut req, limits::MAX_BATCH_BYTES).await?;
    let now = now_ms();
    let b = apps::parse_batch(&body, now)?;
    let install = install_of(env, &app, &b.install_id).await?;
    let seen = sql::seen_batch(app.site_key, &install, &b.batch_id);
    // A batch seen before changes nothing, not even the rate counts: the agent only resends
    // one whose answer it lost.
    if let Some(first) = db::first::<SeenBatch>(&db, &seen).await? {
        return json(200, &duplicate(b.batch_id, first));
    }
    if b.sent > 0 {
        rate_limit(env, &db, &app, &install, b.sent as i64, now).await?;
    }
    match run_batch(&db, &sql::store_batch(app.site_key, &install, &b, now)).await {
        Ok(()) => json(
            200,
            &AppBatchAnswer {
                stored: b.records.len() as u64,
                refused: b.refused() as u64,
                problems: b.problems,
                batch_id: b.batch_id,
                duplicate: false,
            },
        ),
        // Two copies of one upload raced: the first stored it, the second's transaction was
        // rolled back on the batch row. Anything else is a real failure.
        Err(e) => match db::first::<SeenBatch>(&db, &seen).await? {
            Some(first) => json(200, &duplicate(b.batch_id, first)),
            None => Err(e.into()),
        },
    }
}

/// Counts the upload against the app's and the install's minute; past either limit, 429 with
/// `Retry-After` (the seconds to the window's end), metered as refused, nothing stored.
async fn rate_limit(
    env: &Env,
    db: &D1Database,
    app: &AppSite,
    install: &str,
    records: i64,
    now: i64,
) -> Result<(), Failure> {
    let settings = crate::config::settings(env);
    let win = window_of(now) * RATE_WINDOW_MS;
    let count = |who: &str| sql::count_rate(app.site_key, who, win, records);
    let whole: Option<RateCount> = db::first(db, &count(WHOLE_APP)).await?;
    let one: Option<RateCount> = db::first(db, &count(install)).await?;
    let over = if apps::over_limit(
        whole.map_or(0, |c| c.records),
        settings.app_records_per_minute,
    ) {
        Some((RateScope::App, settings.app_records_per_minute))
    } else if apps::over_limit(
        one.map_or(0, |c| c.records),
        settings.app_install_records_per_minute,
    ) {
        Some((RateScope::Install, settings.app_install_records_per_minute))
    } else {
        None
    };
    let Some((scope, limit)) = over else {
        return Ok(());
    };
    db::run(db, &sql::meter_refused(app.site_key, now, records)).await?;
    Err(apps::rate_limited(scope, limit, retry_after_s(now)).into())
}

/// `POST /api/sites/{site}/app-key`: a new key for an app; the old one stops working at once.
pub async fn rotate_key(env: &Env, c: &Caller) -> RouteResult {
    let key = apps::new_app_key(&random_bytes::<16>()?);
    let changed = super::sites::changes(&d1(env)?, &sql::set_app_key(c.site(), &key)).await?;
    if changed == 0 {
        return Err(ApiError::bad_request("not_an_app", "only an app has an app key").into());
    }
    json(200, &AppKey { app_key: key })
}

/// Largest body of the email registration and the erasure (an install id, an address and at
/// most `MAX_CONSENT_BYTES` of consent, JSON-escaped).
pub const MAX_APP_BODY_BYTES: usize = 4 * limits::MAX_CONSENT_BYTES;

/// `POST /api/app/email`: registers an install's user's address with the consent words and
/// mails a confirmation link; nothing is linked until the link is confirmed. Answers 202
/// whatever happened past the checks (a limit reached, mail off), so it tells no one whether
/// an address was registered before.
pub async fn email(mut req: Request, env: &Env) -> RouteResult {
    let db = d1(env)?;
    let app = app_of(&req, &db).await?;
    let body: EmailRegistration = read_json(&mut req, MAX_APP_BODY_BYTES).await?;
    let r = registration::check_registration(body)?;
    let now = now_ms();
    let install = install_of(env, &app, &r.install_id).await?;
    let accepted = || {
        json(
            202,
            &EmailAccepted {
                message: "if the address can receive mail, a confirmation link was sent to it; \
                          nothing is linked until it is followed"
                    .into(),
            },
        )
    };
    // The limits count every attempt, per install and per address (its keyed hash: the count
    // must not keep an address nobody confirmed).
    let key = lasting_key(env, LastingKey::AppInstall).await?;
    let address = apps::install_hash(&key, app.site_key, &r.email);
    let win = now.div_euclid(MAIL_WINDOW_MS) * MAIL_WINDOW_MS;
    let mut over = false;
    for (subject, limit) in [
        (
            registration::mail_subject("install", &install),
            registration::MAX_CONFIRM_MAILS_PER_INSTALL,
        ),
        (
            registration::mail_subject("address", &address),
            registration::MAX_CONFIRM_MAILS_PER_ADDRESS,
        ),
        (
            registration::mail_subject("app", ""),
            registration::MAX_CONFIRM_MAILS_PER_APP,
        ),
    ] {
        let count: Option<MailCount> =
            db::first(&db, &sql::count_mail(app.site_key, &subject, win)).await?;
        over |= count.is_some_and(|c| c.mails > limit);
    }
    if over {
        return accepted();
    }
    let provider = match crate::mail::provider(env) {
        Ok(Some(p)) => p,
        Ok(None) => {
            worker::console_error!("app email registration: mail is off, no link can be sent");
            return accepted();
        }
        Err(e) => {
            worker::console_error!("app email registration: {e}");
            return accepted();
        }
    };
    let token = random_hex::<16>()?;
    run_batch(
        &db,
        &sql::register(
            app.site_key,
            &install,
            &r.email,
            &r.consent,
            now,
            &token_hash(&token),
            now + registration::CONFIRM_TTL_MS,
        ),
    )
    .await?;
    let link = registration::confirm_link(&public_base(env, Some(&req)), &token);
    let message = registration::confirm_mail(&crate::mail::sender(env), &r.email, &app.name, &link);
    if let Err(e) = crate::mail::send(env, provider, &message).await {
        worker::console_error!("app confirmation mail not sent: {e}");
    }
    accepted()
}

/// The live pending link the request's `token` names, or 404.
async fn link_of(
    req: &Request,
    db: &D1Database,
    now: i64,
) -> Result<(String, PendingLink), Failure> {
    let pairs = query_pairs(req)?;
    let token = query_value(&pairs, "token")
        .filter(|t| !t.is_empty())
        .ok_or_else(registration::link_not_valid)?;
    let hash = token_hash(token);
    let link: PendingLink = db::first(db, &sql::pending_link(&hash, now))
        .await?
        .ok_or_else(registration::link_not_valid)?;
    Ok((hash, link))
}

/// The link a person opened, or `None` when it does not work (used, expired, altered).
async fn opened_link(
    req: &Request,
    db: &D1Database,
    now: i64,
) -> Result<Option<(String, PendingLink)>, Failure> {
    match link_of(req, db, now).await {
        Ok(found) => Ok(Some(found)),
        Err(Failure::Api(e)) if e.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// A 404 page for a person, not the API's JSON.
fn link_gone() -> RouteResult {
    Ok(static_html(registration::link_not_valid_page(), false)?.with_status(404))
}

/// `GET /api/app/confirm?token=…`: what will be confirmed, and a button. Changes nothing
/// (mail scanners follow links).
pub async fn confirm_page(req: Request, env: &Env) -> RouteResult {
    let Some((_, link)) = opened_link(&req, &d1(env)?, now_ms()).await? else {
        return link_gone();
    };
    static_html(
        registration::confirm_page(&link.app, &link.email, &link.consent),
        false,
    )
}

/// `POST /api/app/confirm?token=…`: links the install to the address, confirms the user with
/// the consent words of this link; the link then stops working.
pub async fn confirm(req: Request, env: &Env) -> RouteResult {
    let db = d1(env)?;
    let now = now_ms();
    let Some((hash, link)) = opened_link(&req, &db, now).await? else {
        return link_gone();
    };
    run_batch(&db, &sql::confirm(&hash, now)).await?;
    static_html(registration::confirmed_page(&link.app), false)
}

/// `POST /api/app/erase` (app key): everything stored about one install — its records,
/// batches, rate counts, links — and its user when no install of theirs is left.
pub async fn erase(mut req: Request, env: &Env) -> RouteResult {
    let db = d1(env)?;
    let app = app_of(&req, &db).await?;
    let body: InstallRef = read_json(&mut req, MAX_APP_BODY_BYTES).await?;
    analytics_core::apps::batch::check_install_id(&body.install_id)?;
    let install = install_of(env, &app, &body.install_id).await?;
    let counts: Option<ErasedCounts> =
        db::first(&db, &sql::install_counts(app.site_key, &install)).await?;
    run_batch(&db, &sql::erase_install(app.site_key, &install)).await?;
    json(200, &erased(counts))
}

fn erased(counts: Option<ErasedCounts>) -> AppErased {
    counts.map_or_else(AppErased::default, |c| AppErased {
        installs: c.installs,
        records: c.records,
        users: c.users,
    })
}

/// `DELETE /api/sites/{site}/app/users/{email}` (the app's admins): an erasure request by
/// address — the user and every install linked to it. The audit entry keeps the address only
/// as its keyed hash.
pub async fn erase_user(env: &Env, c: &Caller) -> RouteResult {
    let email = analytics_core::governance::activity::decode_user_id(c.param("email"))?
        .trim()
        .to_lowercase();
    let db = d1(env)?;
    let site_key = crate::audit::site_key(env, c.site())
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    let user: UserId = db::first(&db, &sql::user_by_email(site_key, &email))
        .await?
        .ok_or_else(|| ApiError::not_found("this app has no user with this address"))?;
    let counts: Option<ErasedCounts> = db::first(&db, &sql::user_counts(user.id)).await?;
    run_batch(&db, &sql::erase_user(site_key, user.id)).await?;
    json(200, &erased(counts))
}

/// The app a public app call acts on, for its audit entry: checked as its handler checks it
/// (the app key, the confirmation token, the unsubscribe link's signature), so an entry is
/// filed under an app only when the call could act on it; `None` leaves it at instance level.
pub async fn audit_site(req: &Request, env: &Env, action: AuditAction) -> Option<String> {
    let db = d1(env).ok()?;
    match action {
        AuditAction::AppInstallErase => app_of(req, &db).await.ok().map(|app| app.id),
        AuditAction::AppEmailConfirm => link_of(req, &db, now_ms()).await.ok().map(|(_, l)| l.site),
        AuditAction::AppUsageUnsubscribe => {
            crate::routes::app_stats::check_link(req, env)
                .await
                .ok()?
                .app_id
        }
        _ => None,
    }
}
