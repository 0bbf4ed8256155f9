//! SQL of the site routes: the site list, creating (bounded by the sites limit), reading and
//! editing a site, deleting it with its data, members and their roles, invitations to a site,
//! and the public link. Row types beside their statements; answers as `api_types::sites`.

use serde::Deserialize;

use super::{int_bool, Sql};
use crate::binds;
use crate::routes::Role;
use api_types::apps::SiteKind;
use api_types::sites::{Invitation, Member, MyInvitation, Site};

/// A site in a list, with the caller's role on it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteRow {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub role: Role,
    #[serde(deserialize_with = "int_bool")]
    pub hash_routing: bool,
    pub kind: SiteKind,
}

impl From<SiteRow> for Site {
    fn from(r: SiteRow) -> Site {
        Site {
            hash_routing: r.hash_routing,
            id: r.id,
            kind: r.kind,
            name: r.name,
            role: r.role,
            timezone: r.timezone,
        }
    }
}

/// Every site, as an instance admin (who may manage every site) sees them: as their owner.
pub fn all_sites() -> Sql {
    Sql::new(
        "SELECT id, name, timezone, 'owner' AS role, hash_routing, kind FROM sites ORDER BY name",
        [],
    )
}

/// The sites a user is a member of, with their role. Rows: [`SiteRow`].
pub fn member_sites(user_id: i64) -> Sql {
    Sql::new(
        "SELECT s.id, s.name, s.timezone, m.role, s.hash_routing, s.kind FROM sites s \
         JOIN memberships m ON m.site_id = s.id \
         WHERE m.user_id = ?1 ORDER BY s.name",
        binds![user_id],
    )
}

/// The site a public link opens, as a viewer sees it. Rows: [`SiteRow`].
pub fn shared_site(id: &str) -> Sql {
    Sql::new(
        "SELECT id, name, timezone, 'viewer' AS role, hash_routing, kind FROM sites WHERE id = ?1",
        binds![id],
    )
}

/// A row with the id when the site exists. Rows: [`IdRow`].
pub fn site_exists(id: &str) -> Sql {
    Sql::new("SELECT id FROM sites WHERE id = ?1", binds![id])
}

/// A site's kind (web or app). Rows: [`KindRow`].
pub fn site_kind(id: &str) -> Sql {
    Sql::new("SELECT kind FROM sites WHERE id = ?1", binds![id])
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KindRow {
    pub kind: SiteKind,
}

/// A site's id (any statement answering `id`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdRow {
    pub id: String,
}

/// Creating a site: each statement of the batch (site, hostnames, then the owner's
/// membership) is written only while the user owns fewer than `limit` sites. The batch runs
/// as one transaction and the count changes only with its last statement, so the statements
/// are all written or none, and concurrent creates cannot pass the limit together. Binds:
/// id, name, time zone, query allow list, hash routing, now, user id, limit, kind, app key.
pub const CREATE_SITE_SQL: &str = "INSERT INTO sites \
     (id, name, timezone, query_allow_list, hash_routing, created_at, kind, app_key) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?9, ?10 WHERE (SELECT COUNT(*) FROM memberships \
     WHERE user_id = ?7 AND role = 'owner') < ?8";
/// Binds: site id, hostname, user id, limit.
pub const CREATE_SITE_HOSTNAME_SQL: &str = "INSERT INTO site_hostnames (site_id, hostname) \
     SELECT ?1, ?2 WHERE (SELECT COUNT(*) FROM memberships \
     WHERE user_id = ?3 AND role = 'owner') < ?4";
/// Binds: user id, site id, limit.
pub const CREATE_SITE_OWNER_SQL: &str = "INSERT INTO memberships (user_id, site_id, role) \
     SELECT ?1, ?2, 'owner' WHERE (SELECT COUNT(*) FROM memberships \
     WHERE user_id = ?1 AND role = 'owner') < ?3";

/// A site to create, as its creator gave it (already checked).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSite<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub query_allow_list: &'a str,
    pub hash_routing: bool,
    pub hostnames: &'a [String],
    /// A web site, or an app (no hostnames, and its key).
    pub kind: SiteKind,
    pub app_key: Option<&'a str>,
    pub owner: i64,
    pub now_ms: i64,
    /// Sites the owner may own at most (`None`: not bounded, an instance admin).
    pub limit: Option<i64>,
}

/// The batch that creates a site with its hostnames and its owner, all or nothing under the
/// owner's sites limit (see [`CREATE_SITE_SQL`]).
pub fn create_site(site: &NewSite) -> Vec<Sql> {
    // Instance admins are not bounded: a bound no one reaches.
    let bound = site.limit.unwrap_or(i64::from(i32::MAX));
    let mut batch = vec![Sql::new(
        CREATE_SITE_SQL,
        binds![
            site.id,
            site.name,
            site.timezone,
            site.query_allow_list,
            site.hash_routing,
            site.now_ms,
            site.owner,
            bound,
            site.kind.as_str(),
            site.app_key
        ],
    )];
    for h in site.hostnames {
        batch.push(Sql::new(
            CREATE_SITE_HOSTNAME_SQL,
            binds![site.id, h, site.owner, bound],
        ));
    }
    batch.push(Sql::new(
        CREATE_SITE_OWNER_SQL,
        binds![site.owner, site.id, bound],
    ));
    batch
}

/// Never leaves a site without owner: after a create refused by the limit, removes the site
/// if no membership names it. Binds: site id.
pub fn delete_ownerless_site(id: &str) -> Sql {
    Sql::new(
        "DELETE FROM sites WHERE id = ?1 AND NOT EXISTS \
         (SELECT 1 FROM memberships WHERE site_id = ?1)",
        binds![id],
    )
}

/// A user's role on a site, if they are a member. Rows: [`RoleRow`].
pub fn member_role(site: &str, user_id: i64) -> Sql {
    Sql::new(
        "SELECT role FROM memberships WHERE site_id = ?1 AND user_id = ?2",
        binds![site, user_id],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RoleRow {
    pub role: Role,
}

/// A site's settings, its hostnames (comma-separated) and its first event's time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteDetailRow {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub query_allow_list: String,
    pub retention_days: i64,
    #[serde(deserialize_with = "int_bool")]
    pub hash_routing: bool,
    pub created_at: i64,
    pub share_token: Option<String>,
    pub kind: SiteKind,
    pub app_key: Option<String>,
    pub hostnames: Option<String>,
    pub first_event_at: Option<i64>,
}

impl SiteDetailRow {
    pub fn hostname_list(&self) -> Vec<String> {
        self.hostnames
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|h| !h.is_empty())
            .map(String::from)
            .collect()
    }
}

/// Rows: [`SiteDetailRow`].
pub fn site_detail(id: &str) -> Sql {
    Sql::new(
        "SELECT id, name, timezone, query_allow_list, retention_days, hash_routing, created_at, share_token, kind, app_key, \
         (SELECT group_concat(hostname, ',') FROM site_hostnames h WHERE h.site_id = s.id) AS hostnames, \
         COALESCE( \
           (SELECT CAST(strftime('%s', MIN(period) || '-01') AS INTEGER) * 1000 FROM shards c \
            WHERE c.site_key = s.site_key AND c.events > 0), \
           (SELECT MIN(ts) FROM events e WHERE e.site_id = s.id), \
           (SELECT MIN(first_seen) FROM app_installs a WHERE a.site_key = s.site_key)) AS first_event_at \
         FROM sites s WHERE id = ?1",
        binds![id],
    )
}

pub fn set_name(site: &str, name: &str) -> Sql {
    Sql::new(
        "UPDATE sites SET name = ?1 WHERE id = ?2",
        binds![name, site],
    )
}

pub fn set_timezone(site: &str, tz: &str) -> Sql {
    Sql::new(
        "UPDATE sites SET timezone = ?1 WHERE id = ?2",
        binds![tz, site],
    )
}

pub fn set_query_allow_list(site: &str, list: &str) -> Sql {
    Sql::new(
        "UPDATE sites SET query_allow_list = ?1 WHERE id = ?2",
        binds![list, site],
    )
}

pub fn set_retention_days(site: &str, days: i64) -> Sql {
    Sql::new(
        "UPDATE sites SET retention_days = ?1 WHERE id = ?2",
        binds![days, site],
    )
}

pub fn set_hash_routing(site: &str, on: bool) -> Sql {
    Sql::new(
        "UPDATE sites SET hash_routing = ?1 WHERE id = ?2",
        binds![on, site],
    )
}

/// Replaces a site's hostnames: the statements of one batch.
pub fn replace_hostnames(site: &str, hostnames: &[String]) -> Vec<Sql> {
    let mut batch = vec![Sql::new(
        "DELETE FROM site_hostnames WHERE site_id = ?1",
        binds![site],
    )];
    for h in hostnames {
        batch.push(Sql::new(
            "INSERT INTO site_hostnames (site_id, hostname) VALUES (?1, ?2)",
            binds![site, h],
        ));
    }
    batch
}

/// Deletes a site and every row of it in every table (`SITE_DATA_TABLES`, and an app's
/// tables filed by its internal key, `store::apps::APP_DATA_TABLES`), as one batch. The
/// metering rows stay: they are what the site used, the basis of a bill.
pub fn delete_site(site: &str) -> Vec<Sql> {
    use crate::governance::compliance::{delete_site_rows_sql, SITE_DATA_TABLES};
    let mut batch: Vec<Sql> = SITE_DATA_TABLES
        .iter()
        .map(|table| Sql::new(delete_site_rows_sql(table), binds![site]))
        .collect();
    batch.extend(
        super::apps::APP_DATA_TABLES
            .iter()
            .map(|table| super::apps::delete_app_rows(table, site)),
    );
    batch.push(Sql::new("DELETE FROM sites WHERE id = ?1", binds![site]));
    batch
}

/// Turns the public link on (a token) or off (`None`).
pub fn set_share_token(site: &str, token: Option<&str>) -> Sql {
    Sql::new(
        "UPDATE sites SET share_token = ?1 WHERE id = ?2",
        binds![token, site],
    )
}

/// A site's members, by email.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Member {
        Member {
            email: r.email,
            role: r.role,
            user_id: r.user_id,
        }
    }
}

/// Rows: [`MemberRow`].
pub fn members(site: &str) -> Sql {
    Sql::new(
        "SELECT u.id AS user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.site_id = ?1 ORDER BY u.email",
        binds![site],
    )
}

/// The member of a site with this email, if any. Rows: [`MemberRow`].
pub fn member_by_email(site: &str, email: &str) -> Sql {
    Sql::new(
        "SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.site_id = ?1 AND u.email = ?2",
        binds![site, email],
    )
}

/// A site's invitations not answered yet (and not expired).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InvitationRow {
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

impl From<InvitationRow> for Invitation {
    fn from(r: InvitationRow) -> Invitation {
        Invitation {
            email: r.email,
            expires_at: r.expires_at,
            role: r.role,
        }
    }
}

/// Rows: [`InvitationRow`].
pub fn pending_invitations(site: &str, now_ms: i64) -> Sql {
    Sql::new(
        "SELECT email, role, expires_at FROM site_invites WHERE site_id = ?1 AND expires_at > ?2 ORDER BY email",
        binds![site, now_ms],
    )
}

/// Sets a role, refusing (no row answered) to turn the site's last owner into anything else,
/// in the same statement so two owners demoting each other cannot both succeed. Answers the
/// user id when written. Binds: user id, site, role.
pub const SET_MEMBER_ROLE_SQL: &str = "INSERT INTO memberships (user_id, site_id, role) \
     VALUES (?1, ?2, ?3) ON CONFLICT (user_id, site_id) DO UPDATE SET role = excluded.role \
     WHERE memberships.role <> 'owner' OR excluded.role = 'owner' \
     OR (SELECT COUNT(*) FROM memberships WHERE site_id = ?2 AND role = 'owner') > 1 \
     RETURNING user_id";

/// Rows: [`UserIdRow`] when written, none when it would leave the site without owner.
pub fn set_member_role(site: &str, user_id: i64, role: Role) -> Sql {
    Sql::new(SET_MEMBER_ROLE_SQL, binds![user_id, site, role.as_str()])
}

/// Removes a member unless they are the site's last owner; answers the user id when removed.
/// Binds: site, user id.
pub const REMOVE_MEMBER_SQL: &str = "DELETE FROM memberships WHERE site_id = ?1 AND user_id = ?2 \
     AND (role <> 'owner' OR (SELECT COUNT(*) FROM memberships WHERE site_id = ?1 \
     AND role = 'owner') > 1) RETURNING user_id";

/// Rows: [`UserIdRow`] when removed, none when they are the last owner.
pub fn remove_member(site: &str, user_id: i64) -> Sql {
    Sql::new(REMOVE_MEMBER_SQL, binds![site, user_id])
}

/// A user id a statement answered.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserIdRow {
    pub user_id: i64,
}

/// Creates or renews an invitation; the role is the latest one asked for. The count of the
/// site's other pending invitations is checked in the same statement, so concurrent requests
/// cannot pass the limit together: it answers the invitation's id, or no row when the site
/// holds `limit` pending invitations already. Binds: site, email, role, inviter's user id,
/// now, expiry, limit.
pub const UPSERT_INVITE_SQL: &str = "INSERT INTO site_invites \
     (site_id, email, role, invited_by, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
     WHERE (SELECT COUNT(*) FROM site_invites WHERE site_id = ?1 AND expires_at > ?5 \
     AND email <> ?2) < ?7 \
     ON CONFLICT (site_id, email) DO UPDATE SET role = excluded.role, \
     invited_by = excluded.invited_by, created_at = excluded.created_at, \
     expires_at = excluded.expires_at RETURNING id";

/// An invitation to a site, as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation<'a> {
    pub site: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub invited_by: i64,
    pub now_ms: i64,
    pub expires_at: i64,
    /// Pending invitations the site may hold at most.
    pub limit: i64,
}

/// Rows: [`InviteIdRow`] when written, none when the site holds `limit` pending already.
pub fn upsert_invitation(i: &NewInvitation) -> Sql {
    Sql::new(
        UPSERT_INVITE_SQL,
        binds![
            i.site,
            i.email,
            i.role.as_str(),
            i.invited_by,
            i.now_ms,
            i.expires_at,
            i.limit
        ],
    )
}

/// An invitation's (or any row's) integer id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InviteIdRow {
    pub id: i64,
}

/// A user's pending invitations, matched by their account's email. Binds: email, now.
pub const MY_INVITES_SQL: &str = "SELECT i.id, i.site_id AS site, s.name AS site_name, i.role, \
     COALESCE(u.email, '') AS invited_by, i.expires_at FROM site_invites i \
     JOIN sites s ON s.id = i.site_id LEFT JOIN users u ON u.id = i.invited_by \
     WHERE i.email = ?1 AND i.expires_at > ?2 ORDER BY i.id";

/// One of a user's pending invitations. Binds: email, now, invitation id.
pub const MY_INVITE_SQL: &str = "SELECT i.id, i.site_id AS site, s.name AS site_name, i.role, \
     COALESCE(u.email, '') AS invited_by, i.expires_at FROM site_invites i \
     JOIN sites s ON s.id = i.site_id LEFT JOIN users u ON u.id = i.invited_by \
     WHERE i.email = ?1 AND i.expires_at > ?2 AND i.id = ?3";

/// An invitation to a site as its invitee sees it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MyInvitationRow {
    pub id: i64,
    pub site: String,
    pub site_name: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: i64,
}

impl From<MyInvitationRow> for MyInvitation {
    fn from(r: MyInvitationRow) -> MyInvitation {
        MyInvitation {
            expires_at: r.expires_at,
            id: r.id,
            invited_by: r.invited_by,
            role: r.role,
            site: r.site,
            site_name: r.site_name,
        }
    }
}

/// Rows: [`MyInvitationRow`].
pub fn my_invitations(email: &str, now_ms: i64) -> Sql {
    Sql::new(MY_INVITES_SQL, binds![email, now_ms])
}

/// Rows: [`MyInvitationRow`].
pub fn my_invitation(email: &str, now_ms: i64, id: i64) -> Sql {
    Sql::new(MY_INVITE_SQL, binds![email, now_ms, id])
}

/// Accepting: the membership (a role already held is replaced by the invited one) and the
/// invitation's removal go in one batch. Binds: invitation id, user id, email, now.
pub const ACCEPT_INVITE_SQL: &str = "INSERT INTO memberships (user_id, site_id, role) \
     SELECT ?2, site_id, role FROM site_invites WHERE id = ?1 AND email = ?3 AND expires_at > ?4 \
     ON CONFLICT (user_id, site_id) DO UPDATE SET role = excluded.role";
/// Binds: invitation id, email.
pub const DELETE_MY_INVITE_SQL: &str = "DELETE FROM site_invites WHERE id = ?1 AND email = ?2";

/// The batch that accepts invitation `id` for the user with this id and email.
pub fn accept_invitation(id: i64, user_id: i64, email: &str, now_ms: i64) -> Vec<Sql> {
    vec![
        Sql::new(ACCEPT_INVITE_SQL, binds![id, user_id, email, now_ms]),
        decline_invitation(id, email),
    ]
}

/// Deletes invitation `id` if it was sent to this email.
pub fn decline_invitation(id: i64, email: &str) -> Sql {
    Sql::new(DELETE_MY_INVITE_SQL, binds![id, email])
}

#[cfg(test)]
mod tests {
    use super::super::sqlite::{all, first, migrated, run};
    use super::*;
    use rusqlite::Connection;

    const NOW: i64 = 1_700_000_000_000;

    fn user(db: &Connection, id: i64, email: &str) {
        run(
            db,
            &Sql::new(
                "INSERT INTO users (id, email, password_hash, is_admin, created_at) VALUES (?1, ?2, 'x', 0, 0)",
                binds![id, email],
            ),
        );
    }

    fn create(db: &Connection, id: &str, owner: i64, limit: Option<i64>) {
        let hostnames = [format!("{id}.example"), "www.example".to_string()];
        for sql in create_site(&NewSite {
            id,
            name: "Shop",
            timezone: "Europe/Lisbon",
            query_allow_list: "ref",
            hash_routing: true,
            hostnames: &hostnames,
            kind: SiteKind::Web,
            app_key: None,
            owner,
            now_ms: NOW,
            limit,
        }) {
            run(db, &sql);
        }
    }

    #[test]
    fn an_app_is_created_with_its_kind_and_key_and_no_hostnames() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        for sql in create_site(&NewSite {
            id: "tool",
            name: "Tool",
            timezone: "UTC",
            query_allow_list: "",
            hash_routing: false,
            hostnames: &[],
            kind: SiteKind::App,
            app_key: Some("vpk_0123"),
            owner: 1,
            now_ms: NOW,
            limit: None,
        }) {
            run(&db, &sql);
        }
        create(&db, "shop", 1, None);
        let app: SiteDetailRow = first(&db, &site_detail("tool")).unwrap();
        assert_eq!(
            (app.kind, app.app_key.as_deref()),
            (SiteKind::App, Some("vpk_0123"))
        );
        assert!(app.hostname_list().is_empty());
        let web: SiteDetailRow = first(&db, &site_detail("shop")).unwrap();
        assert_eq!((web.kind, web.app_key), (SiteKind::Web, None));
        let kinds: Vec<(String, SiteKind)> = all::<SiteRow>(&db, &member_sites(1))
            .into_iter()
            .map(|s| (s.id, s.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("shop".into(), SiteKind::Web),
                ("tool".into(), SiteKind::App)
            ]
        );
        assert_eq!(
            first::<SiteRow>(&db, &shared_site("tool")).unwrap().kind,
            SiteKind::App
        );
        assert_eq!(
            first::<KindRow>(&db, &site_kind("tool")).unwrap().kind,
            SiteKind::App
        );
        assert_eq!(
            first::<KindRow>(&db, &site_kind("shop")).unwrap().kind,
            SiteKind::Web
        );
        assert_eq!(all::<SiteRow>(&db, &all_sites()).len(), 2);
    }

    #[derive(Deserialize)]
    struct KeyRow {
        site_key: i64,
    }

    fn role_of(db: &Connection, site: &str, user: i64) -> Option<Role> {
        first::<RoleRow>(db, &member_role(site, user)).map(|r| r.role)
    }

    #[test]
    fn a_created_site_has_its_owner_hostnames_and_settings() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        create(&db, "shop", 1, Some(10));
        let detail: SiteDetailRow = first(&db, &site_detail("shop")).unwrap();
        assert_eq!(
            (
                detail.name.as_str(),
                detail.timezone.as_str(),
                detail.hash_routing
            ),
            ("Shop", "Europe/Lisbon", true)
        );
        assert_eq!(detail.created_at, NOW);
        assert_eq!(detail.first_event_at, None);
        // The first event may be in D1, in a cold shard (sealed), or an app's first upload.
        let key: i64 = first::<KeyRow>(
            &db,
            &Sql::new("SELECT site_key FROM sites WHERE id = 'shop'", []),
        )
        .unwrap()
        .site_key;
        let first_at = |db: &Connection| {
            first::<SiteDetailRow>(db, &site_detail("shop"))
                .unwrap()
                .first_event_at
        };
        run(&db, &Sql::new("INSERT INTO app_installs (site_key, install, first_seen, last_seen) VALUES (?1, 'i', 5000, 6000)", crate::binds![key]));
        assert_eq!(first_at(&db), Some(5000));
        run(
            &db,
            &Sql::new(
                "INSERT INTO shards (site_key, period, events) VALUES (?1, '2026-03', 7)",
                crate::binds![key],
            ),
        );
        assert_eq!(first_at(&db), Some(1_772_323_200_000)); // 2026-03-01T00:00Z
        let mut hosts = detail.hostname_list();
        hosts.sort();
        assert_eq!(hosts, ["shop.example", "www.example"]);
        assert_eq!(role_of(&db, "shop", 1), Some(Role::Owner));
        let mine: Vec<SiteRow> = all(&db, &member_sites(1));
        assert_eq!(mine.len(), 1);
        assert_eq!(Site::from(mine[0].clone()).role, Role::Owner);
        assert!(first::<IdRow>(&db, &site_exists("shop")).is_some());
        assert!(first::<IdRow>(&db, &site_exists("nope")).is_none());
    }

    #[test]
    fn the_sites_limit_writes_nothing_of_a_site_too_many() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        create(&db, "one", 1, Some(1));
        create(&db, "two", 1, Some(1));
        assert!(first::<IdRow>(&db, &site_exists("two")).is_none());
        assert_eq!(role_of(&db, "two", 1), None);
        // An instance admin is not bounded.
        create(&db, "three", 1, None);
        assert_eq!(role_of(&db, "three", 1), Some(Role::Owner));
        let admin_view: Vec<SiteRow> = all(&db, &all_sites());
        assert_eq!(admin_view.len(), 2);
        assert!(admin_view.iter().all(|s| s.role == Role::Owner));
    }

    #[test]
    fn an_ownerless_site_is_removed_and_an_owned_one_kept() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        create(&db, "shop", 1, None);
        run(&db, &delete_ownerless_site("shop"));
        assert!(first::<IdRow>(&db, &site_exists("shop")).is_some());
        run(
            &db,
            &Sql::new(
                "INSERT INTO sites (id, name, created_at) VALUES ('lost', 'x', 0)",
                [],
            ),
        );
        run(&db, &delete_ownerless_site("lost"));
        assert!(first::<IdRow>(&db, &site_exists("lost")).is_none());
    }

    #[test]
    fn edits_change_what_the_site_detail_shows() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        create(&db, "shop", 1, None);
        for sql in [
            set_name("shop", "Store"),
            set_timezone("shop", "UTC"),
            set_query_allow_list("shop", "page"),
            set_retention_days("shop", 30),
            set_hash_routing("shop", false),
            set_share_token("shop", Some("abc")),
        ] {
            run(&db, &sql);
        }
        for sql in replace_hostnames("shop", &["new.example".into()]) {
            run(&db, &sql);
        }
        let d: SiteDetailRow = first(&db, &site_detail("shop")).unwrap();
        assert_eq!(
            (
                d.name.as_str(),
                d.timezone.as_str(),
                d.query_allow_list.as_str()
            ),
            ("Store", "UTC", "page")
        );
        assert_eq!((d.retention_days, d.hash_routing), (30, false));
        assert_eq!(d.share_token.as_deref(), Some("abc"));
        assert_eq!(d.hostname_list(), ["new.example"]);
        let shared: SiteRow = first(&db, &shared_site("shop")).unwrap();
        assert_eq!(shared.role, Role::Viewer);
        run(&db, &set_share_token("shop", None));
        let d: SiteDetailRow = first(&db, &site_detail("shop")).unwrap();
        assert_eq!(d.share_token, None);
    }

    #[test]
    fn a_deleted_site_leaves_no_members_hostnames_or_goals() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        create(&db, "shop", 1, None);
        run(
            &db,
            &Sql::new(
                "INSERT INTO goals (site_id, kind, value, created_at) VALUES ('shop', 'page', '/x', 0)",
                [],
            ),
        );
        for sql in delete_site("shop") {
            run(&db, &sql);
        }
        assert!(first::<IdRow>(&db, &site_exists("shop")).is_none());
        assert_eq!(role_of(&db, "shop", 1), None);
        let left: Vec<UserIdRow> = all(
            &db,
            &Sql::new(
                "SELECT COUNT(*) AS user_id FROM site_hostnames UNION ALL SELECT COUNT(*) FROM goals",
                [],
            ),
        );
        assert!(left.iter().all(|r| r.user_id == 0));
    }

    #[test]
    fn a_members_role_is_set_but_the_last_owner_stays() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        user(&db, 2, "al@example.com");
        create(&db, "shop", 1, None);
        assert!(first::<UserIdRow>(&db, &set_member_role("shop", 2, Role::Auditor)).is_some());
        assert_eq!(role_of(&db, "shop", 2), Some(Role::Auditor));
        let by_email: MemberRow = first(&db, &member_by_email("shop", "al@example.com")).unwrap();
        assert_eq!((by_email.user_id, by_email.role), (2, Role::Auditor));
        let listed: Vec<MemberRow> = all(&db, &members("shop"));
        assert_eq!(
            listed.iter().map(|m| m.email.as_str()).collect::<Vec<_>>(),
            ["al@example.com", "mo@example.com"]
        );
        // The only owner cannot be demoted or removed…
        assert!(first::<UserIdRow>(&db, &set_member_role("shop", 1, Role::Viewer)).is_none());
        assert!(first::<UserIdRow>(&db, &remove_member("shop", 1)).is_none());
        assert_eq!(role_of(&db, "shop", 1), Some(Role::Owner));
        // …once there is a second owner, they can.
        assert!(first::<UserIdRow>(&db, &set_member_role("shop", 2, Role::Owner)).is_some());
        assert_eq!(
            first::<UserIdRow>(&db, &remove_member("shop", 1)).map(|r| r.user_id),
            Some(1)
        );
        assert_eq!(role_of(&db, "shop", 1), None);
    }

    fn invite(db: &Connection, email: &str, role: Role, limit: i64) -> Option<InviteIdRow> {
        first(
            db,
            &upsert_invitation(&NewInvitation {
                site: "shop",
                email,
                role,
                invited_by: 1,
                now_ms: NOW,
                expires_at: NOW + 1000,
                limit,
            }),
        )
    }

    #[test]
    fn an_invitation_is_accepted_once_with_its_latest_role() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        user(&db, 2, "al@example.com");
        create(&db, "shop", 1, None);
        let first_id = invite(&db, "al@example.com", Role::Viewer, 50).unwrap().id;
        // Asked again: the same invitation, with the new role.
        assert_eq!(
            invite(&db, "al@example.com", Role::Admin, 50).unwrap().id,
            first_id
        );
        let pending: Vec<InvitationRow> = all(&db, &pending_invitations("shop", NOW));
        assert_eq!(pending.len(), 1);
        assert_eq!(Invitation::from(pending[0].clone()).role, Role::Admin);
        let mine: Vec<MyInvitationRow> = all(&db, &my_invitations("al@example.com", NOW));
        assert_eq!(
            (mine[0].site.as_str(), mine[0].site_name.as_str()),
            ("shop", "Shop")
        );
        assert_eq!(mine[0].invited_by, "mo@example.com");
        // Someone else's email cannot see or accept it.
        assert!(
            first::<MyInvitationRow>(&db, &my_invitation("x@example.com", NOW, first_id)).is_none()
        );
        for sql in accept_invitation(first_id, 2, "al@example.com", NOW) {
            run(&db, &sql);
        }
        assert_eq!(role_of(&db, "shop", 2), Some(Role::Admin));
        assert!(
            first::<MyInvitationRow>(&db, &my_invitation("al@example.com", NOW, first_id))
                .is_none()
        );
        // Accepting again changes nothing (the invitation is gone).
        first::<UserIdRow>(&db, &set_member_role("shop", 2, Role::Viewer)).unwrap();
        for sql in accept_invitation(first_id, 2, "al@example.com", NOW) {
            run(&db, &sql);
        }
        assert_eq!(role_of(&db, "shop", 2), Some(Role::Viewer));
    }

    #[test]
    fn expired_declined_and_too_many_invitations() {
        let db = migrated();
        user(&db, 1, "mo@example.com");
        create(&db, "shop", 1, None);
        assert!(invite(&db, "a@example.com", Role::Viewer, 1).is_some());
        // The limit counts the other pending invitations.
        assert!(invite(&db, "b@example.com", Role::Viewer, 1).is_none());
        assert!(invite(&db, "a@example.com", Role::Admin, 1).is_some());
        assert!(all::<InvitationRow>(&db, &pending_invitations("shop", NOW + 1000)).is_empty());
        let id = invite(&db, "a@example.com", Role::Viewer, 1).unwrap().id;
        assert_eq!(run(&db, &decline_invitation(id, "other@example.com")), 0);
        assert_eq!(run(&db, &decline_invitation(id, "a@example.com")), 1);
        assert!(all::<InvitationRow>(&db, &pending_invitations("shop", NOW)).is_empty());
    }
}
