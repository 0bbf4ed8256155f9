//! Throttling of Vigia's own logins: failed logins counted per account and per address
//! fingerprint, a lock with exponential backoff capped at a few minutes, and the instance
//! alert rules fed by the same failures.
//!
//! Why this shape:
//! - Failures are counted over the last `FAILURE_MEMORY_MS` (sliding), one row per verified
//!   failure in `login_failures`. Each attempt's row is inserted before its password is
//!   checked, in the same transaction that reads the counts (`RECORD_ATTEMPT_SQL`,
//!   `ATTEMPT_COUNTS_SQL`), so concurrent requests see each other; requests refused by a lock
//!   and successful logins delete their row again (`FORGET_ATTEMPT_SQL`), so hammering a lock
//!   does not lengthen it. A successful login clears nothing else: the owner logging in must
//!   not hand a guesser a fresh budget.
//! - The address is the client address, an IPv6 one taken as its /64 (`throttle_address`).
//! - An account lock stops requests from addresses that have been failing (the attacker's),
//!   but an address with no recent failure still has its password checked: a stranger
//!   guessing the owner's password cannot lock the owner out, who logs in from their own
//!   address at once. The price is one guess per fresh address while an account is locked;
//!   a botnet that has many addresses is what the instance alert (and the address lock) is for.
//! - Unknown emails are counted and locked exactly like real accounts (the account key is a
//!   keyed hash of the email, whether or not an account has it), so neither the answers nor
//!   their timing say which emails exist.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::governance::alerts::{AlertRule, Check, Threshold};
use crate::store::events::SqlValue;

/// Failures per account (over `FAILURE_MEMORY_MS`) before it locks: enough for typos.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures per address fingerprint before it locks: higher than per account, since one
/// office or carrier address carries several people.
pub const ADDRESS_FREE_FAILURES: i64 = 10;
/// The first lock; each further failure doubles it.
pub const FIRST_LOCK_MS: i64 = 15_000;
/// The longest an account stays locked after its last failure: a stranger can delay the
/// owner (from a failing address) by this much at most.
pub const MAX_ACCOUNT_LOCK_MS: i64 = 5 * 60_000;
/// The longest an address stays locked after its last failure.
pub const MAX_ADDRESS_LOCK_MS: i64 = 15 * 60_000;
/// How long a failure counts towards a lock.
pub const FAILURE_MEMORY_MS: i64 = 15 * 60_000;
/// How long failure rows are kept (the daily cron deletes older ones): the alert rules look
/// back hours, the locks minutes.
pub const FAILURES_KEEP_MS: i64 = 2 * 24 * 60 * 60_000;

/// Failures of one subject (account or address) within `FAILURE_MEMORY_MS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Failures {
    pub count: i64,
    /// When the latest one happened (UTC ms); 0 with none.
    pub last_at: i64,
}

/// Which counter a lock belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Address,
}

impl Scope {
    fn free(self) -> i64 {
        match self {
            Scope::Account => ACCOUNT_FREE_FAILURES,
            Scope::Address => ADDRESS_FREE_FAILURES,
        }
    }
    fn max_lock(self) -> i64 {
        match self {
            Scope::Account => MAX_ACCOUNT_LOCK_MS,
            Scope::Address => MAX_ADDRESS_LOCK_MS,
        }
    }
}

/// How long a subject with `count` recent failures stays locked after the last one.
pub fn lock_ms(scope: Scope, count: i64) -> i64 {
    if count < scope.free() {
        return 0;
    }
    let doublings = (count - scope.free()).min(20) as u32;
    FIRST_LOCK_MS
        .saturating_mul(1i64 << doublings)
        .min(scope.max_lock())
}

/// Until when a subject is locked, if it is at `now`.
pub fn locked_until(scope: Scope, f: Failures, now: i64) -> Option<i64> {
    let until = f.last_at + lock_ms(scope, f.count);
    (f.count > 0 && until > now).then_some(until)
}

/// What to do with a login before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the password.
    Verify,
    /// Answer 429 with `Retry-After` in whole seconds; the password is not checked.
    Refuse { retry_after_s: i64 },
}

fn seconds(ms: i64) -> i64 {
    ((ms + 999) / 1000).max(1)
}

/// The address's own lock always holds; the account's holds only for addresses that have
/// been failing (see the module note), or when the address is unknown (`None`: no client
/// address came with the request, so nothing shows it has not been failing).
pub fn decide(account: Failures, address: Option<Failures>, now: i64) -> Decision {
    let address_lock = address.and_then(|a| locked_until(Scope::Address, a, now));
    let account_lock = if address.is_none_or(|a| a.count > 0) {
        locked_until(Scope::Account, account, now)
    } else {
        None
    };
    match address_lock.max(account_lock) {
        Some(until) => Decision::Refuse {
            retry_after_s: seconds(until - now),
        },
        None => Decision::Verify,
    }
}

/// After a failure at `now` has been recorded (the counts include it): the wait to announce
/// with the 401, if the next try would be refused.
pub fn retry_after_failure(account: Failures, address: Option<Failures>, now: i64) -> Option<i64> {
    match decide(account, address, now) {
        Decision::Refuse { retry_after_s } => Some(retry_after_s),
        Decision::Verify => None,
    }
}

/// The account key: a keyed hash of the normalised email, so unknown emails are counted
/// like real ones without storing what was typed.
pub fn account_key(key: &[u8], email: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"login-account\0");
    mac.update(email.trim().to_lowercase().as_bytes());
    crate::util::hex::encode(&mac.finalize().into_bytes()[..16])
}

/// An attempt, recorded BEFORE its password is checked (so concurrent requests see each
/// other): one row in `login_failures`, removed again if the lock refuses the request or the
/// password is right. Binds: at, account, email (its user id is looked up, NULL for an
/// unknown email), address. Run in one D1 batch (one transaction) with `ATTEMPT_COUNTS_SQL`.
pub const RECORD_ATTEMPT_SQL: &str = "INSERT INTO login_failures (at, account, user_id, address) \
    VALUES (?1, ?2, (SELECT id FROM users WHERE email = ?3), ?4)";

/// Right after `RECORD_ATTEMPT_SQL` in the same batch: the attempt just recorded (the
/// highest rowid, since batches run one at a time) and both counters over the rows recorded
/// before it, failures and attempts still being checked alike. Binds: account, address, since.
pub const ATTEMPT_COUNTS_SQL: &str = "WITH this AS (SELECT MAX(rowid) AS id FROM login_failures) SELECT \
    (SELECT id FROM this) AS attempt, \
    (SELECT COUNT(*) FROM login_failures WHERE account = ?1 AND at >= ?3 AND rowid < (SELECT id FROM this)) AS account_count, \
    (SELECT COALESCE(MAX(at), 0) FROM login_failures WHERE account = ?1 AND at >= ?3 AND rowid < (SELECT id FROM this)) AS account_last, \
    (SELECT COUNT(*) FROM login_failures WHERE ?2 <> '' AND address = ?2 AND at >= ?3 AND rowid < (SELECT id FROM this)) AS address_count, \
    (SELECT COALESCE(MAX(at), 0) FROM login_failures WHERE ?2 <> '' AND address = ?2 AND at >= ?3 AND rowid < (SELECT id FROM this)) AS address_last";

/// A row of `ATTEMPT_COUNTS_SQL`.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct FailuresRow {
    pub attempt: i64,
    pub account_count: i64,
    pub account_last: i64,
    pub address_count: i64,
    pub address_last: i64,
}

impl FailuresRow {
    pub fn split(self) -> (Failures, Failures) {
        (
            Failures {
                count: self.account_count,
                last_at: self.account_last,
            },
            Failures {
                count: self.address_count,
                last_at: self.address_last,
            },
        )
    }
}

/// Removes an attempt that was refused unchecked or whose password was right: neither is a
/// failure. Binds: the attempt's rowid.
pub const FORGET_ATTEMPT_SQL: &str = "DELETE FROM login_failures WHERE rowid = ?1";

/// The address a login is counted under: an IPv6 address stands for its /64 (one
/// subscriber or host usually holds a whole /64, so each of its addresses is not a new
/// guesser); an IPv4-mapped IPv6 address is its IPv4 address.
pub fn throttle_address(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// Binds: cutoff.
pub const PRUNE_SQL: &str = "DELETE FROM login_failures WHERE at < ?1";

/// Where instance-wide alerts are filed in `alerts`: no site id is empty.
pub const INSTANCE_SCOPE: &str = "";

/// The instance rules and what they mean to the admin reading an alert.
pub const INSTANCE_RULES: [(AlertRule, &str); 2] = [
    (
        AlertRule::VigiaFailedLoginsPerAccount,
        "Failed Vigia logins for one account",
    ),
    (
        AlertRule::VigiaFailedLoginsPerAddress,
        "Failed Vigia logins from one address",
    ),
];

/// One query per instance rule over Vigia's own failed logins, answering `CheckRow`s. The
/// account subject names the account by its email when it exists (admins see users anyway),
/// and otherwise by the start of its keyed hash: the email typed is never stored.
pub fn instance_checks(per_account: Threshold, per_address: Threshold, now_ms: i64) -> Vec<Check> {
    let since = now_ms - crate::governance::alerts::LOOKBACK_MS;
    let counted = |rule: AlertRule, t: Threshold, subject: &str, group: &str, cond: &str| Check {
        rule,
        window_ms: t.minutes * 60_000,
        threshold: t.count,
        sql: format!(
            "SELECT {subject} AS subject, CAST(at / ?2 AS INTEGER) * ?2 AS window_start, \
             COUNT(*) AS count, 0 AS total, MIN(at) AS first_ts, MAX(at) AS last_ts \
             FROM login_failures f WHERE at >= ?1 AND {cond} \
             GROUP BY {group}, window_start HAVING COUNT(*) >= ?3"
        ),
        binds: vec![
            SqlValue::Int(since),
            SqlValue::Int(t.minutes * 60_000),
            SqlValue::Int(t.count),
        ],
    };
    vec![
        counted(
            AlertRule::VigiaFailedLoginsPerAccount,
            per_account,
            "COALESCE('account ' || (SELECT email FROM users u WHERE u.id = f.user_id), \
             'unknown email #' || substr(f.account, 1, 8))",
            "f.account",
            "1",
        ),
        counted(
            AlertRule::VigiaFailedLoginsPerAddress,
            per_address,
            "'address ' || f.address",
            "f.address",
            "f.address <> ''",
        ),
    ]
}

/// The subject of the mail instance admins get about new instance alerts.
pub fn instance_mail_subject(new_alerts: usize) -> String {
    format!(
        "Failed logins on your Vigia instance: {new_alerts} new alert{}",
        if new_alerts == 1 { "" } else { "s" }
    )
}

/// Who is mailed about instance alerts: the instance admins.
pub const INSTANCE_ALERT_RECIPIENTS_SQL: &str =
    "SELECT email FROM users WHERE is_admin = 1 ORDER BY id";

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000_000;
    fn f(count: i64, ago_ms: i64) -> Failures {
        Failures {
            count,
            last_at: NOW - ago_ms,
        }
    }

    #[test]
    fn locks_start_after_the_free_failures_double_and_are_capped() {
        assert_eq!(lock_ms(Scope::Account, ACCOUNT_FREE_FAILURES - 1), 0);
        assert_eq!(
            lock_ms(Scope::Account, ACCOUNT_FREE_FAILURES),
            FIRST_LOCK_MS
        );
        assert_eq!(
            lock_ms(Scope::Account, ACCOUNT_FREE_FAILURES + 1),
            2 * FIRST_LOCK_MS
        );
        assert_eq!(lock_ms(Scope::Account, 1_000), MAX_ACCOUNT_LOCK_MS);
        assert_eq!(lock_ms(Scope::Address, ADDRESS_FREE_FAILURES - 1), 0);
        assert_eq!(
            lock_ms(Scope::Address, ADDRESS_FREE_FAILURES),
            FIRST_LOCK_MS
        );
        assert_eq!(lock_ms(Scope::Address, i64::MAX), MAX_ADDRESS_LOCK_MS);
        const {
            assert!(
                MAX_ACCOUNT_LOCK_MS <= 5 * 60_000,
                "the owner waits minutes at most"
            );
            assert!(FAILURE_MEMORY_MS >= MAX_ADDRESS_LOCK_MS);
            assert!(FAILURES_KEEP_MS >= crate::governance::alerts::LOOKBACK_MS);
        }
    }

    #[test]
    fn a_lock_ends_after_its_time() {
        let account = f(ACCOUNT_FREE_FAILURES, 1_000);
        assert_eq!(
            decide(account, Some(f(1, 1_000)), NOW),
            Decision::Refuse { retry_after_s: 14 }
        );
        let later = NOW + FIRST_LOCK_MS;
        assert_eq!(decide(account, Some(f(1, 1_000)), later), Decision::Verify);
    }

    #[test]
    fn an_account_lock_spares_addresses_that_have_not_been_failing() {
        let locked = f(ACCOUNT_FREE_FAILURES + 10, 0);
        assert_eq!(
            decide(locked, Some(Failures::default()), NOW),
            Decision::Verify
        );
        // Without an address nothing shows it is not the guesser's.
        assert_ne!(decide(locked, None, NOW), Decision::Verify);
        assert_eq!(
            decide(locked, Some(f(1, 60_000)), NOW),
            Decision::Refuse {
                retry_after_s: MAX_ACCOUNT_LOCK_MS / 1000
            }
        );
    }

    #[test]
    fn an_address_lock_holds_for_every_account() {
        let address = f(ADDRESS_FREE_FAILURES, 0);
        assert_eq!(
            decide(Failures::default(), Some(address), NOW),
            Decision::Refuse { retry_after_s: 15 }
        );
        assert_eq!(
            retry_after_failure(
                Failures::default(),
                Some(f(ADDRESS_FREE_FAILURES - 1, 0)),
                NOW
            ),
            None
        );
        assert_eq!(
            retry_after_failure(Failures::default(), Some(address), NOW),
            Some(15)
        );
    }

    #[test]
    fn account_keys_ignore_case_and_space_and_depend_on_the_key() {
        let k = b"0123456789abcdef";
        assert_eq!(
            account_key(k, " Owner@Example.com "),
            account_key(k, "owner@example.com")
        );
        assert_ne!(
            account_key(k, "owner@example.com"),
            account_key(b"another key", "owner@example.com")
        );
        assert_eq!(account_key(k, "x").len(), 32);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a = |s: &str| throttle_address(s.parse().unwrap());
        assert_eq!(a("2001:db8:1:2::1"), a("2001:db8:1:2:ffff:1:2:3"));
        assert_eq!(a("2001:db8:1:2::1").to_string(), "2001:db8:1:2::");
        assert_ne!(a("2001:db8:1:2::1"), a("2001:db8:1:3::1"));
        assert_eq!(a("203.0.113.5").to_string(), "203.0.113.5");
        assert_eq!(a("::ffff:203.0.113.5").to_string(), "203.0.113.5");
        assert_ne!(a("203.0.113.5"), a("203.0.113.6"));
    }

    #[test]
    fn the_instance_mail_says_what_happened() {
        assert_eq!(
            instance_mail_subject(1),
            "Failed logins on your Vigia instance: 1 new alert"
        );
        assert!(instance_mail_subject(2).ends_with("2 new alerts"));
    }

    #[test]
    fn instance_checks_bind_what_they_use() {
        let t = Threshold {
            count: 5,
            minutes: 15,
        };
        for c in instance_checks(t, t, 10 * crate::stats::HOUR_MS) {
            let highest = (1..=9)
                .rev()
                .find(|n| c.sql.contains(&format!("?{n}")))
                .unwrap();
            assert_eq!(highest, c.binds.len(), "{}", c.rule);
            assert!(INSTANCE_RULES.iter().any(|(r, _)| *r == c.rule));
        }
    }
}
