//! SQL of the user routes: accounts and their invitation links, passwords, sessions, API tokens.
//! Row types beside their statements; answers as `api_types::users`.

use serde::Deserialize;

use super::{int_bool, Sql};
use crate::binds;
use api_types::users::{Token, User};

/// An account as instance admins list it, with how many sites it is a member of.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    #[serde(deserialize_with = "int_bool")]
    pub is_admin: bool,
    pub created_at: i64,
    pub sites: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            created_at: r.created_at,
            email: r.email,
            id: r.id,
            is_admin: r.is_admin,
            sites: r.sites,
        }
    }
}

/// Rows: [`UserRow`], by email.
pub fn users() -> Sql {
    Sql::new(
        "SELECT id, email, is_admin, created_at, \
         (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS sites FROM users u ORDER BY email",
        [],
    )
}

/// A row's integer id (`RETURNING id`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdRow {
    pub id: i64,
}

/// Creates an account unless the email is taken. Rows: [`IdRow`] when created.
pub fn insert_user(email: &str, password_hash: &str, is_admin: bool, now_ms: i64) -> Sql {
    Sql::new(
        "INSERT INTO users (email, password_hash, is_admin, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT DO NOTHING RETURNING id",
        binds![email, password_hash, is_admin, now_ms],
    )
}

/// The account with this email. Rows: [`IdRow`].
pub fn user_by_email(email: &str) -> Sql {
    Sql::new("SELECT id FROM users WHERE email = ?1", binds![email])
}

/// An invitation link (its token's hash) for an account without a password yet.
pub fn insert_invite(token_hash: &str, user_id: i64, now_ms: i64, expires_at: i64) -> Sql {
    Sql::new(
        "INSERT INTO invites (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        binds![token_hash, user_id, now_ms, expires_at],
    )
}

/// The account an unexpired invitation link is for. Rows: [`UserIdRow`].
pub fn invited_user(token_hash: &str, now_ms: i64) -> Sql {
    Sql::new(
        "SELECT user_id FROM invites WHERE token_hash = ?1 AND expires_at > ?2",
        binds![token_hash, now_ms],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserIdRow {
    pub user_id: i64,
}

pub fn set_password(user_id: i64, password_hash: &str) -> Sql {
    Sql::new(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
        binds![password_hash, user_id],
    )
}

/// Accepting an invitation link: the password set, and every link of the account used up.
pub fn accept_invite(user_id: i64, password_hash: &str) -> Vec<Sql> {
    vec![
        set_password(user_id, password_hash),
        Sql::new("DELETE FROM invites WHERE user_id = ?1", binds![user_id]),
    ]
}

/// Deletes an account (its sessions, tokens and memberships go with it: foreign keys).
pub fn delete_user(id: i64) -> Sql {
    Sql::new("DELETE FROM users WHERE id = ?1", binds![id])
}

/// Rows: [`PasswordRow`].
pub fn password_hash(user_id: i64) -> Sql {
    Sql::new(
        "SELECT password_hash FROM users WHERE id = ?1",
        binds![user_id],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PasswordRow {
    pub password_hash: String,
}

/// A password change: the new hash, every other session ended (`keep` is the hash of the
/// session making the change), every API token revoked.
pub fn change_password(user_id: i64, password_hash: &str, keep: &str) -> Vec<Sql> {
    vec![
        set_password(user_id, password_hash),
        Sql::new(
            "DELETE FROM sessions_auth WHERE user_id = ?1 AND token_hash != ?2",
            binds![user_id, keep],
        ),
        Sql::new("DELETE FROM api_tokens WHERE user_id = ?1", binds![user_id]),
    ]
}

/// An API token as its owner lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: i64,
    pub site: Option<String>,
}

impl From<TokenRow> for Token {
    fn from(r: TokenRow) -> Token {
        Token {
            created_at: r.created_at,
            expires_at: r.expires_at,
            id: r.id,
            last_used_at: r.last_used_at,
            name: r.name,
            prefix: r.prefix,
            site: r.site,
        }
    }
}

/// Expired tokens can never work again: deleted before a user's tokens are listed.
pub fn delete_expired_tokens(user_id: i64, now_ms: i64) -> Sql {
    Sql::new(
        "DELETE FROM api_tokens WHERE user_id = ?1 AND expires_at <= ?2",
        binds![user_id, now_ms],
    )
}

/// Rows: [`TokenRow`].
pub fn tokens(user_id: i64) -> Sql {
    Sql::new(
        "SELECT id, name, prefix, created_at, last_used_at, expires_at, site_id AS site FROM api_tokens WHERE user_id = ?1 ORDER BY id",
        binds![user_id],
    )
}

/// A token to store (its hash only).
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub now_ms: i64,
    pub expires_at: i64,
    pub site: Option<&'a str>,
}

/// Rows: [`IdRow`].
pub fn insert_token(t: &NewToken) -> Sql {
    Sql::new(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at, site_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        binds![t.user_id, t.name, t.token_hash, t.prefix, t.now_ms, t.expires_at, t.site],
    )
}

/// Revokes one of a user's tokens (none of someone else's).
pub fn revoke_token(id: i64, user_id: i64) -> Sql {
    Sql::new(
        "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2",
        binds![id, user_id],
    )
}

#[cfg(test)]
mod tests {
    use super::super::sqlite::{all, first, migrated, run};
    use super::*;
    use rusqlite::Connection;

    fn count(db: &Connection, table: &str) -> i64 {
        first::<IdRow>(
            db,
            &Sql::new(format!("SELECT COUNT(*) AS id FROM {table}"), []),
        )
        .unwrap()
        .id
    }

    /// An account without admin rights, with this password hash; its id.
    fn account(db: &Connection, hash: &str) -> i64 {
        first::<IdRow>(db, &insert_user("a@example.com", hash, false, 0))
            .unwrap()
            .id
    }

    fn session(db: &Connection, user_id: i64, token_hash: &str) {
        run(
            db,
            &Sql::new(
                "INSERT INTO sessions_auth (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, 0, 9)",
                binds![token_hash, user_id],
            ),
        );
    }

    fn token(db: &Connection, user_id: i64, name: &str, expires_at: i64) -> i64 {
        first::<IdRow>(
            db,
            &insert_token(&NewToken {
                user_id,
                name,
                token_hash: name,
                prefix: "vgt_abcdef",
                now_ms: 1,
                expires_at,
                site: Some("shop"),
            }),
        )
        .unwrap()
        .id
    }

    #[test]
    fn an_account_is_created_once_and_listed_with_its_flag() {
        let db = migrated();
        let id = first::<IdRow>(&db, &insert_user("a@example.com", "h", true, 5))
            .unwrap()
            .id;
        assert!(first::<IdRow>(&db, &insert_user("A@example.com", "h", false, 6)).is_none());
        assert_eq!(
            first::<IdRow>(&db, &user_by_email("a@example.com"))
                .unwrap()
                .id,
            id
        );
        assert!(first::<IdRow>(&db, &user_by_email("c@example.com")).is_none());
        first::<IdRow>(&db, &insert_user("b@example.com", "h", false, 6)).unwrap();
        let listed: Vec<UserRow> = all(&db, &users());
        assert_eq!(listed.len(), 2);
        let a = User::from(listed[0].clone());
        assert_eq!((a.id, a.is_admin, a.created_at, a.sites), (id, true, 5, 0));
        assert!(!listed[1].is_admin);
    }

    #[test]
    fn an_invitation_link_works_once_and_sets_the_password() {
        let db = migrated();
        let id = account(&db, "none");
        run(&db, &insert_invite("th", id, 0, 100));
        assert!(
            first::<UserIdRow>(&db, &invited_user("th", 100)).is_none(),
            "expired"
        );
        let found: UserIdRow = first(&db, &invited_user("th", 50)).unwrap();
        assert_eq!(found.user_id, id);
        for sql in accept_invite(id, "new-hash") {
            run(&db, &sql);
        }
        assert!(
            first::<UserIdRow>(&db, &invited_user("th", 50)).is_none(),
            "used"
        );
        let stored: PasswordRow = first(&db, &password_hash(id)).unwrap();
        assert_eq!(stored.password_hash, "new-hash");
    }

    #[test]
    fn a_deleted_user_takes_their_sessions_and_tokens() {
        let db = migrated();
        let id = account(&db, "h");
        session(&db, id, "s");
        token(&db, id, "t", 9);
        assert_eq!(run(&db, &delete_user(id)), 1);
        assert_eq!(run(&db, &delete_user(id)), 0);
        assert_eq!(
            (count(&db, "sessions_auth"), count(&db, "api_tokens")),
            (0, 0)
        );
    }

    #[test]
    fn a_password_change_ends_other_sessions_and_revokes_tokens() {
        let db = migrated();
        let id = account(&db, "old");
        for t in ["mine", "other"] {
            session(&db, id, t);
        }
        token(&db, id, "t", 9);
        for sql in change_password(id, "new", "mine") {
            run(&db, &sql);
        }
        assert_eq!(
            first::<PasswordRow>(&db, &password_hash(id))
                .unwrap()
                .password_hash,
            "new"
        );
        assert_eq!(
            (count(&db, "sessions_auth"), count(&db, "api_tokens")),
            (1, 0)
        );
    }

    #[test]
    fn tokens_are_listed_without_expired_ones_and_revoked_by_their_owner_only() {
        let db = migrated();
        let id = account(&db, "h");
        let live = token(&db, id, "live", 1_000);
        token(&db, id, "old", 10);
        run(&db, &delete_expired_tokens(id, 10));
        let listed: Vec<TokenRow> = all(&db, &tokens(id));
        assert_eq!(listed.len(), 1);
        let t = Token::from(listed[0].clone());
        assert_eq!(
            (t.id, t.name.as_str(), t.site.as_deref()),
            (live, "live", Some("shop"))
        );
        assert_eq!(
            (t.created_at, t.expires_at, t.last_used_at),
            (1, 1_000, None)
        );
        assert_eq!(run(&db, &revoke_token(live, id + 1)), 0);
        assert_eq!(run(&db, &revoke_token(live, id)), 1);
        assert!(all::<TokenRow>(&db, &tokens(id)).is_empty());
    }
}
