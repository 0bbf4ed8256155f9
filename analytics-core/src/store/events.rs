//! SQL text shared by the Worker (D1) and the Durable Object buffer. Kept here so the queries
//! can be tested against SQLite natively and stay in one place.

use crate::ingest::event::EnrichedEvent;

/// Columns of `events`, in the order `event_values` yields them.
pub const EVENT_COLUMNS: [&str; 34] = [
    "id",
    "site_id",
    "ts",
    "visitor",
    "session",
    "kind",
    "name",
    "path",
    "query",
    "referrer_host",
    "referrer_source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
    "screen",
    "engaged_ms",
    "scroll",
    "props",
    "bot",
    "day",
    "revenue_micros",
    "revenue_currency",
    "bot_reason",
];

pub use super::SqlValue;

/// `INSERT OR IGNORE`: the id is the idempotency key, so a retried flush never duplicates.
pub fn insert_event_sql() -> String {
    let placeholders = vec!["?"; EVENT_COLUMNS.len()].join(",");
    format!(
        "INSERT OR IGNORE INTO events ({}) VALUES ({placeholders})",
        EVENT_COLUMNS.join(",")
    )
}

pub fn event_values(e: &EnrichedEvent) -> Vec<SqlValue> {
    use SqlValue::{Int, Text};
    let t = |s: &str| Text(s.to_string());
    vec![
        t(&e.id),
        t(&e.site_id),
        Int(e.ts),
        t(&e.visitor),
        t(&e.session),
        t(e.kind.as_str()),
        t(&e.name),
        t(&e.path),
        t(&e.query),
        t(&e.referrer_host),
        t(&e.referrer_source),
        t(&e.channel),
        t(&e.utm_source),
        t(&e.utm_medium),
        t(&e.utm_campaign),
        t(&e.utm_term),
        t(&e.utm_content),
        t(&e.browser),
        t(&e.browser_version),
        t(&e.os),
        t(&e.os_version),
        t(&e.device),
        t(&e.country),
        t(&e.region),
        t(&e.city),
        t(&e.screen),
        Int(e.engaged_ms),
        Int(e.scroll),
        t(&e.props),
        Int(e.bot as i64),
        Text(crate::stats::day_of_ms(e.ts)),
        Int(e.revenue_micros),
        t(&e.revenue_currency),
        t(&e.bot_reason),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_has_one_placeholder_per_value() {
        let sql = insert_event_sql();
        let values = event_values(&EnrichedEvent {
            ts: 86_400_000,
            ..Default::default()
        });
        assert_eq!(sql.matches('?').count(), values.len());
        let day = EVENT_COLUMNS.iter().position(|c| *c == "day").unwrap();
        assert_eq!(values[day], SqlValue::Text("1970-01-02".into()));
        assert_eq!(values.len(), EVENT_COLUMNS.len());
        assert!(sql.starts_with("INSERT OR IGNORE INTO events (id,site_id,ts,"));
    }

    #[test]
    fn events_buffered_before_bot_reasons_still_read_and_store_an_empty_reason() {
        // The Durable Object keeps events as JSON; one written before the column existed has
        // no `bot_reason` and must still flush, as a bot flagged before reasons were recorded.
        let mut old = serde_json::to_value(EnrichedEvent {
            bot: true,
            ..Default::default()
        })
        .unwrap();
        old.as_object_mut().unwrap().remove("bot_reason");
        let e: EnrichedEvent = serde_json::from_value(old).unwrap();
        assert!(e.bot);
        let at = EVENT_COLUMNS
            .iter()
            .position(|c| *c == "bot_reason")
            .unwrap();
        assert_eq!(event_values(&e)[at], SqlValue::Text(String::new()));
    }
}
