//! SQL of the account routes: first-run setup, login (its throttle's statements are in
//! `accounts::login`, bound here), dashboard sessions, and the `/health` probe.

use serde::Deserialize;

use super::Sql;
use crate::accounts::login::{
    ATTEMPT_COUNTS_SQL, FAILURE_MEMORY_MS, FORGET_ATTEMPT_SQL, RECORD_ATTEMPT_SQL,
};
use crate::accounts::users::setup_hostname;
use crate::binds;

/// A count (`COUNT(*) AS n`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct CountRow {
    pub n: i64,
}

/// Rows: one [`CountRow`], the accounts there are (0 until setup).
pub fn count_users() -> Sql {
    Sql::new("SELECT COUNT(*) AS n FROM users", [])
}

/// Rows: one [`CountRow`], the sites there are (`/health` asks D1 this).
pub fn count_sites() -> Sql {
    Sql::new("SELECT COUNT(*) AS n FROM sites", [])
}

/// The first admin, inserted only while no account exists: one statement, so of many
/// concurrent setups exactly one wins (D1 runs statements one at a time). Rows: [`IdRow`]
/// when this one won.
pub fn insert_first_admin(email: &str, password_hash: &str, now_ms: i64) -> Sql {
    Sql::new(
        "INSERT INTO users (email, password_hash, is_admin, created_at) \
         SELECT ?1, ?2, 1, ?3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
        binds![email, password_hash, now_ms],
    )
}

/// A row's integer id.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct IdRow {
    pub id: i64,
}

/// First-run setup's site, owned by the first admin as a member too (reports go to members),
/// with its hostnames: one batch.
pub fn setup_site(id: &str, name: &str, hostnames: &[String], owner: i64, now_ms: i64) -> Vec<Sql> {
    let mut batch = vec![
        Sql::new(
            "INSERT INTO sites (id, name, created_at) VALUES (?1, ?2, ?3)",
            binds![id, name, now_ms],
        ),
        Sql::new(
            "INSERT INTO memberships (user_id, site_id, role) VALUES (?1, ?2, 'owner')",
            binds![owner, id],
        ),
    ];
    for host in hostnames {
        batch.push(Sql::new(
            "INSERT OR IGNORE INTO site_hostnames (site_id, hostname) VALUES (?1, ?2)",
            binds![id, setup_hostname(host)],
        ));
    }
    batch
}

/// Rows: [`Credentials`].
pub fn credentials(email: &str) -> Sql {
    Sql::new(
        "SELECT id, password_hash FROM users WHERE email = ?1",
        binds![email],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
}

/// Replaces a hash made with older settings, only if unchanged meanwhile (a password change
/// wins).
pub fn rehash_password(user_id: i64, new_hash: &str, old_hash: &str) -> Sql {
    Sql::new(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
        binds![new_hash, user_id, old_hash],
    )
}

/// A login attempt recorded and the counts before it, in one batch (`RECORD_ATTEMPT_SQL`,
/// `ATTEMPT_COUNTS_SQL`): the second statement's row is a `login::FailuresRow`.
pub fn record_attempt(now_ms: i64, account: &str, email: &str, address: &str) -> [Sql; 2] {
    [
        Sql::new(RECORD_ATTEMPT_SQL, binds![now_ms, account, email, address]),
        Sql::new(
            ATTEMPT_COUNTS_SQL,
            binds![account, address, now_ms - FAILURE_MEMORY_MS],
        ),
    ]
}

/// Removes an attempt that was not a failure (`FORGET_ATTEMPT_SQL`).
pub fn forget_attempt(attempt: i64) -> Sql {
    Sql::new(FORGET_ATTEMPT_SQL, binds![attempt])
}

/// A dashboard session (its token's hash).
pub fn insert_session(token_hash: &str, user_id: i64, now_ms: i64, expires_at: i64) -> Sql {
    Sql::new(
        "INSERT INTO sessions_auth (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        binds![token_hash, user_id, now_ms, expires_at],
    )
}

/// Logging out.
pub fn delete_session(token_hash: &str) -> Sql {
    Sql::new(
        "DELETE FROM sessions_auth WHERE token_hash = ?1",
        binds![token_hash],
    )
}

#[cfg(test)]
mod tests {
    use super::super::sqlite::{all, first, migrated, run};
    use super::*;
    use crate::accounts::login::FailuresRow;

    #[test]
    fn setup_creates_one_admin_and_their_site() {
        let db = migrated();
        assert_eq!(first::<CountRow>(&db, &count_users()).unwrap().n, 0);
        let admin = first::<IdRow>(&db, &insert_first_admin("a@example.com", "h", 5))
            .unwrap()
            .id;
        // A second setup writes nothing.
        assert!(first::<IdRow>(&db, &insert_first_admin("b@example.com", "h", 5)).is_none());
        assert_eq!(first::<CountRow>(&db, &count_users()).unwrap().n, 1);
        let hosts = vec![" Shop.Example ".to_string(), "shop.example".to_string()];
        for sql in setup_site("shop", "Shop", &hosts, admin, 5) {
            run(&db, &sql);
        }
        assert_eq!(first::<CountRow>(&db, &count_sites()).unwrap().n, 1);
        let role: crate::store::sites::RoleRow =
            first(&db, &crate::store::sites::member_role("shop", admin)).unwrap();
        assert_eq!(role.role, crate::routes::Role::Owner);
        let d: crate::store::sites::SiteDetailRow =
            first(&db, &crate::store::sites::site_detail("shop")).unwrap();
        assert_eq!(d.hostname_list(), ["shop.example"]);
        let creds: Credentials = first(&db, &credentials("a@example.com")).unwrap();
        assert_eq!((creds.id, creds.password_hash.as_str()), (admin, "h"));
    }

    #[test]
    fn a_rehash_loses_to_a_password_change() {
        let db = migrated();
        let id = first::<IdRow>(&db, &insert_first_admin("a@example.com", "old", 0))
            .unwrap()
            .id;
        assert_eq!(
            run(&db, &rehash_password(id, "new", "changed-meanwhile")),
            0
        );
        assert_eq!(run(&db, &rehash_password(id, "new", "old")), 1);
        let creds: Credentials = first(&db, &credentials("a@example.com")).unwrap();
        assert_eq!(creds.password_hash, "new");
    }

    #[test]
    fn attempts_are_counted_before_the_one_just_recorded_and_can_be_forgotten() {
        let db = migrated();
        let now = 10 * FAILURE_MEMORY_MS;
        let mut last = None;
        for _ in 0..3 {
            let [record, counts] = record_attempt(now, "acct", "a@example.com", "addr");
            run(&db, &record);
            last = first::<FailuresRow>(&db, &counts);
        }
        let row = last.unwrap();
        assert_eq!((row.account_count, row.address_count), (2, 2));
        run(&db, &forget_attempt(row.attempt));
        let [record, counts] = record_attempt(now, "acct", "a@example.com", "");
        run(&db, &record);
        let row: FailuresRow = first(&db, &counts).unwrap();
        assert_eq!((row.account_count, row.address_count), (2, 0));
    }

    #[test]
    fn a_session_is_opened_and_closed() {
        let db = migrated();
        let id = first::<IdRow>(&db, &insert_first_admin("a@example.com", "h", 0))
            .unwrap()
            .id;
        run(&db, &insert_session("th", id, 0, 10));
        let sessions = Sql::new("SELECT COUNT(*) AS n FROM sessions_auth", []);
        assert_eq!(all::<CountRow>(&db, &sessions)[0].n, 1);
        run(&db, &delete_session("th"));
        assert_eq!(all::<CountRow>(&db, &sessions)[0].n, 0);
    }
}
