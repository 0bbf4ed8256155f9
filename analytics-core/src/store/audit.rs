//! The audit log's statements: append an entry (an authenticated one, or an anonymous one folded
//! into a counted row), read a page, and the site key that scopes a site's entries. The rules
//! (what is kept, how it is capped and hashed) are in `governance::audit`.

use serde::Deserialize;

use crate::binds;
use crate::governance::audit::{fold_key, fold_window_range, MAX_ANONYMOUS_ROWS_PER_WINDOW};
use crate::store::Sql;
use api_types::audit::AuditAction;

pub use api_types::audit::AuditEntry;

/// A site's key (never reused): entries are filed under it, so a later site re-created under
/// the same id never sees them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteKey {
    pub site_key: Option<i64>,
}

/// One entry to append, already capped and sanitised.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry<'a> {
    pub at: i64,
    /// The site and its key, when the entry is filed under one.
    pub site_id: Option<&'a str>,
    pub site_key: Option<i64>,
    pub action: AuditAction,
    pub target: &'a str,
    pub outcome: u16,
    pub country: &'a str,
    pub client: &'a str,
    /// The address fingerprint (`ip_fingerprint`), or empty.
    pub ip_hash: &'a str,
}

/// The site key of `site` (`SiteKey`).
pub fn site_key(site: &str) -> Sql {
    Sql::new("SELECT site_key FROM sites WHERE id = ?1", binds![site])
}

/// Appends an entry by an authenticated user, with its details (JSON text).
pub fn insert(e: &NewEntry, actor_user_id: i64, actor_email: &str, details: &str) -> Sql {
    Sql::new(
        "INSERT INTO audit_log \
         (at, site_id, site_key, actor_user_id, actor_email, action, target, outcome, details, \
          country, client, ip_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        binds![
            e.at,
            e.site_id,
            e.site_key,
            actor_user_id,
            actor_email,
            e.action.as_str(),
            e.target,
            u32::from(e.outcome),
            details,
            e.country,
            e.client,
            e.ip_hash,
        ],
    )
}

/// Appends an anonymous entry, folded: the first request of its `fold_key` inserts the row,
/// later ones add to its count. Once `MAX_ANONYMOUS_ROWS_PER_WINDOW` rows exist in the window,
/// the row loses its fingerprint (one row per action and outcome). Details are never kept: the
/// request was not authenticated.
pub fn insert_anonymous(e: &NewEntry) -> Sql {
    let (from, to) = fold_window_range(e.at);
    Sql::new(
        "INSERT INTO audit_log \
         (at, site_id, site_key, actor_user_id, actor_email, action, target, outcome, details, country, \
          client, ip_hash, count, last_at, fold_key) \
         SELECT ?1, ?2, ?3, NULL, '', ?4, ?5, ?6, '{}', ?7, ?8, CASE WHEN w.full THEN '' ELSE ?9 END, 1, ?1, \
          CASE WHEN w.full THEN ?13 ELSE ?14 END \
         FROM (SELECT (SELECT COUNT(*) FROM audit_log WHERE fold_key >= ?10 AND fold_key < ?11) >= ?12 AS full) w \
         WHERE true \
         ON CONFLICT (fold_key) WHERE fold_key IS NOT NULL DO UPDATE SET count = count + 1, last_at = excluded.at",
        binds![
            e.at,
            e.site_id,
            e.site_key,
            e.action.as_str(),
            e.target,
            u32::from(e.outcome),
            e.country,
            e.client,
            e.ip_hash,
            from,
            to,
            MAX_ANONYMOUS_ROWS_PER_WINDOW,
            fold_key(e.at, e.site_key, "*", e.action, e.outcome),
            fold_key(e.at, e.site_key, e.ip_hash, e.action, e.outcome),
        ],
    )
}

/// A page of entries (`AuditEntry`), newest first, with ids below `before`: a site's (the
/// entries of its current key only) or, with `site` `None`, every entry.
pub fn page(site: Option<&str>, before: i64, limit: u32) -> Sql {
    Sql::new(
        "SELECT id, at, site_id, actor_email, action, target, outcome, details, \
         country, client, ip_hash, count, last_at FROM audit_log \
         WHERE (?1 IS NULL OR site_key = (SELECT site_key FROM sites WHERE id = ?1)) \
         AND id < ?2 ORDER BY id DESC LIMIT ?3",
        binds![site, before, limit],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::audit::ANONYMOUS_FOLD_WINDOW_MS;
    use crate::store::sqlite::{all, first, migrated, run};

    fn entry(at: i64, action: AuditAction, ip_hash: &'static str) -> NewEntry<'static> {
        NewEntry {
            at,
            site_id: Some("shop"),
            site_key: Some(1),
            action,
            target: "id 7",
            outcome: 200,
            country: "PT",
            client: "Firefox on Linux",
            ip_hash,
        }
    }

    #[test]
    fn entries_are_paged_newest_first_within_their_site() {
        let db = migrated();
        run(
            &db,
            &Sql::new(
                "INSERT INTO sites (id, name, created_at) VALUES ('shop', 'Shop', 0), ('blog', 'Blog', 0)",
                [],
            ),
        );
        let key: SiteKey = first(&db, &site_key("shop")).unwrap();
        let blog: SiteKey = first(&db, &site_key("blog")).unwrap();
        assert_eq!(first::<SiteKey>(&db, &site_key("gone")), None);
        let mut goal = entry(1_000, AuditAction::GoalDelete, "ab");
        goal.site_key = key.site_key;
        run(&db, &insert(&goal, 3, "ana@example.com", r#"{"x":1}"#));
        let mut update = entry(2_000, AuditAction::SiteUpdate, "ab");
        update.site_key = key.site_key;
        run(&db, &insert(&update, 3, "ana@example.com", "{}"));
        let mut other = entry(3_000, AuditAction::SiteUpdate, "");
        (other.site_id, other.site_key) = (Some("blog"), blog.site_key);
        run(&db, &insert(&other, 3, "ana@example.com", "{}"));

        let shop: Vec<AuditEntry> = all(&db, &page(Some("shop"), i64::MAX, 50));
        let actions: Vec<AuditAction> = shop.iter().map(|e| e.action).collect();
        assert_eq!(actions, [AuditAction::SiteUpdate, AuditAction::GoalDelete]);
        let first_entry = &shop[1];
        assert_eq!(
            (
                first_entry.at,
                first_entry.outcome,
                first_entry.details.as_str(),
                first_entry.count
            ),
            (1_000, 200, r#"{"x":1}"#, 1)
        );
        assert_eq!(first_entry.site_id.as_deref(), Some("shop"));
        let older: Vec<AuditEntry> = all(&db, &page(Some("shop"), shop[0].id, 50));
        assert_eq!(older.len(), 1);
        assert_eq!(all::<AuditEntry>(&db, &page(None, i64::MAX, 2)).len(), 2);
        assert_eq!(all::<AuditEntry>(&db, &page(None, i64::MAX, 50)).len(), 3);
    }

    #[test]
    fn anonymous_entries_fold_and_a_full_window_drops_the_fingerprint() {
        let db = migrated();
        let mut failed = entry(
            10 * ANONYMOUS_FOLD_WINDOW_MS,
            AuditAction::LoginFailed,
            "ab",
        );
        (failed.site_id, failed.site_key, failed.outcome) = (None, None, 401);
        run(&db, &insert_anonymous(&failed));
        failed.at += 5;
        run(&db, &insert_anonymous(&failed));
        let rows: Vec<AuditEntry> = all(&db, &page(None, i64::MAX, 50));
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].count, rows[0].last_at), (2, Some(failed.at)));
        assert_eq!(
            (rows[0].actor_email.as_str(), rows[0].details.as_str()),
            ("", "{}")
        );
        assert_eq!(rows[0].action, AuditAction::LoginFailed);
        // Fill the window with other addresses: past the limit, rows keep no fingerprint.
        for i in 0..MAX_ANONYMOUS_ROWS_PER_WINDOW + 3 {
            let fp = format!("fp{i}");
            let e = NewEntry {
                ip_hash: &fp,
                ..failed.clone()
            };
            run(&db, &insert_anonymous(&e));
        }
        let rows: Vec<AuditEntry> = all(&db, &page(None, i64::MAX, 200));
        assert_eq!(rows.len() as i64, MAX_ANONYMOUS_ROWS_PER_WINDOW + 1);
        assert_eq!(rows[0].ip_hash, "");
        assert_eq!(rows[0].count, 4);
    }
}
