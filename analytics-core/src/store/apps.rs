//! SQL of the app routes (`docs/apps.md`): the app a key names, an upload stored once, the
//! upload rate counts, the app key, a user's email registration and its confirmation, and
//! erasure. Everything is filed by the app's internal `site_key` (never reused) and the
//! install's keyed hash (`crate::apps::install_hash`), never the install id.

use serde::Deserialize;

use super::metering::{self, MeterDelta, MeterSource};
use super::Sql;
use crate::apps::CheckedBatch;
use crate::binds;
use api_types::apps::SiteKind;

/// The site an app key names. Rows: [`AppSite`].
pub fn app_by_key(key: &str) -> Sql {
    Sql::new(
        "SELECT site_key, id, name, kind FROM sites WHERE app_key = ?1",
        binds![key],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppSite {
    pub site_key: i64,
    pub id: String,
    pub name: String,
    pub kind: SiteKind,
}

/// Gives an app a new key (the old one stops working at once). Only a site of kind `app` has
/// one: a web site is left unchanged (0 rows).
pub fn set_app_key(site: &str, key: &str) -> Sql {
    Sql::new(
        "UPDATE sites SET app_key = ?1 WHERE id = ?2 AND kind = 'app'",
        binds![key, site],
    )
}

/// What an upload stored the first time, if its batch id was seen before for the install.
/// Rows: [`SeenBatch`].
pub fn seen_batch(site_key: i64, install: &str, batch_id: &str) -> Sql {
    Sql::new(
        "SELECT stored, refused FROM app_batches \
         WHERE site_key = ?1 AND install = ?2 AND batch_id = ?3",
        binds![site_key, install, batch_id],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SeenBatch {
    pub stored: i64,
    pub refused: i64,
}

/// The install whose rate counts are those of the whole app.
pub const WHOLE_APP: &str = "";

/// Adds `records` to the count of `install` (or `WHOLE_APP`) in the window starting at
/// `window_start` and answers the new count. Rows: [`RateCount`].
pub fn count_rate(site_key: i64, install: &str, window_start: i64, records: i64) -> Sql {
    Sql::new(
        "INSERT INTO app_rate (site_key, install, win, records) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (site_key, install, win) DO UPDATE SET \
         records = app_rate.records + excluded.records RETURNING records",
        binds![site_key, install, window_start, records],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RateCount {
    pub records: i64,
}

/// Deletes the rate counts of windows before `cutoff_ms` (the daily job).
pub fn prune_rate(cutoff_ms: i64) -> Sql {
    Sql::new("DELETE FROM app_rate WHERE win < ?1", binds![cutoff_ms])
}

/// Binds shared by every row of one record insert: site key, install, app version.
const RECORD_SHARED_BINDS: usize = 3;
/// Binds of one record: seq, ts, kind, name, session, active ms, props.
const RECORD_BINDS: usize = 7;
/// D1 binds at most 100 values per statement.
pub const MAX_BINDS_PER_STATEMENT: usize = 100;
/// Records per insert statement, so that an upload of 500 is some 40 statements, not 500.
pub const RECORDS_PER_INSERT: usize =
    (MAX_BINDS_PER_STATEMENT - RECORD_SHARED_BINDS) / RECORD_BINDS;

/// The statements that store an upload, to run as ONE batch (one transaction), in this order:
///
/// 1. the `app_batches` row, a plain `INSERT`: if the batch id was stored before (two copies of
///    one upload racing past the `seen_batch` check), it fails on the primary key and the whole
///    transaction is rolled back — nothing below is written twice (the caller then answers the
///    first upload's counts);
/// 2. the records, `INSERT OR IGNORE` by (site key, install, seq): a record already stored by
///    another batch is kept once;
/// 3. the install, upserted: first and last seen widened to the records' times, the version and
///    OS taken from the newest upload, `dropped` summed;
/// 4. the app's metering of the month: received = records sent, stored (new records only),
///    refused — written before the records, so it can tell new records from stored ones.
pub fn store_batch(site_key: i64, install: &str, b: &CheckedBatch, now_ms: i64) -> Vec<Sql> {
    let stored = b.records.len() as i64;
    let refused = b.refused() as i64;
    let mut batch = vec![Sql::new(
        "INSERT INTO app_batches (site_key, install, batch_id, at, stored, refused, dropped) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        binds![
            site_key,
            install,
            &b.batch_id,
            now_ms,
            stored,
            refused,
            b.dropped as i64
        ],
    )];
    // Metered before the records go in, so that `stored` counts only records new to Vigia: a
    // record already stored (the same seq sent again in another batch) is not billed twice.
    batch.push(metering::add(
        site_key,
        now_ms,
        MeterSource::App,
        MeterDelta {
            received: b.sent as i64,
            stored,
            refused,
        },
    ));
    if !b.records.is_empty() {
        let seqs: Vec<u64> = b.records.iter().map(|r| r.record.seq).collect();
        batch.push(Sql::new(
            "UPDATE metering SET stored = stored - (SELECT COUNT(*) FROM app_records \
             WHERE site_key = ?1 AND install = ?2 AND seq IN (SELECT value FROM json_each(?3))) \
             WHERE site_key = ?1 AND month = ?4 AND source = ?5",
            binds![
                site_key,
                install,
                serde_json::to_string(&seqs).unwrap_or_else(|_| "[]".into()),
                metering::month_of(now_ms),
                MeterSource::App.as_str()
            ],
        ));
    }
    for chunk in b.records.chunks(RECORDS_PER_INSERT) {
        let mut binds = vec![
            site_key.into(),
            install.into(),
            b.app_version.as_str().into(),
        ];
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, r) in chunk.iter().enumerate() {
            let at = RECORD_SHARED_BINDS + i * RECORD_BINDS;
            rows.push(format!(
                "(?1, ?2, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?3)",
                at + 1,
                at + 2,
                at + 3,
                at + 4,
                at + 5,
                at + 6,
                at + 7
            ));
            let r = &r.record;
            let props = serde_json::to_string(&r.props).unwrap_or_else(|_| "{}".into());
            binds.extend(binds![
                r.seq as i64,
                r.ts,
                r.kind.as_str(),
                r.name.as_str(),
                r.session.as_str(),
                r.active_ms as i64,
                props
            ]);
        }
        batch.push(Sql::new(
            format!(
                "INSERT OR IGNORE INTO app_records \
                 (site_key, install, seq, ts, kind, name, session, active_ms, props, app_version) \
                 VALUES {}",
                rows.join(", ")
            ),
            binds,
        ));
    }
    if !b.records.is_empty() || b.dropped > 0 {
        let (first, last) = b.span().unwrap_or((now_ms, now_ms));
        batch.push(Sql::new(
            "INSERT INTO app_installs \
             (site_key, install, first_seen, last_seen, app_version, os, os_version, dropped) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (site_key, install) DO UPDATE SET \
             first_seen = MIN(app_installs.first_seen, excluded.first_seen), \
             app_version = CASE WHEN excluded.last_seen > app_installs.last_seen \
               THEN excluded.app_version ELSE app_installs.app_version END, \
             os = CASE WHEN excluded.last_seen > app_installs.last_seen \
               THEN excluded.os ELSE app_installs.os END, \
             os_version = CASE WHEN excluded.last_seen > app_installs.last_seen \
               THEN excluded.os_version ELSE app_installs.os_version END, \
             last_seen = MAX(app_installs.last_seen, excluded.last_seen), \
             dropped = app_installs.dropped + excluded.dropped",
            binds![
                site_key,
                install,
                first,
                last,
                b.app_version.as_str(),
                b.os.as_str(),
                b.os_version.as_str(),
                b.dropped as i64
            ],
        ));
    }
    batch
}

/// The tables holding an app's data by its internal key, emptied when the site is deleted (the
/// `metering` rows stay: they are the basis of a bill, and name no person).
pub const APP_DATA_TABLES: [&str; 7] = [
    "app_records",
    "app_batches",
    "app_installs",
    "app_users",
    "app_rate",
    "app_links",
    "app_mail_rate",
];

/// Deletes the rows of `table` (one of `APP_DATA_TABLES`) of the site `site` (its id), by the
/// site's internal key; run before the `sites` row goes.
pub fn delete_app_rows(table: &str, site: &str) -> Sql {
    Sql::new(
        format!("DELETE FROM {table} WHERE site_key = (SELECT site_key FROM sites WHERE id = ?1)"),
        binds![site],
    )
}

/// Meters an upload refused whole by a rate limit: received and refused, nothing stored.
pub fn meter_refused(site_key: i64, now_ms: i64, records: i64) -> Sql {
    metering::add(
        site_key,
        now_ms,
        MeterSource::App,
        MeterDelta {
            received: records,
            stored: 0,
            refused: records,
        },
    )
}

/// A registration: the user (pending, unless the address is known already: then its status
/// and consent stay as they are until a link is confirmed), and the install's pending link
/// with the consent words, their time and the hash of the mailed token. A new registration of
/// the same install and address replaces the pending link (the older mail's link stops
/// working). Nothing is linked here.
pub fn register(
    site_key: i64,
    install: &str,
    email: &str,
    consent: &str,
    now_ms: i64,
    token_hash: &str,
    expires_ms: i64,
) -> Vec<Sql> {
    vec![
        Sql::new(
            "INSERT INTO app_users (site_key, email, status, consent, consent_at) \
             VALUES (?1, ?2, 'pending', ?3, ?4) ON CONFLICT (site_key, email) DO NOTHING",
            binds![site_key, email, consent, now_ms],
        ),
        Sql::new(
            "INSERT INTO app_links (site_key, install, user_id, token_hash, consent, consent_at, expires) \
             SELECT ?1, ?2, id, ?3, ?4, ?5, ?6 FROM app_users WHERE site_key = ?1 AND email = ?7 \
             ON CONFLICT (site_key, install, user_id) DO UPDATE SET token_hash = excluded.token_hash, \
             consent = excluded.consent, consent_at = excluded.consent_at, expires = excluded.expires",
            binds![site_key, install, token_hash, consent, now_ms, expires_ms, email],
        ),
    ]
}

/// Adds one confirmation mail to the count of `subject` (see `apps::email::mail_subject`) in
/// the day window starting at `window_start`; answers the new count. Rows: [`MailCount`].
pub fn count_mail(site_key: i64, subject: &str, window_start: i64) -> Sql {
    Sql::new(
        "INSERT INTO app_mail_rate (site_key, subject, win, mails) VALUES (?1, ?2, ?3, 1) \
         ON CONFLICT (site_key, subject, win) DO UPDATE SET mails = app_mail_rate.mails + 1 \
         RETURNING mails",
        binds![site_key, subject, window_start],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct MailCount {
    pub mails: i64,
}

/// A pending link by its token's hash, if it has not expired. Rows: [`PendingLink`].
pub fn pending_link(token_hash: &str, now_ms: i64) -> Sql {
    Sql::new(
        "SELECT s.id AS site, s.name AS app, s.site_key, u.email, l.consent, l.user_id \
         FROM app_links l JOIN app_users u ON u.id = l.user_id \
         JOIN sites s ON s.site_key = l.site_key \
         WHERE l.token_hash = ?1 AND l.expires >= ?2",
        binds![token_hash, now_ms],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PendingLink {
    pub site: String,
    pub app: String,
    pub site_key: i64,
    pub email: String,
    pub consent: String,
    pub user_id: i64,
}

/// Confirms the pending link of a token, as one batch: the install is linked to the user (its
/// row made if it has not uploaded yet), the user confirmed with the consent words of this
/// link, and the link deleted (it works once). A token that names no live link changes
/// nothing.
pub fn confirm(token_hash: &str, now_ms: i64) -> Vec<Sql> {
    const LINK: &str = "FROM app_links WHERE token_hash = ?1 AND expires >= ?2";
    vec![
        Sql::new(
            format!(
                "INSERT INTO app_installs (site_key, install, first_seen, last_seen, user_id) \
                 SELECT site_key, install, ?2, ?2, user_id {LINK} \
                 ON CONFLICT (site_key, install) DO UPDATE SET user_id = excluded.user_id"
            ),
            binds![token_hash, now_ms],
        ),
        Sql::new(
            format!(
                "UPDATE app_users SET status = 'confirmed', confirmed_at = ?2, unsubscribed_at = NULL, \
                 consent = (SELECT consent {LINK}), consent_at = (SELECT consent_at {LINK}) \
                 WHERE id = (SELECT user_id {LINK})"
            ),
            binds![token_hash, now_ms],
        ),
        Sql::new(
            "DELETE FROM app_links WHERE token_hash = ?1",
            binds![token_hash],
        ),
    ]
}

/// The daily clean-up: expired links, users who never confirmed and have no link left (an
/// address someone typed, never confirmed, is forgotten), and past mail counts.
pub fn prune_registrations(now_ms: i64) -> Vec<Sql> {
    vec![
        Sql::new("DELETE FROM app_links WHERE expires < ?1", binds![now_ms]),
        Sql::new(
            "DELETE FROM app_users WHERE status = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM app_links l WHERE l.user_id = app_users.id) \
             AND NOT EXISTS (SELECT 1 FROM app_installs i WHERE i.user_id = app_users.id)",
            [],
        ),
        Sql::new(
            "DELETE FROM app_mail_rate WHERE win < ?1",
            binds![now_ms - crate::apps::email::MAIL_WINDOW_MS],
        ),
    ]
}

/// Deletes an app's records older than `cutoff_ms` (its retention), one chunk of `limit` rows.
pub fn purge_records(site: &str, cutoff_ms: i64, limit: i64) -> Sql {
    Sql::new(
        "DELETE FROM app_records WHERE (site_key, install, seq) IN \
         (SELECT site_key, install, seq FROM app_records \
         WHERE site_key = (SELECT site_key FROM sites WHERE id = ?1) AND ts < ?2 LIMIT ?3)",
        binds![site, cutoff_ms, limit],
    )
}

/// How much erasing an install (or a user's installs) deletes. Rows: [`ErasedCounts`].
pub fn install_counts(site_key: i64, install: &str) -> Sql {
    Sql::new(
        "SELECT (SELECT COUNT(*) FROM app_installs WHERE site_key = ?1 AND install = ?2) AS installs, \
         (SELECT COUNT(*) FROM app_records WHERE site_key = ?1 AND install = ?2) AS records, \
         (SELECT COUNT(*) FROM app_users u WHERE u.site_key = ?1 AND u.id = \
          (SELECT user_id FROM app_installs WHERE site_key = ?1 AND install = ?2) \
          AND NOT EXISTS (SELECT 1 FROM app_installs i WHERE i.user_id = u.id AND i.install <> ?2) \
          AND NOT EXISTS (SELECT 1 FROM app_links l WHERE l.user_id = u.id AND l.install <> ?2)) AS users",
        binds![site_key, install],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ErasedCounts {
    pub installs: i64,
    pub records: i64,
    /// Users the erasure deletes (left without an install).
    pub users: i64,
}

/// The statements erasing everything about one install, as one batch: its records, batches,
/// rate counts, pending links, then its user if no other install or pending link of theirs is
/// left, then the install itself.
pub fn erase_install(site_key: i64, install: &str) -> Vec<Sql> {
    let mut batch: Vec<Sql> = ["app_records", "app_batches", "app_rate", "app_links"]
        .iter()
        .map(|table| {
            Sql::new(
                format!("DELETE FROM {table} WHERE site_key = ?1 AND install = ?2"),
                binds![site_key, install],
            )
        })
        .collect();
    batch.push(Sql::new(
        "DELETE FROM app_users WHERE site_key = ?1 AND id = \
         (SELECT user_id FROM app_installs WHERE site_key = ?1 AND install = ?2) \
         AND NOT EXISTS (SELECT 1 FROM app_installs i WHERE i.user_id = app_users.id AND i.install <> ?2) \
         AND NOT EXISTS (SELECT 1 FROM app_links l WHERE l.user_id = app_users.id)",
        binds![site_key, install],
    ));
    batch.push(Sql::new(
        "DELETE FROM app_installs WHERE site_key = ?1 AND install = ?2",
        binds![site_key, install],
    ));
    batch
}

/// A user of an app, by address. Rows: [`UserId`].
pub fn user_by_email(site_key: i64, email: &str) -> Sql {
    Sql::new(
        "SELECT id FROM app_users WHERE site_key = ?1 AND email = ?2",
        binds![site_key, email],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct UserId {
    pub id: i64,
}

/// How much erasing a user deletes. Rows: [`ErasedCounts`].
pub fn user_counts(user_id: i64) -> Sql {
    Sql::new(
        "SELECT (SELECT COUNT(*) FROM app_installs WHERE user_id = ?1) AS installs, \
         (SELECT COUNT(*) FROM app_records r JOIN app_installs i \
          ON i.site_key = r.site_key AND i.install = r.install WHERE i.user_id = ?1) AS records, \
         (SELECT COUNT(*) FROM app_users WHERE id = ?1) AS users",
        binds![user_id],
    )
}

/// The statements erasing a user (the vendor's erasure by address) and every install linked
/// to them, as one batch.
pub fn erase_user(site_key: i64, user_id: i64) -> Vec<Sql> {
    const INSTALLS: &str =
        "install IN (SELECT install FROM app_installs WHERE site_key = ?1 AND user_id = ?2)";
    let mut batch: Vec<Sql> = ["app_records", "app_batches", "app_rate"]
        .iter()
        .map(|table| {
            Sql::new(
                format!("DELETE FROM {table} WHERE site_key = ?1 AND {INSTALLS}"),
                binds![site_key, user_id],
            )
        })
        .collect();
    batch.push(Sql::new(
        "DELETE FROM app_links WHERE site_key = ?1 AND (user_id = ?2 OR {INSTALLS})"
            .replace("{INSTALLS}", INSTALLS),
        binds![site_key, user_id],
    ));
    batch.push(Sql::new(
        "DELETE FROM app_installs WHERE site_key = ?1 AND user_id = ?2",
        binds![site_key, user_id],
    ));
    batch.push(Sql::new(
        "DELETE FROM app_users WHERE site_key = ?1 AND id = ?2",
        binds![site_key, user_id],
    ));
    batch
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::apps::parse_batch;
    use crate::store::sqlite::{first, migrated, run};
    use rusqlite::Connection;
    use serde_json::json;

    pub const NOW: i64 = 1_764_547_200_000; // 2025-12-01T00:00Z
    pub const INSTALL_ID: &str = "0123456789abcdef0123456789abcdef";

    /// Runs statements as one transaction, as D1's batch does: all or nothing.
    pub fn batch(db: &Connection, statements: &[Sql]) -> Result<(), String> {
        db.execute_batch("BEGIN").unwrap();
        for s in statements {
            let r = db.execute(
                &s.text,
                rusqlite::params_from_iter(s.binds.iter().map(crate::store::sqlite::value)),
            );
            if let Err(e) = r {
                db.execute_batch("ROLLBACK").unwrap();
                return Err(e.to_string());
            }
        }
        db.execute_batch("COMMIT").unwrap();
        Ok(())
    }

    pub fn app(db: &Connection, id: &str, key: &str) -> i64 {
        run(
            db,
            &Sql::new(
                "INSERT INTO sites (id, name, timezone, created_at, kind, app_key) \
                 VALUES (?1, ?1, 'UTC', 0, 'app', ?2)",
                binds![id, key],
            ),
        );
        first::<AppSite>(db, &app_by_key(key)).unwrap().site_key
    }

    pub fn upload(batch_id: &str, records: serde_json::Value) -> CheckedBatch {
        let body = json!({"batch_id": batch_id, "install_id": INSTALL_ID, "app_version": "2.0",
            "os": "macos", "os_version": "15", "dropped": 2, "records": records});
        parse_batch(&serde_json::to_vec(&body).unwrap(), NOW).unwrap()
    }

    pub fn feature(seq: u64, ts: i64, name: &str) -> serde_json::Value {
        json!({"seq": seq, "ts": ts, "kind": "feature", "name": name, "props": {"a": "b"}})
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Count {
        n: i64,
    }

    fn count(db: &Connection, sql: &str) -> i64 {
        first::<Count>(db, &Sql::new(sql, [])).unwrap().n
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Install {
        first_seen: i64,
        last_seen: i64,
        app_version: String,
        os: String,
        dropped: i64,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Meter {
        received: i64,
        stored: i64,
        refused: i64,
    }

    #[test]
    fn a_key_names_its_app_and_a_rotated_key_nothing() {
        let db = migrated();
        let key = app(&db, "tool", "vpk_1");
        run(&db, &Sql::new("INSERT INTO sites (id, name, timezone, created_at) VALUES ('web', 'web', 'UTC', 0)", []));
        let found: AppSite = first(&db, &app_by_key("vpk_1")).unwrap();
        assert_eq!(
            (found.id.as_str(), found.kind, found.site_key),
            ("tool", SiteKind::App, key)
        );
        assert_eq!(run(&db, &set_app_key("tool", "vpk_2")), 1);
        assert!(first::<AppSite>(&db, &app_by_key("vpk_1")).is_none());
        assert_eq!(
            first::<AppSite>(&db, &app_by_key("vpk_2")).unwrap().id,
            "tool"
        );
        // A web site never gets a key.
        assert_eq!(run(&db, &set_app_key("web", "vpk_3")), 0);
        assert!(first::<AppSite>(&db, &app_by_key("vpk_3")).is_none());
    }

    #[test]
    fn an_upload_is_stored_once_with_its_install_and_metering() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        let records: Vec<_> = (1..=30)
            .map(|i| feature(i, NOW - 100 * i as i64, "f"))
            .collect();
        let mut records = records;
        records.push(json!({"seq": 99, "ts": 0, "kind": "feature", "name": "too old"}));
        let b = upload("batch-0001", json!(records));
        assert!(store_batch(site_key, "h1", &b, NOW).len() >= 3 + 30 / RECORDS_PER_INSERT);
        for s in store_batch(site_key, "h1", &b, NOW) {
            assert!(s.binds.len() <= MAX_BINDS_PER_STATEMENT, "{}", s.text);
        }
        batch(&db, &store_batch(site_key, "h1", &b, NOW)).unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_records"), 30);
        let seen: SeenBatch = first(&db, &seen_batch(site_key, "h1", "batch-0001")).unwrap();
        assert_eq!(
            seen,
            SeenBatch {
                stored: 30,
                refused: 1
            }
        );
        assert!(first::<SeenBatch>(&db, &seen_batch(site_key, "h2", "batch-0001")).is_none());
        // The batch's own drops are kept with it (a period's drops are summed over batches).
        assert_eq!(
            count(
                &db,
                "SELECT dropped AS n FROM app_batches WHERE batch_id = 'batch-0001'"
            ),
            2
        );
        // The same upload again: refused by the batch row, nothing else changes.
        let again = batch(&db, &store_batch(site_key, "h1", &b, NOW + 5));
        assert!(again.unwrap_err().contains("UNIQUE"));
        let install: Install = first(
            &db,
            &Sql::new(
                "SELECT first_seen, last_seen, app_version, os, dropped FROM app_installs",
                [],
            ),
        )
        .unwrap();
        assert_eq!(
            install,
            Install {
                first_seen: NOW - 3000,
                last_seen: NOW - 100,
                app_version: "2.0".into(),
                os: "macos".into(),
                dropped: 2
            }
        );
        let meter: Meter = first(
            &db,
            &Sql::new(
                "SELECT received, stored, refused FROM metering WHERE source = 'app'",
                [],
            ),
        )
        .unwrap();
        assert_eq!(
            meter,
            Meter {
                received: 31,
                stored: 30,
                refused: 1
            }
        );
        // Another batch repeating seq 1..=2 and adding 31: the repeats stored once.
        let mut older = upload(
            "batch-0002",
            json!([
                feature(1, NOW - 100, "f"),
                feature(2, NOW - 200, "f"),
                feature(31, NOW - 9000, "g")
            ]),
        );
        older.app_version = "1.0".into();
        batch(&db, &store_batch(site_key, "h1", &older, NOW + 10)).unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_records"), 31);
        let install: Install = first(
            &db,
            &Sql::new(
                "SELECT first_seen, last_seen, app_version, os, dropped FROM app_installs",
                [],
            ),
        )
        .unwrap();
        // An older upload widens first seen but does not turn the version back.
        assert_eq!(
            (
                install.first_seen,
                install.last_seen,
                install.app_version.as_str(),
                install.dropped
            ),
            (NOW - 9000, NOW - 100, "2.0", 4)
        );
        let meter: Meter = first(
            &db,
            &Sql::new(
                "SELECT received, stored, refused FROM metering WHERE source = 'app'",
                [],
            ),
        )
        .unwrap();
        assert_eq!(
            meter,
            // Received 3 more, of which 1 new record: metering counts what is stored, once.
            Meter {
                received: 34,
                stored: 31,
                refused: 1
            }
        );
        #[derive(Deserialize)]
        struct Rec {
            kind: String,
            name: String,
            props: String,
            app_version: String,
        }
        let r: Rec = first(
            &db,
            &Sql::new(
                "SELECT kind, name, props, app_version FROM app_records WHERE seq = 31",
                [],
            ),
        )
        .unwrap();
        assert_eq!(
            (
                r.kind.as_str(),
                r.name.as_str(),
                r.props.as_str(),
                r.app_version.as_str()
            ),
            ("feature", "g", r#"{"a":"b"}"#, "1.0")
        );
    }

    #[test]
    fn deleting_the_app_deletes_its_rows_but_not_its_metering_nor_other_apps_rows() {
        let db = migrated();
        let tool = app(&db, "tool", "vpk_1");
        let other = app(&db, "other", "vpk_2");
        let b = upload("batch-0001", json!([feature(1, NOW, "f")]));
        batch(&db, &store_batch(tool, "h1", &b, NOW)).unwrap();
        batch(&db, &store_batch(other, "h1", &b, NOW)).unwrap();
        first::<RateCount>(&db, &count_rate(tool, "h1", 0, 1)).unwrap();
        for table in APP_DATA_TABLES {
            // Every listed table is filed by the internal key.
            run(
                &db,
                &Sql::new(format!("DELETE FROM {table} WHERE site_key = -1"), []),
            );
        }
        for s in crate::store::sites::delete_site("tool") {
            run(&db, &s);
        }
        for table in ["app_records", "app_batches", "app_installs", "app_rate"] {
            let left = count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM {table} WHERE site_key = {tool}"),
            );
            assert_eq!(left, 0, "{table}");
            let kept = count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM {table} WHERE site_key = {other}"),
            );
            assert!(kept > 0 || table == "app_rate", "{table}");
        }
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM metering WHERE site_key = {tool}")
            ),
            1
        );
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct UserRow {
        email: String,
        status: String,
        consent: String,
    }

    fn users(db: &Connection) -> Vec<UserRow> {
        crate::store::sqlite::all(
            db,
            &Sql::new(
                "SELECT email, status, consent FROM app_users ORDER BY id",
                [],
            ),
        )
    }

    fn linked(db: &Connection, install: &str) -> Option<i64> {
        #[derive(Deserialize)]
        struct U {
            user_id: Option<i64>,
        }
        first::<U>(
            db,
            &Sql::new(
                "SELECT user_id FROM app_installs WHERE install = ?1",
                binds![install],
            ),
        )
        .and_then(|u| u.user_id)
    }

    #[test]
    fn an_install_is_linked_only_when_its_link_is_confirmed_once_in_time() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        batch(
            &db,
            &store_batch(
                site_key,
                "h1",
                &upload("batch-0001", json!([feature(1, NOW, "f")])),
                NOW,
            ),
        )
        .unwrap();
        batch(
            &db,
            &register(
                site_key,
                "h1",
                "ana@example.com",
                "I agree",
                NOW,
                "t1",
                NOW + 1000,
            ),
        )
        .unwrap();
        // Registered, not linked: the user is pending.
        assert_eq!(linked(&db, "h1"), None);
        assert_eq!(
            users(&db),
            vec![UserRow {
                email: "ana@example.com".into(),
                status: "pending".into(),
                consent: "I agree".into()
            }]
        );
        let link: PendingLink = first(&db, &pending_link("t1", NOW)).unwrap();
        assert_eq!(
            (
                link.app.as_str(),
                link.email.as_str(),
                link.consent.as_str(),
                link.site_key
            ),
            ("tool", "ana@example.com", "I agree", site_key)
        );
        // Expired or unknown tokens name nothing and confirm nothing.
        assert!(first::<PendingLink>(&db, &pending_link("t1", NOW + 1001)).is_none());
        batch(&db, &confirm("t1", NOW + 1001)).unwrap();
        assert_eq!(linked(&db, "h1"), None);
        batch(&db, &confirm("forged", NOW)).unwrap();
        assert_eq!(linked(&db, "h1"), None);
        // A second mail replaces the link: the first token no longer works.
        batch(
            &db,
            &register(
                site_key,
                "h1",
                "ana@example.com",
                "I agree, again",
                NOW + 5,
                "t2",
                NOW + 2000,
            ),
        )
        .unwrap();
        assert!(first::<PendingLink>(&db, &pending_link("t1", NOW)).is_none());
        batch(&db, &confirm("t2", NOW + 10)).unwrap();
        let user = first::<UserId>(&db, &user_by_email(site_key, "ana@example.com"))
            .unwrap()
            .id;
        assert_eq!(linked(&db, "h1"), Some(user));
        assert_eq!(users(&db)[0].status, "confirmed");
        assert_eq!(users(&db)[0].consent, "I agree, again");
        // Used once.
        assert!(first::<PendingLink>(&db, &pending_link("t2", NOW + 10)).is_none());
        // An install that never uploaded gets its row when confirmed.
        batch(
            &db,
            &register(
                site_key,
                "h2",
                "ana@example.com",
                "yes",
                NOW,
                "t3",
                NOW + 1000,
            ),
        )
        .unwrap();
        batch(&db, &confirm("t3", NOW + 20)).unwrap();
        assert_eq!(linked(&db, "h2"), Some(user));
    }

    #[test]
    fn a_strangers_address_is_forgotten_unless_confirmed() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        batch(
            &db,
            &register(
                site_key,
                "h1",
                "stranger@example.com",
                "yes",
                NOW,
                "t1",
                NOW + 1000,
            ),
        )
        .unwrap();
        for s in prune_registrations(NOW + 500) {
            run(&db, &s);
        }
        assert_eq!(users(&db).len(), 1, "the link still works");
        for s in prune_registrations(NOW + 1001) {
            run(&db, &s);
        }
        assert!(users(&db).is_empty());
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_links"), 0);
        assert_eq!(linked(&db, "h1"), None);
    }

    #[test]
    fn mail_counts_add_up_per_subject_and_day() {
        let db = migrated();
        let c = |subject: &str, win: i64| {
            first::<MailCount>(&db, &count_mail(1, subject, win))
                .unwrap()
                .mails
        };
        assert_eq!(c("install a", 0), 1);
        assert_eq!(c("install a", 0), 2);
        assert_eq!(c("address b", 0), 1);
        assert_eq!(c("install a", crate::apps::email::MAIL_WINDOW_MS), 1);
        for s in prune_registrations(2 * crate::apps::email::MAIL_WINDOW_MS) {
            run(&db, &s);
        }
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_mail_rate"), 1);
    }

    #[test]
    fn erasing_an_install_deletes_its_rows_and_its_user_when_no_install_is_left() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        let other = app(&db, "other", "vpk_2");
        let b = upload(
            "batch-0001",
            json!([feature(1, NOW, "f"), feature(2, NOW, "g")]),
        );
        for (key, install) in [(site_key, "h1"), (site_key, "h2"), (other, "h1")] {
            batch(&db, &store_batch(key, install, &b, NOW)).unwrap();
        }
        for (install, token) in [("h1", "t1"), ("h2", "t2")] {
            batch(
                &db,
                &register(
                    site_key,
                    install,
                    "ana@example.com",
                    "yes",
                    NOW,
                    token,
                    NOW + 1000,
                ),
            )
            .unwrap();
            batch(&db, &confirm(token, NOW)).unwrap();
        }
        let counts: ErasedCounts = first(&db, &install_counts(site_key, "h1")).unwrap();
        assert_eq!(
            counts,
            ErasedCounts {
                installs: 1,
                records: 2,
                users: 0
            }
        );
        assert_eq!(
            first::<ErasedCounts>(&db, &install_counts(site_key, "h2"))
                .unwrap()
                .users,
            0
        );
        batch(&db, &erase_install(site_key, "h1")).unwrap();
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM app_records WHERE site_key = {site_key}")
            ),
            2
        );
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM app_records WHERE site_key = {other}")
            ),
            2,
            "another app's install of the same hash"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) AS n FROM app_batches WHERE install = 'h1'"
            ),
            1
        );
        assert_eq!(users(&db).len(), 1, "h2 is still hers");
        assert_eq!(
            first::<ErasedCounts>(&db, &install_counts(site_key, "h2")).unwrap(),
            ErasedCounts {
                installs: 1,
                records: 2,
                users: 1
            }
        );
        batch(&db, &erase_install(site_key, "h2")).unwrap();
        assert!(users(&db).is_empty());
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM app_installs WHERE site_key = {site_key}")
            ),
            0
        );
    }

    #[test]
    fn erasing_a_user_deletes_every_install_of_theirs_and_nothing_else() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        let b = upload("batch-0001", json!([feature(1, NOW, "f")]));
        for install in ["h1", "h2", "h3"] {
            batch(&db, &store_batch(site_key, install, &b, NOW)).unwrap();
        }
        for (install, email, token) in [
            ("h1", "ana@example.com", "t1"),
            ("h2", "ana@example.com", "t2"),
            ("h3", "bo@example.com", "t3"),
        ] {
            batch(
                &db,
                &register(site_key, install, email, "yes", NOW, token, NOW + 1000),
            )
            .unwrap();
            batch(&db, &confirm(token, NOW)).unwrap();
        }
        // A pending link of a third install to her address goes too.
        batch(
            &db,
            &register(
                site_key,
                "h4",
                "ana@example.com",
                "yes",
                NOW,
                "t4",
                NOW + 1000,
            ),
        )
        .unwrap();
        let ana = first::<UserId>(&db, &user_by_email(site_key, "ana@example.com"))
            .unwrap()
            .id;
        assert_eq!(
            first::<ErasedCounts>(&db, &user_counts(ana)).unwrap(),
            ErasedCounts {
                installs: 2,
                records: 2,
                users: 1
            }
        );
        batch(&db, &erase_user(site_key, ana)).unwrap();
        assert_eq!(
            users(&db)
                .iter()
                .map(|u| u.email.as_str())
                .collect::<Vec<_>>(),
            ["bo@example.com"]
        );
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_records"), 1);
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_installs"), 1);
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_links"), 0);
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_batches"), 1);
    }

    #[test]
    fn retention_deletes_old_records_of_one_app_in_chunks() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        let other = app(&db, "other", "vpk_2");
        let b = upload(
            "batch-0001",
            json!([
                feature(1, NOW - 3000, "f"),
                feature(2, NOW - 2000, "f"),
                feature(3, NOW, "f")
            ]),
        );
        batch(&db, &store_batch(site_key, "h1", &b, NOW)).unwrap();
        batch(&db, &store_batch(other, "h1", &b, NOW)).unwrap();
        assert_eq!(run(&db, &purge_records("tool", NOW - 1000, 1)), 1);
        assert_eq!(run(&db, &purge_records("tool", NOW - 1000, 10)), 1);
        assert_eq!(run(&db, &purge_records("tool", NOW - 1000, 10)), 0);
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM app_records WHERE site_key = {site_key}")
            ),
            1
        );
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM app_records WHERE site_key = {other}")
            ),
            3
        );
    }

    #[test]
    fn an_empty_upload_writes_its_batch_and_metering_but_no_install() {
        let db = migrated();
        let site_key = app(&db, "tool", "vpk_1");
        let mut b = upload("batch-empty", json!([]));
        b.dropped = 0;
        batch(&db, &store_batch(site_key, "h1", &b, NOW)).unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_installs"), 0);
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_batches"), 1);
    }

    #[test]
    fn rate_counts_add_up_per_app_install_and_window_and_are_pruned() {
        let db = migrated();
        let c = |install: &str, win: i64, n: i64| {
            first::<RateCount>(&db, &count_rate(1, install, win, n))
                .unwrap()
                .records
        };
        assert_eq!(c(WHOLE_APP, 60_000, 10), 10);
        assert_eq!(c("h1", 60_000, 10), 10);
        assert_eq!(c(WHOLE_APP, 60_000, 5), 15);
        assert_eq!(c("h1", 120_000, 1), 1);
        run(&db, &meter_refused(1, NOW, 7));
        let meter: Meter = first(
            &db,
            &Sql::new("SELECT received, stored, refused FROM metering", []),
        )
        .unwrap();
        assert_eq!(
            meter,
            Meter {
                received: 7,
                stored: 0,
                refused: 7
            }
        );
        assert_eq!(run(&db, &prune_rate(120_000)), 2);
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM app_rate"), 1);
    }
}
