//! Who is calling: the user of a session cookie or an API token, a public link's site, and a
//! user's role on a site. Tokens are looked up by their hash; the values are never stored.

use serde::Deserialize;

use crate::binds;
use crate::store::Sql;

/// A user as a request's caller. `is_admin` is SQLite's 0 or 1 (the handlers test `!= 0`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub is_admin: i64,
}

/// The owner of an API token, with the one site the token may read when it is scoped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenOwner {
    pub id: i64,
    pub email: String,
    pub is_admin: i64,
    pub scope: Option<String>,
}

impl TokenOwner {
    pub fn into_parts(self) -> (User, Option<String>) {
        let user = User {
            id: self.id,
            email: self.email,
            is_admin: self.is_admin,
        };
        (user, self.scope)
    }
}

/// A site id (the site a public link opens).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteId {
    pub id: String,
}

/// A window's count of public-link requests from one address fingerprint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShareRequests {
    pub requests: i64,
}

/// Counts one public-link request (`ShareRequests`: the window's count so far, this one
/// included). `fingerprint` is `accounts::membership::share_fingerprint`.
pub fn count_share_request(window_start_ms: i64, fingerprint: &str) -> Sql {
    Sql::new(
        crate::accounts::membership::COUNT_SHARE_REQUEST_SQL,
        binds![window_start_ms, fingerprint],
    )
}

/// A role as stored (`owner`, `admin`, `auditor`, `viewer`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RoleRow {
    pub role: String,
}

/// The user of an unexpired session, by the hash of its cookie value.
pub fn session_user(token_hash: &str, now_ms: i64) -> Sql {
    Sql::new(
        "SELECT u.id, u.email, u.is_admin FROM sessions_auth s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        binds![token_hash, now_ms],
    )
}

/// A user by id.
pub fn user_by_id(id: i64) -> Sql {
    Sql::new(
        "SELECT id, email, is_admin FROM users WHERE id = ?1",
        binds![id],
    )
}

/// The owner of an unexpired API token (`TokenOwner`), by the token's hash.
pub fn token_owner(token_hash: &str, now_ms: i64) -> Sql {
    Sql::new(
        "SELECT u.id, u.email, u.is_admin, t.site_id AS scope FROM api_tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1 AND t.expires_at > ?2",
        binds![token_hash, now_ms],
    )
}

/// Notes when a token was last used.
pub fn token_used(token_hash: &str, now_ms: i64) -> Sql {
    Sql::new(
        "UPDATE api_tokens SET last_used_at = ?1 WHERE token_hash = ?2",
        binds![now_ms, token_hash],
    )
}

/// The site whose public link is `token` (`SiteId`), if the link is on.
pub fn share_site(token: &str) -> Sql {
    Sql::new("SELECT id FROM sites WHERE share_token = ?1", binds![token])
}

/// A user's role on a site (`RoleRow`): an instance admin is the owner of every site that
/// exists; anyone else has their membership's role, or none.
pub fn site_role(user: &User, site_id: &str) -> Sql {
    if user.is_admin != 0 {
        Sql::new(
            "SELECT 'owner' AS role FROM sites WHERE id = ?1",
            binds![site_id],
        )
    } else {
        Sql::new(
            "SELECT role FROM memberships WHERE user_id = ?1 AND site_id = ?2",
            binds![user.id, site_id],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{first, migrated, run};

    fn seeded() -> rusqlite::Connection {
        let db = migrated();
        for sql in [
            "INSERT INTO users (id, email, password_hash, is_admin, created_at) VALUES \
             (1, 'root@example.com', 'x', 1, 0), (2, 'ana@example.com', 'x', 0, 0)",
            "INSERT INTO sites (id, name, created_at, share_token) VALUES ('shop', 'Shop', 0, 'tok'), ('blog', 'Blog', 0, NULL)",
            "INSERT INTO memberships (user_id, site_id, role) VALUES (2, 'shop', 'auditor')",
            "INSERT INTO sessions_auth (token_hash, user_id, created_at, expires_at) VALUES ('live', 2, 0, 1000), ('old', 1, 0, 10)",
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at, site_id) VALUES \
             (2, 't', 'th', 'vgt_', 0, 1000, 'shop')",
        ] {
            run(&db, &Sql::new(sql, []));
        }
        db
    }

    #[test]
    fn sessions_name_their_user_until_they_expire() {
        let db = seeded();
        let ana: User = first(&db, &session_user("live", 500)).unwrap();
        assert_eq!(
            (ana.id, ana.email.as_str(), ana.is_admin),
            (2, "ana@example.com", 0)
        );
        assert_eq!(first::<User>(&db, &session_user("live", 1000)), None);
        assert_eq!(first::<User>(&db, &session_user("old", 500)), None);
        let root: User = first(&db, &user_by_id(1)).unwrap();
        assert_eq!(root.is_admin, 1);
    }

    #[test]
    fn tokens_name_their_owner_and_scope_and_note_their_use() {
        let db = seeded();
        let owner: TokenOwner = first(&db, &token_owner("th", 999)).unwrap();
        let (user, scope) = owner.into_parts();
        assert_eq!((user.id, scope.as_deref()), (2, Some("shop")));
        assert_eq!(first::<TokenOwner>(&db, &token_owner("th", 1000)), None);
        assert_eq!(run(&db, &token_used("th", 77)), 1);
        #[derive(serde::Deserialize)]
        struct Used {
            last_used_at: i64,
        }
        let used: Used = first(&db, &Sql::new("SELECT last_used_at FROM api_tokens", [])).unwrap();
        assert_eq!(used.last_used_at, 77);
    }

    #[test]
    fn roles_come_from_memberships_and_admins_own_every_site() {
        let db = seeded();
        let ana: User = first(&db, &user_by_id(2)).unwrap();
        let root: User = first(&db, &user_by_id(1)).unwrap();
        let role = |u: &User, site| first::<RoleRow>(&db, &site_role(u, site)).map(|r| r.role);
        assert_eq!(role(&ana, "shop").as_deref(), Some("auditor"));
        assert_eq!(role(&ana, "blog"), None);
        assert_eq!(role(&root, "blog").as_deref(), Some("owner"));
        assert_eq!(role(&root, "gone"), None);
        let counted = |win| first::<ShareRequests>(&db, &count_share_request(win, "fp")).unwrap();
        assert_eq!((counted(60_000).requests, counted(60_000).requests), (1, 2));
        assert_eq!(counted(120_000).requests, 1);
        let site: SiteId = first(&db, &share_site("tok")).unwrap();
        assert_eq!(site.id, "shop");
        assert_eq!(first::<SiteId>(&db, &share_site("nope")), None);
    }
}
