//! Sites: list, create, read (with the snippet and the installation check), edit, delete with
//! all its data, members and roles, and the optional public link.

pub use analytics_core::accounts::membership::check_site_id;
use analytics_core::accounts::membership::{
    clean_email, invite_answer, is_hostname, CREATE_SITE_HOSTNAME_SQL, CREATE_SITE_OWNER_SQL,
    CREATE_SITE_SQL, MAX_PENDING_INVITES_PER_SITE, MAX_SITES_PER_USER, REMOVE_MEMBER_SQL,
    SET_MEMBER_ROLE_SQL, SITE_INVITE_TTL_MS, UPSERT_INVITE_SQL,
};
use analytics_core::routes::Role;
use analytics_core::stats::period::time_zone;
use analytics_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::{Env, Request};

use crate::db::{d1, forget_site_config};
use crate::http::{
    id_param, json, now_ms, public_base, random_hex, read_json, Failure, RouteResult,
};
use crate::session::Caller;

const MAX_SITE_BODY_BYTES: usize = 8 * 1024;
/// Most hostnames one site may list.
pub const MAX_HOSTNAMES: usize = 20;
const MAX_SITE_NAME_BYTES: usize = 120;

#[derive(Serialize, Deserialize)]
struct SiteRow {
    id: String,
    name: String,
    timezone: String,
    role: String,
    #[serde(deserialize_with = "int_bool")]
    hash_routing: bool,
}

/// D1 answers booleans as numbers.
fn int_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(f64::deserialize(d)? != 0.0)
}

pub async fn list(env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?;
    let db = d1(env)?;
    let statement = if user.is_admin != 0 {
        db.prepare(
            "SELECT id, name, timezone, 'owner' AS role, hash_routing FROM sites ORDER BY name",
        )
    } else {
        db.prepare(
            "SELECT s.id, s.name, s.timezone, m.role, s.hash_routing FROM sites s \
             JOIN memberships m ON m.site_id = s.id \
             WHERE m.user_id = ?1 ORDER BY s.name",
        )
        .bind(&[(user.id as f64).into()])?
    };
    let sites: Vec<SiteRow> = statement.all().await?.results()?;
    json(200, &serde_json::json!({ "sites": sites }))
}

#[derive(Deserialize)]
struct SiteBody {
    id: Option<String>,
    name: Option<String>,
    hostnames: Option<Vec<String>>,
    timezone: Option<String>,
    query_allow_list: Option<String>,
    retention_days: Option<i64>,
    /// Keep URL fragments in stored paths (single-page apps routing with `#/`).
    hash_routing: Option<bool>,
}

fn clean_hostnames(hosts: &[String]) -> Result<Vec<String>, ApiError> {
    if hosts.len() > MAX_HOSTNAMES {
        return Err(ApiError::bad_request(
            "bad_hostnames",
            format!("a site may list at most {MAX_HOSTNAMES} hostnames"),
        ));
    }
    let mut out = Vec::new();
    for host in hosts {
        let h = host.trim().trim_end_matches('/').to_ascii_lowercase();
        let h = h
            .strip_prefix("https://")
            .or_else(|| h.strip_prefix("http://"))
            .unwrap_or(&h)
            .to_string();
        if !is_hostname(&h) {
            return Err(ApiError::bad_request(
                "bad_hostnames",
                format!("{host:?} is not a hostname such as example.com"),
            ));
        }
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_SITE_NAME_BYTES {
        return Err(ApiError::bad_request(
            "bad_name",
            format!("a site needs a name of 1-{MAX_SITE_NAME_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn check_allow_list(list: &str) -> Result<(), ApiError> {
    let ok = list.len() <= 512
        && list.split(',').map(str::trim).all(|p| {
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_query_allow_list",
            "query parameters to keep are names separated by commas, e.g. ref,page",
        ))
    }
}

/// `POST /api/sites`: any user may add a site and becomes its owner; a user who is not an
/// instance admin may own at most `MAX_SITES_PER_USER` (`VIGIA_MAX_SITES_PER_USER`), so one
/// account cannot fill the instance. The count is checked in the statements that write the
/// site (`CREATE_SITE_SQL`), so concurrent requests cannot pass the limit together.
pub async fn create(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let user = c.user()?.clone();
    let body: SiteBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    let limit = if user.is_admin == 0 {
        Some(crate::config::settings(env).max_sites_per_user)
    } else {
        None
    };
    let too_many = |limit: i64| -> Failure {
        ApiError::new(
            403,
            "too_many_sites",
            format!("an account may own at most {limit} sites and you own that many; delete one or ask an instance admin"),
        )
        .into()
    };
    let hostnames = clean_hostnames(body.hostnames.as_deref().unwrap_or_default())?;
    let id = match body.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => hostnames.first().cloned().ok_or_else(|| {
            ApiError::bad_request(
                "bad_site_id",
                "give the site an id or at least one hostname",
            )
        })?,
    };
    check_site_id(&id)?;
    let name = body.name.unwrap_or_else(|| id.clone());
    check_name(&name)?;
    let tz = body.timezone.unwrap_or_else(|| "UTC".into());
    time_zone(&tz)?;
    let allow = body.query_allow_list.unwrap_or_default();
    check_allow_list(&allow)?;
    let db = d1(env)?;
    let exists: Option<String> = db
        .prepare("SELECT id FROM sites WHERE id = ?1")
        .bind(&[id.as_str().into()])?
        .first(Some("id"))
        .await?;
    if exists.is_some() {
        return Err(ApiError::new(
            409,
            "site_exists",
            format!("a site with id {id:?} exists already"),
        )
        .into());
    }
    let now = now_ms() as f64;
    let hash_routing = body.hash_routing.unwrap_or(false);
    // Instance admins are not bounded: a bound no one reaches.
    let bound = limit.unwrap_or(i64::from(i32::MAX)) as f64;
    let owner = user.id as f64;
    let mut statements = vec![db.prepare(CREATE_SITE_SQL).bind(&[
        id.as_str().into(),
        name.trim().into(),
        tz.as_str().into(),
        allow.as_str().into(),
        (hash_routing as i32 as f64).into(),
        now.into(),
        owner.into(),
        bound.into(),
    ])?];
    for h in &hostnames {
        statements.push(db.prepare(CREATE_SITE_HOSTNAME_SQL).bind(&[
            id.as_str().into(),
            h.as_str().into(),
            owner.into(),
            bound.into(),
        ])?);
    }
    statements.push(db.prepare(CREATE_SITE_OWNER_SQL).bind(&[
        owner.into(),
        id.as_str().into(),
        bound.into(),
    ])?);
    db.batch(statements).await?;
    let owned: Option<String> = db
        .prepare("SELECT role FROM memberships WHERE user_id = ?1 AND site_id = ?2")
        .bind(&[owner.into(), id.as_str().into()])?
        .first(Some("role"))
        .await?;
    if owned.is_none() {
        // The limit was reached: the batch wrote nothing, but never leave a site without owner.
        db.prepare(
            "DELETE FROM sites WHERE id = ?1 AND NOT EXISTS \
             (SELECT 1 FROM memberships WHERE site_id = ?1)",
        )
        .bind(&[id.as_str().into()])?
        .run()
        .await?;
        return Err(too_many(limit.unwrap_or(MAX_SITES_PER_USER)));
    }
    json(
        201,
        &serde_json::json!({ "id": id, "name": name.trim(), "timezone": tz, "hostnames": hostnames, "hash_routing": hash_routing }),
    )
}

#[derive(Deserialize)]
struct SiteDetail {
    id: String,
    name: String,
    timezone: String,
    query_allow_list: String,
    retention_days: f64,
    hash_routing: f64,
    created_at: f64,
    share_token: Option<String>,
    hostnames: Option<String>,
    first_event_at: Option<f64>,
}

/// `GET /api/sites/{site}`: settings, the snippet, and when the first event arrived.
pub async fn get(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let site: SiteDetail = d1(env)?
        .prepare(
            "SELECT id, name, timezone, query_allow_list, retention_days, hash_routing, created_at, share_token, \
             (SELECT group_concat(hostname, ',') FROM site_hostnames h WHERE h.site_id = s.id) AS hostnames, \
             (SELECT MIN(ts) FROM events e WHERE e.site_id = s.id) AS first_event_at \
             FROM sites s WHERE id = ?1",
        )
        .bind(&[c.site().into()])?
        .first(None)
        .await?
        .ok_or_else(|| ApiError::not_found("no such site"))?;
    let base = public_base(env, Some(&req));
    let manage = c.role() >= Role::Admin;
    let hash_routing = site.hash_routing != 0.0;
    json(
        200,
        &serde_json::json!({
            "id": site.id,
            "name": site.name,
            "timezone": site.timezone,
            "query_allow_list": site.query_allow_list,
            "retention_days": site.retention_days as i64,
            "hash_routing": hash_routing,
            "hostnames": site.hostnames.unwrap_or_default().split(',').filter(|h| !h.is_empty()).collect::<Vec<_>>(),
            "created_at": site.created_at as i64,
            "role": c.role().as_str(),
            "snippet": analytics_core::accounts::snippet::snippet(&base, &site.id, hash_routing),
            "first_event_at": site.first_event_at.map(|t| t as i64),
            "share": {
                "enabled": site.share_token.is_some(),
                "url": if manage { site.share_token.map(|t| format!("{base}/?share={t}")) } else { None },
            },
        }),
    )
}

/// `PATCH /api/sites/{site}`: name, hostnames, time zone, kept query parameters, retention,
/// hash routing. Ingest in this isolate sees the change at once, in others within
/// `SITE_CACHE_MS` (the site config cache).
pub async fn update(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body: SiteBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    if body.id.as_deref().is_some_and(|id| id != c.site()) {
        return Err(ApiError::bad_request("bad_site_id", "a site's id cannot change").into());
    }
    let db = d1(env)?;
    let mut statements = Vec::new();
    if let Some(name) = &body.name {
        check_name(name)?;
        statements.push(
            db.prepare("UPDATE sites SET name = ?1 WHERE id = ?2")
                .bind(&[name.trim().into(), c.site().into()])?,
        );
    }
    if let Some(tz) = &body.timezone {
        time_zone(tz)?;
        statements.push(
            db.prepare("UPDATE sites SET timezone = ?1 WHERE id = ?2")
                .bind(&[tz.as_str().into(), c.site().into()])?,
        );
    }
    if let Some(allow) = &body.query_allow_list {
        check_allow_list(allow)?;
        statements.push(
            db.prepare("UPDATE sites SET query_allow_list = ?1 WHERE id = ?2")
                .bind(&[allow.as_str().into(), c.site().into()])?,
        );
    }
    if let Some(days) = body.retention_days {
        analytics_core::governance::compliance::check_retention(days)?;
        statements.push(
            db.prepare("UPDATE sites SET retention_days = ?1 WHERE id = ?2")
                .bind(&[(days as f64).into(), c.site().into()])?,
        );
    }
    if let Some(on) = body.hash_routing {
        statements.push(
            db.prepare("UPDATE sites SET hash_routing = ?1 WHERE id = ?2")
                .bind(&[(on as i32 as f64).into(), c.site().into()])?,
        );
    }
    if let Some(hosts) = &body.hostnames {
        let hosts = clean_hostnames(hosts)?;
        statements.push(
            db.prepare("DELETE FROM site_hostnames WHERE site_id = ?1")
                .bind(&[c.site().into()])?,
        );
        for h in &hosts {
            statements.push(
                db.prepare("INSERT INTO site_hostnames (site_id, hostname) VALUES (?1, ?2)")
                    .bind(&[c.site().into(), h.as_str().into()])?,
            );
        }
    }
    if statements.is_empty() {
        return Err(ApiError::bad_request(
            "nothing_to_change",
            "give name, hostnames, timezone, query_allow_list, retention_days or hash_routing",
        )
        .into());
    }
    db.batch(statements).await?;
    forget_site_config(c.site());
    json(200, &serde_json::json!({ "updated": c.site() }))
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
    let db = d1(env)?;
    let mut statements = Vec::new();
    for table in analytics_core::governance::compliance::SITE_DATA_TABLES {
        statements.push(
            db.prepare(analytics_core::governance::compliance::delete_site_rows_sql(table))
                .bind(&[site.into()])?,
        );
    }
    statements.push(
        db.prepare("DELETE FROM sites WHERE id = ?1")
            .bind(&[site.into()])?,
    );
    db.batch(statements).await?;
    forget_site_config(site);
    json(200, &serde_json::json!({ "deleted": site }))
}

#[derive(Serialize, Deserialize)]
struct Member {
    user_id: i64,
    email: String,
    role: String,
}

#[derive(Serialize, Deserialize)]
struct PendingInvite {
    email: String,
    role: String,
    expires_at: f64,
}

/// `GET /api/sites/{site}/members`: the members, and the invitations not yet answered.
pub async fn members(env: &Env, c: &Caller) -> RouteResult {
    let invitations: Vec<PendingInvite> = d1(env)?
        .prepare("SELECT email, role, expires_at FROM site_invites WHERE site_id = ?1 AND expires_at > ?2 ORDER BY email")
        .bind(&[c.site().into(), (now_ms() as f64).into()])?
        .all()
        .await?
        .results()?;
    let invitations: Vec<serde_json::Value> = invitations
        .iter()
        .map(|i| serde_json::json!({ "email": i.email, "role": i.role, "expires_at": i.expires_at as i64 }))
        .collect();
    let rows: Vec<Member> = d1(env)?
        .prepare(
            "SELECT u.id AS user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.site_id = ?1 ORDER BY u.email",
        )
        .bind(&[c.site().into()])?
        .all()
        .await?
        .results()?;
    json(
        200,
        &serde_json::json!({ "members": rows, "invitations": invitations }),
    )
}

#[derive(Deserialize)]
struct MemberBody {
    email: String,
    role: String,
}

async fn member_role(env: &Env, site: &str, user_id: i64) -> Result<Option<Role>, Failure> {
    let role: Option<String> = d1(env)?
        .prepare("SELECT role FROM memberships WHERE site_id = ?1 AND user_id = ?2")
        .bind(&[site.into(), (user_id as f64).into()])?
        .first(Some("role"))
        .await?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// Only owners may make or unmake owners.
fn check_may_change(c: &Caller, from: Option<Role>, to: Option<Role>) -> Result<(), ApiError> {
    if (from == Some(Role::Owner) || to == Some(Role::Owner)) && c.role() < Role::Owner {
        return Err(ApiError::forbidden(
            "only an owner may add or change an owner",
        ));
    }
    Ok(())
}

/// `PUT /api/sites/{site}/members`: a role for a person. A member's role changes at once. An
/// instance admin (who can list every account anyway) adds an existing account at once. Anyone
/// else invites: the person becomes a member only by accepting, and the answer is the same
/// whether or not an account has this email, so it tells nothing about who exists.
pub async fn set_member(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let body: MemberBody = read_json(&mut req, MAX_SITE_BODY_BYTES).await?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::bad_request("bad_role", "role is owner, admin, auditor or viewer")
    })?;
    let email = clean_email(&body.email)?;
    let caller = c.user()?;
    let db = d1(env)?;
    #[derive(Deserialize)]
    struct Current {
        user_id: f64,
        role: String,
    }
    // Members of this site are listed to its admins already: changing a role reveals nothing.
    let member: Option<Current> = db
        .prepare(
            "SELECT m.user_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.site_id = ?1 AND u.email = ?2",
        )
        .bind(&[c.site().into(), email.as_str().into()])?
        .first(None)
        .await?;
    let current = member.as_ref().and_then(|m| Role::parse(&m.role));
    check_may_change(c, current, Some(role))?;
    let direct = match &member {
        Some(m) => Some(m.user_id as i64),
        None if caller.is_admin != 0 => {
            let id: Option<f64> = db
                .prepare("SELECT id FROM users WHERE email = ?1")
                .bind(&[email.as_str().into()])?
                .first(Some("id"))
                .await?;
            Some(id.map(|id| id as i64).ok_or_else(|| {
                ApiError::not_found(
                    "no user with this email; an instance admin can create the account first",
                )
            })?)
        }
        None => None,
    };
    if let Some(user_id) = direct {
        let written: Option<f64> = db
            .prepare(SET_MEMBER_ROLE_SQL)
            .bind(&[
                (user_id as f64).into(),
                c.site().into(),
                role.as_str().into(),
            ])?
            .first(Some("user_id"))
            .await?;
        if written.is_none() {
            return Err(last_owner().into());
        }
        return json(
            200,
            &Member {
                user_id,
                email,
                role: role.as_str().into(),
            },
        );
    }
    let now = now_ms();
    let written: Option<f64> = db
        .prepare(UPSERT_INVITE_SQL)
        .bind(&[
            c.site().into(),
            email.as_str().into(),
            role.as_str().into(),
            (caller.id as f64).into(),
            (now as f64).into(),
            ((now + SITE_INVITE_TTL_MS) as f64).into(),
            (MAX_PENDING_INVITES_PER_SITE as f64).into(),
        ])?
        .first(Some("id"))
        .await?;
    if written.is_none() {
        return Err(ApiError::new(
            409,
            "too_many_invitations",
            format!("this site has {MAX_PENDING_INVITES_PER_SITE} invitations waiting for an answer; wait until some are accepted or expire"),
        )
        .into());
    }
    json(202, &invite_answer(&email, role))
}

pub async fn remove_member(env: &Env, c: &Caller) -> RouteResult {
    let user_id = id_param(c.param("user"))?;
    let current = member_role(env, c.site(), user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("this user is not a member of the site"))?;
    check_may_change(c, Some(current), None)?;
    let removed: Option<f64> = d1(env)?
        .prepare(REMOVE_MEMBER_SQL)
        .bind(&[c.site().into(), (user_id as f64).into()])?
        .first(Some("user_id"))
        .await?;
    if removed.is_none() {
        return Err(last_owner().into());
    }
    json(200, &serde_json::json!({ "removed": user_id }))
}

/// A site keeps at least one owner: without one, only an instance admin could see or manage
/// it, and its creator would have freed a place under the sites limit.
fn last_owner() -> ApiError {
    ApiError::new(
        409,
        "last_owner",
        "this is the site's only owner: make someone else an owner first, or delete the site",
    )
}

#[derive(Deserialize)]
struct ShareBody {
    enabled: bool,
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
    let value = token
        .as_deref()
        .map(wasm_bindgen::JsValue::from)
        .unwrap_or(wasm_bindgen::JsValue::NULL);
    d1(env)?
        .prepare("UPDATE sites SET share_token = ?1 WHERE id = ?2")
        .bind(&[value, c.site().into()])?
        .run()
        .await?;
    let base = public_base(env, Some(&req));
    json(
        200,
        &serde_json::json!({ "enabled": body.enabled, "url": token.map(|t| format!("{base}/?share={t}")) }),
    )
}

/// `GET /api/share/{token}`: which site a public link opens. Rate-limited per address like
/// every public-link request, valid token or not.
pub async fn share_info(req: Request, env: &Env, c: &Caller) -> RouteResult {
    crate::session::limit_share(&req, env).await?;
    let site = crate::session::share_site(env, c.param("token"))
        .await?
        .ok_or_else(|| ApiError::not_found("this public link is off or wrong"))?;
    let row: Option<SiteRow> = d1(env)?
        .prepare(
            "SELECT id, name, timezone, 'viewer' AS role, hash_routing FROM sites WHERE id = ?1",
        )
        .bind(&[site.as_str().into()])?
        .first(None)
        .await?;
    json(200, &serde_json::json!({ "site": row }))
}
