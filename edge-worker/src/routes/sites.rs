//! Sites: list, create, read (with the snippet and the installation check), edit, delete with
//! all its data, members and roles, and the optional public link. The SQL is in
//! `analytics_core::store::sites`, the checks in `analytics_core::accounts`.

pub use analytics_core::accounts::membership::check_site_id;
use analytics_core::accounts::membership::{
    check_may_change, clean_email, invite_answer, last_owner, parse_role, sites_limit,
    too_many_invitations, too_many_sites, MAX_PENDING_INVITES_PER_SITE, MAX_SITES_PER_USER,
    SITE_INVITE_TTL_MS,
};
use analytics_core::accounts::site_settings::{
    check_new_site, site_changes, site_exists, MAX_SITE_BODY_BYTES,
};
use analytics_core::routes::Role;
use analytics_core::store::sites::{self as sql, IdRow, InviteIdRow, UserIdRow};
use analytics_core::store::Sql;
use analytics_core::ApiError;
use api_types::sites::{
    CreatedSite, Member, MemberBody, MemberRemoved, Members, Share, ShareBody, ShareInfo, SiteBody,
    SiteDeleted, SiteDetail, SiteUpdated, Sites,
};
use worker::{D1Database, Env, Request};

use crate::db::{self, d1, forget_site_config};
use crate::http::{
    id_param, json, now_ms, public_base, random_bytes, random_hex, read_json, RouteResult,
};
use crate::session::{Caller, User};
use api_types::apps::SiteKind;

/// Whether the caller is an instance admin (`session::User` keeps D1's 0/1 flag).
pub(crate) fn instance_admin(user: &User) -> bool {
    user.is_admin != 0
}

/// Runs core statements as one D1 batch (one transaction).
pub(crate) async fn batch(db: &D1Database, statements: &[Sql]) -> worker::Result<()> {
    let prepared = statements
        .iter()
        .map(|s| db::prepare(db, s))
        .collect::<worker::Result<Vec<_>>>()?;
    db.batch(prepared).await?;
    Ok(())
}

/// Runs a statement and answers how many rows it changed.
pub(crate) async fn changes(db: &D1Database, statement: &Sql) -> worker::Result<usize> {
    let result = db::prepare(db, statement)?.run().await?;
    Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
}

pub async fn list(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let statement = if instance_admin(user) {
        sql::all_sites()
    } else {
        sql::member_sites(user.id)
    };
    let rows: Vec<sql::SiteRow> = db::all(&d1(env)?, &statement).await?;
    json(
        200,
        &Sites {
            sites: rows.into_iter().map(Into::into).collect(),
        },
    )
}

/// `POST /api/sites`: any user may add a site and becomes its owner; a user who is not an
/// instance admin may own at most `MAX_SITES_PER_USER` (`VIGIA_MAX_SITES_PER_USER`), so one
/// account cannot fill the instance. The count is checked in the statements that write the
/// site (`store::sites::CREATE_SITE_SQL`), so concurrent requests cannot pass the limit together.
pub async fn create(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?.clone();
    let body: SiteBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    let limit = sites_limit(
        instance_admin(&user),
        crate::config::settings(env).max_sites_per_user,
    );
    let kind = body.kind.unwrap_or_default();
    if kind == SiteKind::App && body.hostnames.as_ref().is_some_and(|h| !h.is_empty()) {
        return Err(app_hostnames().into());
    }
    let site = check_new_site(body)?;
    // An app is identified by its key, which ships inside the app; a web site has none.
    let app_key = match kind {
        SiteKind::App => Some(analytics_core::apps::new_app_key(&random_bytes::<16>()?)),
        SiteKind::Web => None,
    };
    let db = d1(env)?;
    if db::first::<IdRow>(&db, &sql::site_exists(&site.id))
        .await?
        .is_some()
    {
        return Err(site_exists(&site.id).into());
    }
    let statements = sql::create_site(&sql::NewSite {
        id: &site.id,
        name: &site.name,
        timezone: &site.timezone,
        query_allow_list: &site.query_allow_list,
        hash_routing: site.hash_routing,
        hostnames: &site.hostnames,
        kind,
        app_key: app_key.as_deref(),
        owner: user.id,
        now_ms: now_ms(),
        limit,
    });
    batch(&db, &statements).await?;
    let owned: Option<sql::RoleRow> = db::first(&db, &sql::member_role(&site.id, user.id)).await?;
    if owned.is_none() {
        // The limit was reached: the batch wrote nothing, but never leave a site without owner.
        db::run(&db, &sql::delete_ownerless_site(&site.id)).await?;
        return Err(too_many_sites(limit.unwrap_or(MAX_SITES_PER_USER)).into());
    }
    json(
        201,
        &CreatedSite {
            hash_routing: site.hash_routing,
            hostnames: site.hostnames,
            id: site.id,
            kind,
            name: site.name,
            timezone: site.timezone,
        },
    )
}

/// 400: an app is not reached through hostnames.
fn app_hostnames() -> ApiError {
    ApiError::bad_request(
        "app_hostnames",
        "an app has no hostnames: its installs upload with the app key",
    )
}

/// `GET /api/sites/{site}`: settings, the snippet, and when the first event arrived.
pub async fn get(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let site: sql::SiteDetailRow = db::first(&d1(env)?, &sql::site_detail(c.site()))
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    let base = public_base(env, Some(&req));
    let manage = c.role() >= Role::Admin;
    let hostnames = site.hostname_list();
    // An app's key is public by nature (it ships inside the app), but only its admins, who
    // can rotate it, are handed it here; others see the setup with a placeholder.
    let app_key = site.app_key.clone().filter(|_| manage);
    let snippet = match site.kind {
        SiteKind::App => {
            analytics_core::apps::agent_snippet(&base, app_key.as_deref().unwrap_or("vpk_…"))
        }
        SiteKind::Web => {
            analytics_core::accounts::snippet::snippet(&base, &site.id, site.hash_routing)
        }
    };
    json(
        200,
        &SiteDetail {
            app_key,
            created_at: site.created_at,
            first_event_at: site.first_event_at,
            hash_routing: site.hash_routing,
            hostnames,
            query_allow_list: site.query_allow_list,
            retention_days: site.retention_days,
            role: c.role(),
            snippet,
            share: Share {
                enabled: site.share_token.is_some(),
                url: if manage {
                    site.share_token.map(|t| format!("{base}/?share={t}"))
                } else {
                    None
                },
            },
            id: site.id,
            kind: site.kind,
            name: site.name,
            timezone: site.timezone,
        },
    )
}

/// `PATCH /api/sites/{site}`: name, hostnames, time zone, kept query parameters, retention,
/// hash routing. Ingest in this isolate sees the change at once, in others within
/// `SITE_CACHE_MS` (the site config cache).
pub async fn update(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body: SiteBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    if body.kind.is_some() {
        return Err(ApiError::bad_request(
            "kind_fixed",
            "a site's kind (web or app) is chosen when it is created and never changes",
        )
        .into());
    }
    if body.hostnames.as_ref().is_some_and(|h| !h.is_empty()) {
        let kind: Option<sql::KindRow> = db::first(&d1(env)?, &sql::site_kind(c.site())).await?;
        if kind.is_some_and(|k| k.kind == SiteKind::App) {
            return Err(app_hostnames().into());
        }
    }
    let statements = site_changes(c.site(), &body)?;
    batch(&d1(env)?, &statements).await?;
    forget_site_config(c.site());
    json(
        200,
        &SiteUpdated {
            updated: c.site().into(),
        },
    )
}

/// `DELETE /api/sites/{site}`: the site and every row of it in every table
/// (`SITE_DATA_TABLES`: events, rollups, activity, alerts, report sends, purges, goals,
/// funnels, members, hostnames…), so a site later created under the same id finds none of it.
/// The buffer is purged first so nothing is written back. The audit log stays (it is
/// immutable), scoped by this site's internal key, which no later site gets.
pub async fn delete(env: &Env, c: &Caller) -> RouteResult {
    let site = c.site();
    let stub = env
        .durable_object("BUFFER")?
        .id_from_name(site)?
        .get_stub()?;
    let init = worker::RequestInit {
        method: worker::Method::Post,
        ..Default::default()
    };
    stub.fetch_with_request(worker::Request::new_with_init(
        "https://buffer/purge",
        &init,
    )?)
    .await?;
    // The internal key names the site's cold shards; read it before the row goes.
    let cold = crate::cold::position(env, site).await?;
    batch(&d1(env)?, &sql::delete_site(site)).await?;
    if let Some(at) = cold {
        crate::cold::drop_site(env, at.site_key).await?;
    }
    forget_site_config(site);
    json(
        200,
        &SiteDeleted {
            deleted: site.into(),
        },
    )
}

/// `GET /api/sites/{site}/members`: the members, and the invitations not yet answered.
pub async fn members(env: &Env, c: &Caller) -> RouteResult {
    let db = d1(env)?;
    let invitations: Vec<sql::InvitationRow> =
        db::all(&db, &sql::pending_invitations(c.site(), now_ms())).await?;
    let members: Vec<sql::MemberRow> = db::all(&db, &sql::members(c.site())).await?;
    json(
        200,
        &Members {
            invitations: invitations.into_iter().map(Into::into).collect(),
            members: members.into_iter().map(Into::into).collect(),
        },
    )
}

/// `PUT /api/sites/{site}/members`: a role for a person. A member's role changes at once. An
/// instance admin (who can list every account anyway) adds an existing account at once. Anyone
/// else invites: the person becomes a member only by accepting, and the answer is the same
/// whether or not an account has this email, so it tells nothing about who exists.
pub async fn set_member(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body: MemberBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    let role = parse_role(&body.role)?;
    let email = clean_email(&body.email)?;
    let caller = c.user()?;
    let db = d1(env)?;
    // Members of this site are listed to its admins already: changing a role reveals nothing.
    let member: Option<sql::MemberRow> =
        db::first(&db, &sql::member_by_email(c.site(), &email)).await?;
    check_may_change(c.role(), member.as_ref().map(|m| m.role), Some(role))?;
    let direct = match &member {
        Some(m) => Some(m.user_id),
        None if instance_admin(caller) => {
            let user: Option<analytics_core::store::users::IdRow> =
                db::first(&db, &analytics_core::store::users::user_by_email(&email)).await?;
            Some(user.map(|u| u.id).ok_or_else(|| {
                ApiError::not_found(
                    "no user with this email; an instance admin can create the account first",
                )
            })?)
        }
        None => None,
    };
    if let Some(user_id) = direct {
        let written: Option<UserIdRow> =
            db::first(&db, &sql::set_member_role(c.site(), user_id, role)).await?;
        if written.is_none() {
            return Err(last_owner().into());
        }
        return json(
            200,
            &Member {
                email,
                role,
                user_id,
            },
        );
    }
    let now = now_ms();
    let written: Option<InviteIdRow> = db::first(
        &db,
        &sql::upsert_invitation(&sql::NewInvitation {
            site: c.site(),
            email: &email,
            role,
            invited_by: caller.id,
            now_ms: now,
            expires_at: now + SITE_INVITE_TTL_MS,
            limit: MAX_PENDING_INVITES_PER_SITE,
        }),
    )
    .await?;
    if written.is_none() {
        return Err(too_many_invitations().into());
    }
    json(202, &invite_answer(&email, role))
}

pub async fn remove_member(env: &Env, c: &Caller) -> RouteResult {
    let user_id = id_param(c.param("user"))?;
    let db = d1(env)?;
    let current: sql::RoleRow = db::first(&db, &sql::member_role(c.site(), user_id))
        .await?
        .ok_or_else(|| ApiError::not_found("this user is not a member of the site"))?;
    check_may_change(c.role(), Some(current.role), None)?;
    let removed: Option<UserIdRow> = db::first(&db, &sql::remove_member(c.site(), user_id)).await?;
    if removed.is_none() {
        return Err(last_owner().into());
    }
    json(200, &MemberRemoved { removed: user_id })
}

/// `POST /api/sites/{site}/share`: turns the public read-only link on (a new token each
/// time) or off.
pub async fn set_share(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body: ShareBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    let token = if body.enabled {
        Some(random_hex::<16>()?)
    } else {
        None
    };
    db::run(&d1(env)?, &sql::set_share_token(c.site(), token.as_deref())).await?;
    let base = public_base(env, Some(&req));
    json(
        200,
        &Share {
            enabled: body.enabled,
            url: token.map(|t| format!("{base}/?share={t}")),
        },
    )
}

/// `GET /api/share/{token}`: which site a public link opens. Rate-limited per address like
/// every public-link request, valid token or not.
pub async fn share_info(req: Request, env: &Env, c: &Caller) -> RouteResult {
    crate::session::limit_share(&req, env).await?;
    let site = crate::session::share_site(env, c.param("token"))
        .await?
        .ok_or_else(|| ApiError::not_found("this public link is off or wrong"))?;
    let row: Option<sql::SiteRow> = db::first(&d1(env)?, &sql::shared_site(&site)).await?;
    json(
        200,
        &ShareInfo {
            site: row.map(Into::into),
        },
    )
}
