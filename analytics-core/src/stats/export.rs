//! CSV exports. The raw-event export (`GET /api/export/events`): events of a period read page
//! by page (keyset on time and id, so memory stays flat), each written as a CSV line of
//! `util::csv::EXPORT_COLUMNS`. A breakdown as CSV (`GET /api/stats/breakdown?format=csv`).

use serde::Deserialize;

use crate::binds;
use crate::ingest::event::EventKind;
use crate::ingest::wire::format_micros;
use crate::store::{int_bool, Sql};
use crate::util::csv;
use api_types::stats::BreakdownRow;

/// Columns of a breakdown CSV.
pub const BREAKDOWN_CSV_COLUMNS: [&str; 9] = [
    "value",
    "visitors",
    "visits",
    "pageviews",
    "bounce_rate",
    "visit_duration_s",
    "engaged_s",
    "events",
    "share_of_visitors",
];

/// A breakdown as CSV: a header line, then one line per row. Rates are written as the JSON
/// answer writes them ("25.0"), the share as a plain number ("25").
pub fn breakdown_csv(rows: &[BreakdownRow]) -> String {
    let rate = |x: f64| serde_json::Value::from(x).to_string();
    let mut body = csv::line(BREAKDOWN_CSV_COLUMNS);
    for r in rows {
        body.push_str(&csv::line([
            r.value.clone(),
            r.visitors.to_string(),
            r.visits.to_string(),
            r.pageviews.to_string(),
            rate(r.bounce_rate),
            rate(r.visit_duration_s),
            rate(r.engaged_s),
            r.events.to_string(),
            r.share_of_visitors.to_string(),
        ]));
    }
    body
}

/// An event as the export reads it (no visitor hash: an export should not help link visits).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExportRow {
    pub id: String,
    pub ts: i64,
    pub kind: EventKind,
    pub name: String,
    pub path: String,
    pub query: String,
    pub referrer_host: String,
    pub referrer_source: String,
    pub channel: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_term: String,
    pub utm_content: String,
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub device: String,
    pub country: String,
    pub region: String,
    pub city: String,
    pub screen: String,
    pub engaged_ms: i64,
    pub scroll: i64,
    pub props: String,
    pub session: String,
    #[serde(deserialize_with = "int_bool")]
    pub bot: bool,
    pub revenue_micros: i64,
    pub revenue_currency: String,
}

impl ExportRow {
    /// The event's CSV line, in `EXPORT_COLUMNS` order.
    pub fn line(&self) -> String {
        csv::line([
            csv::iso_time(self.ts),
            self.kind.as_str().to_string(),
            self.name.clone(),
            self.path.clone(),
            self.query.clone(),
            self.referrer_host.clone(),
            self.referrer_source.clone(),
            self.channel.clone(),
            self.utm_source.clone(),
            self.utm_medium.clone(),
            self.utm_campaign.clone(),
            self.utm_term.clone(),
            self.utm_content.clone(),
            self.browser.clone(),
            self.browser_version.clone(),
            self.os.clone(),
            self.os_version.clone(),
            self.device.clone(),
            self.country.clone(),
            self.region.clone(),
            self.city.clone(),
            self.screen.clone(),
            self.engaged_ms.to_string(),
            self.scroll.to_string(),
            self.props.clone(),
            self.session.clone(),
            i64::from(self.bot).to_string(),
            if self.revenue_currency.is_empty() {
                String::new()
            } else {
                format_micros(i128::from(self.revenue_micros))
            },
            self.revenue_currency.clone(),
        ])
    }
}

/// Where the next page starts: after the event at (`ts`, `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub ts: i64,
    pub id: String,
}

/// At most `limit` events of `site` in [`from_ms`, `to_ms`) after `after`, oldest first.
pub fn page(site: &str, from_ms: i64, to_ms: i64, after: &After, limit: i64) -> Sql {
    Sql::new(
        "SELECT id, ts, kind, name, path, query, referrer_host, referrer_source, channel, \
         utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, \
         os_version, device, country, region, city, screen, engaged_ms, scroll, props, session, bot, \
         revenue_micros, revenue_currency FROM events \
         WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND (ts > ?4 OR (ts = ?4 AND id > ?5)) \
         ORDER BY ts, id LIMIT ?6",
        binds![site, from_ms, to_ms, after.ts, after.id.as_str(), limit],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::event::EnrichedEvent;
    use crate::store::events::{event_values, insert_event_sql};
    use crate::store::sqlite::{all, migrated, run};

    fn store(db: &rusqlite::Connection, id: &str, ts: i64, bot: bool) {
        let e = EnrichedEvent {
            id: id.into(),
            site_id: "s".into(),
            ts,
            kind: EventKind::Custom,
            name: "buy".into(),
            path: "/".into(),
            props: "{}".into(),
            revenue_micros: 12_500_000,
            revenue_currency: "EUR".into(),
            bot,
            ..Default::default()
        };
        run(db, &Sql::new(insert_event_sql(), event_values(&e)));
    }

    #[test]
    fn breakdown_csv_writes_rates_as_json_and_the_share_plainly() {
        let row = crate::stats::query::MetricsRow {
            value: "PT".into(),
            visitors: 2,
            visits: 4,
            bounces: 1,
            ..Default::default()
        }
        .breakdown_row(4);
        let text = breakdown_csv(&[row]);
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "value,visitors,visits,pageviews,bounce_rate,visit_duration_s,engaged_s,events,share_of_visitors",
                "PT,2,4,0,25.0,0.0,0.0,0,50"
            ]
        );
    }

    #[test]
    fn pages_follow_time_then_id_and_lines_keep_their_columns() {
        let db = migrated();
        for (id, ts, bot) in [
            ("b", 10, false),
            ("a", 10, true),
            ("c", 11, false),
            ("d", 99, false),
        ] {
            store(&db, id, ts, bot);
        }
        let start = After {
            ts: 9,
            id: String::new(),
        };
        let first: Vec<ExportRow> = all(&db, &page("s", 10, 50, &start, 2));
        assert_eq!(
            first.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let after = After {
            ts: first[1].ts,
            id: first[1].id.clone(),
        };
        let rest: Vec<ExportRow> = all(&db, &page("s", 10, 50, &after, 2));
        assert_eq!(
            rest.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        let line = first[0].line();
        assert!(
            line.starts_with("1970-01-01T00:00:00.010Z,custom,buy,/,"),
            "{line}"
        );
        assert!(line.trim_end().ends_with(",1,12.50,EUR"), "{line}");
        assert_eq!(
            line.matches(',').count() + 1,
            csv::EXPORT_COLUMNS.len(),
            "{line}"
        );
    }
}
