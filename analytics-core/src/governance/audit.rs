//! Vigia's own audit log: who did what, when and from where, for every login (ok and failed),
//! export, deletion, settings change and role change made through the API. Append-only: no
//! route edits or deletes it, and triggers in the database refuse UPDATE and DELETE.
//!
//! "From where" is the country the edge reports, the browser and OS, and a keyed hash of the
//! IP address (`ip_fingerprint` under `fingerprint_key`): the same address can be recognised
//! across entries of one site and one UTC day, but the address itself is never stored, and
//! once the day's secret is deleted (the next daily job) no one can reverse the fingerprint by
//! hashing every address.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
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

/// The action an API call is recorded as, if it is one the audit log keeps. Logins are kept
/// ok and failed; breakdowns only when exported as CSV (the Worker decides that).
pub fn action_for(method: &str, path: &str) -> Option<&'static str> {
    Some(match (method, path) {
        ("POST", "/api/setup") => "setup",
        ("POST", "/api/login") => "login",
        ("POST", "/api/logout") => "logout",
        ("POST", "/api/invites/accept") => "invite_accept",
        ("POST", "/api/me/password") => "password_change",
        ("POST", "/api/tokens") => "token_create",
        ("DELETE", "/api/tokens/{id}") => "token_revoke",
        ("POST", "/api/users") => "user_create",
        ("DELETE", "/api/users/{id}") => "user_delete",
        ("POST", "/api/sites") => "site_create",
        ("PATCH", "/api/sites/{site}") => "site_update",
        ("DELETE", "/api/sites/{site}") => "site_delete",
        ("PUT", "/api/sites/{site}/members") => "role_change",
        ("DELETE", "/api/sites/{site}/members/{user}") => "member_remove",
        // Joining a site happens on the invited person's answer, so it is recorded then.
        ("POST", "/api/me/invitations/{id}/accept") => "site_invite_accept",
        ("DELETE", "/api/me/invitations/{id}") => "site_invite_decline",
        ("POST", "/api/sites/{site}/share") => "public_link_change",
        ("POST", "/api/sites/{site}/goals") => "goal_create",
        ("DELETE", "/api/sites/{site}/goals/{id}") => "goal_delete",
        ("POST", "/api/sites/{site}/funnels") => "funnel_create",
        ("DELETE", "/api/sites/{site}/funnels/{id}") => "funnel_delete",
        ("GET", "/api/export/events") => "export_events",
        ("POST", "/api/sites/{site}/activity-key") => "activity_key_rotate",
        ("GET", "/api/sites/{site}/activity") => "activity_search",
        ("DELETE", "/api/sites/{site}/activity/users/{user}") => "user_data_delete",
        ("GET", "/api/stats/breakdown") => "export_breakdown",
        ("PUT", "/api/sites/{site}/reports/subscription") => "report_subscription_change",
        ("POST", "/api/reports/unsubscribe") => "report_unsubscribe",
        _ => return None,
    })
}

/// The action a request is recorded as, knowing whether it asks for CSV: a breakdown is kept
/// only as a CSV export, and an activity search downloaded as CSV is an export (it counts for
/// the bulk-download rule).
pub fn action_for_request(method: &str, path: &str, as_csv: bool) -> Option<&'static str> {
    match (action_for(method, path)?, as_csv) {
        ("export_breakdown", false) => None,
        ("activity_search", true) => Some("export_activity"),
        (action, _) => Some(action),
    }
}

/// Actions whose request body is never kept, whatever its keys are called (a password change
/// sends `{current, new}`).
pub const BODY_NOT_KEPT: [&str; 2] = ["password_change", "invite_accept"];

/// Actions whose details name a user id of the site's own backend (the activity search and its
/// CSV export): that id is kept only as a keyed hash, so erasing the id's activity leaves it
/// nowhere in clear — the log itself can never be edited afterwards.
pub const HASHED_USER_ID_ACTIONS: [&str; 2] = ["activity_search", "export_activity"];
/// The search fields of those actions kept only as keyed hashes (`entity_id` only when the
/// entity is a user, or of no type).
pub const HASHED_SEARCH_FIELDS: [&str; 3] = ["user_id", "entity_id", "session_id"];

/// The details stored for `action`: the sanitised body, or nothing for credential changes.
/// `pseudonym` turns a backend user id into its keyed hash (see `user_pseudonym`).
pub fn details_for(action: &str, body: &Value, pseudonym: impl Fn(&str) -> String) -> Value {
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
    action: &str,
    params: &[(&str, String)],
    pseudonym: impl Fn(&str) -> String,
) -> String {
    let text = params
        .iter()
        .filter(|(n, _)| *n != "site" && *n != "token")
        .map(|(n, v)| {
            if action == "user_data_delete" && *n == "user" {
                format!("user {}", pseudonym(v))
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
    action: &str,
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
    format!("{window:015}|{site}|{fp}|{action}|{outcome}")
}

/// Fold keys of the window `at_ms` falls in are `>= .0` and `< .1`.
pub fn fold_window_range(at_ms: i64) -> (String, String) {
    let window = at_ms.div_euclid(ANONYMOUS_FOLD_WINDOW_MS) * ANONYMOUS_FOLD_WINDOW_MS;
    (format!("{window:015}|"), format!("{window:015}}}"))
}

/// One entry as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub site_id: Option<String>,
    pub actor_email: String,
    pub action: String,
    pub target: String,
    pub outcome: i64,
    pub details: String,
    pub country: String,
    pub client: String,
    pub ip_hash: String,
    /// How many requests this row stands for (anonymous entries fold; others are 1).
    pub count: i64,
    /// The last folded request (UTC ms); `at` is the first.
    pub last_at: Option<i64>,
}

/// Insert of one entry by an authenticated user. Binds: at, site_id (or NULL), site_key (or
/// NULL), actor_user_id, actor_email, action, target, outcome, details, country, client,
/// ip_hash. The site key, not the id, scopes the entry: a later site re-created under the same
/// id has another key and never sees it.
pub const INSERT_SQL: &str = "INSERT INTO audit_log \
    (at, site_id, site_key, actor_user_id, actor_email, action, target, outcome, details, country, client, ip_hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// An anonymous entry, folded: the first request of its `fold_key` inserts the row, later ones
/// add to its count. Once `MAX_ANONYMOUS_ROWS_PER_WINDOW` rows exist in the window, the row
/// loses its fingerprint (the `full` key). Binds: at, site_id (or NULL), site_key (or NULL),
/// action, target, outcome, country, client, ip_hash, window start key, window end key, max
/// rows, full fold key, fold key. Details are never kept: the request was not authenticated.
pub const FOLD_INSERT_SQL: &str = "INSERT INTO audit_log \
    (at, site_id, site_key, actor_user_id, actor_email, action, target, outcome, details, country, \
     client, ip_hash, count, last_at, fold_key) \
    SELECT ?1, ?2, ?3, NULL, '', ?4, ?5, ?6, '{}', ?7, ?8, CASE WHEN w.full THEN '' ELSE ?9 END, 1, ?1, \
     CASE WHEN w.full THEN ?13 ELSE ?14 END \
    FROM (SELECT (SELECT COUNT(*) FROM audit_log WHERE fold_key >= ?10 AND fold_key < ?11) >= ?12 AS full) w \
    WHERE true \
    ON CONFLICT (fold_key) WHERE fold_key IS NOT NULL DO UPDATE SET count = count + 1, last_at = excluded.at";

/// A page of entries, newest first, before an id. Binds: scope (site id, or NULL for every
/// entry), before_id, limit. A site's page reads the entries of its current key only.
pub const PAGE_SQL: &str =
    "SELECT id, at, site_id, actor_email, action, target, outcome, details, \
    country, client, ip_hash, count, last_at FROM audit_log \
    WHERE (?1 IS NULL OR site_key = (SELECT site_key FROM sites WHERE id = ?1)) \
    AND id < ?2 ORDER BY id DESC LIMIT ?3";

/// The current key of a site. Binds: site id.
pub const SITE_KEY_SQL: &str = "SELECT site_key FROM sites WHERE id = ?1";

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
    fn every_route_that_changes_something_is_audited() {
        for route in crate::routes::ROUTES {
            let changes = !matches!(route.method, "GET" | "OPTIONS");
            // Ingest (page events, backend activity) is data, not an action in Vigia.
            if changes && route.path != "/api/event" && route.path != "/api/activity" {
                assert!(
                    action_for(route.method, route.path).is_some(),
                    "{} {} is not audited",
                    route.method,
                    route.path
                );
            }
        }
        assert_eq!(
            action_for("GET", "/api/export/events"),
            Some("export_events")
        );
    }

    #[test]
    fn csv_downloads_are_exports() {
        let breakdown = "/api/stats/breakdown";
        assert_eq!(action_for_request("GET", breakdown, false), None);
        assert_eq!(
            action_for_request("GET", breakdown, true),
            Some("export_breakdown")
        );
        let search = "/api/sites/{site}/activity";
        assert_eq!(
            action_for_request("GET", search, false),
            Some("activity_search")
        );
        assert_eq!(
            action_for_request("GET", search, true),
            Some("export_activity")
        );
        assert_eq!(
            action_for_request("POST", "/api/login", true),
            Some("login")
        );
    }

    #[test]
    fn credential_changes_keep_no_body() {
        let body = json!({ "current": "old secret words", "new": "new secret words" });
        let plain = |id: &str| id.to_string();
        assert_eq!(details_for("password_change", &body, plain), json!({}));
        assert_eq!(details_for("site_update", &Value::Null, plain), json!({}));
        assert_eq!(
            details_for("site_update", &json!({ "name": "x" }), plain),
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
        let kept = details_for("activity_search", &search, p);
        assert_eq!(kept["user_id"], hashed.as_str());
        assert_eq!(kept["period"], "today");
        assert_eq!(
            details_for("export_activity", &search, p)["user_id"],
            hashed.as_str()
        );
        // Session ids and user entities are hashed too; an invoice stays readable.
        let trail =
            json!({ "entity_type": "user", "entity_id": "ana maria", "session_id": "s-ana" });
        let kept = details_for("activity_search", &trail, p);
        assert_eq!(kept["entity_id"], hashed.as_str());
        assert_eq!(kept["session_id"], p("s-ana").as_str());
        let invoice = json!({ "entity_type": "invoice", "entity_id": "77" });
        assert_eq!(
            details_for("activity_search", &invoice, p)["entity_id"],
            "77"
        );
        let params = vec![
            ("site", "shop".to_string()),
            ("user", "ana maria".to_string()),
        ];
        assert_eq!(
            target_for("user_data_delete", &params, p),
            format!("user {hashed}")
        );
        let goal = vec![("site", "shop".to_string()), ("id", "7".to_string())];
        assert_eq!(target_for("goal_delete", &goal, p), "id 7");
    }

    #[test]
    fn entries_are_capped() {
        let long = vec![("id", "9".repeat(5_000))];
        assert_eq!(
            target_for("goal_delete", &long, |s| s.into())
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
        let a = fold_key(10 * w + 5, None, "ab12", "login_failed", 401);
        assert_eq!(
            a,
            fold_key(10 * w + w - 1, None, "ab12", "login_failed", 401)
        );
        assert_ne!(a, fold_key(11 * w, None, "ab12", "login_failed", 401));
        assert_ne!(a, fold_key(10 * w, None, "cd34", "login_failed", 401));
        assert_ne!(a, fold_key(10 * w, None, "ab12", "login_failed", 429));
        assert_ne!(a, fold_key(10 * w, Some(3), "ab12", "login_failed", 401));
        let (from, to) = fold_window_range(10 * w + 7);
        assert!(a >= from && a < to, "{a} in [{from}, {to})");
        let next = fold_key(11 * w, None, "ab12", "login_failed", 401);
        assert!(next >= to);
        let previous = fold_key(10 * w - 1, None, "zz", "zz", 599);
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
