//! Server-side activity: what a site's own backend reports about its users (the audit-middleware
//! use). Validation, enrichment and the search SQL live here; the Worker authenticates the
//! site's secret key, calls these, and talks to D1.
//!
//! The reported IP address is turned into a keyed fingerprint (HMAC under the instance key) and
//! dropped; the user agent into browser, OS and device, then dropped; `details` are sanitised
//! (password, token, secret, authorization… removed at any depth).

use serde::Deserialize;
use serde_json::Value;

pub use api_types::activity::{ActivityRecord as Activity, ActivityType, Outcome};

use crate::error::ApiError;
use crate::governance::audit::{details_text, ip_fingerprint};
use crate::store::SqlValue;

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

/// Alert subjects that name a backend user id, in each form the rules write (the id alone for
/// failed logins per user, `user <id>` for downloads and working hours).
pub fn alert_subjects_of(user_id: &str) -> [String; 2] {
    [user_id.to_string(), format!("user {user_id}")]
}

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
    if ActivityType::parse(&r.kind).is_none() {
        let names: Vec<&str> = ActivityType::ALL.iter().map(|t| t.as_str()).collect();
        return Err(format!(
            "type {:?} is not one of {}",
            r.kind,
            names.join(", ")
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
        if Outcome::parse(o).is_none() {
            let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
            return Err(format!("outcome is one of {}", names.join(", ")));
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
fn outcome_of(kind: ActivityType, r: &ActivityIn) -> Outcome {
    if let Some(o) = r.outcome.as_deref().and_then(Outcome::parse) {
        return o;
    }
    match (kind, r.status_code) {
        (ActivityType::LoginFailed, _) => Outcome::Failure,
        (ActivityType::Error, _) => Outcome::Error,
        (_, Some(s)) if s >= 500 => Outcome::Error,
        (_, Some(s)) if s >= 400 => Outcome::Failure,
        _ => Outcome::Success,
    }
}

/// Enriches a checked record: the address becomes a fingerprint, the user agent its parts.
pub fn enrich(r: &ActivityIn, id: String, site: &str, now_ms: i64, ip_key: &[u8]) -> Activity {
    let ua = crate::enrich::useragent::parse(&r.user_agent);
    let ip = r.ip.trim().parse().ok();
    // `parse` checked the type; `custom` only stands in for a record that skipped it.
    let kind = ActivityType::parse(&r.kind).unwrap_or_default();
    Activity {
        id,
        site_id: site.into(),
        ts: now_ms,
        kind,
        user_id: r.user_id.clone(),
        session_id: r.session_id.clone(),
        action: r.action.clone(),
        entity_type: r.entity_type.clone(),
        entity_id: r.entity_id.clone(),
        outcome: outcome_of(kind, r),
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

/// A record's values in the order of `ACTIVITY_COLUMNS`.
pub fn values(a: &Activity) -> Vec<SqlValue> {
    use SqlValue::{Int, Text};
    vec![
        Text(a.id.clone()),
        Text(a.site_id.clone()),
        Int(a.ts),
        Text(a.kind.as_str().into()),
        Text(a.user_id.clone()),
        Text(a.session_id.clone()),
        Text(a.action.clone()),
        Text(a.entity_type.clone()),
        Text(a.entity_id.clone()),
        Text(a.outcome.as_str().into()),
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
            kind: ActivityType::DataUpdate,
            user_id: "=HYPERLINK(\"x\")".into(),
            session_id: String::new(),
            action: "PATCH /a, b".into(),
            entity_type: "invoice".into(),
            entity_id: "42".into(),
            outcome: Outcome::Success,
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
            (a.browser.as_str(), a.outcome),
            ("Firefox", Outcome::Success)
        );
        assert_eq!(a.ip_hash.len(), 16);
        assert!(!a.details.contains("hunter2") && a.details.contains("sso"));
        let one = parse(br#"{"type":"error","status_code":503}"#).unwrap();
        assert_eq!(
            enrich(&one[0], "i".into(), "s", 0, b"k").outcome,
            Outcome::Error
        );
        let failed = parse(br#"{"type":"data_view","status_code":403}"#).unwrap();
        assert_eq!(
            enrich(&failed[0], "i".into(), "s", 0, b"k").outcome,
            Outcome::Failure
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
}
