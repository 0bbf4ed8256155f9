//! The wire format the collector sends to `POST /api/event`, and its validation.
//!
//! ```json
//! {"site":"demo","events":[{"kind":"pageview","url":"https://example.com/a","referrer":"https://duckduckgo.com/","screen_width":1280}]}
//! ```

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::limits::*;

/// The kinds of event a batch may carry.
pub const EVENT_KINDS: &[&str] = &[
    "pageview",
    "engagement",
    "outbound",
    "download",
    "custom",
    "404",
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IncomingBatch {
    pub site: String,
    pub events: Vec<IncomingEvent>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct IncomingEvent {
    pub kind: String,
    pub url: String,
    #[serde(default)]
    pub referrer: Option<String>,
    /// Custom event name (required for `custom`); link target for `outbound`/`download`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub screen_width: Option<u32>,
    #[serde(default)]
    pub engaged_ms: Option<u64>,
    #[serde(default)]
    pub scroll: Option<u8>,
    #[serde(default)]
    pub props: Option<Map<String, Value>>,
}

/// Checks the size, parses the JSON and validates every field. The body length is checked
/// before anything is parsed so a huge body costs nothing.
pub fn parse_batch(body: &[u8]) -> Result<IncomingBatch, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!(
                "request body is {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("empty_body", "request body is empty"));
    }
    let batch: IncomingBatch = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("bad_json", format!("body is not a valid event batch: {e}"))
    })?;
    validate_batch(&batch)?;
    Ok(batch)
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max {
        return Err(ApiError::bad_request(
            "field_too_long",
            format!("{field} is {} bytes; the limit is {max}", value.len()),
        ));
    }
    if value.chars().any(|c| c == '\0') {
        return Err(ApiError::bad_request(
            "invalid_string",
            format!("{field} contains a NUL character"),
        ));
    }
    Ok(())
}

pub fn validate_batch(batch: &IncomingBatch) -> Result<(), ApiError> {
    check_text("site", &batch.site, MAX_SITE_ID_BYTES)?;
    if batch.site.is_empty() {
        return Err(ApiError::bad_request("missing_site", "site is empty"));
    }
    if batch.events.is_empty() {
        return Err(ApiError::bad_request("no_events", "events is empty"));
    }
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(ApiError::new(
            413,
            "too_many_events",
            format!(
                "batch has {} events; the limit is {MAX_EVENTS_PER_BATCH}",
                batch.events.len()
            ),
        ));
    }
    for (i, event) in batch.events.iter().enumerate() {
        validate_event(event).map_err(|mut e| {
            e.message = format!("event {i}: {}", e.message);
            e
        })?;
    }
    Ok(())
}

fn validate_event(event: &IncomingEvent) -> Result<(), ApiError> {
    if !EVENT_KINDS.contains(&event.kind.as_str()) {
        return Err(ApiError::bad_request(
            "unknown_kind",
            format!("kind must be one of {}", EVENT_KINDS.join(", ")),
        ));
    }
    check_text("url", &event.url, MAX_URL_BYTES)?;
    let url = url::Url::parse(&event.url)
        .map_err(|_| ApiError::bad_request("bad_url", "url is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiError::bad_request(
            "bad_url",
            "url must be an http(s) URL with a host",
        ));
    }
    if let Some(referrer) = &event.referrer {
        check_text("referrer", referrer, MAX_URL_BYTES)?;
    }
    if let Some(name) = &event.name {
        // Outbound and download events name the link's URL; custom events a short name.
        let max = if matches!(event.kind.as_str(), "outbound" | "download") {
            MAX_URL_BYTES
        } else {
            MAX_EVENT_NAME_BYTES
        };
        check_text("name", name, max)?;
    }
    if event.kind == "custom" && event.name.as_deref().unwrap_or("").trim().is_empty() {
        return Err(ApiError::bad_request(
            "missing_name",
            "a custom event needs a name",
        ));
    }
    if let Some(ms) = event.engaged_ms {
        if ms > MAX_ENGAGED_MS {
            return Err(ApiError::bad_request(
                "out_of_range",
                format!("engaged_ms is larger than {MAX_ENGAGED_MS}"),
            ));
        }
    }
    if let Some(scroll) = event.scroll {
        if scroll > 100 {
            return Err(ApiError::bad_request(
                "out_of_range",
                "scroll is a percentage (0-100)",
            ));
        }
    }
    if let Some(props) = &event.props {
        validate_props(props)?;
    }
    Ok(())
}

fn validate_props(props: &Map<String, Value>) -> Result<(), ApiError> {
    if props.len() > MAX_PROPS {
        return Err(ApiError::bad_request(
            "too_many_props",
            format!("{} properties; the limit is {MAX_PROPS}", props.len()),
        ));
    }
    for (key, value) in props {
        check_text("property key", key, MAX_PROP_KEY_BYTES)?;
        match value {
            Value::String(s) => check_text("property value", s, MAX_PROP_VALUE_BYTES)?,
            Value::Number(_) | Value::Bool(_) => {}
            _ => {
                return Err(ApiError::bad_request(
                    "bad_prop",
                    format!("property {key:?} must be a string, number or boolean"),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(events: &str) -> Vec<u8> {
        format!(r#"{{"site":"demo","events":[{events}]}}"#).into_bytes()
    }
    const PV: &str = r#"{"kind":"pageview","url":"https://example.com/a?b=1","screen_width":1280}"#;

    #[test]
    fn accepts_a_pageview() {
        let batch = parse_batch(&body(PV)).unwrap();
        assert_eq!(batch.site, "demo");
        assert_eq!(batch.events[0].screen_width, Some(1280));
    }

    #[test]
    fn rejects_a_body_over_the_byte_limit() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let err = parse_batch(&big).unwrap_err();
        assert_eq!((err.status, err.error), (413, "payload_too_large"));
    }

    #[test]
    fn rejects_more_events_than_the_batch_limit() {
        let events = vec![PV; MAX_EVENTS_PER_BATCH + 1].join(",");
        let err = parse_batch(&body(&events)).unwrap_err();
        assert_eq!((err.status, err.error), (413, "too_many_events"));
        let events = vec![PV; MAX_EVENTS_PER_BATCH].join(",");
        assert!(parse_batch(&body(&events)).is_ok());
    }

    #[test]
    fn rejects_truncated_json_and_wrong_types() {
        assert_eq!(
            parse_batch(br#"{"site":"demo","ev"#).unwrap_err().error,
            "bad_json"
        );
        assert_eq!(
            parse_batch(br#"{"site":1,"events":[]}"#).unwrap_err().error,
            "bad_json"
        );
        assert_eq!(parse_batch(b"").unwrap_err().error, "empty_body");
        assert_eq!(parse_batch(&body("")).unwrap_err().error, "no_events");
    }

    #[test]
    fn rejects_a_url_over_the_length_limit() {
        let long = format!(
            r#"{{"kind":"pageview","url":"https://e.com/{}"}}"#,
            "a".repeat(MAX_URL_BYTES)
        );
        assert_eq!(
            parse_batch(&body(&long)).unwrap_err().error,
            "field_too_long"
        );
    }

    #[test]
    fn rejects_non_http_urls_and_unknown_kinds() {
        let js = r#"{"kind":"pageview","url":"javascript:alert(1)"}"#;
        assert_eq!(parse_batch(&body(js)).unwrap_err().error, "bad_url");
        let odd = r#"{"kind":"nope","url":"https://e.com/"}"#;
        assert_eq!(parse_batch(&body(odd)).unwrap_err().error, "unknown_kind");
    }

    #[test]
    fn rejects_nul_bytes() {
        let nul = r#"{"kind":"custom","name":"a\u0000b","url":"https://e.com/"}"#;
        assert_eq!(parse_batch(&body(nul)).unwrap_err().error, "invalid_string");
    }

    #[test]
    fn limits_properties() {
        let many: Vec<String> = (0..=MAX_PROPS).map(|i| format!(r#""k{i}":1"#)).collect();
        let ev = format!(
            r#"{{"kind":"custom","name":"x","url":"https://e.com/","props":{{{}}}}}"#,
            many.join(",")
        );
        assert_eq!(parse_batch(&body(&ev)).unwrap_err().error, "too_many_props");
        let long = format!(
            r#"{{"kind":"custom","name":"x","url":"https://e.com/","props":{{"k":"{}"}}}}"#,
            "v".repeat(MAX_PROP_VALUE_BYTES + 1)
        );
        assert_eq!(
            parse_batch(&body(&long)).unwrap_err().error,
            "field_too_long"
        );
        let nested = r#"{"kind":"custom","name":"x","url":"https://e.com/","props":{"k":{"a":1}}}"#;
        assert_eq!(parse_batch(&body(nested)).unwrap_err().error, "bad_prop");
    }

    #[test]
    fn link_events_may_name_a_long_url_but_custom_names_are_short() {
        let url = format!("https://e.com/{}", "a".repeat(MAX_EVENT_NAME_BYTES));
        let link = format!(r#"{{"kind":"outbound","name":"{url}","url":"https://e.com/"}}"#);
        assert!(parse_batch(&body(&link)).is_ok());
        let custom = format!(r#"{{"kind":"custom","name":"{url}","url":"https://e.com/"}}"#);
        assert_eq!(
            parse_batch(&body(&custom)).unwrap_err().error,
            "field_too_long"
        );
    }

    #[test]
    fn custom_events_need_a_name() {
        let ev = r#"{"kind":"custom","url":"https://e.com/"}"#;
        assert_eq!(parse_batch(&body(ev)).unwrap_err().error, "missing_name");
    }
}
