//! The instance's own secrets: lasting keys (`instance_keys`, kept) and the address-fingerprint
//! secret of each UTC day (`fingerprint_keys`, deleted once the day is over). Both are created
//! on first use with `INSERT OR IGNORE`, so concurrent first uses in several isolates agree on
//! one value.

use serde::Deserialize;

use crate::binds;
use crate::store::Sql;

/// A lasting key's value (hex).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InstanceKey {
    pub value: String,
}

/// A day's fingerprint secret (hex).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DaySecret {
    pub secret: String,
}

/// Creates the lasting key `name` unless it exists.
pub fn create_instance_key(name: &str, value_hex: &str) -> Sql {
    Sql::new(
        "INSERT OR IGNORE INTO instance_keys (name, value) VALUES (?1, ?2)",
        binds![name, value_hex],
    )
}

/// The lasting key `name` (`InstanceKey`).
pub fn instance_key(name: &str) -> Sql {
    Sql::new(
        "SELECT value FROM instance_keys WHERE name = ?1",
        binds![name],
    )
}

/// Creates the secret of `day` (YYYY-MM-DD) unless it exists.
pub fn create_day_secret(day: &str, secret_hex: &str) -> Sql {
    Sql::new(
        "INSERT OR IGNORE INTO fingerprint_keys (day, secret) VALUES (?1, ?2)",
        binds![day, secret_hex],
    )
}

/// The secret of `day` (`DaySecret`).
pub fn day_secret(day: &str) -> Sql {
    Sql::new(
        "SELECT secret FROM fingerprint_keys WHERE day = ?1",
        binds![day],
    )
}

/// Deletes the secrets of days before `keep_from` (see
/// `governance::audit::fingerprint_secrets_keep_from`).
pub fn delete_day_secrets_before(keep_from: &str) -> Sql {
    Sql::new(
        "DELETE FROM fingerprint_keys WHERE day < ?1",
        binds![keep_from],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{first, migrated, run};

    #[test]
    fn the_first_key_created_stays() {
        let db = migrated();
        run(&db, &create_instance_key("audit_subject", "aa"));
        run(&db, &create_instance_key("audit_subject", "bb"));
        let key: InstanceKey = first(&db, &instance_key("audit_subject")).unwrap();
        assert_eq!(key.value, "aa");
        assert_eq!(
            first::<InstanceKey>(&db, &instance_key("report_links")),
            None
        );
    }

    #[test]
    fn day_secrets_are_created_once_and_deleted_after_their_day() {
        let db = migrated();
        for (day, secret) in [
            ("2026-01-01", "01"),
            ("2026-01-02", "02"),
            ("2026-01-02", "99"),
        ] {
            run(&db, &create_day_secret(day, secret));
        }
        let today: DaySecret = first(&db, &day_secret("2026-01-02")).unwrap();
        assert_eq!(today.secret, "02");
        assert_eq!(run(&db, &delete_day_secrets_before("2026-01-02")), 1);
        assert_eq!(first::<DaySecret>(&db, &day_secret("2026-01-01")), None);
        assert!(first::<DaySecret>(&db, &day_secret("2026-01-02")).is_some());
    }
}
