//! Vigia's own raw-event export (`GET /api/export/events`, columns `util::csv::EXPORT_COLUMNS`)
//! read back into events, for the cold shards of another (or the same) instance.
//!
//! The export leaves out what should not travel: the visitor hash, the event id and the bot
//! reason. Read back:
//! - `visitor`: a hash of the site and the exported session (the visitor of a session is
//!   unknown; unique visitors of imported days therefore count sessions, at most once a day —
//!   an over-count where one person had several visits that day);
//! - `id`: the first event of each session (earliest time, then file order) gets a hash of the
//!   site and session as id and every event of the session that id as `session`, so "first
//!   event ⇔ id = session" holds as for collected events; other events get a hash of their line
//!   and of how many identical lines came before it. The same file gives the same ids, so a
//!   re-import replaces rather than adds;
//! - a cell the export guarded against spreadsheet formulas (`'=…`, `'+…`, `'-…`, `'@…`) loses
//!   its `'` again (a value that itself began with `'` and one of those characters cannot be
//!   told apart; it loses its `'` too).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{records, Header, SkipReason, Skipped, MAX_IMPORT_ROWS};
use crate::ingest::event::{EnrichedEvent, EventKind};
use crate::ingest::wire::decimal_micros;
use crate::util::csv::EXPORT_COLUMNS;
use crate::ApiError;

/// The events a file holds, and what was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub events: Vec<EnrichedEvent>,
    pub skipped: Skipped,
}

fn hash_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    crate::util::hex::encode(&h.finalize()[..16])
}

/// A cell as the export wrote it, without the formula guard.
fn unguard(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (as the export writes it; any RFC 3339 time is read) as UTC ms.
fn time_ms(text: &str) -> Option<i64> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Reads an export of `site`. Every column of `EXPORT_COLUMNS` must be in the header (in any
/// order); a row that cannot be an event is skipped and counted.
pub fn parse(site: &str, text: &str) -> Result<Parsed, ApiError> {
    let all = records(text);
    let Some((head, body)) = all.split_first() else {
        return Err(ApiError::bad_request(
            "empty_file",
            "the export is empty: no header row",
        ));
    };
    let header = Header::new(&head.cells);
    let at = header.require("a Vigia event export", &EXPORT_COLUMNS)?;
    let col = |name: &str| {
        at[EXPORT_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("a column")]
    };
    let mut skipped = Skipped::default();
    let mut events: Vec<EnrichedEvent> = Vec::new();
    let mut seen_lines: HashMap<String, u32> = HashMap::new();
    for record in body {
        if !record.complete {
            skipped.add(record.line, SkipReason::UnterminatedQuote);
            continue;
        }
        if record.cells.len() != header.names.len() {
            skipped.add(record.line, SkipReason::WrongCellCount);
            continue;
        }
        if events.len() >= MAX_IMPORT_ROWS {
            skipped.add(record.line, SkipReason::TooManyRows);
            continue;
        }
        let cell = |name: &str| unguard(&record.cells[col(name)]);
        let Some(ts) = time_ms(&cell("time")) else {
            skipped.add(record.line, SkipReason::BadDate);
            continue;
        };
        let Some(kind) = EventKind::parse(&cell("kind")) else {
            skipped.add(record.line, SkipReason::BadKind);
            continue;
        };
        let number = |name: &str| {
            let t = cell(name);
            if t.is_empty() {
                Some(0)
            } else {
                t.parse::<i64>().ok()
            }
        };
        let (Some(engaged_ms), Some(scroll)) = (number("engaged_ms"), number("scroll")) else {
            skipped.add(record.line, SkipReason::BadNumber);
            continue;
        };
        let bot = match cell("bot").as_str() {
            "1" | "true" => true,
            "0" | "false" | "" => false,
            _ => {
                skipped.add(record.line, SkipReason::BadNumber);
                continue;
            }
        };
        let props = match cell("props") {
            p if p.is_empty() => "{}".to_string(),
            p => p,
        };
        if !serde_json::from_str::<serde_json::Value>(&props).is_ok_and(|v| v.is_object()) {
            skipped.add(record.line, SkipReason::BadField);
            continue;
        }
        let currency = cell("revenue_currency");
        let revenue_micros = match (cell("revenue").as_str(), currency.is_empty()) {
            (_, true) => 0,
            (amount, false) => match decimal_micros(amount) {
                Ok(m) => m,
                Err(_) => {
                    skipped.add(record.line, SkipReason::BadField);
                    continue;
                }
            },
        };
        let raw_line = record.cells.join("\u{1f}");
        let n = seen_lines.entry(raw_line.clone()).or_default();
        *n += 1;
        let id = format!("imp-{}", hash_hex(&[site, &raw_line, &n.to_string()]));
        events.push(EnrichedEvent {
            id,
            site_id: site.to_string(),
            ts,
            visitor: String::new(),
            session: cell("session"),
            kind,
            name: cell("name"),
            path: cell("path"),
            query: cell("query"),
            referrer_host: cell("referrer_host"),
            referrer_source: cell("referrer_source"),
            channel: cell("channel"),
            utm_source: cell("utm_source"),
            utm_medium: cell("utm_medium"),
            utm_campaign: cell("utm_campaign"),
            utm_term: cell("utm_term"),
            utm_content: cell("utm_content"),
            browser: cell("browser"),
            browser_version: cell("browser_version"),
            os: cell("os"),
            os_version: cell("os_version"),
            device: cell("device"),
            country: cell("country"),
            region: cell("region"),
            city: cell("city"),
            screen: cell("screen"),
            engaged_ms,
            scroll,
            props,
            revenue_micros,
            revenue_currency: currency,
            bot,
            bot_reason: String::new(),
            previous_visitor: String::new(),
        });
    }
    // Sessions: the earliest event of each exported session becomes its first event. An event
    // without a session is its own session.
    let keys: Vec<String> = events
        .iter()
        .map(|e| {
            if e.session.is_empty() {
                e.id.clone()
            } else {
                e.session.clone()
            }
        })
        .collect();
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let f = first_of.entry(key).or_insert(i);
        if events[i].ts < events[*f].ts {
            *f = i;
        }
    }
    for (i, (e, key)) in events.iter_mut().zip(&keys).enumerate() {
        let session = format!("imp-{}", hash_hex(&[site, "session", key]));
        if first_of[key.as_str()] == i {
            e.id = session.clone();
        }
        e.session = session;
        e.visitor = hash_hex(&[site, "visitor", key]);
    }
    if events.is_empty() && skipped.total() > 0 {
        return Err(ApiError::new(
            422,
            "no_valid_rows",
            format!(
                "none of the export's {} rows could be read ({}); nothing was imported",
                skipped.total(),
                skipped
                    .reasons()
                    .iter()
                    .map(|(r, n)| format!("{r}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(Parsed { events, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::export::ExportRow;
    use crate::util::csv;

    fn event(id: &str, session: &str, ts: i64, kind: EventKind) -> EnrichedEvent {
        EnrichedEvent {
            id: id.into(),
            site_id: "shop".into(),
            ts,
            visitor: "v".into(),
            session: session.into(),
            kind,
            name: if kind == EventKind::Custom {
                "buy, now".into()
            } else {
                String::new()
            },
            path: "/-minus".into(),
            query: "utm_source=x".into(),
            referrer_host: "news.example".into(),
            referrer_source: "News".into(),
            channel: "referral".into(),
            utm_source: "=SUM(A1)".into(),
            browser: "Firefox".into(),
            browser_version: "133".into(),
            os: "Linux".into(),
            device: "desktop".into(),
            country: "PT".into(),
            region: "Lisbon".into(),
            city: "Lisbon".into(),
            screen: "1920x1080".into(),
            engaged_ms: 1234,
            scroll: 80,
            props: r#"{"plan":"pro \"x\""}"#.into(),
            revenue_micros: if kind == EventKind::Custom {
                -12_500_000
            } else {
                0
            },
            revenue_currency: if kind == EventKind::Custom {
                "EUR".into()
            } else {
                String::new()
            },
            ..Default::default()
        }
    }

    /// What the export writes of an event (the export's own row type and line).
    fn export(events: &[EnrichedEvent]) -> String {
        let mut text = csv::line(csv::EXPORT_COLUMNS);
        for e in events {
            let row = ExportRow {
                id: e.id.clone(),
                ts: e.ts,
                kind: e.kind,
                name: e.name.clone(),
                path: e.path.clone(),
                query: e.query.clone(),
                referrer_host: e.referrer_host.clone(),
                referrer_source: e.referrer_source.clone(),
                channel: e.channel.clone(),
                utm_source: e.utm_source.clone(),
                utm_medium: e.utm_medium.clone(),
                utm_campaign: e.utm_campaign.clone(),
                utm_term: e.utm_term.clone(),
                utm_content: e.utm_content.clone(),
                browser: e.browser.clone(),
                browser_version: e.browser_version.clone(),
                os: e.os.clone(),
                os_version: e.os_version.clone(),
                device: e.device.clone(),
                country: e.country.clone(),
                region: e.region.clone(),
                city: e.city.clone(),
                screen: e.screen.clone(),
                engaged_ms: e.engaged_ms,
                scroll: e.scroll,
                props: e.props.clone(),
                session: e.session.clone(),
                bot: e.bot,
                revenue_micros: e.revenue_micros,
                revenue_currency: e.revenue_currency.clone(),
            };
            text.push_str(&row.line());
        }
        text
    }

    /// The event without what the export leaves out.
    fn exported_part(e: &EnrichedEvent) -> EnrichedEvent {
        EnrichedEvent {
            id: String::new(),
            visitor: String::new(),
            session: String::new(),
            bot_reason: String::new(),
            ..e.clone()
        }
    }

    #[test]
    fn an_export_reads_back_as_the_same_events() {
        let original = vec![
            event("a", "a", 1_700_000_000_000, EventKind::Pageview),
            event("b", "a", 1_700_000_001_000, EventKind::Custom),
            event("c", "c", 1_700_000_002_500, EventKind::Engagement),
        ];
        let text = export(&original);
        let parsed = parse("shop", &text).unwrap();
        assert_eq!(parsed.skipped.total(), 0);
        assert_eq!(
            parsed.events.iter().map(exported_part).collect::<Vec<_>>(),
            original.iter().map(exported_part).collect::<Vec<_>>()
        );
        let got = &parsed.events;
        // Sessions keep their grouping, and a session's first event is the one whose id is it.
        assert_eq!(got[0].session, got[1].session);
        assert_ne!(got[0].session, got[2].session);
        assert_eq!(got[0].id, got[0].session);
        assert_ne!(got[1].id, got[1].session);
        assert_eq!(got[2].id, got[2].session);
        assert_eq!(got[0].visitor, got[1].visitor);
        assert_eq!(got[0].visitor.len(), 32);
        // The same file gives the same ids.
        assert_eq!(parse("shop", &text).unwrap().events, parsed.events);
    }

    #[test]
    fn identical_lines_stay_distinct_events() {
        let e = event("a", "a", 1_700_000_000_000, EventKind::Custom);
        let text = export(&[e.clone(), e]);
        let parsed = parse("shop", &text).unwrap();
        assert_eq!(parsed.events.len(), 2);
        assert_ne!(parsed.events[0].id, parsed.events[1].id);
    }

    #[test]
    fn bad_rows_are_skipped_and_counted() {
        let good = event("a", "a", 1_700_000_000_000, EventKind::Pageview);
        let mut text = export(&[good]);
        let line = text.lines().nth(1).unwrap().to_string();
        text.push_str(&line.replacen("2023-11-14T22:13:20.000Z", "yesterday", 1));
        text.push_str("\r\n");
        text.push_str(&line.replacen(",pageview,", ",teleport,", 1));
        text.push_str("\r\n");
        text.push_str(&line.replacen("\"{\"\"plan\"\"", "\"[\"\"plan\"\"", 1));
        text.push_str("\r\n");
        text.push_str("2023-11-14T22:13:20.000Z,pageview\r\n");
        let parsed = parse("shop", &text).unwrap();
        assert_eq!(parsed.events.len(), 1);
        let r = parsed.skipped.reasons();
        assert_eq!(
            (
                r["bad_date"],
                r["bad_kind"],
                r["bad_field"],
                r["wrong_cell_count"]
            ),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn a_file_without_the_export_columns_is_refused() {
        let e = parse("shop", "time,kind\n").unwrap_err();
        assert_eq!((e.status, e.error), (400, "missing_columns"));
        assert!(e.message.contains("session"), "{}", e.message);
        assert_eq!(parse("shop", "").unwrap_err().error, "empty_file");
    }
}
