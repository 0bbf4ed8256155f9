//! Server-side activity: what a site's own backend reports about its users (the audit-middleware
//! use). Validation, enrichment and the search SQL live here; the Worker authenticates the
//! site's secret key, calls these, and talks to D1.
//!
//! The reported IP address is turned into a keyed fingerprint (HMAC under the instance key) and
//! dropped; the user agent into browser, OS and device, then dropped; `details` are sanitised
//! (password, token, secret, authorization… removed at any depth).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;
use crate::governance::audit::{details_text, ip_fingerprint};
use crate::stats::filter::Binds;
use crate::store::events::SqlValue;

pub const ACTIVITY_TYPES: [&str; 14] = [
    "login",
    "logout",
    "login_failed",
    "token_refresh",
    "page_view",
    "data_create",
    "data_update",
    "data_delete",
    "data_view",
    "file_upload",
    "file_download",
    "error",
    "custom",
    "export",
];
pub const OUTCOMES: [&str; 3] = ["success", "failure", "error"];

/// Most records one request may carry.
pub const MAX_ACTIVITY_BATCH: usize = 100;
/// Largest activity request body.
pub const MAX_ACTIVITY_BODY_BYTES: usize = 256 * 1024;
/// Longest id, action or entity field.
pub const MAX_ACTIVITY_FIELD_BYTES: usize = 256;
/// Most rows one search page returns.
pub const MAX_ACTIVITY_PAGE: u32 = 200;
/// Records one site may report per rate window (a minute) unless the deployment sets another
/// figure (`VIGIA_ACTIVITY_RECORDS_PER_MINUTE`): a runaway backend must not flood D1.
pub const MAX_ACTIVITY_PER_SITE_PER_MINUTE: i64 = 6_000;

/// Adds a request's records to its site's count for the window and answers the new count.
pub const COUNT_ACTIVITY_SQL: &str = "INSERT INTO activity_rate (site_id, win, records) \
     VALUES (?1, ?2, ?3) ON CONFLICT (site_id, win) DO UPDATE SET \
     records = activity_rate.records + excluded.records RETURNING records";

/// Whether a request that brought the window's count to `count` goes over `limit`.
pub fn over_limit(count: i64, limit: i64) -> bool {
    count > limit
}

/// The user id an erasure names, from its path segment (`DELETE …/activity/users/{user}`):
/// percent-decoded, as the backend reported it. Ids with a space, `/`, `@` or letters outside
/// ASCII arrive encoded; compared still encoded they matched nothing and were never erased.
/// `+` stays a plus (only a query string means space by it).
pub fn decode_user_id(segment: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::bad_request("bad_user_id", format!("user id {why}"));
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("has a % not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let id = String::from_utf8(out).map_err(|_| bad("is not UTF-8 once decoded"))?;
    if id.is_empty() || id.len() > MAX_ACTIVITY_FIELD_BYTES {
        return Err(bad(&format!("is 1 to {MAX_ACTIVITY_FIELD_BYTES} bytes")));
    }
    Ok(id)
}

/// Deletes one user id's records on a site. Binds: site, user id.
pub const DELETE_USER_SQL: &str = "DELETE FROM activity WHERE site_id = ?1 AND user_id = ?2";

/// Alert subjects that name a backend user id, in each form the rules write (the id alone for
/// failed logins per user, `user <id>` for downloads and working hours).
pub fn alert_subjects_of(user_id: &str) -> [String; 2] {
    [user_id.to_string(), format!("user {user_id}")]
}

/// Rewrites an alert subject naming an erased id to its keyed hash; an alert already holding
/// that hash for the same rule and window is replaced. Binds: site, subject in clear, hashed
/// subject.
pub const PSEUDONYMISE_ALERT_SQL: &str =
    "UPDATE OR REPLACE alerts SET subject = ?3 WHERE site_id = ?1 AND subject = ?2";

/// A session counts as active while it had activity this recently and did not log out.
pub const ACTIVE_SESSION_MS: i64 = 30 * 60 * 1000;

/// One record as the site's backend sends it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityIn {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub entity_type: String,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub details: Value,
}

/// A batch: `{"records": [...]}` or one record alone.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ActivityBody {
    Batch { records: Vec<ActivityIn> },
    One(Box<ActivityIn>),
}

/// A stored record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    pub site_id: String,
    pub ts: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub user_id: String,
    pub session_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub outcome: String,
    pub status_code: i64,
    pub duration_ms: i64,
    pub browser: String,
    pub os: String,
    pub device: String,
    pub ip_hash: String,
    pub details: String,
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request("bad_activity", message)
}

/// Parses and checks a request body.
pub fn parse(body: &[u8]) -> Result<Vec<ActivityIn>, ApiError> {
    if body.len() > MAX_ACTIVITY_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!("activity bodies are at most {MAX_ACTIVITY_BODY_BYTES} bytes"),
        ));
    }
    let parsed: ActivityBody = serde_json::from_slice(body)
        .map_err(|e| bad(format!("body is not an activity record or batch: {e}")))?;
    let records = match parsed {
        ActivityBody::Batch { records } => records,
        ActivityBody::One(one) => vec![*one],
    };
    if records.is_empty() || records.len() > MAX_ACTIVITY_BATCH {
        return Err(bad(format!(
            "send 1 to {MAX_ACTIVITY_BATCH} records per request"
        )));
    }
    for (i, r) in records.iter().enumerate() {
        check(r).map_err(|m| bad(format!("record {i}: {m}")))?;
    }
    Ok(records)
}

fn check(r: &ActivityIn) -> Result<(), String> {
    if !ACTIVITY_TYPES.contains(&r.kind.as_str()) {
        return Err(format!(
            "type {:?} is not one of {}",
            r.kind,
            ACTIVITY_TYPES.join(", ")
        ));
    }
    for (name, value) in [
        ("user_id", &r.user_id),
        ("session_id", &r.session_id),
        ("action", &r.action),
        ("entity_type", &r.entity_type),
        ("entity_id", &r.entity_id),
    ] {
        if value.len() > MAX_ACTIVITY_FIELD_BYTES {
            return Err(format!(
                "{name} is longer than {MAX_ACTIVITY_FIELD_BYTES} bytes"
            ));
        }
        // A URL path resolves `.` and `..` segments (encoded or not) before any route sees
        // them: a user id of `..` could never be named for erasure.
        if name == "user_id" && matches!(value.as_str(), "." | "..") {
            return Err(format!("user_id {value:?} cannot be named in a URL"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{name} holds control characters"));
        }
    }
    if let Some(o) = &r.outcome {
        if !OUTCOMES.contains(&o.as_str()) {
            return Err(format!("outcome is one of {}", OUTCOMES.join(", ")));
        }
    }
    if r.status_code.is_some_and(|s| !(100..=599).contains(&s)) {
        return Err("status_code is an HTTP status (100-599)".into());
    }
    if r.user_agent.len() > crate::limits::MAX_USER_AGENT_BYTES {
        return Err("user_agent is too long".into());
    }
    Ok(())
}

/// The outcome when the backend did not say: from the status code and the type.
fn outcome_of(r: &ActivityIn) -> String {
    if let Some(o) = &r.outcome {
        return o.clone();
    }
    match (r.kind.as_str(), r.status_code) {
        ("login_failed", _) => "failure".into(),
        ("error", _) => "error".into(),
        (_, Some(s)) if s >= 500 => "error".into(),
        (_, Some(s)) if s >= 400 => "failure".into(),
        _ => "success".into(),
    }
}

/// Enriches a checked record: the address becomes a fingerprint, the user agent its parts.
pub fn enrich(r: &ActivityIn, id: String, site: &str, now_ms: i64, ip_key: &[u8]) -> Activity {
    let ua = crate::enrich::useragent::parse(&r.user_agent);
    let ip = r.ip.trim().parse().ok();
    Activity {
        id,
        site_id: site.into(),
        ts: now_ms,
        kind: r.kind.clone(),
        user_id: r.user_id.clone(),
        session_id: r.session_id.clone(),
        action: r.action.clone(),
        entity_type: r.entity_type.clone(),
        entity_id: r.entity_id.clone(),
        outcome: outcome_of(r),
        status_code: r.status_code.unwrap_or(0) as i64,
        duration_ms: r.duration_ms.unwrap_or(0).min(86_400_000) as i64,
        browser: if r.user_agent.is_empty() {
            String::new()
        } else {
            ua.browser
        },
        os: if r.user_agent.is_empty() {
            String::new()
        } else {
            ua.os
        },
        device: if r.user_agent.is_empty() {
            String::new()
        } else {
            ua.device.to_string()
        },
        ip_hash: ip_fingerprint(ip_key, ip),
        details: if r.details.is_null() {
            "{}".into()
        } else {
            details_text(&r.details)
        },
    }
}

pub const ACTIVITY_COLUMNS: [&str; 18] = [
    "id",
    "site_id",
    "ts",
    "type",
    "user_id",
    "session_id",
    "action",
    "entity_type",
    "entity_id",
    "outcome",
    "status_code",
    "duration_ms",
    "browser",
    "os",
    "device",
    "ip_hash",
    "details",
    "day",
];

pub fn insert_sql() -> String {
    format!(
        "INSERT OR IGNORE INTO activity ({}) VALUES ({})",
        ACTIVITY_COLUMNS.join(", "),
        vec!["?"; ACTIVITY_COLUMNS.len()].join(", ")
    )
}

pub fn values(a: &Activity) -> Vec<SqlValue> {
    use SqlValue::{Int, Text};
    vec![
        Text(a.id.clone()),
        Text(a.site_id.clone()),
        Int(a.ts),
        Text(a.kind.clone()),
        Text(a.user_id.clone()),
        Text(a.session_id.clone()),
        Text(a.action.clone()),
        Text(a.entity_type.clone()),
        Text(a.entity_id.clone()),
        Text(a.outcome.clone()),
        Int(a.status_code),
        Int(a.duration_ms),
        Text(a.browser.clone()),
        Text(a.os.clone()),
        Text(a.device.clone()),
        Text(a.ip_hash.clone()),
        Text(a.details.clone()),
        Text(crate::stats::day_of_ms(a.ts)),
    ]
}

/// Most records one CSV export of a search holds (narrow the period or filters for more).
pub const MAX_ACTIVITY_EXPORT_ROWS: usize = 100_000;

/// Stored columns the CSV export carries after its `time` column (type … details).
const CSV_STORED_COLUMNS: std::ops::Range<usize> = 3..17;

/// The CSV export's header: `time` (ISO 8601), then the stored columns a person reads.
pub fn csv_header() -> String {
    crate::util::csv::line(
        std::iter::once("time").chain(ACTIVITY_COLUMNS[CSV_STORED_COLUMNS].iter().copied()),
    )
}

/// One record as a CSV line (cells quoted and defused as `crate::util::csv` does), in the order of
/// `csv_header`.
pub fn csv_line(a: &Activity) -> String {
    let stored = values(a)[CSV_STORED_COLUMNS]
        .iter()
        .map(|v| match v {
            SqlValue::Int(i) => i.to_string(),
            SqlValue::Text(t) => t.clone(),
            SqlValue::Null => String::new(),
        })
        .collect::<Vec<_>>();
    crate::util::csv::line(std::iter::once(crate::util::csv::iso_time(a.ts)).chain(stored))
}

/// Search filters, all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub kind: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub outcome: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Keyset: rows strictly older than (ts, id).
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

const SELECT: &str = "SELECT id, site_id, ts, type, user_id, session_id, action, entity_type, \
    entity_id, outcome, status_code, duration_ms, browser, os, device, ip_hash, details FROM activity";

/// A page of matching records, newest first (rows: `Activity`).
pub fn search_sql(site: &str, s: &Search) -> (String, Vec<SqlValue>) {
    let mut binds = Binds::new(site, s.from_ms, s.to_ms);
    let mut sql = format!("{SELECT} WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3");
    for (column, value) in [
        ("user_id", &s.user_id),
        ("session_id", &s.session_id),
        ("type", &s.kind),
        ("entity_type", &s.entity_type),
        ("entity_id", &s.entity_id),
        ("outcome", &s.outcome),
    ] {
        if let Some(v) = value {
            let p = binds.push_text(v);
            sql.push_str(&format!(" AND {column} = {p}"));
        }
    }
    if let Some((ts, id)) = &s.before {
        let t = binds.push_int(*ts);
        let i = binds.push_text(id);
        sql.push_str(&format!(" AND (ts < {t} OR (ts = {t} AND id < {i}))"));
    }
    let limit = binds.push_int(s.limit.clamp(1, MAX_ACTIVITY_PAGE) as i64);
    sql.push_str(&format!(" ORDER BY ts DESC, id DESC LIMIT {limit}"));
    (sql, binds.0)
}

/// Sessions with activity since `since_ms` that did not end with a logout (rows: session_id,
/// user_id, started, last_seen, records). Binds: site, since.
pub const ACTIVE_SESSIONS_SQL: &str =
    "SELECT session_id, MAX(user_id) AS user_id, MIN(ts) AS started, \
    MAX(ts) AS last_seen, COUNT(*) AS records FROM activity \
    WHERE site_id = ?1 AND session_id != '' AND ts >= ?2 GROUP BY session_id \
    HAVING SUM(type = 'logout' AND ts = (SELECT MAX(ts) FROM activity a2 WHERE a2.site_id = ?1 \
    AND a2.session_id = activity.session_id)) = 0 ORDER BY last_seen DESC LIMIT 200";

/// Counts per type and outcome in a range (rows: type, outcome, records, users). Binds: site,
/// from, to.
pub const SUMMARY_SQL: &str = "SELECT type, outcome, COUNT(*) AS records, \
    COUNT(DISTINCT NULLIF(user_id, '')) AS users FROM activity \
    WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY type, outcome ORDER BY records DESC";

#[cfg(test)]
mod tests {
    #[test]
    fn erased_user_ids_are_decoded_from_the_path() {
        use super::{alert_subjects_of, decode_user_id, MAX_ACTIVITY_FIELD_BYTES};
        assert_eq!(decode_user_id("ana%20maria").unwrap(), "ana maria");
        assert_eq!(decode_user_id("dept%2Fana").unwrap(), "dept/ana");
        assert_eq!(
            decode_user_id("ana%40example.com").unwrap(),
            "ana@example.com"
        );
        assert_eq!(
            decode_user_id("ana@example.com").unwrap(),
            "ana@example.com"
        );
        assert_eq!(decode_user_id("Zo%C3%AB").unwrap(), "Zoë");
        assert_eq!(decode_user_id("%E6%97%A5%e6%9c%ac").unwrap(), "日本");
        assert_eq!(decode_user_id("a+b").unwrap(), "a+b");
        assert_eq!(decode_user_id("100%25").unwrap(), "100%");
        let too_long = "a".repeat(MAX_ACTIVITY_FIELD_BYTES + 1);
        for bad in ["%FF%FE", "%", "%2", "%zz", "", too_long.as_str()] {
            let e = decode_user_id(bad).unwrap_err();
            assert_eq!((e.status, e.error), (400, "bad_user_id"), "{bad}");
        }
        assert_eq!(
            alert_subjects_of("u1"),
            ["u1".to_string(), "user u1".to_string()]
        );
    }

    #[test]
    fn csv_lines_follow_the_columns_and_defuse_formulas() {
        let a = Activity {
            id: "r-001".into(),
            site_id: "s".into(),
            ts: 0,
            kind: "data_update".into(),
            user_id: "=HYPERLINK(\"x\")".into(),
            session_id: String::new(),
            action: "PATCH /a, b".into(),
            entity_type: "invoice".into(),
            entity_id: "42".into(),
            outcome: "success".into(),
            status_code: 200,
            duration_ms: 35,
            browser: String::new(),
            os: String::new(),
            device: String::new(),
            ip_hash: "00ff".into(),
            details: "{\"amount\":5}".into(),
        };
        assert_eq!(
            csv_header(),
            "time,type,user_id,session_id,action,entity_type,entity_id,outcome,status_code,duration_ms,browser,os,device,ip_hash,details\r\n"
        );
        let line = csv_line(&a);
        assert!(line.starts_with("1970-01-01T00:00:00.000Z,data_update,\"'=HYPERLINK(\"\"x\"\")\",,\"PATCH /a, b\",invoice,42,success,200,35,"), "{line}");
        assert!(
            line.ends_with(",,,,00ff,\"{\"\"amount\"\":5}\"\r\n"),
            "{line}"
        );
    }

    #[test]
    fn a_site_may_report_up_to_its_limit_per_minute() {
        assert!(!over_limit(
            MAX_ACTIVITY_PER_SITE_PER_MINUTE,
            MAX_ACTIVITY_PER_SITE_PER_MINUTE
        ));
        assert!(over_limit(
            MAX_ACTIVITY_PER_SITE_PER_MINUTE + 1,
            MAX_ACTIVITY_PER_SITE_PER_MINUTE
        ));
    }
    use super::*;

    #[test]
    fn records_are_checked_and_enriched_without_the_address() {
        let body = br#"{"records":[{"type":"login","user_id":"u1","session_id":"s1","ip":"203.0.113.4",
            "user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "details":{"password":"hunter2","method":"sso"}}]}"#;
        let records = parse(body).unwrap();
        let a = enrich(&records[0], "id".into(), "shop", 1_000, b"k");
        assert_eq!(
            (a.browser.as_str(), a.outcome.as_str()),
            ("Firefox", "success")
        );
        assert_eq!(a.ip_hash.len(), 16);
        assert!(!a.details.contains("hunter2") && a.details.contains("sso"));
        let one = parse(br#"{"type":"error","status_code":503}"#).unwrap();
        assert_eq!(enrich(&one[0], "i".into(), "s", 0, b"k").outcome, "error");
        let failed = parse(br#"{"type":"data_view","status_code":403}"#).unwrap();
        assert_eq!(
            enrich(&failed[0], "i".into(), "s", 0, b"k").outcome,
            "failure"
        );
    }

    #[test]
    fn bad_records_get_clear_errors() {
        for (body, status) in [
            (&br#"{"type":"teleport"}"#[..], 400),
            (br#"{"type":"login","status_code":42}"#, 400),
            (br#"{"type":"login","outcome":"maybe"}"#, 400),
            (br#"{"type":"login","surprise":1}"#, 400),
            (br#"{"records":[]}"#, 400),
            (br#"not json"#, 400),
        ] {
            assert_eq!(
                parse(body).unwrap_err().status,
                status,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let long = format!(
            r#"{{"type":"login","user_id":"{}"}}"#,
            "u".repeat(MAX_ACTIVITY_FIELD_BYTES + 1)
        );
        assert!(parse(long.as_bytes()).is_err());
        let many = format!(
            r#"{{"records":[{}]}}"#,
            vec![r#"{"type":"login"}"#; MAX_ACTIVITY_BATCH + 1].join(",")
        );
        assert!(parse(many.as_bytes()).is_err());
        let huge = vec![b' '; MAX_ACTIVITY_BODY_BYTES + 1];
        assert_eq!(parse(&huge).unwrap_err().status, 413);
    }

    #[test]
    fn search_binds_every_filter() {
        let s = Search {
            user_id: Some("u1".into()),
            entity_type: Some("invoice".into()),
            entity_id: Some("42".into()),
            before: Some((10, "x".into())),
            limit: 50,
            ..Default::default()
        };
        let (sql, binds) = search_sql("shop", &s);
        assert!(sql.contains("user_id = ?4") && sql.contains("entity_id = ?6"));
        assert!(sql.contains("LIMIT ?9"));
        assert_eq!(binds.len(), 9);
        assert_eq!(
            insert_sql().matches('?').count(),
            values(&Activity::default()).len()
        );
    }
}
