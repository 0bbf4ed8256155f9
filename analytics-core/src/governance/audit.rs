//! Vigia's own audit log: who did what, when and from where, for every login (ok and failed),
//! export, deletion, settings change and role change made through the API. Append-only: no
//! route edits or deletes it, and triggers in the database refuse UPDATE and DELETE.
//!
//! "From where" is the country the edge reports, the browser and OS, and a keyed hash of the
//! IP address (`ip_fingerprint` under `fingerprint_key`): the same address can be recognised
//! across entries of one site and one UTC day, but the address itself is never stored, and
//! once the day's secret is deleted (the next daily job) no one can reverse the fingerprint by
//! hashing every address.

pub use api_types::audit::AuditAction;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::net::IpAddr;

/// Keys whose values never reach a log, at any depth. Keys are compared without case and
/// ignoring `_` and `-` (so `api_key`, `apiKey` and `API-KEY` match): a key containing one of
/// these is secret…
pub const SECRET_KEY_PARTS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "privatekey",
];
/// …and so is a key that is exactly one of these (short words that are parts of harmless
/// keys too: `author`, `spin`).
pub const SECRET_KEYS_EXACT: [&str; 6] = ["pwd", "auth", "pin", "otp", "cvv", "credentials"];

/// What replaces a removed value.
pub const REDACTED: &str = "[redacted]";
/// Longest details text kept for one entry.
pub const MAX_DETAILS_BYTES: usize = 4096;
/// Most entries one audit page returns.
pub const MAX_AUDIT_PAGE: u32 = 200;

fn is_secret_key(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEY_PARTS.iter().any(|s| folded.contains(s))
        || SECRET_KEYS_EXACT.iter().any(|s| folded == *s)
}

/// A copy of `value` with every secret-looking key's value replaced, at any depth.
pub fn sanitize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) {
                        Value::String(REDACTED.into())
                    } else {
                        sanitize(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(sanitize).collect()),
        other => other.clone(),
    }
}

/// Sanitised details as stored: JSON text, cut to `MAX_DETAILS_BYTES` (as a JSON string then).
pub fn details_text(value: &Value) -> String {
    let text = sanitize(value).to_string();
    if text.len() <= MAX_DETAILS_BYTES {
        return text;
    }
    let mut cut = MAX_DETAILS_BYTES - 32;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Value::String(format!("{}… (truncated)", &text[..cut])).to_string()
}

/// Whose fingerprints a key makes: one site's, or the instance's own (logins, setup, anything
/// not filed under a site). A fingerprint under one scope says nothing about another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintScope<'a> {
    Instance,
    Site(&'a str),
}

impl FingerprintScope<'_> {
    /// The text the key is derived from; a site named "instance" is still `site:instance`.
    fn label(&self) -> String {
        match self {
            FingerprintScope::Instance => "instance".to_string(),
            FingerprintScope::Site(site) => format!("site:{site}"),
        }
    }
}

/// The fingerprint key for `scope` on the day whose random secret is `day_secret` (one per UTC
/// day, in D1's `fingerprint_keys`, deleted by the daily job after the day: see
/// `fingerprint_secrets_keep_from`). `deployment_secret` is the optional Worker secret
/// `VIGIA_FINGERPRINT_SECRET`: with it, a copy of the database alone does not hold the key.
///
/// Keys rotate daily: the suspicious-activity rules compare fingerprints within windows of
/// minutes to an hour (`alerts::Rules`), aligned on multiples of their length, so a window
/// whose length divides a day never holds two keys.
pub fn fingerprint_key(
    day_secret: &[u8],
    deployment_secret: &[u8],
    scope: FingerprintScope,
) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(day_secret).expect("HMAC takes a key of any length");
    mac.update(b"vigia address fingerprint\x1f");
    mac.update(&(deployment_secret.len() as u64).to_be_bytes());
    mac.update(deployment_secret);
    mac.update(scope.label().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The oldest day whose fingerprint secret the daily job keeps at `now_ms`: today's only.
/// Stored fingerprints are compared as they are, never recomputed, so no rule needs an old
/// secret, and a deleted secret makes that day's fingerprints irreversible.
pub fn fingerprint_secrets_keep_from(now_ms: i64) -> String {
    crate::stats::day_of_ms(now_ms)
}

/// A keyed fingerprint of an address: 16 hex characters.
pub fn ip_fingerprint(key: &[u8], ip: Option<IpAddr>) -> String {
    let Some(ip) = ip else {
        return String::new();
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(ip.to_string().as_bytes());
    crate::util::hex::encode(&mac.finalize().into_bytes()[..8])
}

/// The action an entry records for a call of a route whose table entry names `action`, given
/// the status it answered: a login that did not answer 200 is a failed login.
pub fn recorded_action(action: AuditAction, outcome: u16) -> AuditAction {
    match action {
        AuditAction::Login if outcome != 200 => AuditAction::LoginFailed,
        other => other,
    }
}

/// Actions whose request body is never kept, whatever its keys are called (a password change
/// sends `{current, new}`).
pub const BODY_NOT_KEPT: [AuditAction; 2] =
    [AuditAction::PasswordChange, AuditAction::InviteAccept];

/// Whether an entry of `action` needs the key that hashes backend user ids (see
/// `user_pseudonym`): its target or its details may name one.
pub fn names_backend_user(action: AuditAction) -> bool {
    matches!(
        action,
        AuditAction::UserDataDelete | AuditAction::AppUserErase
    ) || HASHED_USER_ID_ACTIONS.contains(&action)
}

/// Actions whose details name a user id of the site's own backend (the activity search and its
/// CSV export): that id is kept only as a keyed hash, so erasing the id's activity leaves it
/// nowhere in clear — the log itself can never be edited afterwards.
pub const HASHED_USER_ID_ACTIONS: [AuditAction; 2] =
    [AuditAction::ActivitySearch, AuditAction::ExportActivity];
/// The search fields of those actions kept only as keyed hashes (`entity_id` only when the
/// entity is a user, or of no type).
pub const HASHED_SEARCH_FIELDS: [&str; 3] = ["user_id", "entity_id", "session_id"];

/// The details stored for `action`: the sanitised body, or nothing for credential changes.
/// `pseudonym` turns a backend user id into its keyed hash (see `user_pseudonym`).
pub fn details_for(action: AuditAction, body: &Value, pseudonym: impl Fn(&str) -> String) -> Value {
    // No body (or none that parsed, or one refused unread): nothing to keep.
    if BODY_NOT_KEPT.contains(&action) || body.is_null() {
        return Value::Object(Default::default());
    }
    let mut clean = sanitize(body);
    if HASHED_USER_ID_ACTIONS.contains(&action) {
        // These may hold a person's id (a session id made from one; an entity that is a
        // user): kept hashed, so an erasure leaves nothing in clear. An entity of another
        // type (an invoice) stays readable.
        let entity_is_person = clean
            .get("entity_type")
            .and_then(|t| t.as_str())
            .is_none_or(|t| t.is_empty() || t.eq_ignore_ascii_case("user"));
        for field in HASHED_SEARCH_FIELDS
            .into_iter()
            .filter(|f| *f != "entity_id" || entity_is_person)
        {
            if let Some(id) = clean.get_mut(field) {
                if let Some(text) = id.as_str().filter(|t| !t.is_empty()) {
                    *id = Value::String(pseudonym(text));
                }
            }
        }
    }
    clean
}

/// Longest target an entry keeps (path parameters, an attempted email).
pub const MAX_TARGET_CHARS: usize = 200;
/// Longest actor email an entry keeps (the longest valid address).
pub const MAX_ACTOR_EMAIL_CHARS: usize = 254;
/// Longest "browser on OS" an entry keeps.
pub const MAX_CLIENT_CHARS: usize = 64;
/// Longest country code an entry keeps.
pub const MAX_COUNTRY_CHARS: usize = 8;
/// Largest request body the audit wrapper reads, checked (by Content-Length, then while
/// streaming) before a byte is kept: no audited route accepts more (the largest, goals and
/// funnels, takes 16 KiB), so a bigger body is refused with 413 before any handler runs.
pub const MAX_AUDITED_BODY_BYTES: usize = 16 * 1024;
/// Characters of an attempted email's local part an anonymous entry keeps: enough for an
/// admin to recognise whose account is being tried, too few to keep a password typed into
/// the email field, or to list who exists.
pub const ATTEMPTED_EMAIL_KEPT_CHARS: usize = 3;
/// Longest domain of an attempted email kept.
pub const ATTEMPTED_DOMAIN_KEPT_CHARS: usize = 64;
/// Anonymous entries (no authenticated user) fold into one counted row per window, address
/// fingerprint, action and outcome, so a flood of anonymous requests cannot grow the log.
pub const ANONYMOUS_FOLD_WINDOW_MS: i64 = 15 * 60_000;
/// Distinct anonymous rows one window may start; past that, every further anonymous request
/// of the window folds into one row per action and outcome without a fingerprint (a flood
/// from many addresses is bounded too).
pub const MAX_ANONYMOUS_ROWS_PER_WINDOW: i64 = 100;

/// `text` cut to at most `max` characters.
pub fn cap(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// What an anonymous entry keeps of an email someone tried: the first characters of the local
/// part and the domain, e.g. `own…@example.com`.
pub fn truncated_email(attempted: &str) -> String {
    let attempted = attempted.trim();
    if attempted.is_empty() {
        return String::new();
    }
    let (local, domain) = attempted.rsplit_once('@').unwrap_or((attempted, ""));
    let mut out = cap(local, ATTEMPTED_EMAIL_KEPT_CHARS);
    out.push('…');
    if !domain.is_empty() {
        out.push('@');
        out.push_str(&cap(domain, ATTEMPTED_DOMAIN_KEPT_CHARS));
    }
    out
}

/// A keyed hash of a backend user id on a site, as audit targets, audit details and alert
/// subjects hold an id once it may have been erased: `#` and 16 hex characters. The same id
/// on the same site always gives the same hash (an auditor holding the id can find its
/// entries), and without the instance key the id cannot be recovered by guessing.
pub fn user_pseudonym(key: &[u8], site: &str, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(site.as_bytes());
    mac.update(&[0x1f]);
    mac.update(user_id.as_bytes());
    format!(
        "#{}",
        crate::util::hex::encode(&mac.finalize().into_bytes()[..8])
    )
}

/// The target of an entry from the route's path parameters (other than the site and any
/// token): `id 7`, `user 3`; the backend user id an erasure names is kept only as its keyed
/// hash. `user_id` is that id, decoded. Capped at `MAX_TARGET_CHARS`.
pub fn target_for(
    action: AuditAction,
    params: &[(&str, String)],
    pseudonym: impl Fn(&str) -> String,
) -> String {
    let text = params
        .iter()
        .filter(|(n, _)| *n != "site" && *n != "token")
        .map(|(n, v)| {
            if action == AuditAction::UserDataDelete && *n == "user" {
                format!("user {}", pseudonym(v))
            } else if action == AuditAction::AppUserErase && *n == "email" {
                // An erased app user's address stays in the log only as its keyed hash, of the
                // address as the handler reads it (decoded, lowercased).
                let email = crate::governance::activity::decode_user_id(v)
                    .map(|e| e.trim().to_lowercase())
                    .unwrap_or_else(|_| v.clone());
                format!("email {}", pseudonym(&email))
            } else {
                format!("{n} {v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    cap(&text, MAX_TARGET_CHARS)
}

/// The row an anonymous entry folds into: window, site key (or `-`), fingerprint (or `*` once
/// the window is full), action and outcome. The window comes first, zero-padded, so the keys of
/// one window form a range (`fold_window_range`).
pub fn fold_key(
    at_ms: i64,
    site_key: Option<i64>,
    fingerprint: &str,
    action: AuditAction,
    outcome: u16,
) -> String {
    let window = at_ms.div_euclid(ANONYMOUS_FOLD_WINDOW_MS) * ANONYMOUS_FOLD_WINDOW_MS;
    let site = site_key
        .map(|k| k.to_string())
        .unwrap_or_else(|| "-".into());
    let fp = if fingerprint.is_empty() {
        "-"
    } else {
        fingerprint
    };
    let action = action.as_str();
    format!("{window:015}|{site}|{fp}|{action}|{outcome}")
}

/// Fold keys of the window `at_ms` falls in are `>= .0` and `< .1`.
pub fn fold_window_range(at_ms: i64) -> (String, String) {
    let window = at_ms.div_euclid(ANONYMOUS_FOLD_WINDOW_MS) * ANONYMOUS_FOLD_WINDOW_MS;
    (format!("{window:015}|"), format!("{window:015}}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_removed_at_any_depth() {
        let v = json!({
            "email": "a@b.c",
            "password": "hunter2",
            "nested": { "API-Key": "k", "list": [{ "refresh_token": "r", "ok": 1 }] },
            "Authorization": "Bearer x",
            "x-session-token": "s",
            "author": "Ana",
            "PIN": "1234",
        });
        let clean = sanitize(&v);
        let text = clean.to_string();
        for secret in ["hunter2", "\"k\"", "\"r\"", "Bearer x", "\"s\"", "1234"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(clean["email"], "a@b.c");
        assert_eq!(clean["nested"]["list"][0]["ok"], 1);
        assert_eq!(clean["password"], REDACTED);
        assert_eq!(clean["author"], "Ana");
    }

    #[test]
    fn a_login_that_fails_is_recorded_as_failed() {
        assert_eq!(recorded_action(AuditAction::Login, 200), AuditAction::Login);
        assert_eq!(
            recorded_action(AuditAction::Login, 429),
            AuditAction::LoginFailed
        );
        assert_eq!(
            recorded_action(AuditAction::Logout, 401),
            AuditAction::Logout
        );
        assert!(names_backend_user(AuditAction::UserDataDelete));
        assert!(names_backend_user(AuditAction::ExportActivity));
        assert!(!names_backend_user(AuditAction::GoalDelete));
        assert!(names_backend_user(AuditAction::AppUserErase));
        let p = |id: &str| format!("#{}", id.len());
        let params = vec![
            ("site", "tool".to_string()),
            ("email", "Ana%40Example.com".to_string()),
        ];
        let target = target_for(AuditAction::AppUserErase, &params, p);
        assert_eq!(target, "email #15");
        assert!(!target.contains("ana") && !target.contains("Ana"));
    }

    #[test]
    fn credential_changes_keep_no_body() {
        let body = json!({ "current": "old secret words", "new": "new secret words" });
        let plain = |id: &str| id.to_string();
        assert_eq!(
            details_for(AuditAction::PasswordChange, &body, plain),
            json!({})
        );
        assert_eq!(
            details_for(AuditAction::SiteUpdate, &Value::Null, plain),
            json!({})
        );
        assert_eq!(
            details_for(AuditAction::SiteUpdate, &json!({ "name": "x" }), plain),
            json!({ "name": "x" })
        );
    }

    #[test]
    fn backend_user_ids_are_kept_only_as_keyed_hashes() {
        let p = |id: &str| user_pseudonym(b"key", "shop", id);
        let hashed = p("ana maria");
        assert!(hashed.starts_with('#') && hashed.len() == 17, "{hashed}");
        assert_eq!(hashed, p("ana maria"));
        assert_ne!(hashed, p("ana"));
        assert_ne!(hashed, user_pseudonym(b"other", "shop", "ana maria"));
        assert_ne!(hashed, user_pseudonym(b"key", "blog", "ana maria"));
        let search = json!({ "user_id": "ana maria", "period": "today" });
        let kept = details_for(AuditAction::ActivitySearch, &search, p);
        assert_eq!(kept["user_id"], hashed.as_str());
        assert_eq!(kept["period"], "today");
        assert_eq!(
            details_for(AuditAction::ExportActivity, &search, p)["user_id"],
            hashed.as_str()
        );
        // Session ids and user entities are hashed too; an invoice stays readable.
        let trail =
            json!({ "entity_type": "user", "entity_id": "ana maria", "session_id": "s-ana" });
        let kept = details_for(AuditAction::ActivitySearch, &trail, p);
        assert_eq!(kept["entity_id"], hashed.as_str());
        assert_eq!(kept["session_id"], p("s-ana").as_str());
        let invoice = json!({ "entity_type": "invoice", "entity_id": "77" });
        assert_eq!(
            details_for(AuditAction::ActivitySearch, &invoice, p)["entity_id"],
            "77"
        );
        let params = vec![
            ("site", "shop".to_string()),
            ("user", "ana maria".to_string()),
        ];
        assert_eq!(
            target_for(AuditAction::UserDataDelete, &params, p),
            format!("user {hashed}")
        );
        let goal = vec![("site", "shop".to_string()), ("id", "7".to_string())];
        assert_eq!(target_for(AuditAction::GoalDelete, &goal, p), "id 7");
    }

    #[test]
    fn entries_are_capped() {
        let long = vec![("id", "9".repeat(5_000))];
        assert_eq!(
            target_for(AuditAction::GoalDelete, &long, |s| s.into())
                .chars()
                .count(),
            MAX_TARGET_CHARS
        );
        assert_eq!(cap("ÆØÅ", 2), "ÆØ");
        // The largest body an audited handler accepts fits.
        const { assert!(MAX_AUDITED_BODY_BYTES >= 16 * 1024) };
    }

    #[test]
    fn attempted_emails_are_truncated() {
        assert_eq!(truncated_email(" owner@example.com "), "own…@example.com");
        assert_eq!(truncated_email("ab@x.io"), "ab…@x.io");
        assert_eq!(truncated_email("my secret password"), "my …");
        assert_eq!(truncated_email(""), "");
        let long = format!("a@{}", "d".repeat(500));
        assert!(truncated_email(&long).chars().count() <= ATTEMPTED_DOMAIN_KEPT_CHARS + 5);
    }

    #[test]
    fn anonymous_entries_fold_per_window_fingerprint_action_and_outcome() {
        let w = ANONYMOUS_FOLD_WINDOW_MS;
        let a = fold_key(10 * w + 5, None, "ab12", AuditAction::LoginFailed, 401);
        assert_eq!(
            a,
            fold_key(10 * w + w - 1, None, "ab12", AuditAction::LoginFailed, 401)
        );
        assert_ne!(
            a,
            fold_key(11 * w, None, "ab12", AuditAction::LoginFailed, 401)
        );
        assert_ne!(
            a,
            fold_key(10 * w, None, "cd34", AuditAction::LoginFailed, 401)
        );
        assert_ne!(
            a,
            fold_key(10 * w, None, "ab12", AuditAction::LoginFailed, 429)
        );
        assert_ne!(
            a,
            fold_key(10 * w, Some(3), "ab12", AuditAction::LoginFailed, 401)
        );
        let (from, to) = fold_window_range(10 * w + 7);
        assert!(a >= from && a < to, "{a} in [{from}, {to})");
        let next = fold_key(11 * w, None, "ab12", AuditAction::LoginFailed, 401);
        assert!(next >= to);
        let previous = fold_key(10 * w - 1, None, "zz", AuditAction::UserDelete, 599);
        assert!(previous < from);
        const { assert!(MAX_ANONYMOUS_ROWS_PER_WINDOW > 0) };
    }

    #[test]
    fn details_are_bounded_and_addresses_only_fingerprinted() {
        let big = json!({ "note": "x".repeat(10_000) });
        assert!(details_text(&big).len() <= MAX_DETAILS_BYTES);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let f = ip_fingerprint(b"key", Some(ip));
        assert_eq!(f.len(), 16);
        assert!(!f.contains("203"));
        assert_eq!(f, ip_fingerprint(b"key", Some(ip)));
        assert_ne!(f, ip_fingerprint(b"other", Some(ip)));
        assert_eq!(ip_fingerprint(b"key", None), "");
    }

    #[test]
    fn one_address_has_another_fingerprint_per_site_and_per_day() {
        let ip: Option<IpAddr> = Some("192.0.2.99".parse().unwrap());
        let monday = b"secret of monday".as_slice();
        let tuesday = b"secret of tuesday".as_slice();
        let fp =
            |day, secret: &[u8], scope| ip_fingerprint(&fingerprint_key(day, secret, scope), ip);
        let a = fp(monday, b"", FingerprintScope::Site("a"));
        assert_eq!(a.len(), 16);
        assert_eq!(a, fp(monday, b"", FingerprintScope::Site("a")));
        assert_ne!(a, fp(monday, b"", FingerprintScope::Site("b")));
        assert_ne!(a, fp(tuesday, b"", FingerprintScope::Site("a")));
        assert_ne!(
            fp(monday, b"", FingerprintScope::Instance),
            fp(monday, b"", FingerprintScope::Site("instance"))
        );
        // The deployment secret changes every key.
        assert_ne!(a, fp(monday, b"deployment", FingerprintScope::Site("a")));
    }

    #[test]
    fn only_todays_fingerprint_secret_is_kept() {
        let day = crate::stats::DAY_MS;
        assert_eq!(fingerprint_secrets_keep_from(3 * day + 1), "1970-01-04");
        assert_eq!(fingerprint_secrets_keep_from(4 * day - 1), "1970-01-04");
    }
}
