//! Reading an upload (`POST /api/app/batch`), as leniently as the web ingest
//! (`crate::ingest::wire`) reads the collector's:
//!
//! - **The whole upload is refused** (4xx, nothing stored) when the body is over
//!   `MAX_BATCH_BYTES` (413 `payload_too_large`, checked before it is read), is not one JSON
//!   object (400 `bad_json`), has no `records` array (400 `not_a_batch`), carries more than
//!   `MAX_RECORDS_PER_BATCH` records (413 `too_many_records`), or its `batch_id` (8–64 of
//!   `[A-Za-z0-9_-]`, 400 `bad_batch_id`) or `install_id` (32 lowercase hex digits, 400
//!   `bad_install_id`) is missing or malformed: without them nothing can be stored once.
//! - **One record is refused alone** (counted in `refused`, listed in `problems` with
//!   `field: "record"` or the field at fault) when it is not an object, its `seq` is not a whole
//!   number in `0..=MAX_SEQ`, its `ts` is not a whole number or is older than
//!   `MAX_RECORD_AGE_MS` or more than `MAX_RECORD_SKEW_MS` ahead of the server's clock, its
//!   `kind` is not one of `AppRecordKind`, or a feature, error or custom record has no usable
//!   `name` (missing, blank, not text, or holding NUL).
//! - **Only a field is dropped** otherwise: `session` too long or not text → `""`;
//!   `active_ms` out of `0..=MAX_ACTIVE_MS` or not a whole number → 0 (it is kept on
//!   `session_end` records only); `props` not an object → none. A `name` on a session record is
//!   ignored. Of the upload, `app_version`/`os_version` over `MAX_VERSION_BYTES` or not text →
//!   `""`, an unknown `os` → `other`, a bad `dropped` → 0 and one over `MAX_DROPPED_PER_BATCH`
//!   → that limit (these are not listed: a problem names a record).
//! - Like the web ingest: a `name` over `MAX_NAME_BYTES` is **cut** at a character boundary
//!   (`truncated`); a property value over `MAX_PROP_VALUE_BYTES` is cut (`truncated`); a
//!   property whose key is over `MAX_PROP_KEY_BYTES` (`field_too_long`) or holds NUL
//!   (`invalid_string`), or whose value is an object, an array, `null` (`bad_prop`) or text with
//!   NUL (`invalid_string`) is dropped; numbers and booleans are kept as their text; past
//!   `MAX_PROPS` the first ones are kept (`too_many_props`).
//!
//! At most `MAX_REPORTED_PROBLEMS` problems are listed; `refused` counts every refused record.

use std::collections::BTreeMap;

use api_types::apps::{AppOs, AppProblem, AppRecord, AppRecordKind};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::ingest::wire::truncate_at_char;
use crate::limits::app::*;
use crate::limits::MAX_REPORTED_PROBLEMS;

/// The largest `seq` accepted: D1 binds numbers as JavaScript doubles, exact up to 2^53 - 1.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// One record kept, with its index in the upload.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRecord {
    pub index: usize,
    pub record: AppRecord,
}

/// An upload as read: the records kept, and what was refused or dropped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckedBatch {
    pub batch_id: String,
    pub install_id: String,
    pub app_version: String,
    pub os: AppOs,
    pub os_version: String,
    pub dropped: u64,
    pub records: Vec<CheckedRecord>,
    /// Records the upload carried.
    pub sent: usize,
    /// The first `MAX_REPORTED_PROBLEMS` problems.
    pub problems: Vec<AppProblem>,
}

impl CheckedBatch {
    /// Records refused whole.
    pub fn refused(&self) -> usize {
        self.sent - self.records.len()
    }

    /// The earliest and latest record time, if any record was kept.
    pub fn span(&self) -> Option<(i64, i64)> {
        let ts = self.records.iter().map(|r| r.record.ts);
        Some((ts.clone().min()?, ts.max()?))
    }
}

struct Problems<'a>(&'a mut Vec<AppProblem>);

impl Problems<'_> {
    fn add(&mut self, record: usize, field: &str, error: &str) {
        if self.0.len() < MAX_REPORTED_PROBLEMS {
            self.0.push(AppProblem {
                record,
                field: field.to_string(),
                error: error.to_string(),
            });
        }
    }
}

/// Whether `id` is a batch id: `MIN_BATCH_ID_BYTES..=MAX_BATCH_ID_BYTES` of `[A-Za-z0-9_-]`.
pub fn is_batch_id(id: &str) -> bool {
    (MIN_BATCH_ID_BYTES..=MAX_BATCH_ID_BYTES).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `id` is an install id: exactly `INSTALL_ID_HEX_DIGITS` lowercase hex digits.
pub fn is_install_id(id: &str) -> bool {
    id.len() == INSTALL_ID_HEX_DIGITS && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The install id of a body (`{install_id}`: the email registration, the erasure).
pub fn check_install_id(id: &str) -> Result<(), ApiError> {
    if is_install_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_install_id",
            format!("install_id must be {INSTALL_ID_HEX_DIGITS} lowercase hex digits"),
        ))
    }
}

/// Checks the size, parses, refuses what cannot be an upload, and reads each record on its own
/// (see the module docs). `now_ms` is the server's clock, which bounds the records' times.
pub fn parse_batch(body: &[u8], now_ms: i64) -> Result<CheckedBatch, ApiError> {
    if body.len() > MAX_BATCH_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!("an upload is at most {MAX_BATCH_BYTES} bytes"),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("body is not valid JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(ApiError::bad_request(
            "bad_json",
            "an upload is a JSON object",
        ));
    };
    let Some(Value::Array(records)) = top.remove("records") else {
        return Err(ApiError::bad_request(
            "not_a_batch",
            "an upload needs a records array",
        ));
    };
    if records.len() > MAX_RECORDS_PER_BATCH {
        return Err(ApiError::new(
            413,
            "too_many_records",
            format!(
                "{} records; an upload carries at most {MAX_RECORDS_PER_BATCH}",
                records.len()
            ),
        ));
    }
    let batch_id = match top.remove("batch_id") {
        Some(Value::String(id)) if is_batch_id(&id) => id,
        _ => {
            return Err(ApiError::bad_request(
                "bad_batch_id",
                format!(
                    "batch_id must be {MIN_BATCH_ID_BYTES} to {MAX_BATCH_ID_BYTES} characters of A-Z, a-z, 0-9, _ and -"
                ),
            ))
        }
    };
    let install_id = match top.remove("install_id") {
        Some(Value::String(id)) => {
            check_install_id(&id)?;
            id
        }
        _ => return Err(check_install_id("").unwrap_err()),
    };
    let version = |v: Option<Value>| match v {
        Some(Value::String(s)) if s.len() <= MAX_VERSION_BYTES && !s.contains('\0') => s,
        _ => String::new(),
    };
    let app_version = version(top.remove("app_version"));
    let os_version = version(top.remove("os_version"));
    let os = match top.remove("os") {
        Some(Value::String(s)) => AppOs::parse(&s).unwrap_or_default(),
        _ => AppOs::default(),
    };
    let dropped = top
        .remove("dropped")
        .and_then(|d| d.as_u64())
        .unwrap_or(0)
        .min(ingest_limits::app::MAX_DROPPED_PER_BATCH);
    let mut problems = Vec::new();
    let sent = records.len();
    let kept = records
        .into_iter()
        .enumerate()
        .filter_map(|(index, r)| {
            read_record(r, index, now_ms, &mut Problems(&mut problems))
                .map(|record| CheckedRecord { index, record })
        })
        .collect();
    Ok(CheckedBatch {
        batch_id,
        install_id,
        app_version,
        os,
        os_version,
        dropped,
        records: kept,
        sent,
        problems,
    })
}

fn read_record(
    value: Value,
    index: usize,
    now_ms: i64,
    problems: &mut Problems,
) -> Option<AppRecord> {
    let Value::Object(mut r) = value else {
        problems.add(index, "record", "not_an_object");
        return None;
    };
    macro_rules! refuse {
        ($field:expr, $error:expr) => {{
            problems.add(index, $field, $error);
            return None;
        }};
    }
    let seq = match r.get("seq").and_then(Value::as_u64) {
        Some(seq) if seq <= MAX_SEQ => seq,
        Some(_) => refuse!("seq", "out_of_range"),
        None => refuse!("seq", "missing_or_wrong_type"),
    };
    let ts = match r.get("ts").and_then(Value::as_i64) {
        Some(ts) if ts < now_ms - MAX_RECORD_AGE_MS => refuse!("ts", "too_old"),
        Some(ts) if ts > now_ms + MAX_RECORD_SKEW_MS => refuse!("ts", "in_the_future"),
        Some(ts) => ts,
        None => refuse!("ts", "missing_or_wrong_type"),
    };
    let kind = match r
        .get("kind")
        .and_then(Value::as_str)
        .map(AppRecordKind::parse)
    {
        Some(Some(kind)) => kind,
        Some(None) => refuse!("kind", "unknown_kind"),
        None => refuse!("kind", "missing_or_wrong_type"),
    };
    let session_record = matches!(
        kind,
        AppRecordKind::SessionStart | AppRecordKind::SessionEnd
    );
    let name = if session_record {
        String::new()
    } else {
        match r.remove("name") {
            Some(Value::String(n)) if n.contains('\0') => refuse!("name", "invalid_string"),
            Some(Value::String(n)) if n.trim().is_empty() => refuse!("name", "missing"),
            Some(Value::String(n)) if n.len() > MAX_NAME_BYTES => {
                problems.add(index, "name", "truncated");
                truncate_at_char(&n, MAX_NAME_BYTES).to_string()
            }
            Some(Value::String(n)) => n,
            Some(_) => refuse!("name", "wrong_type"),
            None => refuse!("name", "missing"),
        }
    };
    let session = match r.remove("session") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.len() <= MAX_SESSION_BYTES && !s.contains('\0') => s,
        Some(Value::String(_)) => {
            problems.add(index, "session", "field_too_long");
            String::new()
        }
        Some(_) => {
            problems.add(index, "session", "wrong_type");
            String::new()
        }
    };
    let active_ms = match r.remove("active_ms") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(ms) if ms <= MAX_ACTIVE_MS => ms,
            Some(_) => {
                problems.add(index, "active_ms", "out_of_range");
                0
            }
            None => {
                problems.add(index, "active_ms", "wrong_type");
                0
            }
        },
    };
    let active_ms = if kind == AppRecordKind::SessionEnd {
        active_ms
    } else {
        0
    };
    let props = read_props(r.remove("props"), index, problems);
    Some(AppRecord {
        seq,
        ts,
        kind,
        name,
        session,
        active_ms,
        props,
    })
}

fn read_props(
    value: Option<Value>,
    index: usize,
    problems: &mut Problems,
) -> BTreeMap<String, String> {
    let members: Map<String, Value> = match value {
        None | Some(Value::Null) => return BTreeMap::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            problems.add(index, "props", "wrong_type");
            return BTreeMap::new();
        }
    };
    let mut kept = BTreeMap::new();
    let mut over = false;
    for (key, value) in members {
        let field = format!("props.{}", truncate_at_char(&key, MAX_PROP_KEY_BYTES));
        if key.len() > MAX_PROP_KEY_BYTES {
            problems.add(index, &field, "field_too_long");
            continue;
        }
        if key.contains('\0') {
            problems.add(index, &field, "invalid_string");
            continue;
        }
        let text = match value {
            Value::String(s) if s.contains('\0') => {
                problems.add(index, &field, "invalid_string");
                continue;
            }
            Value::String(s) if s.len() > MAX_PROP_VALUE_BYTES => {
                problems.add(index, &field, "truncated");
                truncate_at_char(&s, MAX_PROP_VALUE_BYTES).to_string()
            }
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                problems.add(index, &field, "bad_prop");
                continue;
            }
        };
        if kept.len() == MAX_PROPS {
            over = true;
            continue;
        }
        kept.insert(key, text);
    }
    if over {
        problems.add(index, "props", "too_many_props");
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_764_547_200_000;
    const INSTALL: &str = "0123456789abcdef0123456789abcdef";

    fn upload(records: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "batch_id": "b-0001-xyz", "install_id": INSTALL, "app_version": "1.2.3",
            "os": "linux", "os_version": "6.1", "dropped": 3, "records": records
        }))
        .unwrap()
    }

    fn feature(seq: u64, name: &str) -> Value {
        json!({"seq": seq, "ts": NOW - 1000, "kind": "feature", "name": name})
    }

    fn error_of(body: &[u8]) -> (u16, &'static str) {
        let e = parse_batch(body, NOW).unwrap_err();
        (e.status, e.error)
    }

    #[test]
    fn a_good_upload_is_read_whole() {
        let b = parse_batch(
            &upload(json!([
                {"seq": 1, "ts": NOW - 5000, "kind": "session_start", "session": "s1", "name": "ignored"},
                {"seq": 2, "ts": NOW - 4000, "kind": "feature", "name": "export", "session": "s1", "props": {"format": "pdf", "pages": 3, "big": true}},
                {"seq": 3, "ts": NOW - 1000, "kind": "session_end", "session": "s1", "active_ms": 4000},
            ])),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (
                b.batch_id.as_str(),
                b.install_id.as_str(),
                b.app_version.as_str(),
                b.os,
                b.os_version.as_str(),
                b.dropped
            ),
            ("b-0001-xyz", INSTALL, "1.2.3", AppOs::Linux, "6.1", 3)
        );
        assert_eq!((b.sent, b.refused(), b.problems.len()), (3, 0, 0));
        assert_eq!(b.records[0].record.name, "");
        assert_eq!(b.records[1].record.props["pages"], "3");
        assert_eq!(b.records[1].record.props["big"], "true");
        assert_eq!(b.records[2].record.active_ms, 4000);
        assert_eq!(b.span(), Some((NOW - 5000, NOW - 1000)));
    }

    #[test]
    fn what_cannot_be_an_upload_is_refused_whole() {
        assert_eq!(error_of(b"nope"), (400, "bad_json"));
        assert_eq!(error_of(b"[]"), (400, "bad_json"));
        assert_eq!(
            error_of(b"{\"batch_id\":\"abcdefgh\"}"),
            (400, "not_a_batch")
        );
        let mut too_many = vec![];
        for i in 0..=MAX_RECORDS_PER_BATCH as u64 {
            too_many.push(feature(i, "f"));
        }
        assert_eq!(
            error_of(&upload(Value::Array(too_many))),
            (413, "too_many_records")
        );
        let just = (0..MAX_RECORDS_PER_BATCH as u64)
            .map(|i| feature(i, "f"))
            .collect();
        assert_eq!(
            parse_batch(&upload(Value::Array(just)), NOW)
                .unwrap()
                .records
                .len(),
            500
        );
        let big = vec![b' '; MAX_BATCH_BYTES + 1];
        assert_eq!(error_of(&big), (413, "payload_too_large"));
        for (batch_id, install_id, want) in [
            (json!("short"), json!(INSTALL), "bad_batch_id"),
            (
                json!("a".repeat(MAX_BATCH_ID_BYTES + 1)),
                json!(INSTALL),
                "bad_batch_id",
            ),
            (json!("has space 1"), json!(INSTALL), "bad_batch_id"),
            (json!(12345678), json!(INSTALL), "bad_batch_id"),
            (
                json!("abcdefgh"),
                json!(INSTALL.to_uppercase()),
                "bad_install_id",
            ),
            (json!("abcdefgh"), json!(&INSTALL[1..]), "bad_install_id"),
            (json!("abcdefgh"), Value::Null, "bad_install_id"),
        ] {
            let body = serde_json::to_vec(
                &json!({"batch_id": batch_id, "install_id": install_id, "records": []}),
            )
            .unwrap();
            assert_eq!(error_of(&body), (400, want), "{batch_id} {install_id}");
        }
        assert!(is_batch_id(&"a".repeat(MIN_BATCH_ID_BYTES)));
        assert!(!is_batch_id(&"a".repeat(MIN_BATCH_ID_BYTES - 1)));
    }

    #[test]
    fn a_bad_record_is_refused_alone() {
        let b = parse_batch(
            &upload(json!([
                feature(1, "ok"),
                "not an object",
                {"seq": -1, "ts": NOW, "kind": "feature", "name": "x"},
                {"seq": MAX_SEQ + 1, "ts": NOW, "kind": "feature", "name": "x"},
                {"seq": 4, "ts": NOW - MAX_RECORD_AGE_MS - 1, "kind": "feature", "name": "x"},
                {"seq": 5, "ts": NOW + MAX_RECORD_SKEW_MS + 1, "kind": "feature", "name": "x"},
                {"seq": 6, "ts": NOW, "kind": "crash", "name": "x"},
                {"seq": 7, "ts": NOW, "kind": "error"},
                {"seq": 8, "ts": NOW, "kind": "custom", "name": "  "},
                {"seq": 9, "ts": NOW, "kind": "custom", "name": "a\u{0}b"},
                {"seq": 10, "ts": NOW - MAX_RECORD_AGE_MS, "kind": "feature", "name": "oldest kept"},
                {"seq": 11, "ts": NOW + MAX_RECORD_SKEW_MS, "kind": "feature", "name": "latest kept"},
            ])),
            NOW,
        )
        .unwrap();
        let kept: Vec<u64> = b.records.iter().map(|r| r.record.seq).collect();
        assert_eq!(kept, vec![1, 10, 11]);
        assert_eq!(b.refused(), 9);
        let errors: Vec<(usize, &str, &str)> = b
            .problems
            .iter()
            .map(|p| (p.record, p.field.as_str(), p.error.as_str()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (1, "record", "not_an_object"),
                (2, "seq", "missing_or_wrong_type"),
                (3, "seq", "out_of_range"),
                (4, "ts", "too_old"),
                (5, "ts", "in_the_future"),
                (6, "kind", "unknown_kind"),
                (7, "name", "missing"),
                (8, "name", "missing"),
                (9, "name", "invalid_string"),
            ]
        );
    }

    #[test]
    fn bad_fields_are_dropped_and_long_texts_cut_like_the_web_ingest() {
        let long_name = format!("{}é", "n".repeat(MAX_NAME_BYTES - 1));
        let long_value = format!("{}é", "v".repeat(MAX_PROP_VALUE_BYTES - 1));
        let mut props = Map::new();
        props.insert("k".repeat(MAX_PROP_KEY_BYTES + 1), json!("x"));
        props.insert("long".into(), json!(long_value));
        props.insert("obj".into(), json!({"a": 1}));
        props.insert("nul".into(), json!("a\u{0}"));
        for i in 0..MAX_PROPS + 2 {
            props.insert(format!("p{i:02}"), json!(i));
        }
        let b = parse_batch(
            &upload(json!([
                {"seq": 1, "ts": NOW, "kind": "feature", "name": long_name, "session": "s".repeat(MAX_SESSION_BYTES + 1), "active_ms": 5, "props": props},
                {"seq": 2, "ts": NOW, "kind": "session_end", "active_ms": MAX_ACTIVE_MS + 1, "props": "x"},
                {"seq": 3, "ts": NOW, "kind": "session_end", "active_ms": "7", "session": 3},
            ])),
            NOW,
        )
        .unwrap();
        assert_eq!(b.refused(), 0);
        let r = &b.records[0].record;
        assert_eq!(r.name, "n".repeat(MAX_NAME_BYTES - 1));
        assert_eq!((r.session.as_str(), r.active_ms), ("", 0));
        assert_eq!(r.props["long"], "v".repeat(MAX_PROP_VALUE_BYTES - 1));
        assert_eq!(r.props.len(), MAX_PROPS);
        assert!(!r.props.contains_key("obj") && !r.props.contains_key("nul"));
        assert_eq!(b.records[1].record.active_ms, 0);
        assert!(b.records[1].record.props.is_empty());
        let fields: Vec<(usize, &str)> = b
            .problems
            .iter()
            .map(|p| (p.record, p.error.as_str()))
            .collect();
        for want in [
            (0, "truncated"),
            (0, "field_too_long"),
            (0, "bad_prop"),
            (0, "invalid_string"),
            (0, "too_many_props"),
            (1, "out_of_range"),
            (1, "wrong_type"),
            (2, "wrong_type"),
        ] {
            assert!(fields.contains(&want), "{want:?} in {fields:?}");
        }
        // The upload's own fields: a bad one falls back to its default.
        let body = serde_json::to_vec(&json!({
            "batch_id": "abcdefgh", "install_id": INSTALL, "app_version": "v".repeat(MAX_VERSION_BYTES + 1),
            "os": "beos", "os_version": 7, "dropped": -4, "records": []
        }))
        .unwrap();
        let b = parse_batch(&body, NOW).unwrap();
        let huge = serde_json::to_vec(&json!({
            "batch_id": "abcdefgh", "install_id": INSTALL, "dropped": 9_007_199_254_740_991u64, "records": []
        }))
        .unwrap();
        assert_eq!(
            parse_batch(&huge, NOW).unwrap().dropped,
            ingest_limits::app::MAX_DROPPED_PER_BATCH
        );
        assert_eq!(
            (
                b.app_version.as_str(),
                b.os,
                b.os_version.as_str(),
                b.dropped
            ),
            ("", AppOs::Other, "", 0)
        );
    }

    #[test]
    fn problems_listed_are_bounded_but_every_refusal_counts() {
        let records = (0..100)
            .map(|i| json!({"seq": i, "ts": 0, "kind": "feature", "name": "x"}))
            .collect();
        let b = parse_batch(&upload(Value::Array(records)), NOW).unwrap();
        assert_eq!(
            (b.refused(), b.problems.len()),
            (100, MAX_REPORTED_PROBLEMS)
        );
    }
}
