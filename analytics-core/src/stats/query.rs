//! The stats queries: totals, the hourly series and breakdowns, read from the rollups when
//! there is no filter — daily rows for built days, hourly rows for the rest
//! (`store::rollups_daily::rollup_source`) — and from raw events when there is (rollups hold
//! one dimension at a time). Both paths return the same shapes and, without filters, the same numbers
//! (tests/rollup_equivalence.rs checks it).
//!
//! Raw-event definitions mirror `rollup.rs`: visits are the sessions that *started* in the
//! range (their first event, whose id is the session id, is in it) and carry all their events;
//! page views, pages and events count the events inside the range.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ingest::event::EventKind;
use crate::stats::filter::{
    event_kind, prop_event_sql, session_column, Binds, Filter, PROP_VALUE_TEXT,
};
use crate::stats::rollup::Dimension;
use crate::store::events::SqlValue;
use crate::store::rollups_daily::{rollup_source, DAILY_OTHER, HOURLY_SERIES_MAX_MS};
use api_types::stats::{BreakdownRow, Totals};

use crate::stats::goals::goal_dimension;
pub use crate::stats::goals::{Goal, GoalKind, MAX_FUNNELS, MAX_GOALS};
pub use crate::store::Sql;

/// What every stats query is about.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub site: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub filters: &'a [Filter],
}

/// The additive metrics of the overview and of each breakdown row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsRow {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    #[serde(default)]
    pub events: i64,
}

impl MetricsRow {
    /// Bounce rate in percent (0 without visits).
    pub fn bounce_rate(&self) -> f64 {
        ratio(self.bounces, self.visits) * 100.0
    }
    pub fn views_per_visit(&self) -> f64 {
        ratio(self.pageviews, self.visits)
    }
    /// Mean visit duration in seconds.
    pub fn visit_duration_s(&self) -> f64 {
        ratio(self.duration_ms, self.visits) / 1000.0
    }
    /// Mean engaged (visible and focused) time per visit, in seconds.
    pub fn engaged_s(&self) -> f64 {
        ratio(self.engaged_ms, self.visits) / 1000.0
    }

    /// The row as a period's totals, with its derived rates rounded to one decimal.
    pub fn totals(&self) -> Totals {
        Totals {
            bounce_rate: round1(self.bounce_rate()),
            bounces: self.bounces,
            duration_ms: self.duration_ms,
            engaged_ms: self.engaged_ms,
            engaged_s: round1(self.engaged_s()),
            events: self.events,
            pageviews: self.pageviews,
            views_per_visit: round1(self.views_per_visit()),
            visit_duration_s: round1(self.visit_duration_s()),
            visitors: self.visitors,
            visits: self.visits,
        }
    }

    /// The row as a breakdown's row: its value, its numbers and its share of `total_visitors`.
    pub fn breakdown_row(&self, total_visitors: i64) -> BreakdownRow {
        let t = self.totals();
        BreakdownRow {
            bounce_rate: t.bounce_rate,
            bounces: t.bounces,
            duration_ms: t.duration_ms,
            engaged_ms: t.engaged_ms,
            engaged_s: t.engaged_s,
            events: t.events,
            pageviews: t.pageviews,
            share_of_visitors: percent(self.visitors, total_visitors),
            value: self.value.clone(),
            views_per_visit: t.views_per_visit,
            visit_duration_s: t.visit_duration_s,
            visitors: t.visitors,
            visits: t.visits,
        }
    }

    /// The totals as JSON (for answers not typed yet).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.totals()).unwrap_or_default()
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `part` in percent of `whole`, one decimal (0 when `whole` is 0): shares and conversion rates.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole > 0 {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    } else {
        0.0
    }
}

/// The raw-event CTEs every filtered query starts with:
/// - `sel`: the site's human events from the range start to a day past its end (visits that
///   started in the range may go on past it), restricted to the visits the filters select;
/// - `ev`: the events inside the range;
/// - `sess`: the visits that started in the range, with their metrics.
fn raw_prelude(scope: &Scope, binds: &mut Binds) -> String {
    let conditions: String = scope
        .filters
        .iter()
        .map(|f| format!(" AND {}", f.condition(binds)))
        .collect();
    format!(
        "WITH sel AS (SELECT * FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 + 86400000 \
         AND bot = 0{conditions}), \
         ev AS (SELECT * FROM sel WHERE ts < ?3), \
         sess AS (SELECT session, MIN(visitor) AS visitor, MIN(ts) AS t0, MAX(ts) AS t1, \
         SUM(kind = 'pageview') AS pv, SUM(engaged_ms) AS eng FROM sel GROUP BY session \
         HAVING SUM(id = session) > 0 AND MIN(ts) < ?3)"
    )
}

fn finish(text: String, binds: Binds) -> Sql {
    Sql {
        text,
        binds: binds.0,
    }
}

/// Overview totals (one `MetricsRow`).
pub fn totals(scope: &Scope) -> Sql {
    if scope.filters.is_empty() {
        let binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
        return finish(
            format!(
                "SELECT COALESCE(SUM(visitors), 0) AS visitors, COALESCE(SUM(pageviews), 0) AS pageviews, \
                 COALESCE(SUM(visits), 0) AS visits, COALESCE(SUM(bounces), 0) AS bounces, \
                 COALESCE(SUM(duration_ms), 0) AS duration_ms, COALESCE(SUM(engaged_ms), 0) AS engaged_ms \
                 FROM {}",
                rollup_source("dimension = 'total'", false)
            ),
            binds,
        );
    }
    totals_raw(scope)
}

/// `totals` from raw events, whatever the filters.
pub fn totals_raw(scope: &Scope) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    finish(
        format!(
            "{prelude} SELECT \
             (SELECT COUNT(DISTINCT (t0 / 86400000) || ':' || visitor) FROM sess) AS visitors, \
             (SELECT COUNT(*) FROM ev WHERE kind = 'pageview') AS pageviews, \
             COUNT(*) AS visits, COALESCE(SUM(pv <= 1), 0) AS bounces, \
             COALESCE(SUM(t1 - t0), 0) AS duration_ms, COALESCE(SUM(eng), 0) AS engaged_ms, \
             (SELECT COUNT(*) FROM ev WHERE kind IN ('custom', 'outbound', 'download')) AS events \
             FROM sess"
        ),
        binds,
    )
}

/// Hourly rows for the chart (`period::HourRow`), folded into the period's buckets by
/// `period::bucket_series`.
pub fn hourly(scope: &Scope) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    if scope.filters.is_empty() {
        // Up to two local days the chart is hourly: the `total` hours are kept for built days.
        // Longer ranges have daily buckets: one daily row per built day. Imported days (daily
        // rows only) are one row at their start either way.
        let hourly_only = scope.to_ms - scope.from_ms <= HOURLY_SERIES_MAX_MS;
        return finish(
            format!(
                "SELECT t, SUM(pageviews) AS pageviews, SUM(visitors) AS visitors, \
                 SUM(hour_visitors) AS hour_visitors \
                 FROM {} GROUP BY t ORDER BY t",
                rollup_source("dimension = 'total'", hourly_only)
            ),
            binds,
        );
    }
    let prelude = raw_prelude(scope, &mut binds);
    finish(
        format!(
            "{prelude}, \
             firsts AS (SELECT (MIN(t0) / 3600000) * 3600000 AS t FROM sess GROUP BY t0 / 86400000, visitor), \
             hours AS (SELECT (ts / 3600000) * 3600000 AS t, SUM(kind = 'pageview') AS pageviews, \
             COUNT(DISTINCT visitor) AS hour_visitors, 0 AS visitors FROM ev GROUP BY t \
             UNION ALL SELECT t, 0, 0, COUNT(*) FROM firsts GROUP BY t) \
             SELECT h.t AS t, SUM(h.pageviews) AS pageviews, SUM(h.visitors) AS visitors, \
             SUM(h.hour_visitors) AS hour_visitors FROM hours h GROUP BY h.t ORDER BY h.t"
        ),
        binds,
    )
}

/// Reads a breakdown's `?dimension=` (any dimension but `total` and `revenue`).
pub fn check_dimension(dimension: &str) -> Result<Dimension, ApiError> {
    Dimension::BREAKDOWNS
        .into_iter()
        .find(|d| d.as_str() == dimension)
        .ok_or_else(|| {
            let names: Vec<&str> = Dimension::BREAKDOWNS.map(Dimension::as_str).to_vec();
            ApiError::bad_request(
                "bad_dimension",
                format!("dimension must be one of {}", names.join(", ")),
            )
        })
}

const ORDER: &str = "ORDER BY visitors DESC, visits DESC, pageviews DESC, events DESC, value";

/// One dimension's rows (`MetricsRow` with `value`), at most `limit`.
pub fn breakdown(scope: &Scope, dimension: Dimension, limit: u32) -> Sql {
    if scope.filters.is_empty() || dimension == Dimension::Bots {
        let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
        binds.push_text(dimension.as_str());
        binds.push_int(limit as i64);
        // `(other)` rows hold what was beyond a day's top values: not a value to rank.
        return finish(
            format!(
                "SELECT value, SUM(visitors) AS visitors, SUM(pageviews) AS pageviews, \
                 SUM(visits) AS visits, SUM(bounces) AS bounces, SUM(duration_ms) AS duration_ms, \
                 SUM(engaged_ms) AS engaged_ms, SUM(events) AS events FROM {} \
                 WHERE value != '{DAILY_OTHER}' GROUP BY value \
                 HAVING SUM(visitors) + SUM(pageviews) + SUM(visits) + SUM(events) > 0 {ORDER} LIMIT ?5",
                rollup_source("dimension = ?4", false)
            ),
            binds,
        );
    }
    breakdown_raw(scope, dimension, limit)
}

/// `breakdown` from raw events, whatever the filters (public for the equivalence test).
pub fn breakdown_raw(scope: &Scope, dimension: Dimension, limit: u32) -> Sql {
    breakdown_raw_rows(scope, dimension, limit, true)
}

/// `breakdown_raw` as one store's part of a merged breakdown (`stats::merge::breakdown`):
/// pages with engaged time but no page view in this store are kept, as another store may
/// have the page views; the merge drops the groups that end up without any.
pub fn breakdown_part(scope: &Scope, dimension: Dimension, limit: u32) -> Sql {
    breakdown_raw_rows(scope, dimension, limit, false)
}

fn breakdown_raw_rows(scope: &Scope, dimension: Dimension, limit: u32, whole: bool) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    let body = if let Some(col) = session_column(dimension) {
        format!(
            ", first AS (SELECT session, {col} AS value FROM sel WHERE id = session) \
             SELECT f.value AS value, COUNT(DISTINCT (s.t0 / 86400000) || ':' || s.visitor) AS visitors, \
             SUM(s.pv) AS pageviews, COUNT(*) AS visits, SUM(s.pv <= 1) AS bounces, \
             SUM(s.t1 - s.t0) AS duration_ms, SUM(s.eng) AS engaged_ms, 0 AS events \
             FROM sess s JOIN first f ON f.session = s.session GROUP BY f.value"
        )
    } else {
        match dimension {
            Dimension::Page => " SELECT path AS value, \
                 COUNT(DISTINCT CASE WHEN kind = 'pageview' THEN day || ':' || visitor END) AS visitors, \
                 SUM(kind = 'pageview') AS pageviews, 0 AS visits, 0 AS bounces, 0 AS duration_ms, \
                 SUM(CASE WHEN kind = 'engagement' THEN engaged_ms ELSE 0 END) AS engaged_ms, 0 AS events \
                 FROM ev WHERE kind IN ('pageview', 'engagement') GROUP BY path"
                .to_string()
                + if whole { " HAVING SUM(kind = 'pageview') > 0" } else { "" },
            Dimension::ExitPage => ", last AS (SELECT session, path, MAX(ts) FROM sel WHERE kind = 'pageview' \
                 AND session IN (SELECT session FROM sess) GROUP BY session) \
                 SELECT path AS value, 0 AS visitors, 0 AS pageviews, COUNT(*) AS visits, 0 AS bounces, \
                 0 AS duration_ms, 0 AS engaged_ms, 0 AS events FROM last GROUP BY path"
                .to_string(),
            // A subquery names the label: json_each has its own `value` column, which GROUP
            // BY would pick over an alias.
            Dimension::Prop => format!(
                ", props AS (SELECT {} || char(31) || j.key || char(31) || {PROP_VALUE_TEXT} AS label, \
                 ev.day AS day, ev.visitor AS visitor FROM ev, json_each(ev.props) j \
                 WHERE ev.kind IN ('custom', 'pageview')) \
                 SELECT label AS value, COUNT(DISTINCT day || ':' || visitor) AS visitors, 0 AS pageviews, \
                 0 AS visits, 0 AS bounces, 0 AS duration_ms, 0 AS engaged_ms, COUNT(*) AS events \
                 FROM props GROUP BY label",
                prop_event_sql("ev.")
            ),
            dim => {
                let kind = event_kind(dim).unwrap_or(EventKind::Custom);
                format!(
                    " SELECT name AS value, COUNT(DISTINCT day || ':' || visitor) AS visitors, \
                     0 AS pageviews, 0 AS visits, 0 AS bounces, 0 AS duration_ms, 0 AS engaged_ms, \
                     COUNT(*) AS events FROM ev WHERE kind = '{kind}' GROUP BY name"
                )
            }
        }
    };
    let limit = binds.push_int(limit as i64);
    // `body` is either more CTEs (", name AS (…) SELECT …") or just the final SELECT.
    finish(format!("{prelude}{body} {ORDER} LIMIT {limit}"), binds)
}

/// The SQL condition an event meets when it reaches `goal` (`prefix` qualifies the columns).
fn goal_matches(goal: &Goal, binds: &mut Binds, prefix: &str) -> String {
    let v = binds.push_text(&goal.value);
    match goal.kind {
        GoalKind::Page => format!("{prefix}kind = 'pageview' AND {prefix}path = {v}"),
        GoalKind::Event => format!("{prefix}kind = 'custom' AND {prefix}name = {v}"),
    }
}

/// A goal's unique converting visitors and its completions (one row: visitors, conversions).
pub fn goal(scope: &Scope, goal: &Goal) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    if scope.filters.is_empty() {
        let dim = binds.push_text(goal_dimension(goal.kind).as_str());
        let value = binds.push_text(&goal.value);
        return finish(
            format!(
                "SELECT COALESCE(SUM(visitors), 0) AS visitors, \
                 COALESCE(SUM(pageviews) + SUM(events), 0) AS conversions FROM {}",
                rollup_source(&format!("dimension = {dim} AND value = {value}"), false)
            ),
            binds,
        );
    }
    let prelude = raw_prelude(scope, &mut binds);
    let matches = goal_matches(goal, &mut binds, "");
    finish(
        format!(
            "{prelude} SELECT COUNT(DISTINCT day || ':' || visitor) AS visitors, COUNT(*) AS conversions \
             FROM ev WHERE {matches}"
        ),
        binds,
    )
}

/// A goal's revenue per currency (rows: currency, units, micros — the sum split in whole units
/// and the rest, so neither overflows nor loses precision on its way through JavaScript;
/// `RevenueRow::micros` puts them together). Only event goals carry revenue: `None` for pages.
pub fn goal_revenue(scope: &Scope, goal: &Goal) -> Option<Sql> {
    if goal.kind != GoalKind::Event {
        return None;
    }
    if !scope.filters.is_empty() {
        return Some(goal_revenue_raw(scope, goal));
    }
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let dim = binds.push_text(crate::stats::rollup::REVENUE_DIMENSION.as_str());
    let name = binds.push_text(&goal.value);
    // The value is the currency (three letters), U+001F, the event name.
    Some(finish(
        format!(
            "SELECT substr(value, 1, 3) AS currency, {} FROM {} GROUP BY currency ORDER BY currency",
            revenue_sums(),
            rollup_source(
                &format!("dimension = {dim} AND substr(value, 5) = {name}"),
                false
            )
        ),
        binds,
    ))
}

/// The sums `goal_revenue` answers: whole units and the micro-unit rest.
fn revenue_sums() -> String {
    let per_unit = crate::limits::REVENUE_MICROS_PER_UNIT;
    format!("SUM(revenue_micros / {per_unit}) AS units, SUM(revenue_micros % {per_unit}) AS micros")
}

/// `goal_revenue` from raw events, whatever the filters (public for the equivalence test).
pub fn goal_revenue_raw(scope: &Scope, goal: &Goal) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    let matches = goal_matches(goal, &mut binds, "");
    finish(
        format!(
            "{prelude} SELECT revenue_currency AS currency, {} FROM ev \
             WHERE {matches} AND revenue_currency != '' GROUP BY currency ORDER BY currency",
            revenue_sums()
        ),
        binds,
    )
}

/// One currency's revenue as `goal_revenue` answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueRow {
    pub currency: String,
    pub units: i64,
    pub micros: i64,
}

impl RevenueRow {
    /// The exact sum in micro-units.
    pub fn total_micros(&self) -> i128 {
        self.units as i128 * crate::limits::REVENUE_MICROS_PER_UNIT as i128 + self.micros as i128
    }

    /// The currency and its amount as an exact decimal ("12.50").
    pub fn revenue(&self) -> api_types::goals::Revenue {
        api_types::goals::Revenue {
            amount: crate::ingest::wire::format_micros(self.total_micros()),
            currency: self.currency.clone(),
        }
    }
}

/// An event's place in its visit: events of one request share a timestamp, and their ids end
/// in the zero-padded index within the batch.
const ORDER_KEY: &str = "printf('%015d', e.ts) || e.id";

/// Visits that went through the steps in order: rows (step, visits), step counted from 1.
/// A step counts when it happens after the previous step, in the same visit.
pub fn funnel(scope: &Scope, steps: &[Goal]) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    let mut ctes = Vec::new();
    let mut selects = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let matches = goal_matches(step, &mut binds, "e.");
        if i == 0 {
            ctes.push(format!(
                "s1 AS (SELECT e.session, MIN({ORDER_KEY}) AS k FROM sel e \
                 WHERE e.session IN (SELECT session FROM sess) AND {matches} GROUP BY e.session)"
            ));
        } else {
            ctes.push(format!(
                "s{n} AS (SELECT e.session, MIN({ORDER_KEY}) AS k FROM sel e JOIN s{i} p ON p.session = e.session \
                 WHERE {ORDER_KEY} > p.k AND {matches} GROUP BY e.session)"
            ));
        }
        selects.push(format!("SELECT {n} AS step, COUNT(*) AS visits FROM s{n}"));
    }
    finish(
        format!(
            "{prelude}, {} {} ORDER BY step",
            ctes.join(", "),
            selects.join(" UNION ALL ")
        ),
        binds,
    )
}

/// A site's time zone (one row: [`TimezoneRow`]); no row for an unknown site.
pub fn site_timezone(site: &str) -> Sql {
    Sql::new(
        "SELECT timezone FROM sites WHERE id = ?1",
        crate::binds![site],
    )
}

/// What [`site_timezone`] reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TimezoneRow {
    pub timezone: String,
}

/// How far back "realtime" looks.
pub const REALTIME_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A count of visitors (one row of `realtime_visitors`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct VisitorsRow {
    pub visitors: i64,
}

/// Visitors seen since `since_ms` (one row: [`VisitorsRow`]).
pub fn realtime_visitors(site: &str, since_ms: i64) -> Sql {
    Sql {
        text: "SELECT COUNT(DISTINCT visitor) AS visitors FROM events \
               WHERE site_id = ?1 AND ts >= ?2 AND bot = 0"
            .into(),
        binds: vec![SqlValue::Text(site.into()), SqlValue::Int(since_ms)],
    }
}

/// The page each visitor seen since `since_ms` viewed last, counted (rows:
/// `api_types::stats::LivePage`).
pub fn realtime_pages(site: &str, since_ms: i64, limit: u32) -> Sql {
    Sql {
        text: "SELECT path AS value, COUNT(*) AS visitors FROM \
               (SELECT visitor, path, MAX(ts) FROM events WHERE site_id = ?1 AND ts >= ?2 AND bot = 0 \
               AND kind = 'pageview' GROUP BY visitor) GROUP BY path ORDER BY visitors DESC, path LIMIT ?3"
            .into(),
        binds: vec![
            SqlValue::Text(site.into()),
            SqlValue::Int(since_ms),
            SqlValue::Int(limit as i64),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(filters: &[Filter]) -> Scope<'_> {
        Scope {
            site: "s",
            from_ms: 0,
            to_ms: 10,
            filters,
        }
    }

    #[test]
    fn placeholders_match_binds() {
        let filters = [
            Filter::parse("country:PT").unwrap(),
            Filter::parse("prop:Signup\u{1f}plan\u{1f}pro").unwrap(),
        ];
        let steps = [
            Goal {
                kind: GoalKind::Page,
                value: "/".into(),
            },
            Goal {
                kind: GoalKind::Event,
                value: "Signup".into(),
            },
        ];
        for f in [&filters[..0], &filters[..]] {
            let s = scope(f);
            let mut all = vec![
                totals(&s),
                hourly(&s),
                goal(&s, &steps[1]),
                goal_revenue(&s, &steps[1]).unwrap(),
                funnel(&s, &steps),
            ];
            assert!(
                goal_revenue(&s, &steps[0]).is_none(),
                "pages carry no revenue"
            );
            for dim in Dimension::BREAKDOWNS {
                all.push(breakdown(&s, dim, 10));
            }
            for sql in all {
                let highest = (1..=sql.binds.len())
                    .rev()
                    .find(|i| sql.text.contains(&format!("?{i}")))
                    .unwrap_or(0);
                assert_eq!(highest, sql.binds.len(), "{}", sql.text);
            }
        }
    }

    #[test]
    fn only_breakdown_dimensions_are_accepted() {
        assert!(check_dimension("total").is_err());
        assert!(check_dimension("revenue").is_err());
        assert_eq!(check_dimension("country").unwrap(), Dimension::Country);
        assert_eq!(
            check_dimension("x").unwrap_err().message,
            "dimension must be one of page, exit_page, entry_page, source, channel, utm_source, \
             utm_medium, utm_campaign, utm_term, utm_content, country, region, city, browser, os, \
             device, event, prop, outbound, download, bots"
        );
    }

    #[test]
    fn derived_rates() {
        let m = MetricsRow {
            visits: 4,
            bounces: 1,
            pageviews: 10,
            duration_ms: 60_000,
            engaged_ms: 20_000,
            ..Default::default()
        };
        assert_eq!(m.bounce_rate(), 25.0);
        assert_eq!(m.views_per_visit(), 2.5);
        assert_eq!(m.visit_duration_s(), 15.0);
        assert_eq!(m.to_json()["engaged_s"], 5.0);
        assert_eq!(m.breakdown_row(8).share_of_visitors, 0.0);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(1, 0), 0.0);
        assert_eq!(MetricsRow::default().bounce_rate(), 0.0);
    }
}
