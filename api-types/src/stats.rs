//! The stats API's answers (`/api/stats/*`) and the dimensions its breakdowns and filters name.
//!
//! Fields are declared in alphabetical order on purpose: these answers were built as
//! `serde_json` maps before, which write their keys sorted, and keeping that order keeps the
//! bytes on the wire the same.

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// What a rollup row, a breakdown or a filter is about. The serde name is the text in URLs
    /// (`?dimension=`, `?f=dimension:value`) and in `rollups_hourly.dimension`.
    #[derive(Default)]
    pub enum Dimension {
        /// The site's totals (one row per hour, value "").
        #[default]
        Total = "total",
        Page = "page",
        ExitPage = "exit_page",
        EntryPage = "entry_page",
        Source = "source",
        Channel = "channel",
        UtmSource = "utm_source",
        UtmMedium = "utm_medium",
        UtmCampaign = "utm_campaign",
        UtmTerm = "utm_term",
        UtmContent = "utm_content",
        Country = "country",
        Region = "region",
        City = "city",
        Browser = "browser",
        Os = "os",
        Device = "device",
        /// Custom events, by name.
        Event = "event",
        /// Properties of custom events and page views (event, key, value).
        Prop = "prop",
        Outbound = "outbound",
        Download = "download",
        /// Bot events (one row per hour, value "").
        Bots = "bots",
        /// Revenue per currency and custom event: read by goal stats only, never a breakdown.
        Revenue = "revenue",
    }
}

impl Dimension {
    /// Every dimension a breakdown can be asked for, in the order error messages list them.
    pub const BREAKDOWNS: [Dimension; 21] = [
        Dimension::Page,
        Dimension::ExitPage,
        Dimension::EntryPage,
        Dimension::Source,
        Dimension::Channel,
        Dimension::UtmSource,
        Dimension::UtmMedium,
        Dimension::UtmCampaign,
        Dimension::UtmTerm,
        Dimension::UtmContent,
        Dimension::Country,
        Dimension::Region,
        Dimension::City,
        Dimension::Browser,
        Dimension::Os,
        Dimension::Device,
        Dimension::Event,
        Dimension::Prop,
        Dimension::Outbound,
        Dimension::Download,
        Dimension::Bots,
    ];
}

/// How the chart's points are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    #[default]
    Day,
    Month,
}

/// A period as the answers describe it: local days (inclusive) in the site's time zone and
/// the UTC milliseconds they cover.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Range {
    pub bucket: Bucket,
    pub from: String,
    pub from_ms: i64,
    pub timezone: String,
    pub to: String,
    pub to_ms: i64,
}

/// A period's totals with their derived rates (`GET /api/stats/totals`, and inside the
/// overview). Rates are rounded to one decimal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub bounce_rate: f64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    pub engaged_s: f64,
    pub events: i64,
    pub pageviews: i64,
    pub views_per_visit: f64,
    pub visit_duration_s: f64,
    pub visitors: i64,
    pub visits: i64,
}

/// One row of a breakdown: a dimension's value with the same numbers as [`Totals`] and its
/// share of the period's visitors (percent, one decimal).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BreakdownRow {
    pub bounce_rate: f64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    pub engaged_s: f64,
    pub events: i64,
    pub pageviews: i64,
    pub share_of_visitors: f64,
    pub value: String,
    pub views_per_visit: f64,
    pub visit_duration_s: f64,
    pub visitors: i64,
    pub visits: i64,
}

/// `GET /api/stats/breakdown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub dimension: Dimension,
    pub range: Range,
    pub rows: Vec<BreakdownRow>,
}

/// One bucket of the chart: its first UTC millisecond and how a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Point {
    pub label: String,
    pub pageviews: i64,
    pub t: i64,
    pub visitors: i64,
}

/// `GET /api/stats/timeseries`, and the overview's chart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Series {
    pub bucket: Bucket,
    pub points: Vec<Point>,
}

/// The period before, of the same length, that the overview compares with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Previous {
    pub range: Range,
    pub totals: Totals,
}

/// `GET /api/stats/overview`: totals now and before, and the chart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Overview {
    /// The filters applied, as `dimension:value`.
    pub filters: Vec<String>,
    pub previous: Previous,
    pub range: Range,
    pub series: Series,
    pub totals: Totals,
    /// Days of the range whose figures come from imported history (another tool's export):
    /// days with imported rows and no collected data. 0 when none (and from older Workers).
    #[serde(default)]
    pub imported_days: u32,
}

/// A top page as the skeleton dashboard showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TopPage {
    pub pageviews: i64,
    pub path: String,
    pub visitors: i64,
}

/// `GET /api/stats/pages`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pages {
    pub pages: Vec<TopPage>,
}

/// A page visitors are on now, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LivePage {
    pub value: String,
    pub visitors: i64,
}

/// `GET /api/stats/realtime`: visitors in the last `window_s` seconds and their pages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Realtime {
    pub pages: Vec<LivePage>,
    pub visitors: i64,
    pub window_s: i64,
}

/// A label (a reason, a user-agent family) and its events.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counted {
    pub events: i64,
    pub value: String,
}

/// `GET /api/stats/bots`: bot events of the period (never in the other stats), why they were
/// flagged, which user-agent families sent them, and events dropped on purpose.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Bots {
    pub dropped: Vec<Counted>,
    pub dropped_events: i64,
    pub events: i64,
    pub range: Range,
    pub reasons: Vec<Counted>,
    pub user_agents: Vec<Counted>,
    pub visitors: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_keep_their_wire_names() {
        assert_eq!(Dimension::parse("visitor"), None);
        assert_eq!(Bucket::Hour, serde_json::from_str("\"hour\"").unwrap());
    }

    #[test]
    fn answers_keep_their_key_order() {
        let json = serde_json::to_string(&Counted {
            events: 2,
            value: "x".into(),
        })
        .unwrap();
        assert_eq!(json, r#"{"events":2,"value":"x"}"#);
    }
}
