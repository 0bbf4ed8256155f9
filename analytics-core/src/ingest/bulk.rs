//! Bulk loading of raw events of past days (`POST /api/sites/{site}/import/events`): one
//! enriched event per line as JSON (NDJSON, the shape the Durable Object buffer keeps), checked
//! line by line — a bad line is skipped and counted with its reason, never costing the others.
//! The bench loads millions of generated events through it; a site owner may move history
//! from another Vigia instance with it.

use crate::ingest::event::EnrichedEvent;
use crate::stats::DAY_MS;
use serde::Serialize;

/// Largest body one request may carry.
pub const MAX_BULK_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most events one request may carry.
pub const MAX_BULK_EVENTS: usize = 50_000;
/// Longest text field accepted (paths, names, properties…).
pub const MAX_BULK_FIELD_BYTES: usize = 4_096;
/// Earliest time accepted (2000-01-01): older is certainly a unit mistake (seconds for ms).
pub const EARLIEST_BULK_MS: i64 = 946_684_800_000;
/// Most distinct UTC months one request may touch: each month is a cold shard (a Durable
/// Object kept as long as imported history is), so one request cannot create hundreds.
pub const MAX_BULK_MONTHS: usize = 13;

/// Why a line was skipped, with how many.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Skipped {
    pub reason: String,
    pub lines: u64,
}

/// The events read from a body, and the lines skipped (by reason).
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<EnrichedEvent>,
    pub skipped: Vec<Skipped>,
}

impl Parsed {
    fn skip(&mut self, reason: &str) {
        match self.skipped.iter_mut().find(|s| s.reason == reason) {
            Some(s) => s.lines += 1,
            None => self.skipped.push(Skipped {
                reason: reason.to_string(),
                lines: 1,
            }),
        }
    }
}

/// Reads NDJSON for `site`; events are stamped with `site` whatever they say. `now_ms` bounds
/// times from above (nothing from the future).
pub fn parse(body: &str, site: &str, now_ms: i64) -> Result<Parsed, crate::ApiError> {
    let mut parsed = Parsed::default();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if parsed.events.len() >= MAX_BULK_EVENTS {
            return Err(crate::ApiError::bad_request(
                "too_many_events",
                format!("at most {MAX_BULK_EVENTS} events per request; send the rest in another"),
            ));
        }
        // `site_id` may be left out: every event goes to the site of the route anyway.
        let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(line) else {
            parsed.skip("not a JSON object");
            continue;
        };
        fields
            .entry("site_id")
            .or_insert_with(|| serde_json::Value::String(site.to_string()));
        let Ok(mut event) = serde_json::from_value::<EnrichedEvent>(fields.into()) else {
            parsed.skip("not an event: a field is missing or has the wrong type");
            continue;
        };
        if let Err(reason) = check(&event, now_ms) {
            parsed.skip(reason);
            continue;
        }
        event.site_id = site.to_string();
        event.previous_visitor.clear();
        parsed.events.push(event);
    }
    let mut months: Vec<String> = parsed
        .events
        .iter()
        .map(|e| crate::store::seal::shard_period(e.ts))
        .collect();
    months.sort_unstable();
    months.dedup();
    if months.len() > MAX_BULK_MONTHS {
        return Err(crate::ApiError::bad_request(
            "too_many_months",
            format!(
                "the events span {} months; one request may touch at most {MAX_BULK_MONTHS} (send a year at a time)",
                months.len()
            ),
        ));
    }
    Ok(parsed)
}

fn check(e: &EnrichedEvent, now_ms: i64) -> Result<(), &'static str> {
    if e.id.is_empty() || e.session.is_empty() || e.visitor.is_empty() {
        return Err("id, session and visitor are required");
    }
    if e.ts < EARLIEST_BULK_MS || e.ts > now_ms + DAY_MS {
        return Err("ts is not a time in milliseconds between 2000 and now");
    }
    let ids = [e.id.as_str(), e.visitor.as_str(), e.session.as_str()];
    if ids
        .into_iter()
        .chain(e.texts())
        .any(|t| t.len() > MAX_BULK_FIELD_BYTES)
    {
        return Err("a text field is longer than 4096 bytes");
    }
    if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(if e.props.is_empty() {
        "{}"
    } else {
        &e.props
    })
    .is_err()
    {
        return Err("props is not a JSON object");
    }
    if e.engaged_ms < 0 || e.scroll < 0 || e.scroll > 100 {
        return Err("engaged_ms or scroll out of range");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 20_000 * DAY_MS;

    fn line(id: &str, ts: i64) -> String {
        serde_json::to_string(&EnrichedEvent {
            id: id.into(),
            site_id: "other".into(),
            session: id.into(),
            visitor: "ab".into(),
            ts,
            path: "/".into(),
            props: "{}".into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn good_lines_are_kept_for_the_site_and_bad_ones_counted_by_reason() {
        let body = [
            line("a", NOW - DAY_MS),
            "{not json".into(),
            line("b", 1_700_000),
            line("", NOW - DAY_MS),
            line("c", NOW - 2 * DAY_MS),
            String::new(),
        ]
        .join("\n");
        let parsed = parse(&body, "demo", NOW).unwrap();
        let ids: Vec<&str> = parsed.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert!(parsed.events.iter().all(|e| e.site_id == "demo"));
        assert_eq!(parsed.skipped.iter().map(|s| s.lines).sum::<u64>(), 3);
        assert_eq!(parsed.skipped.len(), 3, "{:?}", parsed.skipped);
    }

    #[test]
    fn site_id_may_be_left_out_and_a_request_spans_a_bounded_number_of_months() {
        let mut without =
            serde_json::from_str::<serde_json::Value>(&line("a", NOW - DAY_MS)).unwrap();
        without.as_object_mut().unwrap().remove("site_id");
        let parsed = parse(&without.to_string(), "demo", NOW).unwrap();
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].site_id, "demo");
        let month = 31 * DAY_MS;
        let spread = |months: usize| {
            (0..months)
                .map(|m| line(&format!("m{m}"), NOW - (m as i64 + 1) * month))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            parse(&spread(MAX_BULK_MONTHS), "demo", NOW)
                .unwrap()
                .events
                .len(),
            MAX_BULK_MONTHS
        );
        let err = parse(&spread(MAX_BULK_MONTHS + 1), "demo", NOW).unwrap_err();
        assert_eq!((err.status, err.error), (400, "too_many_months"));
    }

    #[test]
    fn limits_hold() {
        let mut long = serde_json::from_str::<EnrichedEvent>(&line("x", NOW)).unwrap();
        long.path = "/".repeat(MAX_BULK_FIELD_BYTES + 1);
        let body = serde_json::to_string(&long).unwrap();
        assert_eq!(parse(&body, "demo", NOW).unwrap().events.len(), 0);
        let mut bad_props = serde_json::from_str::<EnrichedEvent>(&line("x", NOW)).unwrap();
        bad_props.props = "[1]".into();
        let body = serde_json::to_string(&bad_props).unwrap();
        assert_eq!(
            parse(&body, "demo", NOW).unwrap().skipped[0].reason,
            "props is not a JSON object"
        );
        let many = vec![line("m", NOW); MAX_BULK_EVENTS + 1].join("\n");
        assert_eq!(parse(&many, "demo", NOW).unwrap_err().status, 400);
        let just = vec![line("m", NOW); MAX_BULK_EVENTS].join("\n");
        assert_eq!(
            parse(&just, "demo", NOW).unwrap().events.len(),
            MAX_BULK_EVENTS
        );
    }
}
